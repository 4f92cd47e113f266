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
