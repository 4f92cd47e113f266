// Tutorial 16: the backward pass of any depth, as one recursion.
//   A^0 = X,  Z^l = A^{l-1} W^l + b^l,  A^l = f(Z^l) (l < L),  Z^L the logits,  P = softmax(Z^L)
//   delta^L = (P - Y) / N
//   dW^l = A^{l-1 T} delta^l,  db^l = column sums of delta^l
//   delta^{l-1} = (delta^l W^{l T}) * f'(Z^{l-1})          (for l > 1; elementwise *)
// Computed with plain loops on 784-512-256-10 for a seeded random batch, compared with
// Sequential::backward, with every multiply-add counted as the loops run.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "chainrule/layers/dense.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

namespace {

// The largest |a - b| over the tensor, relative to the largest |b|.
double rel_diff(const Tensor<double>& a, const Tensor<double>& b) {
  double diff = 0, scale = 0;
  for (std::size_t k = 0; k < a.data.size(); ++k) {
    diff = std::fmax(diff, std::fabs(a.data[k] - b.data[k]));
    scale = std::fmax(scale, std::fabs(b.data[k]));
  }
  return diff / scale;
}

std::string grouped(std::uint64_t n) {  // 1234567 -> "1,234,567"
  std::string s = std::to_string(n), out;
  for (std::size_t k = 0; k < s.size(); ++k) {
    if (k > 0 && (s.size() - k) % 3 == 0) out += ',';
    out += s[k];
  }
  return out;
}

}  // namespace

int main() {
  // ---- The network and a batch ---------------------------------------------------------------
  chainrule::MlpSpec spec;
  spec.hidden = {512, 256};  // 784-512-256-10, He init for the hidden layers, Glorot for the output, seed 42
  chainrule::Sequential<double> model = chainrule::make_mlp<double>(spec);
  const std::vector<int> n = {784, 512, 256, 10};  // n[l] = width of layer l; n[0] = D
  const int L = 3, N = 16;
  std::vector<chainrule::Dense<double>*> dense(L + 1, nullptr);  // dense[l] holds W^l (n[l-1], n[l]) and b^l
  for (int l = 1; l <= L; ++l) dense[l] = &model.get<chainrule::Dense<double>>("dense" + std::to_string(l));

  chainrule::Rng rng(7);
  Tensor<double> X(N, n[0]);
  for (auto& x : X.data) x = rng.uniform();  // 784 random "pixels" in [0, 1) per sample
  std::vector<int> labels(N);
  for (auto& y : labels) y = static_cast<int>(rng.below(10));

  std::printf("== 1. The network: L = %d dense layers, a batch of N = %d random images (seed 7)\n", L, N);
  for (int l = 1; l <= L; ++l)
    std::printf("  layer %d: W^%d (%d, %d)  b^%d (1, %d)  Z^%d (%d, %d)%s\n", l, l, n[l - 1], n[l], l, n[l], l, N,
                n[l], l < L ? "  then ReLU" : "  the logits");

  // ---- Forward by hand, counting multiply-adds ---------------------------------------------------
  std::vector<Tensor<double>> A(L + 1), Z(L + 1);  // A[0] = X; Z[l], A[l] (N, n[l])
  std::vector<std::uint64_t> fwd(L + 1, 0);
  A[0] = X;
  for (int l = 1; l <= L; ++l) {
    const Tensor<double>& W = dense[l]->W;
    Z[l] = Tensor<double>(N, n[l]);
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < n[l]; ++j) {
        double z = dense[l]->b(0, j);
        for (int k = 0; k < n[l - 1]; ++k) z += A[l - 1](i, k) * W(k, j);  // Z^l = A^{l-1} W^l + b^l
        fwd[l] += static_cast<std::uint64_t>(n[l - 1]);
        Z[l](i, j) = z;
      }
    A[l] = Z[l];
    if (l < L)
      for (auto& a : A[l].data) a = a > 0 ? a : 0;  // A^l = ReLU(Z^l)
  }
  Tensor<double> P = Z[L], Y(N, n[L]);  // softmax of each row of the logits, max subtracted (lesson 03)
  for (int i = 0; i < N; ++i) {
    double m = P(i, 0), sum = 0;
    for (int c = 1; c < n[L]; ++c) m = std::fmax(m, P(i, c));
    for (int c = 0; c < n[L]; ++c) sum += (P(i, c) = std::exp(P(i, c) - m));
    for (int c = 0; c < n[L]; ++c) P(i, c) /= sum;
    Y(i, labels[i]) = 1;
  }

  // ---- Backward by hand: the recursion -----------------------------------------------------------
  std::vector<Tensor<double>> delta(L + 1), dW(L + 1), db(L + 1);
  std::vector<std::uint64_t> bwd_dW(L + 1, 0), bwd_delta(L + 1, 0);
  delta[L] = Tensor<double>(N, n[L]);
  for (int i = 0; i < N; ++i)
    for (int c = 0; c < n[L]; ++c) delta[L](i, c) = (P(i, c) - Y(i, c)) / N;  // delta^L = (P - Y)/N
  for (int l = L; l >= 1; --l) {
    dW[l] = Tensor<double>(n[l - 1], n[l]);
    db[l] = Tensor<double>(1, n[l]);
    for (int k = 0; k < n[l - 1]; ++k)
      for (int j = 0; j < n[l]; ++j) {
        double s = 0;
        for (int i = 0; i < N; ++i) s += A[l - 1](i, k) * delta[l](i, j);  // dW^l = A^{l-1 T} delta^l
        bwd_dW[l] += static_cast<std::uint64_t>(N);
        dW[l](k, j) = s;
      }
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < n[l]; ++j) db[l](0, j) += delta[l](i, j);  // db^l = column sums of delta^l
    if (l == 1) break;  // delta^0 would be dL/dX: nothing below the data needs it (lesson 07)
    delta[l - 1] = Tensor<double>(N, n[l - 1]);
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < n[l - 1]; ++k) {
        double s = 0;
        for (int j = 0; j < n[l]; ++j) s += delta[l](i, j) * dense[l]->W(k, j);  // (delta^l W^{l T})
        bwd_delta[l] += static_cast<std::uint64_t>(n[l]);
        delta[l - 1](i, k) = Z[l - 1](i, k) > 0 ? s : 0;  // * f'(Z^{l-1}), ReLU' = [Z > 0]
      }
  }

  // ---- The library's backward pass -----------------------------------------------------------------
  chainrule::SoftmaxCrossEntropy<double> ce;
  Tensor<double> dZ;
  model.zero_grad();
  const double loss = ce.forward(model.forward(X, /*training=*/true), labels);
  ce.backward(dZ);
  model.backward(dZ);

  std::printf("== 2. The recursion by hand against Sequential::backward (loss %.4f)\n", loss);
  std::printf("  gradient  shape        = formula                          max |hand - library| / max |library|\n");
  for (int l = L; l >= 1; --l) {
    const std::size_t out = static_cast<std::size_t>(2 * (l - 1));  // model layer index of Z^l: dense1 0, dense2 2, dense3 4
    char name[16], shape[32], formula[48];
    std::snprintf(name, sizeof name, "delta^%d", l);
    std::snprintf(shape, sizeof shape, "(%d, %d)", N, n[l]);
    if (l == L)
      std::snprintf(formula, sizeof formula, "(P - Y)/N");
    else
      std::snprintf(formula, sizeof formula, "(delta^%d W^%d T) * [Z^%d > 0]", l + 1, l + 1, l);
    std::printf("  %-9s %-12s = %-32s %s\n", name, shape, formula,
                rel_diff(delta[l], model.output_grad(out)) < 1e-12 ? "< 1e-12" : "LARGE");
    std::snprintf(name, sizeof name, "dW^%d", l);
    std::snprintf(shape, sizeof shape, "(%d, %d)", n[l - 1], n[l]);
    if (l == 1)
      std::snprintf(formula, sizeof formula, "X^T delta^1");
    else
      std::snprintf(formula, sizeof formula, "A^%d T delta^%d", l - 1, l);
    std::printf("  %-9s %-12s = %-32s %s\n", name, shape, formula,
                rel_diff(dW[l], dense[l]->dW) < 1e-12 ? "< 1e-12" : "LARGE");
    std::snprintf(name, sizeof name, "db^%d", l);
    std::snprintf(shape, sizeof shape, "(1, %d)", n[l]);
    std::snprintf(formula, sizeof formula, "column sums of delta^%d", l);
    std::printf("  %-9s %-12s = %-32s %s\n", name, shape, formula,
                rel_diff(db[l], dense[l]->db) < 1e-12 ? "< 1e-12" : "LARGE");
  }

  // ---- And against the loss's own slope, one weight per layer --------------------------------------
  std::printf("== 3. One weight per layer against a centered difference (h = 1e-5)\n");
  const int probe[4][2] = {{0, 0}, {300, 7}, {100, 200}, {17, 3}};  // (k, j) of W^l for l = 1..3
  for (int l = 1; l <= L; ++l) {
    const int k = probe[l][0], j = probe[l][1];
    double& w = dense[l]->W(k, j);
    const double w0 = w, h = 1e-5;
    w = w0 + h;
    const double up = ce.forward(model.forward(X, false), labels);
    w = w0 - h;
    const double down = ce.forward(model.forward(X, false), labels);
    w = w0;
    const double numeric = (up - down) / (2 * h);
    const double rel = std::fabs(numeric - dW[l](k, j)) / (std::fabs(numeric) + std::fabs(dW[l](k, j)));
    std::printf("  dW^%d[%d][%d] = %+.6f, centered difference %+.6f, relative error %s\n", l, k, j, dW[l](k, j),
                numeric, rel < 1e-6 ? "< 1e-6" : "LARGE");
  }

  // ---- The cost, counted by the loops above ----------------------------------------------------------
  std::printf("== 4. Multiply-adds of the products, counted as the loops ran (N = %d)\n", N);
  std::printf("  layer  forward A^l-1 W^l   backward dW^l   backward delta^l-1   backward total\n");
  std::uint64_t F = 0, B = 0;
  for (int l = 1; l <= L; ++l) {
    const std::uint64_t b = bwd_dW[l] + bwd_delta[l];
    std::printf("  %5d %19s %15s %20s %16s\n", l, grouped(fwd[l]).c_str(), grouped(bwd_dW[l]).c_str(),
                l == 1 ? "(skipped) 0" : grouped(bwd_delta[l]).c_str(), grouped(b).c_str());
    F += fwd[l];
    B += b;
    const std::uint64_t expect = static_cast<std::uint64_t>(N) * n[l - 1] * n[l];  // N n_{l-1} n_l each
    if (fwd[l] != expect || bwd_dW[l] != expect || (l > 1 && bwd_delta[l] != expect))
      std::printf("  layer %d: a count is not N n_{l-1} n_l = %s\n", l, grouped(expect).c_str());
  }
  const std::uint64_t dX = static_cast<std::uint64_t>(N) * n[0] * n[1];
  std::printf("  total %19s %52s\n", grouped(F).c_str(), grouped(B).c_str());
  std::printf("  backward / forward = %.3f; with delta^0 = dL/dX also computed: %s / %s = %.3f\n",
              static_cast<double>(B) / static_cast<double>(F), grouped(B + dX).c_str(), grouped(F).c_str(),
              static_cast<double>(B + dX) / static_cast<double>(F));
  std::uint64_t elementwise = 0;
  for (int l = 1; l <= L; ++l) elementwise += static_cast<std::uint64_t>(N) * n[l];
  std::printf("  entries of Z^1..Z^L (each touched a few times by bias, ReLU, softmax): %s\n",
              grouped(elementwise).c_str());

  // ---- Centered differences: two forward passes per parameter -------------------------------------
  std::printf("== 5. Centered differences instead: 2 forward passes per parameter\n");
  const std::uint64_t params = model.parameter_count();
  std::printf("  784-512-256-10: %s parameters -> %s forward passes = %.2e multiply-adds, %s times one backward\n",
              grouped(params).c_str(), grouped(2 * params).c_str(), static_cast<double>(2 * params * F),
              grouped(2 * params * F / B).c_str());
  chainrule::Sequential<double> small = chainrule::make_mlp<double>(chainrule::MlpSpec{});  // 784-128-10
  const std::uint64_t small_params = small.parameter_count(), small_F = static_cast<std::uint64_t>(N) * (784 * 128 + 128 * 10);
  std::printf("  784-128-10:     %s parameters -> %s forward passes = %.2e multiply-adds\n",
              grouped(small_params).c_str(), grouped(2 * small_params).c_str(),
              static_cast<double>(2 * small_params * small_F));
  return 0;
}
