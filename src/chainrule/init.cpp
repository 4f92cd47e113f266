#include "chainrule/init.hpp"

#include <cmath>

namespace chainrule {

// With gain 1 these draw exactly the numbers they drew before --init-gain existed
// (gain * x is x, bit for bit, when gain is 1).
template <typename T>
void he_normal(Tensor<T>& W, int fan_in, Rng& rng, double gain) {
  const double stddev = gain * std::sqrt(2.0 / fan_in);
  for (auto& w : W.data) w = static_cast<T>(stddev * rng.normal());
}

template <typename T>
void glorot_uniform(Tensor<T>& W, int fan_in, int fan_out, Rng& rng, double gain) {
  const double a = gain * std::sqrt(6.0 / (fan_in + fan_out));
  for (auto& w : W.data) w = static_cast<T>(rng.uniform(-a, a));
}

template <typename T>
void lecun_normal(Tensor<T>& W, int fan_in, Rng& rng) {
  const double stddev = std::sqrt(1.0 / fan_in);
  for (auto& w : W.data) w = static_cast<T>(stddev * rng.normal());
}

template <typename T>
void normal_init(Tensor<T>& W, double stddev, Rng& rng) {
  for (auto& w : W.data) w = static_cast<T>(stddev * rng.normal());
}

template <typename T>
void uniform_init(Tensor<T>& W, double a, Rng& rng) {
  for (auto& w : W.data) w = static_cast<T>(rng.uniform(-a, a));
}

template void he_normal<float>(Tensor<float>&, int, Rng&, double);
template void he_normal<double>(Tensor<double>&, int, Rng&, double);
template void glorot_uniform<float>(Tensor<float>&, int, int, Rng&, double);
template void glorot_uniform<double>(Tensor<double>&, int, int, Rng&, double);
template void lecun_normal<float>(Tensor<float>&, int, Rng&);
template void lecun_normal<double>(Tensor<double>&, int, Rng&);
template void normal_init<float>(Tensor<float>&, double, Rng&);
template void normal_init<double>(Tensor<double>&, double, Rng&);
template void uniform_init<float>(Tensor<float>&, double, Rng&);
template void uniform_init<double>(Tensor<double>&, double, Rng&);

}  // namespace chainrule
