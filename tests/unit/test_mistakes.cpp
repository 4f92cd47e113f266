// Tests for plausible mistakes that the gradient checker cannot see and that no other
// test caught (issue 13, item 12): ReLU'(0), the dropout rate's direction, BatchNorm's
// inference-mode backward, the initialisers' scales, and dropout at inference.
//
// The statistical checks are seeded, so they are deterministic; each bound is still
// many standard deviations wide (the deviation is worked out beside it), so that a
// change of seed or of generator cannot make them flake, while the mistake each one
// targets lands far outside it.
//
// Note: doctest::Approx(x).epsilon(e) tolerates e * (1 + max(|a|, |x|)), an absolute
// error of about e for small x. A variance of 2/784 = 0.00255 "approximately equal
// with epsilon 0.02" accepts 0.00128 too. The checks below write their bounds out.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "chainrule/init.hpp"
#include "chainrule/layers/batchnorm.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/layers/relu.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

namespace {

struct Moments {
  double mean = 0, stddev = 0;
  double within_one_sd = 0;  // fraction of values with |w - mean| <= stddev
  double max_abs = 0;
};

template <typename T>
Moments moments(const Tensor<T>& W) {
  Moments m;
  const double n = static_cast<double>(W.size());
  double sum = 0, sum2 = 0;
  for (T w : W.data) sum += static_cast<double>(w);
  m.mean = sum / n;
  for (T w : W.data) sum2 += (static_cast<double>(w) - m.mean) * (static_cast<double>(w) - m.mean);
  m.stddev = std::sqrt(sum2 / (n - 1));
  std::size_t inside = 0;
  for (T w : W.data) {
    inside += std::abs(static_cast<double>(w) - m.mean) <= m.stddev ? 1 : 0;
    m.max_abs = std::max(m.max_abs, std::abs(static_cast<double>(w)));
  }
  m.within_one_sd = static_cast<double>(inside) / n;
  return m;
}

// Inputs on the kink and next to it, in a tensor long enough (37 values) that the
// vectorised loop and its scalar tail both see each kind.
template <typename T>
void check_relu_at_the_kink() {
  const T tiny = std::numeric_limits<T>::denorm_min();
  const T small = std::numeric_limits<T>::min();  // smallest normal
  ReLU<T> relu("relu");
  Tensor<T> X(1, 37), Y, dY(1, 37), dX;
  for (int k = 0; k < 37; ++k) {
    switch (k % 6) {
      case 0: X.data[k] = T(0); break;
      case 1: X.data[k] = -T(0); break;
      case 2: X.data[k] = tiny; break;
      case 3: X.data[k] = -tiny; break;
      case 4: X.data[k] = small; break;
      default: X.data[k] = -small; break;
    }
    dY.data[k] = T(0.5) + T(k);  // every upstream gradient differs and none is 0 or 1
  }
  relu.forward(X, Y, true);
  relu.backward(dY, &dX);
  REQUIRE(dX.size() == X.size());
  for (int k = 0; k < 37; ++k) {
    CAPTURE(k);
    CAPTURE(X.data[k]);
    const bool positive = k % 6 == 2 || k % 6 == 4;
    CHECK(Y.data[k] == (positive ? X.data[k] : T(0)));
    if (positive)
      CHECK(dX.data[k] == dY.data[k]);  // just right of the kink: the whole gradient
    else
      CHECK(dX.data[k] == T(0));  // at x = 0 (either sign) and left of it: none
  }
}

// Dropout in training mode on 1000 x 1000 values in [0.5, 1.5] (never 0, so a zero
// output is a dropped unit).
template <typename T>
void check_dropout_rate(double rate) {
  CAPTURE(rate);
  const int rows = 1000, cols = 1000;
  const double n = double(rows) * cols;
  const double keep = 1.0 - rate;
  Rng rng(11);
  Tensor<T> X(rows, cols), Y, dY(rows, cols), dX;
  for (auto& x : X.data) x = static_cast<T>(rng.uniform(0.5, 1.5));
  for (auto& g : dY.data) g = static_cast<T>(rng.normal());
  Dropout<T> d("dropout", rate, 23);
  d.forward(X, Y, true);
  d.backward(dY, &dX);
  REQUIRE(Y.size() == X.size());
  REQUIRE(dX.size() == X.size());

  const double tol = std::is_same<T, float>::value ? 1e-6 : 1e-13;  // a rounding or two
  std::size_t dropped = 0, bad_scale = 0, bad_grad = 0;
  double sum_x = 0, sum_y = 0;
  for (std::size_t k = 0; k < X.size(); ++k) {
    const double x = X.data[k], y = Y.data[k], g = dY.data[k], gx = dX.data[k];
    sum_x += x;
    sum_y += y;
    if (y == 0.0) {
      ++dropped;
      bad_grad += gx != 0.0;  // a dropped unit passes no gradient
    } else {
      bad_scale += std::abs(y - x / keep) > tol * std::abs(x / keep);
      bad_grad += std::abs(gx - g / keep) > tol * std::abs(g / keep) + 1e-30;  // same mask, same 1/keep
    }
  }
  CHECK(bad_scale == 0);
  CHECK(bad_grad == 0);

  // The dropped fraction has standard deviation sqrt(rate keep / n) <= 5e-4: the bound
  // is at least 10 of them. Dropping with probability 1 - rate is 0.6 away at 0.2 and 0.8.
  const double fraction = static_cast<double>(dropped) / n;
  CHECK(std::abs(fraction - rate) < 0.005);

  // E[Y] = X. The mean of Y / mean of X has standard deviation about
  // sqrt(E[x^2] rate / keep / n) <= sqrt(1.09 * 4 / 1e6) = 0.0021 at rate 0.8 (less below):
  // 0.02 is about 10 of them. Swapping the rate's direction gives 0.25 (rate 0.2) or 4 (0.8).
  CHECK(std::abs(sum_y / sum_x - 1.0) < 0.02);
}

template <typename T>
void check_dropout_inference(double rate) {
  CAPTURE(rate);
  Rng rng(5);
  Tensor<T> X(50, 40), Y, dY(50, 40), dX;
  for (auto& x : X.data) x = static_cast<T>(rng.normal());
  for (auto& g : dY.data) g = static_cast<T>(rng.normal());
  Dropout<T> d("dropout", rate, 7);
  // A training pass first, so that a mask exists; then freeze it, as the gradient
  // checker does. Neither may leak into inference.
  d.forward(X, Y, true);
  d.freeze_mask(true);
  d.forward(X, Y, false);
  CHECK(Y.data == X.data);  // exactly X: no mask and no 1/keep (nor keep) scale
  d.backward(dY, &dX);
  CHECK(dX.data == dY.data);
}

}  // namespace

TEST_CASE("mistakes: relu backward at exactly 0 (and -0) passes no gradient; at the smallest positive inputs all of it") {
  check_relu_at_the_kink<double>();
  check_relu_at_the_kink<float>();
}

TEST_CASE("mistakes: dropout at rates 0.2 and 0.8 drops a fraction rate, scales by 1 / (1 - rate), E[Y] = X, and backward uses the same mask") {
  check_dropout_rate<double>(0.2);
  check_dropout_rate<double>(0.8);
  check_dropout_rate<float>(0.2);
  check_dropout_rate<float>(0.8);
}

TEST_CASE("mistakes: dropout at inference is the identity forward and backward, after a training pass and with a frozen mask") {
  check_dropout_inference<double>(0.2);
  check_dropout_inference<double>(0.8);
  check_dropout_inference<float>(0.5);
}

TEST_CASE("mistakes: batchnorm inference-mode backward is dY gamma / sqrt(running_var + eps), and matches finite differences") {
  const int N = 6, H = 4;
  const double eps = 1e-5;
  BatchNorm1d<double> bn("bn", H, 0.1, eps);
  Rng rng(8);
  Tensor<double> X(N, H), Y, G(N, H), dX;
  for (auto& x : X.data) x = 2 * rng.normal() + 1;
  for (auto& g : G.data) g = rng.normal();

  // A training pass first, so that the layer has been in training mode; inference must
  // not reuse that pass's batch statistics or its backward formula.
  bn.forward(X, Y, true);
  bn.gamma.data = {1.5, -0.7, 2.0, 0.3};
  bn.beta.data = {0.1, -2.0, 0.5, 3.0};
  bn.running_mean.data = {0.5, -1.0, 3.0, 0.0};
  bn.running_var.data = {0.25, 4.0, 9.0, 0.01};  // 1 / sqrt(var + eps) from about 10 to 1/3; none near 1
  for (auto& x : X.data) x = 2 * rng.normal() + 1;

  bn.forward(X, Y, false);
  bn.dgamma.fill(0);
  bn.dbeta.fill(0);
  bn.backward(G, &dX);
  REQUIRE(dX.rows == N);
  REQUIRE(dX.cols == H);

  // By hand: at inference y = gamma (x - m) / sqrt(v + eps) + beta, with m and v constants.
  for (int j = 0; j < H; ++j) {
    CAPTURE(j);
    const double s = 1.0 / std::sqrt(bn.running_var.data[j] + eps);
    double dbeta = 0, dgamma = 0;
    for (int i = 0; i < N; ++i) {
      CAPTURE(i);
      const double xhat = (X(i, j) - bn.running_mean.data[j]) * s;
      CHECK(std::abs(Y(i, j) - (bn.gamma.data[j] * xhat + bn.beta.data[j])) < 1e-12);
      const double expected = G(i, j) * bn.gamma.data[j] * s;
      CHECK(std::abs(dX(i, j) - expected) <= 1e-14 * std::abs(expected));
      dbeta += G(i, j);
      dgamma += G(i, j) * xhat;
    }
    CHECK(std::abs(bn.dbeta.data[j] - dbeta) <= 1e-13 * (1 + std::abs(dbeta)));
    CHECK(std::abs(bn.dgamma.data[j] - dgamma) <= 1e-13 * (1 + std::abs(dgamma)));
  }

  // Finite differences of L = sum(Y * G) in inference mode (check_layer runs training
  // mode). L is affine in X, so a centered difference has no truncation error and
  // h = 1e-3 leaves rounding of about 1e-16 |L| / h = 1e-13 |L|: 1e-8 relative is wide.
  const auto loss = [&] {
    Tensor<double> Yp;
    bn.forward(X, Yp, false);
    double L = 0;
    for (std::size_t k = 0; k < Yp.size(); ++k) L += Yp.data[k] * G.data[k];
    return L;
  };
  const double h = 1e-3;
  double worst = 0;
  for (std::size_t k = 0; k < X.size(); ++k) {
    const double x0 = X.data[k];
    X.data[k] = x0 + h;
    const double up = loss();
    X.data[k] = x0 - h;
    const double down = loss();
    X.data[k] = x0;
    const double numeric = (up - down) / (2 * h);
    worst = std::max(worst, std::abs(dX.data[k] - numeric) / std::max(1e-8, std::abs(dX.data[k]) + std::abs(numeric)));
  }
  CHECK(worst < 1e-8);
}

TEST_CASE("mistakes: he_normal has standard deviation sqrt(2 / fan_in), mean 0 and a normal shape") {
  // 784 x 128 = 100352 draws. The sample standard deviation's relative deviation is
  // 1 / sqrt(2 n) = 0.0022, so 3% is 13 of them; sqrt(1 / fan_in) is 29% low, and
  // sqrt(2 / fan_out) is wrong by a factor sqrt(fan_in / fan_out). The mean's deviation
  // is sigma / sqrt(n) = 0.0032 sigma: the bound is 10 of them. A normal puts 68.3% of
  // its draws within one sigma (deviation 0.0015): a uniform puts 57.7%.
  for (int fan_in : {784, 128, 10}) {
    CAPTURE(fan_in);
    const double sigma = std::sqrt(2.0 / fan_in);
    Rng rng(static_cast<std::uint64_t>(fan_in));
    Tensor<double> W(784, 128);
    he_normal(W, fan_in, rng);
    const Moments m = moments(W);
    CHECK(std::abs(m.stddev / sigma - 1) < 0.03);
    CHECK(std::abs(m.mean) < 0.032 * sigma);
    CHECK(std::abs(m.within_one_sd - 0.6827) < 0.015);

    Rng frng(static_cast<std::uint64_t>(fan_in));
    Tensor<float> Wf(784, 128);
    he_normal(Wf, fan_in, frng);
    CHECK(std::abs(moments(Wf).stddev / sigma - 1) < 0.03);
  }
}

TEST_CASE("mistakes: glorot_uniform has standard deviation sqrt(2 / (fan_in + fan_out)) and bound sqrt(6 / (fan_in + fan_out))") {
  // For U(-a, a) the variance is a^2 / 3; the sample standard deviation's relative
  // deviation is sqrt(0.8 / n) / 2 = 0.0014 for n = 100352: 3% is 21 of them.
  const int fans[][2] = {{784, 128}, {128, 10}, {10, 10}};
  for (const auto& f : fans) {
    const int fan_in = f[0], fan_out = f[1];
    CAPTURE(fan_in);
    CAPTURE(fan_out);
    const double a = std::sqrt(6.0 / (fan_in + fan_out));
    Rng rng(static_cast<std::uint64_t>(fan_in * 1000 + fan_out));
    Tensor<double> W(784, 128);
    glorot_uniform(W, fan_in, fan_out, rng);
    const Moments m = moments(W);
    CHECK(std::abs(m.stddev / (a / std::sqrt(3.0)) - 1) < 0.03);
    CHECK(std::abs(m.mean) < 0.032 * a);
    CHECK(m.max_abs <= a);
    CHECK(m.max_abs > 0.999 * a);                           // fills the range (P(miss) = 0.999^n)
    CHECK(std::abs(m.within_one_sd - 0.5774) < 0.015);      // flat, not normal
  }
}

TEST_CASE("mistakes: make_mlp gives the hidden layer He with fan_in = inputs and the output layer Glorot") {
  MlpSpec spec;  // 784-128-10, init auto
  auto model = make_mlp<double>(spec);
  auto* d1 = dynamic_cast<Dense<double>*>(model.find("dense1"));
  auto* d2 = dynamic_cast<Dense<double>*>(model.find("dense2"));
  REQUIRE(d1 != nullptr);
  REQUIRE(d2 != nullptr);
  const Moments m1 = moments(d1->W);
  CHECK(std::abs(m1.stddev / std::sqrt(2.0 / 784) - 1) < 0.03);  // fan_out (128) would be 2.5 x
  const double a = std::sqrt(6.0 / (128 + 10));
  const Moments m2 = moments(d2->W);  // 1280 draws
  CHECK(m2.max_abs <= a);             // a normal of that spread exceeds a in ~10% of draws
  CHECK(std::abs(m2.stddev / (a / std::sqrt(3.0)) - 1) < 0.1);  // deviation 1.25%: 8 of them
  for (double b : d1->b.data) CHECK(b == 0.0);
  for (double b : d2->b.data) CHECK(b == 0.0);
}
