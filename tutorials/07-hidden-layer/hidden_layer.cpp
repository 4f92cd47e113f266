// Tutorial 07: the hidden layer.  dW1 = X^T dZ1,  db1 = column sums of dZ1,
// and why the backward pass never computes dX (Sequential::backward skips it).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/relu.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

int main() {
  chainrule::Sequential<double> model = chainrule::make_mlp<double>(chainrule::MlpSpec{});
  auto& dense1 = model.get<chainrule::Dense<double>>("dense1");
  auto& relu1 = model.layer(1);
  auto& dense2 = model.layer(2);
  chainrule::Rng rng(1);
  const int N = 4, D = 784, K = 128;
  Tensor<double> X(N, D);
  for (auto& x : X.data) x = rng.uniform();
  const std::vector<int> labels = {3, 1, 4, 1};

  chainrule::SoftmaxCrossEntropy<double> ce;
  Tensor<double> dZ2;
  model.zero_grad();
  ce.forward(model.forward(X, true), labels);
  ce.backward(dZ2);
  model.backward(dZ2);  // need_input_grad = false: dense1 is given dX = nullptr
  const Tensor<double> dZ1 = model.output_grad(0);  // (N, K), relu1's output to dense1

  // ---- The same two formulas as the output layer, one layer down -------------------------
  Tensor<double> dW1(D, K), db1(1, K);
  for (int k = 0; k < D; ++k)
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < N; ++i) dW1(k, j) += X(i, k) * dZ1(i, j);  // dW1 = X^T dZ1
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < K; ++j) db1(0, j) += dZ1(i, j);  // db1 = column sums of dZ1

  std::printf("== 1. dW1 = X^T dZ1 and db1 = column sums of dZ1, loops against Dense::backward\n");
  std::printf("  dW1 = X^T dZ1: %s^T x %s -> %s\n", X.shape().c_str(), dZ1.shape().c_str(), dW1.shape().c_str());
  std::printf("  dW1[0][0..3] loops   %+.6f %+.6f %+.6f %+.6f\n", dW1(0, 0), dW1(0, 1), dW1(0, 2), dW1(0, 3));
  std::printf("  dW1[0][0..3] library %+.6f %+.6f %+.6f %+.6f\n", dense1.dW(0, 0), dense1.dW(0, 1),
              dense1.dW(0, 2), dense1.dW(0, 3));
  int zero_cols = 0;  // units j whose db1 entry AND whole column of dW1 are exactly 0
  for (int j = 0; j < K; ++j) {
    bool zero = db1(0, j) == 0.0;
    for (int k = 0; k < D && zero; ++k) zero = dW1(k, j) == 0.0;
    zero_cols += zero ? 1 : 0;
  }
  std::printf("  max |loops - library|: dW1 %s, db1 %s\n",
              chainrule::max_abs_diff(dW1, dense1.dW) < 1e-15 ? "< 1e-15" : "LARGE",
              chainrule::max_abs_diff(db1, dense1.db) < 1e-15 ? "< 1e-15" : "LARGE");
  std::printf("  hidden units whose column of dW1 and entry of db1 are exactly 0: %d of %d\n", zero_cols, K);

  // ---- Numerically: dZ1 (through relu1, dense2, the loss), then dW1 and db1 ----------------
  std::printf("== 2. dZ1, dW1 and db1 against centered differences (h = 1e-4)\n");
  chainrule::GradCheckOptions options;  // an entry passes within 10x the noise it expects
  options.h = 1e-4;
  {  // L as a function of Z1: relu1 -> dense2 -> softmax cross-entropy
    Tensor<double> Z1 = model.output(0), H, Z2;
    auto loss = [&] {
      relu1.forward(Z1, H, true);
      dense2.forward(H, Z2, true);
      return ce.forward(Z2, labels);
    };
    auto kinks = [&](std::vector<std::uint8_t>& bits) { relu1.kink_pattern(bits); };
    const auto r = chainrule::check_gradients("dZ1", "", loss, kinks, {{"Z1", &Z1, &dZ1}}, options).rows[0];
    std::printf("  dZ1 %-11s %4zu of %6zu entries checked, each within 10x its noise: %s\n", r.shape.c_str(),
                r.checked, r.total, r.pass ? "PASS" : "FAIL");
  }
  {  // L as a function of W1 and b1: the whole network
    options.sample = 200;  // W1 has 100352 entries: check a seeded sample of 200
    Tensor<double> Z2;
    auto loss = [&] { return ce.forward(model.forward(X, true), labels); };
    auto kinks = [&](std::vector<std::uint8_t>& bits) { model.kink_pattern(bits); };
    const auto report = chainrule::check_gradients("hidden layer", "", loss, kinks,
                                                   {{"dense1.W", &dense1.W, &dW1}, {"dense1.b", &dense1.b, &db1}},
                                                   options);
    for (const auto& r : report.rows)
      std::printf("  %-8s %-11s %4zu of %6zu entries checked, each within 10x its noise: %s\n", r.name.c_str(),
                  r.shape.c_str(), r.checked, r.total, r.pass ? "PASS" : "FAIL");
  }

  // ---- Why there is no dX ---------------------------------------------------------------------
  std::printf("== 3. dX: asked for only when needed\n");
  std::printf("  backward(dZ2):       input_grad() is %s (dense1 got dX = nullptr)\n",
              model.input_grad().shape().c_str());
  model.zero_grad();
  model.backward(dZ2, /*need_input_grad=*/true);
  std::printf("  backward(dZ2, true): input_grad() is %s = dZ1 W1^T\n", model.input_grad().shape().c_str());
  std::printf("  dX would cost N*K*D = %d multiply-adds per batch, as many as X W1 in the forward pass\n",
              N * K * D);
  return 0;
}
