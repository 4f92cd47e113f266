#include <doctest/doctest.h>

#include "../../support/kernel_settings.hpp"

#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "chainrule/gradcheck.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/layers/pool.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

namespace {

Tensor<double> random_tensor(int rows, int cols, Rng& rng) {
  Tensor<double> t(rows, cols);
  for (auto& v : t.data) v = rng.normal();
  return t;
}

double sum(const Tensor<double>& t) { return std::accumulate(t.data.begin(), t.data.end(), 0.0); }

// One 4x4 image, four 2x2 windows; two of them hold an exact tie.
//   window (0, 0): 1 3 / 0 2    max 3 at (0, 1)
//   window (0, 1): 2 0 / 5 5    a tie: 5 at (1, 2) and (1, 3); the first in scan order is (1, 2)
//   window (1, 0): 4 4 / 1 -1   a tie: 4 at (2, 0) and (2, 1); the first is (2, 0)
//   window (1, 1): 1 7 / 6 3    max 7 at (2, 3)
Tensor<double> tied_image() {
  Tensor<double> X(1, 16);
  X.data = {1, 3, 2, 0,  //
            0, 2, 5, 5,  //
            4, 4, 1, 7,  //
            1, -1, 6, 3};
  return X;
}

}  // namespace

TEST_CASE("maxpool2d: forward takes each window's max, backward routes dY to it, the first max on a tie") {
  MaxPool2d<double> pool("pool", {1, 4, 4}, 2);
  CHECK(pool.stride() == 2);  // stride = kernel by default
  CHECK(pool.out_shape() == ImageShape{1, 2, 2});
  const Tensor<double> X = tied_image();
  Tensor<double> Y, dY(1, 4), dX;
  pool.forward(X, Y, true);
  CHECK(Y.data == std::vector<double>{3, 5, 4, 7});
  dY.data = {1, 2, 3, 4};
  pool.backward(dY, &dX);
  CHECK(dX.data == std::vector<double>{0, 1, 0, 0,  //
                                       0, 0, 2, 0,  //
                                       3, 0, 0, 4,  //
                                       0, 0, 0, 0});
  std::vector<std::uint8_t> places;
  pool.kink_pattern(places);
  CHECK(places == std::vector<std::uint8_t>{1, 2, 0, 1});  // u * 2 + v of each window's max
}

TEST_CASE("maxpool2d: odd sizes leave the last row and column out, overlapping windows add up") {
  Rng rng(2);
  MaxPool2d<double> pool("pool", {2, 5, 5}, 2);  // 2 channels, 5x5 -> 2x2: row 4 and column 4 unused
  CHECK(pool.out_shape() == ImageShape{2, 2, 2});
  Tensor<double> X = random_tensor(2, 50, rng), Y, dX;
  pool.forward(X, Y, true);
  pool.backward(Tensor<double>(2, 8, 1.0), &dX);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 2; ++c)
      for (int t = 0; t < 5; ++t) {
        CHECK(dX(n, pool.in_shape().index(c, 4, t)) == 0);
        CHECK(dX(n, pool.in_shape().index(c, t, 4)) == 0);
      }
  CHECK(sum(dX) == 16);  // one 1 per window

  MaxPool2d<double> overlap("pool", {1, 5, 5}, 3, 2);  // windows at 0 and 2: the centre is in all four
  CHECK(overlap.out_shape() == ImageShape{1, 2, 2});
  X = random_tensor(1, 25, rng);
  X(0, 12) = 10;  // the centre (2, 2) is every window's max
  overlap.forward(X, Y, true);
  CHECK(Y.data == std::vector<double>{10, 10, 10, 10});
  Tensor<double> dY(1, 4);
  dY.data = {1, 2, 3, 4};
  overlap.backward(dY, &dX);
  CHECK(dX(0, 12) == 10);
  CHECK(sum(dX) == 10);
}

TEST_CASE("maxpool2d: gradient check with exact ties: the probes that move an argmax are skipped, the rest PASS") {
  MaxPool2d<double> pool("pool", {1, 4, 4}, 2);
  auto report = check_layer(pool, tied_image(), GradCheckOptions{});
  REQUIRE(report.rows.size() == 1);  // X only: pooling has no parameters
  const auto& row = report.rows[0];
  CHECK(row.skipped == 4);  // the four tied entries: each probe makes one of a pair the only max
  CHECK(row.checked == 12);
  CHECK(report.passed());

  Rng rng(4);  // several channels and images, random (no ties), overlapping windows: nothing skipped
  MaxPool2d<double> overlap("pool", {3, 7, 5}, 3, 2);
  report = check_layer(overlap, random_tensor(2, 105, rng), GradCheckOptions{});
  CHECK(report.passed());
  CHECK(report.rows[0].checked + report.rows[0].skipped == 210);
}

namespace {
// BUG: the max's place in its window (u * k + v) used as if it were its column in the image.
struct PlaceAsColumn : MaxPool2d<double> {
  using MaxPool2d<double>::MaxPool2d;
  void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
    dX->resize(rows_, in_.size());
    dX->zero();
    for (int n = 0; n < rows_; ++n)
      for (int q = 0; q < out_.size(); ++q) (*dX)(n, place_[static_cast<std::size_t>(n) * out_.size() + q]) += dY(n, q);
  }
};
// BUG: a tie's gradient given to every tied entry (the function's change is counted twice).
struct EveryMax : MaxPool2d<double> {
  using MaxPool2d<double>::MaxPool2d;
  const Tensor<double>* X_ = nullptr;
  void forward(const Tensor<double>& X, Tensor<double>& Y, bool training) override {
    MaxPool2d<double>::forward(X, Y, training);
    X_ = &X;
  }
  void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
    dX->resize(rows_, in_.size());
    dX->zero();
    for (int n = 0; n < rows_; ++n)
      for (int q = 0; q < out_.size(); ++q) {
        const double max = (*X_)(n, argmax_[static_cast<std::size_t>(n) * out_.size() + q]);
        const int c = q / out_.pixels(), i = q % out_.pixels() / out_.width, j = q % out_.width;
        for (int u = 0; u < k_; ++u)
          for (int v = 0; v < k_; ++v) {
            const int at = in_.index(c, s_ * i + u, s_ * j + v);
            if ((*X_)(n, at) == max) (*dX)(n, at) += dY(n, q);
          }
      }
  }
};
}  // namespace

TEST_CASE("maxpool2d: the checker catches a gradient routed to the wrong place") {
  Rng rng(8);
  PlaceAsColumn bug("pool", {2, 5, 7}, 2);
  const auto report = check_layer(bug, random_tensor(2, 70, rng), GradCheckOptions{});
  CHECK_FALSE(report.passed());
  CHECK(report.rows[0].ratio > 1e3);
}

// At a tie max is not differentiable: each one-sided slope is 0 or 1, their mean 1/2, and no
// centered difference can say where dY belongs. So the checker skips those probes, and a bug
// that only shows at a tie passes it. The rule "one window, one receiver" catches it: without
// overlap, dX holds exactly dY's values.
TEST_CASE("maxpool2d: a tie's gradient given to both maxima passes the checker (skipped) but not the sum rule") {
  EveryMax bug("pool", {1, 4, 4}, 2);
  const auto report = check_layer(bug, tied_image(), GradCheckOptions{});
  CHECK(report.rows[0].skipped == 4);
  CHECK(report.passed());  // the limit of a finite difference at a kink

  MaxPool2d<double> good("pool", {1, 4, 4}, 2);
  Tensor<double> Y, dY(1, 4), dX_good, dX_bug;
  dY.data = {1, 2, 3, 4};
  const Tensor<double> X = tied_image();
  good.forward(X, Y, true);
  good.backward(dY, &dX_good);
  bug.forward(X, Y, true);
  bug.backward(dY, &dX_bug);
  CHECK(sum(dX_good) == sum(dY));
  CHECK(sum(dX_bug) == sum(dY) + 2 + 3);  // windows 1 and 2 each paid twice
}

TEST_CASE("avgpool2d: forward takes each window's mean, backward spreads dY / k^2 over the window") {
  AvgPool2d<double> pool("pool", {1, 4, 4}, 2);
  Tensor<double> X(1, 16), Y, dY(1, 4), dX;
  for (int k = 0; k < 16; ++k) X.data[k] = k + 1;
  pool.forward(X, Y, true);
  CHECK(Y.data == std::vector<double>{3.5, 5.5, 11.5, 13.5});  // (1 + 2 + 5 + 6) / 4, ...
  dY.data = {4, 8, 12, 16};
  pool.backward(dY, &dX);
  CHECK(dX.data == std::vector<double>{1, 1, 2, 2,  //
                                       1, 1, 2, 2,  //
                                       3, 3, 4, 4,  //
                                       3, 3, 4, 4});
}

TEST_CASE("avgpool2d: gradient check of every entry: odd sizes, channels, overlapping windows") {
  Rng rng(6);
  for (int overlap = 0; overlap < 2; ++overlap) {
    AvgPool2d<double> pool("pool", {2, 5, 7}, overlap ? 3 : 2, 2);
    const auto report = check_layer(pool, random_tensor(3, 70, rng), GradCheckOptions{});
    CHECK(report.passed());
    CHECK(report.rows[0].checked == 210);
  }
}

TEST_CASE("pooling: shape errors and windows that do not fit") {
  MaxPool2d<float> pool("pool1", {6, 28, 28}, 2);
  Tensor<float> X(2, 100), Y;
  CHECK_THROWS_WITH_AS(pool.forward(X, Y, true),
                       "pool1.forward: X is (2, 100) but the layer takes images (6, 28, 28), 4704 columns", ShapeError);
  AvgPool2d<float> avg("pool", {1, 4, 4}, 2);
  CHECK_THROWS_AS(avg.forward(X, Y, true), ShapeError);
  CHECK_THROWS_AS(MaxPool2d<float>("p", {1, 3, 3}, 4), std::invalid_argument);
  CHECK_THROWS_AS(AvgPool2d<float>("p", {1, 3, 3}, 2, -1), std::invalid_argument);
  CHECK_THROWS_AS(MaxPool2d<float>("p", {1, 40, 40}, 17), std::invalid_argument);  // a place must fit a byte
}

TEST_CASE("maxpool2d: the Fast path's 2x2 scan gives the loop's maxima, argmax and places: ties, NaN, odd sizes, every path") {
  testing::KernelSettingsGuard guard;
  set_kernel_path(KernelPath::Fast);
  // Rows of 35 windows (16, 16 and a tail of 3), odd sizes that leave a row and a column out,
  // values from a small set (many exact ties, +0 against -0) and a few NaN.
  const ImageShape shapes[] = {{6, 28, 28}, {2, 9, 71}, {3, 5, 3}, {1, 2, 2}};
  Rng rng(11);
  int compared = 0;
  for (KernelIsa isa : {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512}) {
    if (!kernel_isa_available(isa)) continue;
    set_kernel_isa(isa);
    for (const ImageShape& in : shapes) {
      INFO("path " << kernel_isa_name(isa) << ", input " << in.str());
      Tensor<float> X(3, in.size());
      const float values[] = {-1.0f, -0.0f, 0.0f, 0.5f, 2.0f, std::numeric_limits<float>::quiet_NaN()};
      for (auto& v : X.data) v = values[static_cast<int>(rng.uniform() * (rng.uniform() < 0.02 ? 6 : 5))];
      MaxPool2d<float> loop("pool", in, 2), fast("pool", in, 2);
      Tensor<float> Y_loop, Y_fast, dX_loop, dX_fast;
      set_direct_conv(false);
      loop.forward(X, Y_loop, true);
      set_direct_conv(true);
      fast.forward(X, Y_fast, true);
      REQUIRE(Y_loop.same_shape(Y_fast));
      CHECK(std::memcmp(Y_loop.data.data(), Y_fast.data.data(), Y_loop.size() * sizeof(float)) == 0);
      std::vector<std::uint8_t> places_loop, places_fast;
      loop.kink_pattern(places_loop);
      fast.kink_pattern(places_fast);
      CHECK(places_loop == places_fast);
      Tensor<float> dY(Y_loop.rows, Y_loop.cols);
      for (auto& v : dY.data) v = static_cast<float>(rng.normal());
      loop.backward(dY, &dX_loop);
      fast.backward(dY, &dX_fast);
      CHECK(std::memcmp(dX_loop.data.data(), dX_fast.data.data(), dX_loop.size() * sizeof(float)) == 0);
      ++compared;
    }
  }
  CHECK(compared >= 4);
}
