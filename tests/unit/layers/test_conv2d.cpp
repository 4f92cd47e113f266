#include <doctest/doctest.h>

#include "../../support/kernel_settings.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "chainrule/gradcheck.hpp"
#include "chainrule/init.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/layers/conv2d.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

namespace {

Tensor<double> random_tensor(int rows, int cols, Rng& rng) {
  Tensor<double> t(rows, cols);
  for (auto& v : t.data) v = rng.normal();
  return t;
}

double largest_rel_diff(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.same_shape(b));
  double scale = 0, diff = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    scale = std::max(scale, std::abs(a.data[k]));
    diff = std::max(diff, std::abs(a.data[k] - b.data[k]));
  }
  return diff / scale;
}

struct Geometry {
  ImageShape in;
  int out, k, s, p;
};
// Odd sizes, stride 1 and 2, padding 0, 1 and 2, several channels in and out, a 1x1 kernel,
// and a kernel as wide as the padded image.
const Geometry kGeometries[] = {{{1, 4, 4}, 1, 2, 1, 0}, {{2, 5, 7}, 3, 3, 1, 1}, {{2, 5, 7}, 3, 3, 2, 2},
                                {{3, 6, 5}, 2, 2, 2, 0}, {{1, 7, 5}, 2, 5, 1, 2}, {{3, 4, 6}, 4, 1, 1, 0},
                                {{2, 3, 3}, 2, 5, 1, 1}, {{2, 9, 8}, 3, 3, 3, 1}};

Conv2d<double> random_conv(const Geometry& g, Rng& rng) {
  Conv2d<double> conv("conv", g.in, g.out, g.k, g.s, g.p);
  he_normal(conv.W, conv.fan_in(), rng);
  for (auto& b : conv.b.data) b = 0.1 * rng.normal();
  return conv;
}

}  // namespace

TEST_CASE("conv2d: the output geometry is (H + 2p - k) / s + 1, W is (Cin*k*k, Cout), b is (1, Cout)") {
  Conv2d<float> conv("conv1", {1, 28, 28}, 6, 5, 1, 2);  // LeNet-5's first layer
  CHECK(conv.out_shape() == ImageShape{6, 28, 28});
  CHECK(conv.W.shape() == "(25, 6)");
  CHECK(conv.b.shape() == "(1, 6)");
  CHECK(conv.fan_in() == 25);
  CHECK(Conv2d<float>("conv2", {6, 14, 14}, 16, 5).out_shape() == ImageShape{16, 10, 10});
  CHECK(Conv2d<float>("c", {2, 5, 7}, 3, 3, 2, 2).out_shape() == ImageShape{3, 4, 5});  // (5+4-3)/2+1, (7+4-3)/2+1
  CHECK(Conv2d<float>("c", {1, 6, 5}, 1, 2, 2).out_shape() == ImageShape{1, 3, 2});     // the last column unused
  CHECK_THROWS_AS(Conv2d<float>("c", {1, 3, 3}, 1, 5), std::invalid_argument);         // 5 > 3: does not fit
  CHECK_THROWS_AS(Conv2d<float>("c", {1, 3, 3}, 1, 2, 0), std::invalid_argument);      // stride 0
  CHECK_THROWS_AS(Conv2d<float>("c", {1, 3, 3}, 1, 2, 1, -1), std::invalid_argument);  // negative padding
}

// The pencil case: a 4x4 input x[i][j] = 4i + j + 1 and the 2x2 kernel [[1, 2], [3, 4]].
//   Y[i][j] = x[i][j] + 2 x[i][j+1] + 3 x[i+1][j] + 4 x[i+1][j+1] + b = 10 x[i][j] + 34 + b
TEST_CASE("conv2d: forward on a 4x4 input and a 2x2 kernel, by hand, in both implementations") {
  Conv2d<double> conv("conv", {1, 4, 4}, 1, 2);
  conv.W.data = {1, 2, 3, 4};  // (u, v) = (0, 0), (0, 1), (1, 0), (1, 1)
  conv.b.data = {0.5};
  Tensor<double> X(1, 16), Y, Yref;
  for (int k = 0; k < 16; ++k) X.data[k] = k + 1;
  conv.forward(X, Y, true);
  conv.forward_reference(X, Yref);
  const std::vector<double> expected = {44.5, 54.5, 64.5, 84.5, 94.5, 104.5, 124.5, 134.5, 144.5};
  CHECK(Y.shape() == "(1, 9)");
  CHECK(Y.data == expected);
  CHECK(Yref.data == expected);
}

// With dY = 1 everywhere (a 3x3 of ones):
//   dW[u][v] = sum of the 3x3 block of x at (u, v)   (the correlation of x with dY)
//            = 54, 63 / 90, 99                         (the block at (0, 0) sums to 54; +1 per column, +4 per row)
//   db       = 9
//   dX       = the full convolution of dY with the kernel: each pixel sums the kernel entries
//              that touched it: a corner only one, the middle all four (1 + 2 + 3 + 4 = 10)
TEST_CASE("conv2d: backward on the 4x4 case by hand: dW, db, dX, in both implementations, and it accumulates") {
  Conv2d<double> conv("conv", {1, 4, 4}, 1, 2);
  conv.W.data = {1, 2, 3, 4};
  Tensor<double> X(1, 16), Y, dY(1, 9, 1.0), dX;
  for (int k = 0; k < 16; ++k) X.data[k] = k + 1;
  const std::vector<double> dX_expected = {1, 3, 3, 2,    //
                                           4, 10, 10, 6,  //
                                           4, 10, 10, 6,  //
                                           3, 7, 7, 4};
  for (bool reference : {false, true}) {
    INFO("reference " << reference);
    conv.dW.zero();
    conv.db.zero();
    if (reference) {
      conv.forward_reference(X, Y);
      conv.backward_reference(dY, &dX);
    } else {
      conv.forward(X, Y, true);
      conv.backward(dY, &dX);
    }
    CHECK(conv.dW.data == std::vector<double>{54, 63, 90, 99});
    CHECK(conv.db.data == std::vector<double>{9});
    CHECK(dX.data == dX_expected);
    reference ? conv.backward_reference(dY, nullptr) : conv.backward(dY, nullptr);  // adds on top, skips dX
    CHECK(conv.dW.data == std::vector<double>{108, 126, 180, 198});
    CHECK(conv.db.data == std::vector<double>{18});
  }
}

TEST_CASE("conv2d: padding 1 by hand: a 2x2 input, a 3x3 kernel of ones sums each pixel's neighbourhood") {
  Conv2d<double> conv("conv", {1, 2, 2}, 1, 3, 1, 1);
  conv.W.fill(1);
  Tensor<double> X(1, 4), Y;
  X.data = {1, 2, 3, 4};
  conv.forward(X, Y, true);
  CHECK(Y.data == std::vector<double>{10, 10, 10, 10});  // every 3x3 window holds the whole image
  conv.W.zero();
  conv.W(4, 0) = 1;  // the centre only: the identity
  conv.forward(X, Y, true);
  CHECK(Y.data == std::vector<double>{1, 2, 3, 4});
}

TEST_CASE("conv2d: channels: output channel o sums its filter over every input channel, rows are images") {
  Conv2d<double> conv("conv", {2, 1, 1}, 2, 1);  // 1x1 kernels: W (2, 2) mixes the two channels
  conv.W.data = {1, 10,    // input channel 0 -> outputs 0, 1
                 100, 1000};  // input channel 1
  conv.b.data = {0, 0.5};
  Tensor<double> X(2, 2), Y;
  X.data = {1, 2,   // image 0: channel 0 = 1, channel 1 = 2
            3, 4};  // image 1
  conv.forward(X, Y, true);
  CHECK(Y.data == std::vector<double>{201, 2010.5, 403, 4030.5});
}

TEST_CASE("conv2d: im2col + matrix products equal the reference loops (double, 1e-12 relative), every geometry") {
  Rng rng(19);
  for (const Geometry& g : kGeometries) {
    INFO("in " << g.in.str() << " out " << g.out << " k " << g.k << " s " << g.s << " p " << g.p);
    Conv2d<double> conv = random_conv(g, rng);
    Conv2d<double> ref = conv;
    const Tensor<double> X = random_tensor(3, g.in.size(), rng);
    Tensor<double> Y, Yref, dX, dXref;
    conv.forward(X, Y, true);
    ref.forward_reference(X, Yref);
    CHECK(largest_rel_diff(Y, Yref) < 1e-12);
    const Tensor<double> dY = random_tensor(Y.rows, Y.cols, rng);
    conv.backward(dY, &dX);
    ref.backward_reference(dY, &dXref);
    CHECK(largest_rel_diff(conv.dW, ref.dW) < 1e-12);
    CHECK(largest_rel_diff(conv.db, ref.db) < 1e-12);
    CHECK(largest_rel_diff(dX, dXref) < 1e-12);
  }
}

TEST_CASE("conv2d: the float layer computes what the double layer does") {
  Rng rng(7);
  const Geometry g = kGeometries[2];
  Conv2d<double> d = random_conv(g, rng);
  Conv2d<float> f("conv", g.in, g.out, g.k, g.s, g.p);
  f.W = d.W.cast<float>();
  f.b = d.b.cast<float>();
  const Tensor<double> X = random_tensor(2, g.in.size(), rng);
  const Tensor<float> Xf = X.cast<float>();
  Tensor<double> Y, dY, dX;
  Tensor<float> Yf, dXf;
  d.forward(X, Y, true);
  f.forward(Xf, Yf, true);
  dY = random_tensor(Y.rows, Y.cols, rng);
  d.backward(dY, &dX);
  f.backward(dY.cast<float>(), &dXf);
  CHECK(largest_rel_diff(Yf.cast<double>(), Y) < 1e-5);
  CHECK(largest_rel_diff(f.dW.cast<double>(), d.dW) < 1e-5);
  CHECK(largest_rel_diff(dXf.cast<double>(), dX) < 1e-5);
}

TEST_CASE("conv2d: col2im is im2col's adjoint: <im2col(X), C> = <X, col2im(C)>") {
  Rng rng(3);
  for (const Geometry& g : kGeometries) {
    const Tensor<double> X = random_tensor(2, g.in.size(), rng);
    Tensor<double> cols, back;
    im2col(X, g.in, g.k, g.s, g.p, cols);
    const Tensor<double> C = random_tensor(cols.rows, cols.cols, rng);
    col2im(C, g.in, g.k, g.s, g.p, back);
    double lhs = 0, rhs = 0, scale = 0;
    for (std::size_t k = 0; k < C.size(); ++k) {
      lhs += cols.data[k] * C.data[k];
      scale += std::abs(cols.data[k] * C.data[k]);
    }
    for (std::size_t k = 0; k < X.size(); ++k) rhs += X.data[k] * back.data[k];
    CHECK(std::abs(lhs - rhs) < 1e-13 * scale);
  }
}

TEST_CASE("conv2d: gradient check of every entry of X, W and b, on every geometry") {
  Rng rng(5);
  for (const Geometry& g : kGeometries) {
    INFO("in " << g.in.str() << " out " << g.out << " k " << g.k << " s " << g.s << " p " << g.p);
    Conv2d<double> conv = random_conv(g, rng);
    const auto report = check_layer(conv, random_tensor(2, g.in.size(), rng), GradCheckOptions{});
    REQUIRE(report.rows.size() == 3);  // X, conv.W, conv.b
    for (const auto& row : report.rows) {
      INFO(row.name << " error / noise " << row.ratio);
      CHECK(row.pass);
      CHECK(row.checked == row.total);
      CHECK(row.skipped == 0);  // no kinks: a convolution is linear in each tensor
    }
  }
}

namespace {
// Two wrong backward passes the checker must catch.
// BUG: each filter's gradient stored transposed, dW[(c, u, v)] in the place of (c, v, u).
struct TransposedKernelGrad : Conv2d<double> {
  using Conv2d<double>::Conv2d;
  void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
    const Tensor<double> before = dW;
    Conv2d<double>::backward(dY, dX);
    const Tensor<double> added = dW;
    for (int c = 0; c < in_.channels; ++c)
      for (int u = 0; u < k_; ++u)
        for (int v = 0; v < k_; ++v)
          for (int o = 0; o < out_.channels; ++o) {
            const int at = (c * k_ + u) * k_ + v, swapped = (c * k_ + v) * k_ + u;
            dW(at, o) = before(at, o) + added(swapped, o) - before(swapped, o);
          }
  }
};
// BUG: dX as a correlation of dY with the kernel, the flip forgotten: the right dX of the
// layer whose filters are turned by 180 degrees.
struct UnflippedInputGrad : Conv2d<double> {
  using Conv2d<double>::Conv2d;
  void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
    Conv2d<double>::backward(dY, nullptr);
    if (!dX) return;
    Conv2d<double> turned(this->name(), in_, out_.channels, k_, s_, p_);
    for (int c = 0; c < in_.channels; ++c)
      for (int u = 0; u < k_; ++u)
        for (int v = 0; v < k_; ++v)
          for (int o = 0; o < out_.channels; ++o)
            turned.W((c * k_ + u) * k_ + v, o) = W((c * k_ + k_ - 1 - u) * k_ + k_ - 1 - v, o);
    Tensor<double> Y;
    turned.forward(*X_, Y, true);
    turned.backward(dY, dX);
  }
};
}  // namespace

TEST_CASE("conv2d: the checker has teeth: a transposed dW and an unflipped kernel in dX each FAIL") {
  Rng rng(23);
  const Geometry g = kGeometries[2];  // 2 x 5x7, k 3, stride 2, pad 2
  const Tensor<double> X = random_tensor(2, g.in.size(), rng);
  Conv2d<double> good = random_conv(g, rng);
  CHECK(check_layer(good, X, GradCheckOptions{}).passed());

  TransposedKernelGrad transposed("conv", g.in, g.out, g.k, g.s, g.p);
  transposed.W = good.W;
  transposed.b = good.b;
  auto report = check_layer(transposed, X, GradCheckOptions{});
  CHECK(report.rows[0].pass);      // X
  CHECK_FALSE(report.rows[1].pass);  // conv.W
  CHECK(report.rows[1].ratio > 1e3);
  CHECK(report.rows[2].pass);      // conv.b

  UnflippedInputGrad unflipped("conv", g.in, g.out, g.k, g.s, g.p);
  unflipped.W = good.W;
  unflipped.b = good.b;
  report = check_layer(unflipped, X, GradCheckOptions{});
  CHECK_FALSE(report.rows[0].pass);  // X
  CHECK(report.rows[0].ratio > 1e3);
  CHECK(report.rows[1].pass);
  CHECK(report.rows[2].pass);
}

TEST_CASE("conv2d: a wrong input width or dY shape is a shape error naming the shapes") {
  Conv2d<float> conv("conv1", {1, 28, 28}, 6, 5, 1, 2);
  Tensor<float> X(2, 780), Y;
  CHECK_THROWS_WITH_AS(conv.forward(X, Y, true),
                       "conv1.forward: X is (2, 780) but the layer takes images (1, 28, 28), 784 columns", ShapeError);
  X.resize(2, 784);
  conv.forward(X, Y, true);
  Tensor<float> dY(2, 100), dX;
  CHECK_THROWS_AS(conv.backward(dY, &dX), ShapeError);
}

namespace {
bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  return a.same_shape(b) && std::memcmp(a.data.data(), b.data.data(), a.size() * sizeof(float)) == 0;
}

// A float tensor of normal values, a `zeros` fraction of them zero (some -0).
Tensor<float> sparse_tensor(int rows, int cols, double zeros, Rng& rng) {
  Tensor<float> t(rows, cols);
  for (auto& v : t.data) {
    const double u = rng.uniform();
    v = u < zeros ? (u < zeros / 8 ? -0.0f : 0.0f) : static_cast<float>(rng.normal());
  }
  return t;
}

// One forward and two backward passes (dW and db accumulate), with dX or without.
struct ConvRun {
  Tensor<float> Y, dX, dW, db;
};
ConvRun run_conv(const Geometry& g, int N, bool training, bool want_dx, std::uint64_t seed) {
  Rng rng(seed);
  Conv2d<float> conv("conv", g.in, g.out, g.k, g.s, g.p);
  conv.W = sparse_tensor(conv.W.rows, conv.W.cols, 0.0, rng);
  conv.b = sparse_tensor(1, g.out, 0.0, rng);
  const Tensor<float> X = sparse_tensor(N, g.in.size(), 0.6, rng);
  ConvRun r;
  conv.forward(X, r.Y, training);
  if (training) {
    const Tensor<float> dY = sparse_tensor(N, r.Y.cols, 0.5, rng);
    conv.backward(dY, want_dx ? &r.dX : nullptr);
    conv.backward(dY, want_dx ? &r.dX : nullptr);
  }
  r.dW = conv.dW;
  r.db = conv.db;
  return r;
}
}  // namespace

TEST_CASE("conv2d: the direct route (no patch matrix) gives im2col's bits on every path, 1 and 2 threads") {
  testing::KernelSettingsGuard guard;
  set_kernel_path(KernelPath::Fast);
  struct Case {
    Geometry g;
    int N;
  };
  // LeNet-5's two layers (the deep dW sum cut at an image, then inside one: 7 x 100 rows),
  // more than 16 output channels (two blocks, the second partial), several K blocks, rows
  // of pixels wider than 16, a 1x1 kernel, a kernel wider than the image, 32 channels (the
  // forward 16 channels at a time, twice), and stride 2 (which the direct route leaves to im2col).
  const Case cases[] = {{{{1, 28, 28}, 6, 5, 1, 2}, 128}, {{{6, 14, 14}, 16, 5, 1, 0}, 7},
                        {{{3, 9, 8}, 20, 3, 1, 1}, 3},    {{{7, 6, 6}, 5, 3, 1, 0}, 2},
                        {{{2, 5, 37}, 3, 3, 1, 1}, 4},    {{{3, 4, 6}, 4, 1, 1, 0}, 5},
                        {{{2, 3, 3}, 2, 5, 1, 1}, 2},     {{{2, 6, 7}, 32, 3, 1, 1}, 3},
                        {{{2, 5, 7}, 3, 3, 2, 2}, 3}};
  int compared = 0;
  for (KernelIsa isa : {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512}) {
    if (!kernel_isa_available(isa)) continue;
    set_kernel_isa(isa);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      std::uint64_t seed = 100;
      for (const Case& c : cases)
        for (bool want_dx : {true, false}) {
          INFO("path " << kernel_isa_name(isa) << ", threads " << threads << ", input " << c.g.in.str() << ", out "
                       << c.g.out << ", k " << c.g.k << ", s " << c.g.s << ", p " << c.g.p << ", N " << c.N);
          ++seed;
          set_direct_conv(false);
          const ConvRun patches = run_conv(c.g, c.N, true, want_dx, seed);
          set_direct_conv(true);
          const ConvRun direct = run_conv(c.g, c.N, true, want_dx, seed);
          CHECK(same_bits(patches.Y, direct.Y));
          CHECK(same_bits(patches.dW, direct.dW));
          CHECK(same_bits(patches.db, direct.db));
          if (want_dx) CHECK(same_bits(patches.dX, direct.dX));
          ++compared;
        }
    }
  }
  CHECK(compared >= 32);
  // Outside training: 130 images, which the im2col route takes 128 at a time.
  set_direct_conv(false);
  const ConvRun patches = run_conv(cases[0].g, 130, false, false, 7);
  set_direct_conv(true);
  CHECK(same_bits(patches.Y, run_conv(cases[0].g, 130, false, false, 7).Y));
}

TEST_CASE("conv2d: the direct route is taken for stride 1 on the Fast path only, and can be switched off") {
  testing::KernelSettingsGuard guard;
  const ConvGeometry lenet1{1, 28, 28, 6, 5, 2};
  set_kernel_path(KernelPath::Fast);
  set_direct_conv(true);
  CHECK(fast_conv_takes(lenet1, 1));
  CHECK_FALSE(fast_conv_takes(lenet1, 2));
  CHECK_FALSE(fast_conv_takes({32, 14, 14, 16, 5, 0}, 1));  // K = 800: the products cut it in two
  set_direct_conv(false);
  CHECK_FALSE(fast_conv_takes(lenet1, 1));
  set_direct_conv(true);
  set_kernel_path(KernelPath::Reference);
  CHECK_FALSE(fast_conv_takes(lenet1, 1));
}

TEST_CASE("conv2d: the direct route gives im2col's bits on 60 random geometries") {
  testing::KernelSettingsGuard guard;
  set_kernel_path(KernelPath::Fast);
  Rng shapes(2026);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(shapes.uniform() * (hi - lo + 1)); };
  int compared = 0;
  for (int c = 0; c < 60; ++c) {
    const int k = pick(1, 5), p = pick(0, k - 1);
    const Geometry g{{pick(1, 4), pick(std::max(1, k - 2 * p), 12), pick(std::max(1, k - 2 * p), 40)}, pick(1, 40), k, 1, p};
    const int N = pick(1, 9);
    for (KernelIsa isa : {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512}) {
      if (!kernel_isa_available(isa)) continue;
      set_kernel_isa(isa);
      set_num_threads(c % 2 + 1);
      INFO("path " << kernel_isa_name(isa) << ", input " << g.in.str() << ", out " << g.out << ", k " << k << ", p " << p
                   << ", N " << N);
      set_direct_conv(false);
      const ConvRun patches = run_conv(g, N, true, true, 500 + c);
      set_direct_conv(true);
      const ConvRun direct = run_conv(g, N, true, true, 500 + c);
      CHECK(same_bits(patches.Y, direct.Y));
      CHECK(same_bits(patches.dW, direct.dW));
      CHECK(same_bits(patches.db, direct.db));
      CHECK(same_bits(patches.dX, direct.dX));
      ++compared;
    }
  }
  CHECK(compared >= 60);
}
