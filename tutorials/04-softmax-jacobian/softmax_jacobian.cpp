// Tutorial 04: softmax's Jacobian, and why softmax + cross-entropy gives (P - Y)/N.
// Builds the Jacobian of one row explicitly, multiplies it by the cross-entropy's
// gradient, and compares the result with the fused path and with centered differences.
#include <cmath>
#include <cstdio>
#include <vector>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/softmax.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

namespace {
void print_row(const char* name, const Tensor<double>& t, int i) {
  std::printf("  %-14s=", name);
  for (int j = 0; j < t.cols; ++j) std::printf(" %+8.5f", t(i, j) + 0.0);
  std::printf("\n");
}
}  // namespace

int main() {
  // ---- One sample: z, p, and the Jacobian J[j][k] = dp_j / dz_k ---------------------------
  const int C = 4;
  Tensor<double> z(1, C);
  z.data = {1.0, 2.0, 0.5, -1.0};
  const int y = 1;  // the label
  Tensor<double> p;
  chainrule::softmax_rows(z, p);

  std::printf("== 1. One sample: logits, probabilities, and softmax's Jacobian\n");
  print_row("z", z, 0);
  print_row("p", p, 0);
  Tensor<double> J(C, C);
  for (int j = 0; j < C; ++j)
    for (int k = 0; k < C; ++k) J(j, k) = p(0, j) * ((j == k ? 1.0 : 0.0) - p(0, k));  // p_j (delta_jk - p_k)
  std::printf("  J[j][k] = dp_j/dz_k = p_j (delta_jk - p_k):\n");
  for (int j = 0; j < C; ++j) print_row(j == 0 ? "J" : "", J, j);
  double row_sum = 0;
  for (int k = 0; k < C; ++k) row_sum += J(0, k);
  std::printf("  |sum of row 0 of J| < 1e-15: %s (adding a constant to every z changes no p)\n",
              std::fabs(row_sum) < 1e-15 ? "yes" : "NO");

  // Check J column by column with centered differences.
  double worst = 0;
  const double h = 1e-5;
  for (int k = 0; k < C; ++k) {
    Tensor<double> zp = z, zm = z, pp, pm;
    zp(0, k) += h;
    zm(0, k) -= h;
    chainrule::softmax_rows(zp, pp);
    chainrule::softmax_rows(zm, pm);
    for (int j = 0; j < C; ++j)
      worst = std::fmax(worst, chainrule::relative_error(J(j, k), (pp(0, j) - pm(0, j)) / (2 * h), 1e-8));
  }
  std::printf("  J against centered differences (h = 1e-5): max relative error < 1e-7: %s\n",
              worst < 1e-7 ? "yes" : "NO");

  // ---- Chain rule: dz = J^T dp with dp = dL/dp from cross-entropy ------------------------
  std::printf("== 2. Chain rule by matrix: dL/dz = J^T dL/dp, for L = -log p_y (N = 1)\n");
  Tensor<double> dp(1, C);
  dp(0, y) = -1.0 / p(0, y);  // d(-log p_y)/dp_j = -1/p_y if j = y, else 0
  Tensor<double> dz(1, C);
  for (int k = 0; k < C; ++k)
    for (int j = 0; j < C; ++j) dz(0, k) += J(j, k) * dp(0, j);
  Tensor<double> p_minus_y = p;
  p_minus_y(0, y) -= 1.0;
  print_row("dp", dp, 0);
  print_row("J^T dp", dz, 0);
  print_row("p - y", p_minus_y, 0);

  // ---- A batch: the unfused layers against the fused loss --------------------------------
  std::printf("== 3. A batch (N = 5, C = 4): unfused Softmax + CrossEntropy against fused (P - Y)/N\n");
  chainrule::Rng rng(4);
  Tensor<double> Z(5, C);
  for (auto& v : Z.data) v = 2.0 * rng.normal();
  const std::vector<int> labels = {1, 0, 3, 3, 2};

  chainrule::Softmax<double> softmax("softmax");  // unfused: P = softmax(Z), L = CE(P)
  chainrule::CrossEntropy<double> ce;
  Tensor<double> P, dP, dZ_unfused;
  softmax.forward(Z, P, true);
  const double L_unfused = ce.forward(P, labels);
  ce.backward(dP);                     // dP = -Y / (N P)
  softmax.backward(dP, &dZ_unfused);   // dZ = J^T dP, row by row, without forming J

  chainrule::SoftmaxCrossEntropy<double> fused;
  Tensor<double> dZ_fused;
  const double L_fused = fused.forward(Z, labels);
  fused.backward(dZ_fused);            // dZ = (P - Y) / N

  std::printf("  L: unfused %.6f, fused %.6f\n", L_unfused, L_fused);
  print_row("dZ[0] unfused", dZ_unfused, 0);
  print_row("dZ[0] fused  ", dZ_fused, 0);
  std::printf("  max |fused - unfused| over all 20 entries < 1e-15: %s\n",
              chainrule::max_abs_diff(dZ_fused, dZ_unfused) < 1e-15 ? "yes" : "NO");

  // ---- And numerically: the one gradient checker on L(Z) ----------------------------------
  std::printf("== 4. dZ2 = (P - Y)/N against centered differences (chainrule::check_gradients)\n");
  auto loss = [&] { return fused.forward(Z, labels); };
  auto no_kinks = [](std::vector<std::uint8_t>&) {};
  chainrule::GradCheckOptions options;  // an entry passes within 10x the noise it expects
  options.h = 1e-4;  // not the default 1e-5: see README.md and tutorials/08-gradient-checking
  double smallest = 1.0;
  for (double g : dZ_fused.data) smallest = std::fmin(smallest, std::fabs(g));
  std::printf("  smallest |dZ| entry: %.1e; h = %.0e\n", smallest, options.h);
  const auto report =
      chainrule::check_gradients("softmax cross-entropy", "N = 5", loss, no_kinks, {{"Z", &Z, &dZ_fused}}, options);
  const auto& row = report.rows[0];
  std::printf("  %zu of %zu entries checked, max relative error < 1e-7, each within 10x its noise: %s\n",
              row.checked, row.total, row.max_rel_error < 1e-7 && row.pass ? "PASS" : "FAIL");
  return 0;
}
