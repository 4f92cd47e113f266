// Tutorial 15: the backward pass by pencil.
// The 4-3-2 network of lesson 02 (same weights, same two samples), taken backward one
// gradient at a time with plain loops, exactly as the README writes them; then the same
// network built from chainrule's layers runs its own backward pass, and the two are compared.
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/relu.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"

using chainrule::Tensor;

namespace {

void set(Tensor<double>& t, const std::vector<double>& values) {
  for (std::size_t k = 0; k < values.size(); ++k) t.data[k] = values[k];
}

void print(const char* name, const Tensor<double>& t, const char* fmt = "%8.4f") {
  for (int i = 0; i < t.rows; ++i) {
    std::printf(i == 0 ? "  %-4s = [" : "         [", name);
    for (int j = 0; j < t.cols; ++j) {
      // Rounding-level values (and -0) print as 0: dH's column 1 is 0 in exact arithmetic,
      // about 1e-17 in doubles because P[i][0] + P[i][1] is not exactly 1 (README, exercise 2).
      std::printf(fmt, std::fabs(t(i, j)) < 1e-12 ? 0.0 : t(i, j));
      std::printf(j + 1 < t.cols ? " " : "]\n");
    }
  }
}

const char* verdict(double diff) { return diff < 1e-15 ? "< 1e-15" : "LARGE"; }

}  // namespace

int main() {
  // ---- The network and the batch of lesson 02 -------------------------------------------
  const int N = 2, D = 4, K = 3, C = 2;  // samples, inputs, hidden units, classes
  Tensor<double> X(N, D), W1(D, K), b1(1, K), W2(K, C), b2(1, C);
  set(X, {1, 2, 0, -1,
          0, 1, 1, 0});
  set(W1, {1, 0, -1,
           0, 1, 1,
           2, -1, 0,
           1, 1, 1});
  set(b1, {0.5, -2, 0.5});
  set(W2, {2, -1,
           1, 1,
           0, 2});
  set(b2, {0, 1});
  const std::vector<int> labels = {1, 0};

  // ---- Forward, by hand: every value the backward pass will reuse -------------------------
  Tensor<double> Z1(N, K), H(N, K), Z2(N, C), P(N, C), Y(N, C);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < K; ++j) {
      Z1(i, j) = b1(0, j);
      for (int k = 0; k < D; ++k) Z1(i, j) += X(i, k) * W1(k, j);  // Z1 = X W1 + b1
      H(i, j) = Z1(i, j) > 0 ? Z1(i, j) : 0;                          // H = max(0, Z1)
    }
  double L = 0;
  for (int i = 0; i < N; ++i) {
    double sum = 0;
    for (int c = 0; c < C; ++c) {
      Z2(i, c) = b2(0, c);
      for (int j = 0; j < K; ++j) Z2(i, c) += H(i, j) * W2(j, c);  // Z2 = H W2 + b2
      sum += std::exp(Z2(i, c));
    }
    for (int c = 0; c < C; ++c) P(i, c) = std::exp(Z2(i, c)) / sum;  // softmax (small logits: no overflow)
    Y(i, labels[i]) = 1;
    L -= std::log(P(i, labels[i])) / N;
  }
  std::printf("== 1. Forward (lesson 02), kept for the backward pass\n");
  print("Z1", Z1, "%5.1f");
  print("H", H, "%5.1f");
  print("Z2", Z2, "%5.1f");
  print("P", P);
  print("Y", Y, "%5.1f");
  std::printf("  L    = %.4f\n", L);

  // ---- Backward, by hand: one formula per block, in the order the chain rule visits them ----
  Tensor<double> dZ2(N, C), dW2(K, C), db2(1, C), dH(N, K), dZ1(N, K), dW1(D, K), db1(1, K);
  for (int i = 0; i < N; ++i)
    for (int c = 0; c < C; ++c) dZ2(i, c) = (P(i, c) - Y(i, c)) / N;  // dZ2 = (P - Y)/N   (N, C)
  for (int j = 0; j < K; ++j)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < N; ++i) dW2(j, c) += H(i, j) * dZ2(i, c);  // dW2 = H^T dZ2     (K, C)
  for (int i = 0; i < N; ++i)
    for (int c = 0; c < C; ++c) db2(0, c) += dZ2(i, c);  // db2 = column sums of dZ2        (1, C)
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < K; ++j)
      for (int c = 0; c < C; ++c) dH(i, j) += dZ2(i, c) * W2(j, c);  // dH = dZ2 W2^T     (N, K)
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < K; ++j) dZ1(i, j) = Z1(i, j) > 0 ? dH(i, j) : 0;  // dZ1 = dH * [Z1 > 0]
  for (int k = 0; k < D; ++k)
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < N; ++i) dW1(k, j) += X(i, k) * dZ1(i, j);  // dW1 = X^T dZ1     (D, K)
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < K; ++j) db1(0, j) += dZ1(i, j);  // db1 = column sums of dZ1        (1, K)

  std::printf("== 2. Backward by hand\n");
  std::printf("  s0 = P[0][0]/2 = %.5f, s1 = P[1][1]/2 = %.5f\n", P(0, 0) / 2, P(1, 1) / 2);
  print("dZ2", dZ2);
  print("dW2", dW2);
  print("db2", db2);
  print("dH", dH);
  print("dZ1", dZ1);
  print("dW1", dW1);
  print("db1", db1);

  // ---- The same network from chainrule's layers, and its own backward pass ------------------
  chainrule::Sequential<double> model;
  auto& d1 = model.add(std::make_unique<chainrule::Dense<double>>("dense1", D, K));
  model.add(std::make_unique<chainrule::ReLU<double>>("relu1"));
  auto& d2 = model.add(std::make_unique<chainrule::Dense<double>>("dense2", K, C));
  d1.W = W1;
  d1.b = b1;
  d2.W = W2;
  d2.b = b2;
  chainrule::SoftmaxCrossEntropy<double> ce;
  Tensor<double> lib_dZ2;
  model.zero_grad();
  const double lib_L = ce.forward(model.forward(X, /*training=*/true), labels);
  ce.backward(lib_dZ2);
  model.backward(lib_dZ2);

  std::printf("== 3. The library's backward pass on the same network\n");
  std::printf("  L: by hand %.4f, library %.4f\n", L, lib_L);
  std::printf("  max |by hand - library|:\n");
  std::printf("    dZ2 %s   (SoftmaxCrossEntropy::backward)\n", verdict(chainrule::max_abs_diff(dZ2, lib_dZ2)));
  std::printf("    dW2 %s   db2 %s   (dense2: Dense::backward)\n", verdict(chainrule::max_abs_diff(dW2, d2.dW)),
              verdict(chainrule::max_abs_diff(db2, d2.db)));
  std::printf("    dH  %s   (dense2's dX, model.output_grad(1))\n",
              verdict(chainrule::max_abs_diff(dH, model.output_grad(1))));
  std::printf("    dZ1 %s   (ReLU::backward, model.output_grad(0))\n",
              verdict(chainrule::max_abs_diff(dZ1, model.output_grad(0))));
  std::printf("    dW1 %s   db1 %s   (dense1: Dense::backward)\n", verdict(chainrule::max_abs_diff(dW1, d1.dW)),
              verdict(chainrule::max_abs_diff(db1, d1.db)));

  // ---- One entry against the loss's own slope -------------------------------------------------
  // dW1[1][0] = 1.0887 says: raise W1[1][0] by h and L rises by about 1.0887 h.
  const double h = 1e-5;
  auto loss_at = [&](double w) {
    d1.W(1, 0) = w;
    return ce.forward(model.forward(X, false), labels);
  };
  const double w = W1(1, 0);
  const double slope = (loss_at(w + h) - loss_at(w - h)) / (2 * h);
  loss_at(w);
  std::printf("== 4. One entry by centered difference (h = 1e-5)\n");
  std::printf("  (L(W1[1][0] + h) - L(W1[1][0] - h)) / 2h = %.4f, dW1[1][0] = %.4f\n", slope, dW1(1, 0));
  return 0;
}
