// Tutorial 22: a convolution's forward and backward pass, by pencil on a 4x4 input and a 2x2
// kernel: dW as a correlation of the input with dY, dX as a full convolution of dY with the
// flipped kernel, and the im2col view in which both are the dense layer's matrix products.
// Every number is small enough to check by hand; then Conv2d and the gradient checker agree.
#include <cstdio>
#include <string>

#include "chainrule/gradcheck.hpp"
#include "chainrule/init.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/layers/conv2d.hpp"
#include "chainrule/rng.hpp"

using chainrule::Conv2d;
using chainrule::ImageShape;
using chainrule::Tensor;

namespace {
// Prints an h x w grid stored row by row in t's row r (an image) or, with r < 0, t itself.
void grid(const char* name, const Tensor<double>& t, int h, int w, int r = 0) {
  for (int y = 0; y < h; ++y) {
    std::printf("  %-10s", y == 0 ? name : "");
    for (int x = 0; x < w; ++x) std::printf(" %4g", t.data[static_cast<std::size_t>(r) * h * w + y * w + x] + 0.0);
    std::printf("\n");
  }
}
void matrix(const char* name, const Tensor<double>& t) {
  for (int i = 0; i < t.rows; ++i) {
    std::printf("  %-10s", i == 0 ? name : "");
    for (int j = 0; j < t.cols; ++j) std::printf(" %4g", t(i, j) + 0.0);
    std::printf("\n");
  }
}
bool same(const Tensor<double>& a, const Tensor<double>& b) { return a.data == b.data; }
}  // namespace

int main() {
  // One image, one channel in and out, kernel 2, stride 1, no padding: Y is 3x3.
  Conv2d<double> conv("conv", ImageShape{1, 4, 4}, 1, 2);
  Tensor<double> X(1, 16), dY(1, 9);
  X.data = {1, 2, 0, 1,  //
            0, 1, 3, 2,  //
            2, 0, 1, 1,  //
            1, 3, 0, 2};
  conv.W.data = {1, 2,  // K[0][0] K[0][1]   (W's column 0 is the filter, row u * 2 + v)
                 -1, 0};  // K[1][0] K[1][1]
  conv.b.data = {0};
  dY.data = {1, 0, -1,  //
             0, 2, 1,   //
             1, -1, 0};
  const Tensor<double>& K = conv.W;

  std::printf("== 1. Forward: Y[i, j] = sum_{u, v} X[i + u, j + v] K[u, v] + b (a cross-correlation)\n");
  Tensor<double> Y;
  conv.forward_reference(X, Y);
  grid("X (4x4)", X, 4, 4);
  grid("K (2x2)", K, 2, 2);
  grid("Y (3x3)", Y, 3, 3);
  std::printf("  Y[0, 0] = 1*1 + 2*2 + 0*(-1) + 1*0 = %g\n", Y.data[0]);
  std::printf("  Y[1, 2] = 3*1 + 2*2 + 1*(-1) + 1*0 = %g\n", Y.data[5]);

  std::printf("== 2. dK[u, v] = sum_{i, j} X[i + u, j + v] dY[i, j]: slide dY over X (a correlation)\n");
  conv.backward_reference(dY, nullptr);
  grid("dY (3x3)", dY, 3, 3);
  grid("dK (2x2)", conv.dW, 2, 2);
  std::printf("  dK[0, 0] = 1*1 + 2*0 + 0*(-1) + 0*0 + 1*2 + 3*1 + 2*1 + 0*(-1) + 1*0 = %g\n", conv.dW.data[0]);
  std::printf("  db = sum of dY = %g\n", conv.db.data[0]);

  std::printf("== 3. dX = dY padded by k - 1 = 1, correlated with K turned by 180 degrees (a full convolution)\n");
  Tensor<double> padded(1, 25), flipped(1, 4), dX_hand(1, 16);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) padded.data[(i + 1) * 5 + (j + 1)] = dY.data[i * 3 + j];
  for (int t = 0; t < 4; ++t) flipped.data[t] = K.data[3 - t];
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      double sum = 0;
      for (int u = 0; u < 2; ++u)
        for (int v = 0; v < 2; ++v) sum += padded.data[(y + u) * 5 + (x + v)] * flipped.data[u * 2 + v];
      dX_hand.data[y * 4 + x] = sum;
    }
  grid("dY padded", padded, 5, 5);
  grid("K flipped", flipped, 2, 2);
  grid("dX (4x4)", dX_hand, 4, 4);
  std::printf("  dX[1, 1] = 1*0 + 0*(-1) + 0*2 + 2*1 = %g: X[1, 1] was under the windows (0,0), (0,1), (1,0), (1,1)\n",
              dX_hand.data[5]);
  std::printf("           with the kernel entries K[1,1], K[1,0], K[0,1], K[0,0]\n");
  Tensor<double> dX_ref;
  conv.dW.zero();
  conv.db.zero();
  conv.backward_reference(dY, &dX_ref);
  std::printf("  Conv2d::backward_reference gives the same dX: %s\n", same(dX_ref, dX_hand) ? "yes" : "NO");

  std::printf("== 4. im2col: one row per output pixel, one column per kernel entry; then Dense's products\n");
  Tensor<double> cols, Yp, dWp, dcols, dX_cols;
  chainrule::im2col(X, ImageShape{1, 4, 4}, 2, 1, 0, cols);
  matrix("cols (9x4)", cols);
  chainrule::matmul(cols, K, Yp);  // (9, 4) (4, 1) = (9, 1): Y, one pixel per row
  Tensor<double> dYp(9, 1);
  dYp.data = dY.data;  // one channel: dY's 9 pixels as a column
  chainrule::matmul_tn(cols, dYp, dWp);   // (4, 9) (9, 1) = (4, 1)
  chainrule::matmul_nt(dYp, K, dcols);    // (9, 1) (1, 4) = (9, 4)
  chainrule::col2im(dcols, ImageShape{1, 4, 4}, 2, 1, 0, dX_cols);
  std::printf("  Y  = cols K          (9x1): the 9 entries of section 1: %s\n", Yp.data == Y.data ? "yes" : "NO");
  std::printf("  dK = cols^T dY       (4x1): the dK of section 2: %s\n", same(dWp, conv.dW) ? "yes" : "NO");
  matrix("dY K^T", dcols);
  std::printf("  dX = col2im(dY K^T)  (4x4): each row's 4 numbers added back onto its window: %s\n",
              same(dX_cols, dX_hand) ? "yes" : "NO");
  Tensor<double> Y2, dX2;
  conv.dW.zero();
  conv.forward(X, Y2, true);
  conv.backward(dY, &dX2);
  std::printf("  Conv2d::forward and backward (the im2col path) give the same Y, dK and dX: %s\n",
              same(Y2, Y) && same(dWp, conv.dW) && same(dX2, dX_hand) ? "yes" : "NO");

  std::printf("== 5. The gradient checker, every entry, in double\n");
  chainrule::GradCheckOptions options;  // h = 1e-5; PASS while every error <= 10 x its noise
  auto verdict = [](const chainrule::GradCheckReport& r) {
    std::printf("  %s: %s\n", r.title.c_str(), r.passed() ? "PASS" : "FAIL");
    for (const auto& row : r.rows)
      std::printf("    %-7s %-8s %2zu / %2zu entries  %s\n", row.name.c_str(), row.shape.c_str(), row.checked, row.total,
                  row.pass ? "PASS" : "FAIL");
  };
  auto report = chainrule::check_layer(conv, X, options);
  report.title = "the 4x4 example";
  verdict(report);
  chainrule::Rng rng(22);
  Conv2d<double> big("conv", ImageShape{2, 5, 5}, 3, 3, 2, 1);  // 2 channels in, 3 out, stride 2, padding 1
  chainrule::he_normal(big.W, big.fan_in(), rng);
  Tensor<double> Xb(2, 50);
  for (auto& x : Xb.data) x = rng.normal();
  report = chainrule::check_layer(big, Xb, options);
  report.title = "2 x 5x5 -> 3 x 3x3, kernel 3, stride 2, padding 1, a batch of 2";
  verdict(report);
  return 0;
}
