// Tutorial 03: the loss. Categorical cross-entropy, the log-sum-exp trick (and the
// overflow it prevents, shown in float), and the mean over the batch.
#include <cmath>
#include <cstdio>
#include <vector>

#include "chainrule/loss.hpp"
#include "chainrule/tensor.hpp"

using chainrule::Tensor;

namespace {

// Prints a float or double the same way on every machine: "inf", "nan" without a sign bit.
void num(double v) {
  if (std::isnan(v))
    std::printf("%9s", "nan");
  else if (std::isinf(v))
    std::printf("%9s", v > 0 ? "inf" : "-inf");
  else
    std::printf("%9.4f", v + 0.0);  // + 0.0 turns -0 into 0
}

// Softmax the way it is first written: exp, then divide by the sum. No max subtracted.
std::vector<float> naive_softmax(const std::vector<float>& z) {
  std::vector<float> p(z.size());
  float sum = 0;
  for (std::size_t k = 0; k < z.size(); ++k) {
    p[k] = std::exp(z[k]);
    sum += p[k];
  }
  for (auto& v : p) v /= sum;
  return p;
}

// The same with the row's maximum subtracted first: every exp is <= 1.
std::vector<float> stable_softmax(const std::vector<float>& z) {
  float m = z[0];
  for (float v : z) m = v > m ? v : m;
  std::vector<float> p(z.size());
  float sum = 0;
  for (std::size_t k = 0; k < z.size(); ++k) {
    p[k] = std::exp(z[k] - m);
    sum += p[k];
  }
  for (auto& v : p) v /= sum;
  return p;
}

// -log P[y] through log-sum-exp: log sum_k exp(z_k - m) + m - z_y. Never takes log(0).
float stable_ce(const std::vector<float>& z, int y) {
  float m = z[0];
  for (float v : z) m = v > m ? v : m;
  float sum = 0;
  for (float v : z) sum += std::exp(v - m);
  return std::log(sum) + m - z[y];
}

void row(const char* what, const std::vector<float>& z, int y) {
  const auto pn = naive_softmax(z), ps = stable_softmax(z);
  std::printf("  logits {");
  for (std::size_t k = 0; k < z.size(); ++k) std::printf(k ? ", %g" : "%g", static_cast<double>(z[k]));
  std::printf("}, label %d: %s\n", y, what);
  std::printf("    naive softmax  P =");
  for (float v : pn) num(v);
  std::printf("   -log P[y] =");
  num(-std::log(pn[y]));
  std::printf("\n    stable softmax P =");
  for (float v : ps) num(v);
  std::printf("   -log P[y] =");
  num(-std::log(ps[y]));
  std::printf("\n    log-sum-exp, no P at all:                      -log P[y] =");
  num(stable_ce(z, y));
  std::printf("\n");
}

}  // namespace

int main() {
  // ---- Cross-entropy on one sample --------------------------------------------------
  std::printf("== 1. Cross-entropy: -log of the probability of the correct class\n");
  for (double p : {1.0, 0.9, 0.5, 0.1, 0.01})  // 0.0 - log(p): print 0, not -0, for p = 1
    std::printf("  P[y] = %4.2f  ->  -log P[y] = %.4f\n", p, 0.0 - std::log(p));
  std::printf("  uniform over 10 classes: -log(1/10) = log 10 = %.4f\n", std::log(10.0));

  // ---- Why subtract the max: float overflow and underflow ------------------------------
  std::printf("== 2. Softmax in float, with and without subtracting the max\n");
  row("fine either way", {2.0f, 1.0f, 0.1f}, 0);
  row("exp(100) overflows float (max 3.4e38)", {100.0f, 90.0f, 80.0f}, 0);
  row("every exp underflows to 0", {-120.0f, -130.0f, -140.0f}, 0);
  row("P[y] = exp(-120) / ... underflows to 0", {0.0f, 120.0f, 0.0f}, 0);

  // ---- The library's loss ------------------------------------------------------------
  std::printf("== 3. chainrule::SoftmaxCrossEntropy<float> on the same rows\n");
  Tensor<float> Z(4, 3);
  const std::vector<std::vector<float>> rows = {
      {2.0f, 1.0f, 0.1f}, {100.0f, 90.0f, 80.0f}, {-120.0f, -130.0f, -140.0f}, {0.0f, 120.0f, 0.0f}};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) Z(i, j) = rows[i][j];
  chainrule::SoftmaxCrossEntropy<float> ce;
  const float L = ce.forward(Z, std::vector<int>{0, 0, 0, 0});
  std::printf("  per-sample losses:");
  for (int i = 0; i < 4; ++i) num(stable_ce(rows[i], 0));
  std::printf("\n  L = their mean = %.4f\n", static_cast<double>(L));

  // ---- Sum or mean over the batch --------------------------------------------------------
  std::printf("== 4. Mean, not sum: the same batch twice over\n");
  Tensor<double> Z4(4, 3), Z8(8, 3);
  const double vals[12] = {2.0, 1.0, 0.1, 0.5, 0.2, -1.0, -0.3, 0.8, 0.0, 1.5, -0.5, 0.3};
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 3; ++j) {
      if (i < 4) Z4(i, j) = vals[i * 3 + j];
      Z8(i, j) = vals[(i % 4) * 3 + j];
    }
  const std::vector<int> y4 = {0, 1, 2, 0}, y8 = {0, 1, 2, 0, 0, 1, 2, 0};
  chainrule::SoftmaxCrossEntropy<double> ce4, ce8;
  const double L4 = ce4.forward(Z4, y4), L8 = ce8.forward(Z8, y8);
  Tensor<double> dZ4, dZ8;
  ce4.backward(dZ4);
  ce8.backward(dZ8);
  double g4 = 0, g8 = 0;  // what a bias of the last layer would receive: the column sum of dZ, class 0
  for (int i = 0; i < 4; ++i) g4 += dZ4(i, 0);
  for (int i = 0; i < 8; ++i) g8 += dZ8(i, 0);
  std::printf("  N = 4: mean L = %.4f, sum L = %.4f, dZ[0][0] = %+.4f, sum_i dZ[i][0] = %+.4f\n", L4, 4 * L4,
              dZ4(0, 0), g4);
  std::printf("  N = 8: mean L = %.4f, sum L = %.4f, dZ[0][0] = %+.4f, sum_i dZ[i][0] = %+.4f\n", L8, 8 * L8,
              dZ8(0, 0), g8);
  return 0;
}
