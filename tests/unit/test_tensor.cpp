#include <doctest/doctest.h>

#include <cstdint>

#include "chainrule/tensor.hpp"

using chainrule::ShapeError;
using chainrule::Tensor;

TEST_CASE("tensor: row-major layout, element access and fill") {
  Tensor<float> t(2, 3);
  CHECK(t.size() == 6);
  CHECK(t.shape() == "(2, 3)");
  t(1, 2) = 5.0f;
  CHECK(t.data[5] == 5.0f);  // row 1 starts at index 3
  CHECK(t.row(1)[2] == 5.0f);
  t.fill(2.0f);
  for (float v : t.data) CHECK(v == 2.0f);
}

TEST_CASE("tensor: values start on a 64-byte cache line, and compare with a plain vector") {
  for (int cols : {1, 3, 10, 128, 784}) {
    Tensor<float> f(3, cols);
    Tensor<double> d(2, cols);
    CHECK(reinterpret_cast<std::uintptr_t>(f.data.data()) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(d.data.data()) % 64 == 0);
    f.resize(50, cols);  // a reallocation keeps the alignment
    CHECK(reinterpret_cast<std::uintptr_t>(f.data.data()) % 64 == 0);
  }
  Tensor<float> t(1, 3);
  t.data = {1, 2, 3};
  CHECK(t.data == std::vector<float>{1, 2, 3});
  CHECK_FALSE(t.data == std::vector<float>{1, 2, 4});
  CHECK_FALSE(t.data == std::vector<float>{1, 2});
}

TEST_CASE("tensor: resize keeps the allocation when it is big enough") {
  Tensor<float> t(4, 4);
  const float* before = t.data.data();
  t.resize(2, 8);
  CHECK(t.rows == 2);
  CHECK(t.cols == 8);
  CHECK(t.data.data() == before);
  t.resize(1, 3);
  CHECK(t.data.data() == before);
  CHECK(t.size() == 3);
}

TEST_CASE("tensor: shape errors name the operation and both shapes") {
  Tensor<double> a(2, 3), b(3, 2);
  CHECK_THROWS_WITH_AS(chainrule::expect_same_shape("add", "A", a, "B", b),
                       "add: A is (2, 3) but B is (3, 2); they must have the same shape", ShapeError);
  CHECK_THROWS_WITH_AS(chainrule::expect_shape("dense1.forward", "X", a, -1, 784),
                       "dense1.forward: X is (2, 3) but must be (any, 784)", ShapeError);
  CHECK_NOTHROW(chainrule::expect_shape("op", "A", a, 2, 3));
  CHECK_THROWS_AS(Tensor<float>(-1, 2), ShapeError);
}

TEST_CASE("tensor: cast between float and double, and max_abs_diff") {
  Tensor<float> f(1, 3);
  f.data = {1.5f, -2.0f, 0.25f};
  Tensor<double> d = f.cast<double>();
  CHECK(d.data[1] == -2.0);
  d.data[2] = 1.25;
  CHECK(chainrule::max_abs_diff(d, f.cast<double>()) == doctest::Approx(1.0));
}
