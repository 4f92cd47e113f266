#include <doctest/doctest.h>

#include <cmath>

#include "chainrule/init.hpp"

using namespace chainrule;

TEST_CASE("init: He normal has mean 0 and variance 2 / fan_in") {
  Rng rng(1);
  Tensor<double> W(784, 128);
  he_normal(W, 784, rng);
  double sum = 0, sum2 = 0;
  for (double w : W.data) {
    sum += w;
    sum2 += w * w;
  }
  const double n = static_cast<double>(W.size());
  CHECK(std::abs(sum / n) < 0.002);
  // A relative bound: Approx(x).epsilon(e) allows about e absolute for |x| < 1, so it took 1/784 too.
  CHECK(std::abs(sum2 / n / (2.0 / 784) - 1) < 0.02);
}

TEST_CASE("init: Glorot uniform stays within sqrt(6 / (fan_in + fan_out)) and fills that range") {
  Rng rng(2);
  Tensor<float> W(128, 10);
  glorot_uniform(W, 128, 10, rng);
  const double a = std::sqrt(6.0 / 138);
  double lo = 0, hi = 0;
  for (float w : W.data) {
    CHECK(std::abs(w) <= a);
    lo = std::min(lo, double(w));
    hi = std::max(hi, double(w));
  }
  CHECK(lo < -0.9 * a);
  CHECK(hi > 0.9 * a);
}

TEST_CASE("init: the same seed draws the same weights; float and double agree") {
  Rng a(5), b(5);
  Tensor<float> f(3, 4);
  Tensor<double> d(3, 4);
  he_normal(f, 3, a);
  he_normal(d, 3, b);
  for (std::size_t k = 0; k < f.size(); ++k) CHECK(f.data[k] == static_cast<float>(d.data[k]));
}

namespace {
struct Sample {
  double mean, std, lo, hi;
};
template <typename T>
Sample sample_of(const Tensor<T>& W) {
  double sum = 0, sum2 = 0, lo = 0, hi = 0;
  for (T w : W.data) {
    sum += w;
    sum2 += double(w) * w;
    lo = std::min(lo, double(w));
    hi = std::max(hi, double(w));
  }
  const double n = static_cast<double>(W.size()), mean = sum / n;
  return {mean, std::sqrt(sum2 / n - mean * mean), lo, hi};
}
}  // namespace

TEST_CASE("init: each --init draws the spread of its formula (sample std, or the range of a uniform)") {
  Rng rng(7);
  Tensor<double> W(784, 128);
  he_normal(W, 784, rng, 0.5);  // std = G sqrt(2 / fan_in)
  CHECK(std::abs(sample_of(W).std / (0.5 * std::sqrt(2.0 / 784)) - 1) < 0.01);
  lecun_normal(W, 784, rng);  // std = sqrt(1 / fan_in)
  CHECK(std::abs(sample_of(W).std / std::sqrt(1.0 / 784) - 1) < 0.01);
  normal_init(W, 0.01, rng);  // std = 0.01
  CHECK(std::abs(sample_of(W).std / 0.01 - 1) < 0.01);
  CHECK(std::abs(sample_of(W).mean) < 0.0002);
  uniform_init(W, 0.05, rng);  // U(-0.05, 0.05): std 0.05 / sqrt(3), range filled
  Sample u = sample_of(W);
  CHECK(u.lo >= -0.05);
  CHECK(u.hi <= 0.05);
  CHECK(u.lo < -0.0499);
  CHECK(u.hi > 0.0499);
  CHECK(std::abs(u.std / (0.05 / std::sqrt(3.0)) - 1) < 0.01);
  glorot_uniform(W, 784, 128, rng, 2.0);  // a = G sqrt(6 / (fan_in + fan_out))
  const double a = 2.0 * std::sqrt(6.0 / (784 + 128));
  u = sample_of(W);
  CHECK(u.hi <= a);
  CHECK(u.hi > 0.999 * a);
  CHECK(u.lo >= -a);
  CHECK(std::abs(u.std / (a / std::sqrt(3.0)) - 1) < 0.01);
}

TEST_CASE("init: a gain of 1 draws the very numbers of the gain-less formula") {
  Rng a(11), b(11);
  Tensor<float> x(30, 20), y(30, 20);
  he_normal(x, 30, a);
  he_normal(y, 30, b, 1.0);
  CHECK(x.data == y.data);
  glorot_uniform(x, 30, 20, a);
  glorot_uniform(y, 30, 20, b, 1.0);
  CHECK(x.data == y.data);
}
