#include <doctest/doctest.h>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/relu.hpp"

using namespace chainrule;

TEST_CASE("relu: forward clamps negatives; backward passes the gradient only where x > 0 (ReLU'(0) = 0)") {
  ReLU<double> relu("relu");
  Tensor<double> X(1, 4), Y, dY(1, 4, 1.0), dX;
  X.data = {-2, 0, 0.5, 3};
  relu.forward(X, Y, true);
  CHECK(Y.data == std::vector<double>{0, 0, 0.5, 3});
  relu.backward(dY, &dX);
  CHECK(dX.data == std::vector<double>{0, 0, 1, 1});
}

TEST_CASE("relu: dead and zero fractions") {
  ReLU<float> relu("relu");
  Tensor<float> X(2, 2), Y;
  X.data = {-1, 2,
            -3, -4};  // column 0 is dead for the whole batch, column 1 is not
  relu.forward(X, Y, true);
  CHECK(relu.dead_fraction() == doctest::Approx(0.5));
  CHECK(relu.zero_fraction() == doctest::Approx(0.75));
}

TEST_CASE("relu: gradient check away from the kink, and the checker skips probes that cross it") {
  ReLU<double> relu("relu");
  Tensor<double> X(3, 3);
  X.data = {-0.9, 0.4, 0.7, 0.2, -0.3, 1.1, -0.5, 0.8, -0.6};
  auto report = check_layer(relu, X, GradCheckOptions{});
  CHECK(report.passed());
  CHECK(report.rows[0].skipped == 0);

  X.data[0] = 3e-6;  // within h = 1e-5 of the kink: that probe straddles it
  report = check_layer(relu, X, GradCheckOptions{});
  CHECK(report.rows[0].skipped == 1);
  CHECK(report.rows[0].checked == 8);
  CHECK(report.passed());
}
