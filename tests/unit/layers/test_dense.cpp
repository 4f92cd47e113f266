#include <doctest/doctest.h>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

TEST_CASE("dense: forward Y = X W + b on numbers checked by hand") {
  Dense<float> d("dense", 2, 3);
  d.W.data = {1, 2, 3,   // W (2, 3)
              4, 5, 6};
  d.b.data = {0.5f, -1, 0};
  Tensor<float> X(2, 2), Y;
  X.data = {1, 0,   // sample 0
            1, 2};  // sample 1
  d.forward(X, Y, true);
  CHECK(Y.shape() == "(2, 3)");
  // sample 0: [1 2 3] + b;  sample 1: [1+8, 2+10, 3+12] + b
  const std::vector<float> expected = {1.5f, 1, 3, 9.5f, 11, 15};
  CHECK(Y.data == expected);
}

TEST_CASE("dense: backward gives dW = X^T dY, db = column sums, dX = dY W^T, and accumulates") {
  Dense<double> d("dense", 2, 2);
  d.W.data = {1, 2, 3, 4};
  Tensor<double> X(2, 2), Y, dY(2, 2), dX;
  X.data = {1, 2, 3, 4};
  dY.data = {1, 0, 0, 1};
  d.forward(X, Y, true);
  d.backward(dY, &dX);
  CHECK(d.dW.data == std::vector<double>{1, 3, 2, 4});  // X^T I = X^T
  CHECK(d.db.data == std::vector<double>{1, 1});
  CHECK(dX.data == std::vector<double>{1, 3, 2, 4});    // I W^T = W^T
  d.backward(dY, nullptr);                              // second pass adds on top (and skips dX)
  CHECK(d.dW.data == std::vector<double>{2, 6, 4, 8});
  CHECK(d.db.data == std::vector<double>{2, 2});
}

TEST_CASE("dense: gradient check in double precision, threshold 1e-7") {
  Rng rng(11);
  Dense<double> d("dense", 7, 5);
  for (auto& w : d.W.data) w = rng.normal();
  for (auto& b : d.b.data) b = rng.normal();
  Tensor<double> X(6, 7);
  for (auto& x : X.data) x = rng.normal();
  const auto report = check_layer(d, X, GradCheckOptions{});
  REQUIRE(report.rows.size() == 3);  // X, dense.W, dense.b
  for (const auto& row : report.rows) {
    INFO(row.name << " max rel error " << row.max_rel_error);
    CHECK(row.pass);
    CHECK(row.checked == row.total);
    CHECK(row.max_abs_analytic > 0);
    CHECK(row.max_rel_error < 1e-7);
  }
}

TEST_CASE("dense: a wrong input width is a shape error naming both shapes") {
  Dense<float> d("dense1", 784, 128);
  Tensor<float> X(32, 780), Y;
  CHECK_THROWS_WITH_AS(d.forward(X, Y, true),
                       "dense1.forward: X is (32, 780) but W is (784, 128); X's columns must equal W's rows", ShapeError);
}
