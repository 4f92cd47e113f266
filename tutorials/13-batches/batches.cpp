// Tutorial 13: from one example to a batch. The matrix formulas X^T dZ and the column
// sums are sums over the samples: outer products, one per sample. And the batch
// gradient of the mean loss is the mean of the per-example gradients.
#include <cmath>
#include <cstdio>
#include <vector>

#include "chainrule/layers/dense.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

namespace {
// One forward and backward pass; returns the loss and leaves dL/dZ2 in dZ (the model
// keeps a reference to it: model.output_grad(2)). Gradients are zeroed first.
double step(chainrule::Sequential<double>& model, const Tensor<double>& X, const std::vector<int>& labels,
            Tensor<double>& dZ) {
  chainrule::SoftmaxCrossEntropy<double> ce;
  model.zero_grad();
  const double L = ce.forward(model.forward(X, true), labels);
  ce.backward(dZ);
  model.backward(dZ);
  return L;
}

const char* tiny(double d) { return d < 1e-15 ? "< 1e-15" : "LARGE"; }
}  // namespace

int main() {
  chainrule::Sequential<double> model = chainrule::make_mlp<double>(chainrule::MlpSpec{});
  auto& dense1 = model.get<chainrule::Dense<double>>("dense1");
  auto& dense2 = model.get<chainrule::Dense<double>>("dense2");
  chainrule::Rng rng(1);
  const int N = 4, D = 784, K = 128, C = 10;
  Tensor<double> X(N, D);
  for (auto& x : X.data) x = rng.uniform();
  const std::vector<int> labels = {3, 1, 4, 1};

  Tensor<double> dZ2;
  const double L = step(model, X, labels, dZ2);
  const Tensor<double> dZ1 = model.output_grad(0), H = model.output(1);
  const Tensor<double> dW1 = dense1.dW, dW2 = dense2.dW, db1 = dense1.db, db2 = dense2.db;

  // ---- dW as a sum of outer products ----------------------------------------------------------
  std::printf("== 1. X^T dZ is a sum of N outer products x_i^T dz_i\n");
  Tensor<double> sum1(D, K), sum2(K, C);
  for (int i = 0; i < N; ++i) {
    for (int k = 0; k < D; ++k)
      for (int j = 0; j < K; ++j) sum1(k, j) += X(i, k) * dZ1(i, j);  // outer product of row i of X and of dZ1
    for (int k = 0; k < K; ++k)
      for (int j = 0; j < C; ++j) sum2(k, j) += H(i, k) * dZ2(i, j);
    std::printf("  after sample %d: (sum)[0][2] of dW1 = %+.6f, (sum)[0][1] of dW2 = %+.6f\n", i, sum1(0, 2) + 0.0,
                sum2(0, 1) + 0.0);
  }
  std::printf("  X^T dZ1 (library): dW1[0][2] = %+.6f;  H^T dZ2: dW2[0][1] = %+.6f\n", dW1(0, 2), dW2(0, 1));
  std::printf("  max |sum of outer products - library|: dW1 %s, dW2 %s\n", tiny(chainrule::max_abs_diff(sum1, dW1)),
              tiny(chainrule::max_abs_diff(sum2, dW2)));

  // ---- The batch gradient is the mean of the per-example gradients ---------------------------
  std::printf("== 2. Each sample alone (N = 1), then the mean of the four gradients\n");
  Tensor<double> mean_dW1(D, K), mean_dW2(K, C), mean_db1(1, K), mean_db2(1, C);
  double mean_L = 0;
  for (int i = 0; i < N; ++i) {
    Tensor<double> xi(1, D);
    for (int k = 0; k < D; ++k) xi(0, k) = X(i, k);
    Tensor<double> dzi;
    const double Li = step(model, xi, {labels[i]}, dzi);
    std::printf("  sample %d alone: loss %.6f, dW2[0][1] = %+.6f, db2[1] = %+.6f\n", i, Li, dense2.dW(0, 1) + 0.0,
                dense2.db(0, 1));
    mean_L += Li / N;
    auto add = [&](Tensor<double>& acc, const Tensor<double>& g) {
      for (std::size_t k = 0; k < g.size(); ++k) acc.data[k] += g.data[k] / N;
    };
    add(mean_dW1, dense1.dW);
    add(mean_dW2, dense2.dW);
    add(mean_db1, dense1.db);
    add(mean_db2, dense2.db);
  }
  std::printf("  mean of the four: loss %.6f, dW2[0][1] = %+.6f, db2[1] = %+.6f\n", mean_L, mean_dW2(0, 1),
              mean_db2(0, 1));
  std::printf("  the batch of 4:   loss %.6f, dW2[0][1] = %+.6f, db2[1] = %+.6f\n", L, dW2(0, 1), db2(0, 1));
  std::printf("  max |mean of per-sample - batch|: dW1 %s, db1 %s, dW2 %s, db2 %s\n",
              tiny(chainrule::max_abs_diff(mean_dW1, dW1)), tiny(chainrule::max_abs_diff(mean_db1, db1)),
              tiny(chainrule::max_abs_diff(mean_dW2, dW2)), tiny(chainrule::max_abs_diff(mean_db2, db2)));
  return 0;
}
