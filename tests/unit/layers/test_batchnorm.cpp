#include <doctest/doctest.h>

#include <cmath>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/bugs/layers.hpp"
#include "chainrule/bugs/losses.hpp"
#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/batchnorm.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

TEST_CASE("batchnorm: training output has zero mean and unit variance per feature, then gamma and beta") {
  BatchNorm1d<double> bn("bn", 2, 0.1, 0.0);
  bn.gamma.data = {2, 1};
  bn.beta.data = {0, 5};
  Tensor<double> X(4, 2), Y;
  X.data = {1, 10, 2, 20, 3, 30, 4, 40};
  bn.forward(X, Y, true);
  // feature 0: mean 2.5, biased var 1.25
  CHECK(Y(0, 0) == doctest::Approx(2 * (1 - 2.5) / std::sqrt(1.25)));
  double mean1 = 0;
  for (int i = 0; i < 4; ++i) mean1 += Y(i, 1);
  CHECK(mean1 / 4 == doctest::Approx(5));
  // running statistics moved 10% towards the batch (unbiased variance 5/3 for feature 0)
  CHECK(bn.running_mean.data[0] == doctest::Approx(0.25));
  CHECK(bn.running_var.data[0] == doctest::Approx(0.9 + 0.1 * 5.0 / 3));
}

TEST_CASE("batchnorm: inference uses the running statistics") {
  BatchNorm1d<double> bn("bn", 1, 0.1, 0.0);
  bn.running_mean.data = {2};
  bn.running_var.data = {4};
  Tensor<double> X(1, 1, 6.0), Y;
  bn.forward(X, Y, false);
  CHECK(Y.data[0] == doctest::Approx(2.0));  // (6 - 2) / 2
}

TEST_CASE("batchnorm: full backward passes the gradient check; dropping the mean term fails it") {
  Rng rng(4);
  BatchNorm1d<double> bn("bn", 5);
  for (auto& g : bn.gamma.data) g = 1 + 0.3 * rng.normal();
  for (auto& b : bn.beta.data) b = rng.normal();
  Tensor<double> X(8, 5);
  for (auto& x : X.data) x = 3 * rng.normal() + 1;
  const auto good = check_layer(bn, X, GradCheckOptions{});
  CHECK(good.passed());
  CHECK(good.rows.size() == 3);  // X, gamma, beta

  bugs::BatchnormMissingMeanTerm<double> wrong("bn", 5);
  wrong.gamma = bn.gamma;
  wrong.beta = bn.beta;
  const auto bad = check_layer(wrong, X, GradCheckOptions{});
  CHECK_FALSE(bad.rows[0].pass);  // dX is wrong
  CHECK(bad.rows[1].pass);        // gamma and beta are untouched by that bug
}
