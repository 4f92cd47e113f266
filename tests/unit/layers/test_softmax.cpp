#include <doctest/doctest.h>

#include <cmath>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/softmax.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

TEST_CASE("softmax: rows sum to 1, values match exp/sum, and huge logits do not overflow") {
  Tensor<float> Z(2, 3), P;
  Z.data = {0, std::log(2.0f), std::log(5.0f),  // exp: 1, 2, 5 -> 1/8, 2/8, 5/8
            1000, 1000, 1000};                 // exp(1000) overflows float; softmax subtracts the max
  softmax_rows(Z, P);
  CHECK(P(0, 0) == doctest::Approx(0.125));
  CHECK(P(0, 1) == doctest::Approx(0.25));
  CHECK(P(0, 2) == doctest::Approx(0.625));
  for (int j = 0; j < 3; ++j) CHECK(P(1, j) == doctest::Approx(1.0 / 3));
}

TEST_CASE("softmax: Jacobian-vector product passes the gradient check") {
  Rng rng(5);
  Softmax<double> s("softmax");
  Tensor<double> Z(4, 6);
  for (auto& z : Z.data) z = 2 * rng.normal();
  const auto report = check_layer(s, Z, GradCheckOptions{});
  CHECK(report.passed());
  CHECK(report.max_rel_error() < 1e-7);
}
