// Tutorial 19: why He's Var(W) = 2/fan_in for ReLU and LeCun's 1/fan_in for tanh, checked numerically.
//   1. One dense layer, z_j = sum_k x_k W_kj over fan_in inputs: Var(z) = fan_in Var(W) E[x^2]
//      (W has mean 0 and is independent of x), and ReLU halves E[x^2].
//   2. Twenty dense layers of width 128 (make_mlp<double>), a seeded random batch forward:
//      the std of every pre-activation Z_k, for each activation and init; with ReLU the std is
//      multiplied by sqrt(fan_in Var(W) / 2) at every layer.
//   3. The same stacks backward from a random gradient at the logits: the std of dL/dZ_k.
//      Var(dH) = fan_out Var(W) Var(dZ), then the activation's slope f'(Z) multiplies it.
//   4. One non-square layer, 784 -> 128: 1/fan_in keeps the forward signal, 1/fan_out the
//      backward gradient, Glorot's 2/(fan_in + fan_out) sits between.
// No data is needed: every input is drawn from seeded generators, in double precision, so the
// numbers are the same at every run and on every build.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "chainrule/init.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

namespace {

double mean(const Tensor<double>& t) {
  double s = 0;
  for (double v : t.data) s += v;
  return s / static_cast<double>(t.data.size());
}

double second_moment(const Tensor<double>& t) {  // E[t^2]
  double s = 0;
  for (double v : t.data) s += v * v;
  return s / static_cast<double>(t.data.size());
}

double variance(const Tensor<double>& t) {  // E[(t - mean)^2], over every entry
  const double m = mean(t);
  double s = 0;
  for (double v : t.data) s += (v - m) * (v - m);
  return s / static_cast<double>(t.data.size());
}

double stdev(const Tensor<double>& t) { return std::sqrt(variance(t)); }

Tensor<double> normal_batch(int rows, int cols, chainrule::Rng& rng) {  // every entry ~ N(0, 1)
  Tensor<double> X(rows, cols);
  for (auto& x : X.data) x = rng.normal();
  return X;
}

struct Stack {
  const char* activation;
  const char* init;
  double forward;   // the per-layer factor of std(Z) the derivation predicts; 0 = no simple formula
  double backward;  // the same for std(dL/dZ), going down; negative = an upper bound, |backward|
};

}  // namespace

int main() {
  // ---- 1. One layer: Var(z) = fan_in Var(W) E[x^2] ---------------------------------------------------
  // z_ij = sum_k X_ik W_kj: fan_in products of independent factors. With E[W] = 0,
  //   E[x w] = 0 and Var(x w) = E[x^2 w^2] = E[x^2] Var(W), so Var(z) = fan_in Var(W) E[x^2].
  // It is E[x^2] that enters, not Var(x): a ReLU's output has a mean, and the mean counts too.
  {
    const int fan_in = 128, out = 128, N = 2000;
    chainrule::Rng rng(1);
    const Tensor<double> G = normal_batch(N, fan_in, rng);  // (N, fan_in) ~ N(0, 1)
    Tensor<double> R = G;
    for (auto& x : R.data) x = x > 0 ? x : 0;  // ReLU(G): half the entries are 0
    std::printf("== 1. One dense layer, fan_in = %d: z_j = sum_k x_k W_kj, N = %d samples (seed 1)\n", fan_in, N);
    std::printf("  inputs x        mean(x)  Var(x)  E[x^2]   init         Var(W)   fan_in Var(W) E[x^2]   Var(z)\n");
    struct Row {
      const char* input_name;
      const Tensor<double>* X;
      const char* init;
    };
    const Row rows[] = {{"N(0, 1)", &G, "lecun"}, {"ReLU(N(0, 1))", &R, "lecun"}, {"ReLU(N(0, 1))", &R, "he"}};
    for (const Row& row : rows) {
      chainrule::Dense<double> dense("dense", fan_in, out);  // b = 0
      chainrule::Rng wrng(2);
      const bool he = std::string(row.init) == "he";
      if (he)
        chainrule::he_normal(dense.W, fan_in, wrng);  // Var(W) = 2 / fan_in
      else
        chainrule::lecun_normal(dense.W, fan_in, wrng);  // Var(W) = 1 / fan_in
      Tensor<double> Z;
      dense.forward(*row.X, Z, false);  // Z (N, out) = X W + b
      const double ex2 = second_moment(*row.X), vw = second_moment(dense.W);
      std::printf("  %-14s  %7.3f  %6.3f  %6.3f   %-5s %-6s  %7.5f  %21.3f   %6.3f\n", row.input_name, mean(*row.X),
                  variance(*row.X), ex2, he ? "He" : "LeCun", he ? "2/128" : "1/128", vw, fan_in * vw * ex2,
                  variance(Z));
    }
  }

  // ---- 2 and 3. Twenty layers of width 128, forward and backward ----------------------------------
  // make_mlp<double>: 128 -> [dense_k -> act_k] x 20 -> dense21 -> 10 logits, biases 0, the init
  // applied to every dense layer (seed 42). X (N, 128) ~ N(0, 1). Layer i of the model: dense_k is
  // layer 2(k-1), so Z_k = output(2(k-1)) and dL/dZ_k = output_grad(2(k-1)).
  // Forward, with ReLU:  Var(Z_k) = fan_in Var(W) E[H_{k-1}^2] = fan_in Var(W) Var(Z_{k-1}) / 2,
  //   since Z_{k-1} is symmetric around 0 and ReLU keeps the half with z > 0.
  // Backward:  dH_{k-1} = dZ_k W_k^T, a sum over fan_out terms: Var(dH) = fan_out Var(W) Var(dZ_k),
  //   then dZ_{k-1} = dH_{k-1} * f'(Z_{k-1}): ReLU's mask keeps half, sigmoid's slope is <= 1/4.
  const int width = 128, depth = 20, N = 100;
  const int shown[] = {1, 2, 5, 10, 15, 20};
  const Stack stacks[] = {
      // ReLU: sqrt(fan_in Var(W) / 2) forward, sqrt(fan_out Var(W) / 2) backward (fan_in = fan_out = 128)
      {"relu", "normal:0.01", std::sqrt(width * 0.01 * 0.01 / 2), std::sqrt(width * 0.01 * 0.01 / 2)},
      {"relu", "lecun", std::sqrt(width * (1.0 / width) / 2), std::sqrt(width * (1.0 / width) / 2)},
      {"relu", "he", std::sqrt(width * (2.0 / width) / 2), std::sqrt(width * (2.0 / width) / 2)},
      {"relu", "normal:0.2", std::sqrt(width * 0.2 * 0.2 / 2), std::sqrt(width * 0.2 * 0.2 / 2)},
      // tanh: no closed form (tanh(z) is z only near 0)
      {"tanh", "lecun", 0, 0},
      {"tanh", "he", 0, 0},
      // sigmoid: sigma'(z) <= 1/4, so backward at most sqrt(fan_out Var(W) / 16)
      {"sigmoid", "he", 0, -std::sqrt(width * (2.0 / width) / 16)},
  };
  struct Result {
    std::vector<double> z, dz;  // std of Z_k and of dL/dZ_k, k = 1..depth (index k - 1)
  };
  std::vector<Result> results;
  for (const Stack& s : stacks) {
    chainrule::MlpSpec spec;
    spec.inputs = width;
    spec.hidden.assign(depth, width);
    spec.init = s.init;
    spec.set_activation(s.activation);
    chainrule::Sequential<double> model = chainrule::make_mlp<double>(spec);
    chainrule::Rng rng(3);
    const Tensor<double> X = normal_batch(N, width, rng);
    const Tensor<double> dOut = normal_batch(N, 10, rng);  // a gradient at the logits, std 1
    model.forward(X, true);
    model.zero_grad();
    model.backward(dOut);
    Result r;
    for (int k = 1; k <= depth; ++k) {
      const std::size_t i = static_cast<std::size_t>(2 * (k - 1));
      r.z.push_back(stdev(model.output(i)));
      r.dz.push_back(stdev(model.output_grad(i)));
    }
    results.push_back(r);
  }
  std::printf("== 2. Forward: std(Z_k) in %d layers of width %d, a batch of N = %d from N(0, 1) (seed 3)\n", depth,
              width, N);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1)
      std::printf("== 3. Backward from dL/dlogits ~ N(0, 1): std(dL/dZ_k), the same stacks\n");
    std::printf("  activation init         ");
    for (int k : shown) std::printf("  %s_%-6d", pass == 0 ? "Z" : "dZ", k);
    std::printf("  per layer  predicted\n");
    for (std::size_t s = 0; s < results.size(); ++s) {
      const std::vector<double>& v = pass == 0 ? results[s].z : results[s].dz;
      std::printf("  %-10s %-12s", stacks[s].activation, stacks[s].init);
      for (int k : shown) std::printf("  %s%8.2e", pass == 0 ? "" : " ", v[static_cast<std::size_t>(k - 1)]);
      // The geometric mean of the factor from one layer to the next, layers 1 to 20 (backward: 20 to 1).
      const double per_layer = std::pow(pass == 0 ? v[depth - 1] / v[0] : v[0] / v[depth - 1], 1.0 / (depth - 1));
      std::printf("  %9.3f", per_layer);
      const double predicted = pass == 0 ? stacks[s].forward : stacks[s].backward;
      if (predicted > 0) std::printf("  %9.3f", predicted);
      if (predicted < 0) std::printf("  <= %.3f", -predicted);
      std::printf("\n");
    }
  }

  // ---- 4. fan_in or fan_out: one layer 784 -> 128, no activation ------------------------------------
  //   forward   Z = X W:     Var(Z)  = fan_in  Var(W) Var(X)     keeps the signal when Var(W) = 1 / fan_in
  //   backward  dX = dZ W^T: Var(dX) = fan_out Var(W) Var(dZ)    keeps the gradient when Var(W) = 1 / fan_out
  // Glorot: Var(W) = 2 / (fan_in + fan_out), the harmonic mean of the two.
  {
    const int fan_in = 784, fan_out = 128, rows = 200;
    chainrule::Rng rng(4);
    const Tensor<double> X = normal_batch(rows, fan_in, rng), dZ = normal_batch(rows, fan_out, rng);
    std::printf("== 4. One layer %d -> %d, no activation: X and dL/dZ ~ N(0, 1), N = %d (seed 4)\n", fan_in, fan_out,
                rows);
    std::printf("  init                         Var(W)     Var(Z)/Var(X)  fan_in Var(W)   Var(dX)/Var(dZ)  fan_out Var(W)\n");
    for (int which = 0; which < 3; ++which) {
      chainrule::Dense<double> dense("dense", fan_in, fan_out);
      chainrule::Rng wrng(5);
      const char* name = "";
      if (which == 0) {
        chainrule::lecun_normal(dense.W, fan_in, wrng);
        name = "LeCun, 1/fan_in";
      } else if (which == 1) {
        chainrule::normal_init(dense.W, std::sqrt(1.0 / fan_out), wrng);
        name = "normal, 1/fan_out";
      } else {
        chainrule::glorot_uniform(dense.W, fan_in, fan_out, wrng);
        name = "Glorot, 2/(fan_in+fan_out)";
      }
      Tensor<double> Z, dX;
      dense.forward(X, Z, true);
      dense.backward(dZ, &dX);  // dX = dZ W^T (and dW, db, unused here)
      const double vw = second_moment(dense.W);
      std::printf("  %-27s  %9.6f  %13.3f  %13.3f  %16.3f  %14.3f\n", name, vw, variance(Z) / variance(X),
                  fan_in * vw, variance(dX) / variance(dZ), fan_out * vw);
    }
  }
  return 0;
}
