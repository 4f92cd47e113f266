#include <doctest/doctest.h>

#include <cmath>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/bugs/layers.hpp"
#include "chainrule/bugs/losses.hpp"
#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

TEST_CASE("dropout: training zeroes about rate of the units and scales the rest by 1/keep; inference is identity") {
  Dropout<double> d("dropout", 0.25, 3);
  Tensor<double> X(100, 100, 1.0), Y;
  d.forward(X, Y, true);
  int dropped = 0;
  for (double y : Y.data) {
    CHECK((y == 0.0 || y == doctest::Approx(1.0 / 0.75)));
    dropped += y == 0.0;
  }
  CHECK(std::abs(dropped / 10000.0 - 0.25) < 0.025);  // 5.8 standard deviations (Approx's epsilon is absolute below 1)
  d.forward(X, Y, false);
  CHECK(Y.data == X.data);
}

TEST_CASE("dropout: the same seed gives the same mask") {
  Dropout<float> a("a", 0.5, 9), b("b", 0.5, 9);
  Tensor<float> X(8, 8, 1.0f), Ya, Yb;
  a.forward(X, Ya, true);
  b.forward(X, Yb, true);
  CHECK(Ya.data == Yb.data);
}

TEST_CASE("dropout: backward multiplies by the mask and its scale (gradient check in training mode)") {
  Rng rng(2);
  Dropout<double> d("dropout", 0.4, 17);
  d.freeze_mask(true);
  Tensor<double> X(6, 7);
  for (auto& x : X.data) x = rng.normal();
  CHECK(check_layer(d, X, GradCheckOptions{}).passed());

  bugs::DropoutMissingScale<double> bad("dropout", 0.4, 17);  // forgetting 1/keep must be caught
  bad.freeze_mask(true);
  const auto report = check_layer(bad, X, GradCheckOptions{});
  CHECK_FALSE(report.passed());
  CHECK(report.rows[0].max_rel_error > 0.1);
}

TEST_CASE("dropout: a rate below 0 or at least 1 is refused") {
  CHECK_THROWS_AS(Dropout<float>("d", 1.0, 1), std::invalid_argument);
  CHECK_THROWS_AS(Dropout<float>("d", -0.1, 1), std::invalid_argument);
}
