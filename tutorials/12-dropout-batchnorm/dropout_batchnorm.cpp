// Tutorial 12: dropout and batch normalisation, forward and backward, each checked
// numerically with chainrule::check_layer, and each with the classic mistake switched on.
#include <cmath>
#include <cstdio>
#include <vector>

#include "chainrule/bugs/layers.hpp"
#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/batchnorm.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

namespace {
void print(const char* name, const Tensor<double>& t, int max_rows = 2) {
  for (int i = 0; i < std::min(t.rows, max_rows); ++i) {
    std::printf(i == 0 ? "  %-6s" : "        ", name);
    for (int j = 0; j < t.cols; ++j) std::printf(" %+7.3f", t(i, j) + 0.0);
    std::printf("\n");
  }
}

void verdict(const chainrule::GradCheckReport& report) {
  for (const auto& r : report.rows)
    std::printf("    %-16s %-7s %2zu entries  max relative error %s  %s\n", r.name.c_str(), r.shape.c_str(),
                r.checked, r.max_rel_error < 1e-7 ? "< 1e-7 " : r.max_rel_error > 1e-2 ? "> 1e-2 " : "between",
                r.pass ? "PASS" : "FAIL");
}

Tensor<double> random(int rows, int cols, chainrule::Rng& rng) {
  Tensor<double> t(rows, cols);
  for (auto& v : t.data) v = rng.normal();
  return t;
}
}  // namespace

int main() {
  chainrule::Rng rng(12);
  chainrule::GradCheckOptions options;  // h = 1e-5; an entry passes within 10x the noise it expects

  // ---- Dropout ------------------------------------------------------------------------------
  std::printf("== 1. Dropout, rate 0.5 (keep = 0.5): Y = X * M, M = [u < keep] / keep\n");
  chainrule::Dropout<double> dropout("dropout", 0.5, /*seed=*/3);
  Tensor<double> X = random(2, 6, rng), Y, dY(2, 6, 1.0), dX;
  dropout.forward(X, Y, /*training=*/true);
  dropout.backward(dY, &dX);  // with dY = 1 everywhere, dX shows the mask itself
  print("X", X);
  print("Y", Y);
  print("dX", dX);
  std::printf("  (dY = 1 everywhere, so dX is M: 0 where dropped, 1/keep = 2 where kept)\n");
  Tensor<double> Yi;
  dropout.forward(X, Yi, /*training=*/false);
  std::printf("  at inference Y = X: max |Y - X| = %.1f\n", chainrule::max_abs_diff(Yi, X));

  {
    chainrule::Dropout<double> d("dropout", 0.5, 5);
    Tensor<double> ones(1, 100000, 1.0), out;
    d.forward(ones, out, true);
    double mean = 0;
    for (double v : out.data) mean += v;
    std::printf("  E[Y] = X: the mean of Y over 100000 units with X = 1 is %.2f\n", mean / 100000);
  }

  std::printf("== 2. Dropout's backward checked numerically (mask frozen between probes)\n");
  dropout.freeze_mask(true);
  std::printf("  dX = dY * M:\n");
  verdict(chainrule::check_layer(dropout, random(6, 5, rng), options));
  {
    chainrule::bugs::DropoutMissingScale<double> buggy(dropout);  // the same layer and mask, the bug's backward
    std::printf("  with the bug dropout-missing-scale, dX = dY * [kept] (no 1/keep):\n");
    verdict(chainrule::check_layer(buggy, random(6, 5, rng), options));
  }

  // ---- Batch normalisation ---------------------------------------------------------------------
  std::printf("== 3. BatchNorm1d, training mode: each column normalised over the batch\n");
  const int N = 6, K = 3;
  chainrule::BatchNorm1d<double> bn("batchnorm", K);
  bn.gamma.data = {1.5, 0.5, 2.0};
  bn.beta.data = {0.0, 1.0, -1.0};
  Tensor<double> Xb = random(N, K, rng), Yb;
  for (int i = 0; i < N; ++i) Xb(i, 0) = 3.0 + 2.0 * Xb(i, 0);  // column 0: mean ~3, spread ~2
  bn.forward(Xb, Yb, true);
  for (int j = 0; j < K; ++j) {
    double mx = 0, my = 0, vy = 0;
    for (int i = 0; i < N; ++i) {
      mx += Xb(i, j) / N;
      my += Yb(i, j) / N;
    }
    for (int i = 0; i < N; ++i) vy += (Yb(i, j) - my) * (Yb(i, j) - my) / N;
    std::printf("  column %d: mean of X %+.3f -> mean of Y %+.3f (beta %+.1f), std of Y %.3f (gamma %.1f)\n", j,
                mx, my + 0.0, bn.beta.data[j], std::sqrt(vy), bn.gamma.data[j]);
  }

  std::printf("== 4. BatchNorm's backward: the three terms, by hand against the library\n");
  Tensor<double> G = random(N, K, rng), dXb, mine(N, K);  // G: an upstream gradient dL/dY
  bn.dgamma.zero();
  bn.dbeta.zero();
  bn.backward(G, &dXb);
  for (int j = 0; j < K; ++j) {
    double mu = 0, var = 0;
    for (int i = 0; i < N; ++i) mu += Xb(i, j) / N;
    for (int i = 0; i < N; ++i) var += (Xb(i, j) - mu) * (Xb(i, j) - mu) / N;
    const double invstd = 1.0 / std::sqrt(var + 1e-5);
    double sum_dxhat = 0, sum_dxhat_xhat = 0;
    for (int i = 0; i < N; ++i) {
      const double dxhat = G(i, j) * bn.gamma.data[j];
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * (Xb(i, j) - mu) * invstd;
    }
    for (int i = 0; i < N; ++i) {
      const double xhat = (Xb(i, j) - mu) * invstd;
      const double dxhat = G(i, j) * bn.gamma.data[j];
      mine(i, j) = invstd * (dxhat - sum_dxhat / N - xhat * sum_dxhat_xhat / N);  // direct - mean - variance
    }
  }
  print("dX", dXb, 2);
  print("mine", mine, 2);
  std::printf("  max |library - by hand| < 1e-12: %s\n", chainrule::max_abs_diff(dXb, mine) < 1e-12 ? "yes" : "NO");

  std::printf("== 5. BatchNorm's backward checked numerically\n");
  verdict(chainrule::check_layer(bn, Xb, options));
  {
    chainrule::bugs::BatchnormMissingMeanTerm<double> buggy(bn);  // the same layer, the bug's backward
    std::printf("  with the bug batchnorm-missing-mean-term:\n");
    verdict(chainrule::check_layer(buggy, Xb, options));
  }

  std::printf("== 6. Why the checker multiplies by a random G: with L = sum(Y), dX and dgamma are 0\n");
  Tensor<double> ones(N, K, 1.0), dX1;
  bn.forward(Xb, Yb, true);
  bn.dgamma.zero();
  bn.dbeta.zero();
  bn.backward(ones, &dX1);
  double largest = 0, largest_dgamma = 0;
  for (double v : dX1.data) largest = std::fmax(largest, std::fabs(v));
  for (double v : bn.dgamma.data) largest_dgamma = std::fmax(largest_dgamma, std::fabs(v));
  std::printf("  dY = 1: max |dX| %s, max |dgamma| %s; a backward that returned zeros would agree\n",
              largest < 1e-12 ? "< 1e-12" : "LARGE", largest_dgamma < 1e-12 ? "< 1e-12" : "LARGE");
  return 0;
}
