// Tutorial 06: ReLU's backward pass. The mask, the kink at 0 (ReLU'(0) = 0), and
// what the gradient checker does when a probe crosses the kink.
#include <cmath>
#include <cstdio>
#include <vector>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/relu.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

namespace {
void print(const char* name, const Tensor<double>& t) {
  std::printf("  %-18s", name);
  for (double v : t.data) std::printf(" %+6.2f", v + 0.0);
  std::printf("\n");
}
double relu(double x) { return x > 0 ? x : 0; }
}  // namespace

int main() {
  // ---- The mask ---------------------------------------------------------------------
  std::printf("== 1. dZ = dH * [Z > 0]\n");
  chainrule::ReLU<double> layer("relu");
  Tensor<double> Z(1, 6), H, dH(1, 6), dZ;
  Z.data = {-1.5, -0.2, 0.0, 0.3, 0.7, 2.0};
  dH.data = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  layer.forward(Z, H, true);
  layer.backward(dH, &dZ);
  Tensor<double> mask(1, 6);
  for (int k = 0; k < 6; ++k) mask.data[k] = Z.data[k] > 0 ? 1 : 0;
  print("Z", Z);
  print("H = max(0, Z)", H);
  print("mask [Z > 0]", mask);
  print("dH (upstream)", dH);
  print("dZ = dH * mask", dZ);

  // ---- The kink: a centered difference at and near 0 -----------------------------------
  std::printf("== 2. Centered differences of max(0, x) with h = 1e-5\n");
  const double h = 1e-5;
  for (double x : {-1e-3, -3e-6, 0.0, 3e-6, 1e-3}) {
    const double numeric = (relu(x + h) - relu(x - h)) / (2 * h);
    std::printf("  x = %+.0e: numeric %.2f, ReLU'(x) = %.0f\n", x, numeric, x > 0 ? 1.0 : 0.0);
  }

  // ---- The checker skips probes that cross the kink ---------------------------------------
  std::printf("== 3. check_layer on a ReLU whose input has entries at and near 0\n");
  chainrule::Rng rng(6);
  Tensor<double> X(3, 4);
  for (auto& x : X.data) x = (rng.uniform() < 0.5 ? -1 : 1) * rng.uniform(0.1, 1.0);
  X(0, 1) = 0.0;   // exactly on the kink
  X(1, 2) = 3e-6;  // closer to the kink than h
  chainrule::GradCheckOptions options;  // h = 1e-5; an entry passes within 10x the noise it expects
  const auto report = chainrule::check_layer(layer, X, options);
  const auto& row = report.rows[0];
  std::printf("  X %s: %zu entries checked, %zu probes skipped (crossed the kink), each within 10x its noise: %s\n",
              row.shape.c_str(), row.checked, row.skipped, row.pass ? "PASS" : "FAIL");

  // ---- In the 784-128-10 network -------------------------------------------------------------
  std::printf("== 4. In 784-128-10: dZ1 = dH * [Z1 > 0]\n");
  chainrule::Sequential<double> model = chainrule::make_mlp<double>(chainrule::MlpSpec{});
  Tensor<double> images(4, 784);
  chainrule::Rng pixels(1);
  for (auto& x : images.data) x = pixels.uniform();
  chainrule::SoftmaxCrossEntropy<double> ce;
  Tensor<double> dZ2;
  model.zero_grad();
  ce.forward(model.forward(images, true), std::vector<int>{3, 1, 4, 1});
  ce.backward(dZ2);
  model.backward(dZ2);
  const Tensor<double>& Z1 = model.output(0);
  const Tensor<double>& dHn = model.output_grad(1);  // dL/dH, from dense2's backward
  const Tensor<double>& dZ1 = model.output_grad(0);  // dL/dZ1, from relu1's backward
  int passed = 0, same = 0;
  for (std::size_t k = 0; k < Z1.size(); ++k) {
    const double expect = Z1.data[k] > 0 ? dHn.data[k] : 0.0;
    passed += Z1.data[k] > 0 ? 1 : 0;
    same += dZ1.data[k] == expect ? 1 : 0;
  }
  std::printf("  %d of %zu entries of dH pass through (Z1 > 0); the rest are 0\n", passed, Z1.size());
  std::printf("  dZ1 equals dH * [Z1 > 0] exactly in %d of %zu entries\n", same, Z1.size());
  std::printf("  relu1: zero fraction %.3f, dead units %.3f (zero for all 4 samples)\n",
              model.get<chainrule::ReLU<double>>("relu1").zero_fraction(),
              model.get<chainrule::ReLU<double>>("relu1").dead_fraction());
  return 0;
}
