// Weight initialisation from a seeded generator.
//   He (Kaiming) normal:  W ~ N(0, 2 / fan_in)                           for layers followed by ReLU
//   Glorot (Xavier) uniform: W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out))  Keras's default for Dense
// Biases start at zero. Values are drawn in double and rounded to T, so a float
// and a double model built from the same seed hold the same numbers.
// Lesson: tutorials/02-forward-pass (why these scales keep the signal from growing or dying).
#pragma once

#include "chainrule/rng.hpp"
#include "chainrule/tensor.hpp"

namespace chainrule {

template <typename T>
void he_normal(Tensor<T>& W, int fan_in, Rng& rng);

template <typename T>
void glorot_uniform(Tensor<T>& W, int fan_in, int fan_out, Rng& rng);

}  // namespace chainrule
