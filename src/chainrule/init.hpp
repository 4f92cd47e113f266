// Weight initialisation from a seeded generator. fan_in = the inputs of a dense layer (the rows
// of W, D), fan_out = its outputs (the columns of W, H). G is --init-gain (1 by default).
//   He (Kaiming) normal:     W ~ N(0, std^2), std = G sqrt(2 / fan_in)        for layers followed by ReLU
//                            (ReLU zeroes half its inputs, so the variance is doubled to keep
//                            Var(Z) the same from layer to layer going forward)
//   Glorot (Xavier) uniform: W ~ U(-a, a), a = G sqrt(6 / (fan_in + fan_out))  Keras's default for Dense;
//                            Var(W) = 2 / (fan_in + fan_out), a compromise between keeping the
//                            forward signal (1/fan_in) and the backward gradient (1/fan_out); made
//                            for tanh and sigmoid-like activations (PyTorch suggests G = 5/3 for tanh)
//   LeCun normal:            W ~ N(0, 1 / fan_in)                               for tanh, SELU, and linear layers
//   Fixed normal:            W ~ N(0, STD^2)                                    (--init normal:STD)
//   Fixed uniform:           W ~ U(-A, A)                                       (--init uniform:A)
// Biases start at zero. Values are drawn in double and rounded to T, so a float
// and a double model built from the same seed hold the same numbers.
// Lesson: tutorials/02-forward-pass (why these scales keep the signal from growing or dying).
#pragma once

#include "chainrule/rng.hpp"
#include "chainrule/tensor.hpp"

namespace chainrule {

template <typename T>
void he_normal(Tensor<T>& W, int fan_in, Rng& rng, double gain = 1.0);

template <typename T>
void glorot_uniform(Tensor<T>& W, int fan_in, int fan_out, Rng& rng, double gain = 1.0);

template <typename T>
void lecun_normal(Tensor<T>& W, int fan_in, Rng& rng);

template <typename T>
void normal_init(Tensor<T>& W, double stddev, Rng& rng);

template <typename T>
void uniform_init(Tensor<T>& W, double a, Rng& rng);

}  // namespace chainrule
