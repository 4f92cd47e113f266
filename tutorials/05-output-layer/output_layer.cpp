// Tutorial 05: the output layer's backward pass.
//   dW2 = H^T dZ2,   db2 = column sums of dZ2,   dH = dZ2 W2^T
// computed by explicit loops, compared with Dense::backward, checked numerically;
// then what += does when backward runs twice without zero_grad.
#include <cmath>
#include <cstdio>
#include <vector>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

int main() {
  // The reference network and a batch of N = 4 random images (as in tutorial 01).
  chainrule::Sequential<double> model = chainrule::make_mlp<double>(chainrule::MlpSpec{});
  auto& dense2 = model.get<chainrule::Dense<double>>("dense2");
  chainrule::Rng rng(1);
  const int N = 4, K = 128, C = 10;
  Tensor<double> X(N, 784);
  for (auto& x : X.data) x = rng.uniform();
  const std::vector<int> labels = {3, 1, 4, 1};

  chainrule::SoftmaxCrossEntropy<double> ce;
  Tensor<double> dZ2;
  model.zero_grad();
  ce.forward(model.forward(X, true), labels);
  ce.backward(dZ2);  // (P - Y)/N, (N, C)
  model.backward(dZ2);
  const Tensor<double>& H = model.output(1);  // (N, K), dense2's input
  const Tensor<double>& W2 = dense2.W;        // (K, C)

  // ---- The three formulas as plain loops ----------------------------------------------
  Tensor<double> dW2(K, C), db2(1, C), dH(N, K);
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < C; ++j)
      for (int i = 0; i < N; ++i) dW2(k, j) += H(i, k) * dZ2(i, j);  // dW2 = H^T dZ2
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < C; ++j) db2(0, j) += dZ2(i, j);  // db2 = sum over the batch
  for (int i = 0; i < N; ++i)
    for (int k = 0; k < K; ++k)
      for (int j = 0; j < C; ++j) dH(i, k) += dZ2(i, j) * W2(k, j);  // dH = dZ2 W2^T

  std::printf("== 1. Shapes: each product has the shape of what it is the gradient of\n");
  std::printf("  dW2 = H^T dZ2:  %s^T x %s -> %s, like W2 %s\n", H.shape().c_str(), dZ2.shape().c_str(),
              dW2.shape().c_str(), W2.shape().c_str());
  std::printf("  db2 = sum_i dZ2[i]:  %s -> %s, like b2 %s\n", dZ2.shape().c_str(), db2.shape().c_str(),
              dense2.b.shape().c_str());
  std::printf("  dH  = dZ2 W2^T: %s x %s^T -> %s, like H %s\n", dZ2.shape().c_str(), W2.shape().c_str(),
              dH.shape().c_str(), H.shape().c_str());

  std::printf("== 2. The loops against Dense::backward (matmul_tn, column sums, matmul_nt)\n");
  std::printf("  dW2[0][0..3] loops   %+.6f %+.6f %+.6f %+.6f\n", dW2(0, 0), dW2(0, 1), dW2(0, 2), dW2(0, 3));
  std::printf("  dW2[0][0..3] library %+.6f %+.6f %+.6f %+.6f\n", dense2.dW(0, 0), dense2.dW(0, 1),
              dense2.dW(0, 2), dense2.dW(0, 3));
  std::printf("  db2[0..3]    loops   %+.6f %+.6f %+.6f %+.6f\n", db2(0, 0), db2(0, 1), db2(0, 2), db2(0, 3));
  std::printf("  max |loops - library|: dW2 %s, db2 %s, dH %s\n",
              chainrule::max_abs_diff(dW2, dense2.dW) < 1e-15 ? "< 1e-15" : "LARGE",
              chainrule::max_abs_diff(db2, dense2.db) < 1e-15 ? "< 1e-15" : "LARGE",
              chainrule::max_abs_diff(dH, model.output_grad(1)) < 1e-15 ? "< 1e-15" : "LARGE");

  // ---- Numerically: L as a function of H, W2 and b2 --------------------------------------
  std::printf("== 3. dW2, db2 and dH against centered differences (every entry)\n");
  Tensor<double> Hc = H, Z2;
  auto loss = [&] {
    dense2.forward(Hc, Z2, true);
    return ce.forward(Z2, labels);
  };
  chainrule::GradCheckOptions options;  // an entry passes within 10x the noise it expects
  options.h = 1e-4;  // see README.md
  const auto report = chainrule::check_gradients(
      "output layer", "N = 4", loss, [](std::vector<std::uint8_t>&) {},
      {{"dense2.W", &dense2.W, &dW2}, {"dense2.b", &dense2.b, &db2}, {"H", &Hc, &dH}}, options);
  for (const auto& r : report.rows)
    std::printf("  %-9s %-10s %4zu entries, each within 10x its noise: %s\n", r.name.c_str(), r.shape.c_str(),
                r.checked, r.pass ? "PASS" : "FAIL");

  // ---- += : what happens without zero_grad --------------------------------------------------
  std::printf("== 4. Backward twice without zero_grad: the gradients add up\n");
  model.zero_grad();
  ce.forward(model.forward(X, true), labels);
  ce.backward(dZ2);
  model.backward(dZ2);
  std::printf("  after zero_grad + 1 backward: dW2[0][0] = %+.6f  db2[0] = %+.6f\n", dense2.dW(0, 0), dense2.db(0, 0));
  model.backward(dZ2);
  std::printf("  after a 2nd backward:         dW2[0][0] = %+.6f  db2[0] = %+.6f  (doubled)\n", dense2.dW(0, 0),
              dense2.db(0, 0));
  model.zero_grad();
  model.backward(dZ2);
  std::printf("  after zero_grad + 1 backward: dW2[0][0] = %+.6f  db2[0] = %+.6f\n", dense2.dW(0, 0), dense2.db(0, 0));

  // Why += is right: a gradient is a sum of contributions. Backward on the first two rows,
  // then on the last two, adds up to the backward of all four.
  std::printf("== 5. Why +=: two half-batches accumulate into the whole batch's gradient\n");
  Tensor<double> Htop(2, K), Hbot(2, K), dtop(2, C), dbot(2, C), Ztmp;
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < K; ++k) {
      Htop(i, k) = H(i, k);
      Hbot(i, k) = H(i + 2, k);
    }
    for (int j = 0; j < C; ++j) {
      dtop(i, j) = dZ2(i, j);  // rows of the full batch's (P - Y)/N, N = 4
      dbot(i, j) = dZ2(i + 2, j);
    }
  }
  dense2.dW.zero();
  dense2.db.zero();
  dense2.forward(Htop, Ztmp, true);
  dense2.backward(dtop, nullptr);
  std::printf("  rows 0-1:  dW2[0][0] = %+.6f\n", dense2.dW(0, 0));
  dense2.forward(Hbot, Ztmp, true);
  dense2.backward(dbot, nullptr);
  std::printf("  + rows 2-3: dW2[0][0] = %+.6f; whole batch %+.6f; max difference %s\n", dense2.dW(0, 0), dW2(0, 0),
              chainrule::max_abs_diff(dense2.dW, dW2) < 1e-15 ? "< 1e-15" : "LARGE");
  return 0;
}
