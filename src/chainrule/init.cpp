#include "chainrule/init.hpp"

#include <cmath>

namespace chainrule {

template <typename T>
void he_normal(Tensor<T>& W, int fan_in, Rng& rng) {
  const double stddev = std::sqrt(2.0 / fan_in);
  for (auto& w : W.data) w = static_cast<T>(stddev * rng.normal());
}

template <typename T>
void glorot_uniform(Tensor<T>& W, int fan_in, int fan_out, Rng& rng) {
  const double a = std::sqrt(6.0 / (fan_in + fan_out));
  for (auto& w : W.data) w = static_cast<T>(rng.uniform(-a, a));
}

template void he_normal<float>(Tensor<float>&, int, Rng&);
template void he_normal<double>(Tensor<double>&, int, Rng&);
template void glorot_uniform<float>(Tensor<float>&, int, int, Rng&);
template void glorot_uniform<double>(Tensor<double>&, int, int, Rng&);

}  // namespace chainrule
