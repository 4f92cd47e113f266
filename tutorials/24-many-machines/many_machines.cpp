// Tutorial 24: training on many machines. The one line of backprop behind data
// parallelism (the gradient of a batch mean is the size-weighted sum of its shards' mean
// gradients), checked in double on a real MNIST batch; why the order of a float sum
// matters for bit-exact results; and what the gradients cost to move, with a model of the
// step time on 1 to 64 machines. No MPI needed: the program computes every shard itself.
//
// Needs real MNIST in data/mnist (tools/fetch_mnist.sh), or the folder given as the first
// argument. Without it, it says so and exits 77, which ctest reports as skipped (exit 1
// instead when CHAINRULE_REQUIRE_MNIST=1). Every number it prints is double-precision
// arithmetic through the reference loops, or a formula: the same on every build.
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/data/idx.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/train/shards.hpp"
#include "../lesson_mnist.hpp"

using namespace chainrule;

namespace {

// Every parameter's gradient of the mean loss over rows [begin, end) of X, one vector:
// dense1.W, dense1.b, dense2.W, dense2.b (101,770 numbers). The loss is the mean over those
// n rows, so its backward starts from dZ = (P - Y) / n.
std::vector<double> mean_gradient(Sequential<double>& model, const Tensor<double>& X, const std::vector<int>& labels,
                                  std::size_t begin, std::size_t end) {
  const int n = static_cast<int>(end - begin);
  Tensor<double> Xs(n, X.cols);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < X.cols; ++k) Xs(i, k) = X(static_cast<int>(begin) + i, k);
  const std::vector<int> ys(labels.begin() + static_cast<std::ptrdiff_t>(begin),
                            labels.begin() + static_cast<std::ptrdiff_t>(end));
  SoftmaxCrossEntropy<double> loss;
  Tensor<double> dZ;
  model.zero_grad();
  loss.forward(model.forward(Xs, true), ys);  // L_s = (1/n_s) sum_{i in s} l_i
  loss.backward(dZ);                          // dZ = (P - Y) / n_s
  model.backward(dZ);
  std::vector<double> g;
  for (const auto& p : model.params()) g.insert(g.end(), p.grad->data.begin(), p.grad->data.end());
  return g;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t k = 0; k < a.size(); ++k) m = std::fmax(m, std::fabs(a[k] - b[k]));
  return m;
}

std::string show(double d) {  // a difference: "< 1e-15" when it is rounding, else "= its size"
  if (d < 1e-15) return "< 1e-15";
  char buf[32];
  std::snprintf(buf, sizeof buf, "= %.1e", d);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "data/mnist";
  std::optional<data::Mnist> loaded = lesson::load_mnist(dir, "This lesson computes gradients on");
  if (!loaded) return lesson::missing_mnist_exit_code();
  data::Mnist& mnist = *loaded;

  // ---- 1. The math: the batch mean's gradient from its shards ---------------------------------
  const std::size_t N = 128;
  Tensor<float> Xf;
  std::vector<int> labels;
  data::make_batch(mnist.train, data::all_indices(static_cast<int>(N)), 0, N, Xf, labels);
  const Tensor<double> X = Xf.cast<double>();  // the first 128 training images, in double
  Sequential<double> model = make_mlp<double>(MlpSpec{});
  const std::vector<double> g = mean_gradient(model, X, labels, 0, N);
  std::printf("== 1. One batch of N = %zu real MNIST images, 784-128-10 (seed 42), in double\n", N);
  std::printf("  g = gradient of the batch mean: %zu numbers; g[0] of dense2.b = %+.9f\n", g.size(), g[g.size() - 10]);
  bool exact = true;
  for (const int P : {2, 3, 4, 8, 5}) {
    std::vector<double> weighted(g.size(), 0.0), unweighted(g.size(), 0.0);
    std::string sizes;
    for (int s = 0; s < P; ++s) {
      const std::size_t b = train::shard_begin(N, P, s), e = train::shard_begin(N, P, s + 1);
      const std::vector<double> gs = mean_gradient(model, X, labels, b, e);  // shard s's own mean gradient
      const double w = static_cast<double>(e - b) / static_cast<double>(N);   // n_s / N
      for (std::size_t k = 0; k < g.size(); ++k) {
        weighted[k] += w * gs[k];
        unweighted[k] += gs[k] / P;
      }
      if (s > 0) sizes += ' ';
      sizes += std::to_string(e - b);
    }
    const double d = max_abs_diff(weighted, g), u = max_abs_diff(unweighted, g);
    exact = exact && d < 1e-12;
    std::printf("  P = %d, shard sizes %s:\n", P, sizes.c_str());
    std::printf("    max |sum_s (n_s/N) g_s - g| %s (checked: < 1e-12);  max |mean_s g_s - g| %s\n",
                show(d).c_str(), show(u).c_str());
  }
  if (!exact) {
    std::printf("the weighted sum of the shards' gradients is NOT the batch gradient\n");
    return 1;
  }

  // ---- 2. In float, the order of the sum shows ------------------------------------------------
  std::printf("== 2. The same four shard gradients (P = 4) added in float, in two orders\n");
  std::vector<std::vector<float>> parts;
  for (int s = 0; s < 4; ++s) {
    const std::vector<double> gs = mean_gradient(model, X, labels, train::shard_begin(N, 4, s), train::shard_begin(N, 4, s + 1));
    std::vector<float> f(gs.size());
    for (std::size_t k = 0; k < gs.size(); ++k) f[k] = static_cast<float>(gs[k] * 0.25);  // (n_s/N) g_s, in float
    parts.push_back(f);
  }
  std::size_t differ = 0, nonzero = 0;
  for (std::size_t k = 0; k < g.size(); ++k) {
    const float forward = ((parts[0][k] + parts[1][k]) + parts[2][k]) + parts[3][k];   // rank order 0, 1, 2, 3
    const float tree = (parts[0][k] + parts[1][k]) + (parts[2][k] + parts[3][k]);      // a tree's order
    differ += forward != tree ? 1 : 0;
    nonzero += forward != 0.0f ? 1 : 0;
  }
  std::printf("  ((g0 + g1) + g2) + g3 and (g0 + g1) + (g2 + g3) differ in %zu of the %zu nonzero entries\n", differ,
              nonzero);
  const float a = 1e8f, b = -1e8f, c = 1.0f;  // floats near 1e8 are 8 apart: 1e8 + 1 rounds back to 1e8
  std::printf("  three floats: (a + b) + c = %g but a + (b + c) = %g, for a = 1e8, b = -1e8, c = 1\n",
              static_cast<double>((a + b) + c), static_cast<double>(a + (b + c)));

  // ---- 3. What a step moves ----------------------------------------------------------------------
  const double params = static_cast<double>(g.size()), bytes = 4 * params;  // float32 gradients
  std::printf("== 3. Bytes each machine sends per step (and receives as many), %.0f float gradients\n", params);
  std::printf("  %4s  %16s  %22s\n", "P", "ring allreduce", "allgather (chainrule)");
  for (const int P : {2, 4, 8, 64}) {
    const double ring = 2.0 * (P - 1) / P * bytes;  // reduce-scatter, then allgather: 2(P-1) chunks of 1/P
    const double gather = (P - 1) * bytes;          // every rank receives every other rank's whole gradient
    std::printf("  %4d  %16.0f  %22.0f\n", P, ring, gather);
  }

  // ---- 4. A model of the step time -----------------------------------------------------------
  // compute: 6 floating-point operations per parameter per sample (2 forward, 4 backward)
  // at F per second, on the rank's N/P samples; the ring: 2(P-1) messages of latency alpha,
  // and 2(P-1)/P x 4 x parameters bytes at the link's bandwidth.
  const double F = 100e9, link = 10e9 / 8, alpha = 10e-6;
  std::printf("== 4. Modelled step time: %.0f GFLOP/s per machine, 10 Gb/s links (%.2f GB/s), %.0f us latency\n",
              F / 1e9, link / 1e9, alpha * 1e6);
  for (const double batch : {128.0, 8192.0}) {
    std::printf("  global batch %.0f:\n  %4s  %12s  %12s  %12s  %8s\n", batch, "P", "compute us", "comm us", "step us",
                "speedup");
    double one = 0;
    for (const int P : {1, 2, 8, 64}) {
      const double compute = 6 * params * (batch / P) / F;
      const double comm = P == 1 ? 0 : 2.0 * (P - 1) * alpha + 2.0 * (P - 1) / P * bytes / link;
      if (P == 1) one = compute;
      std::printf("  %4d  %12.1f  %12.1f  %12.1f  %8.2f\n", P, compute * 1e6, comm * 1e6, (compute + comm) * 1e6,
                  one / (compute + comm));
    }
  }
  // When does the compute of a rank's n samples cover moving the gradient (bandwidth term,
  // P large)? 6 k params n / F = 8 params / link  ->  n = 8 F / (k link), with k the
  // operations per parameter per sample / 6 (an MLP: k = 1; each weight used once per sample).
  std::printf("  samples per machine for compute = communication: n = 8 F / (6 k B)\n");
  for (const double k : {1.0, 100.0})
    std::printf("    k = %3.0f (%s): n = %.1f\n", k, k == 1 ? "an MLP: each weight used once per sample" : "a weight reused 100 times per sample",
                8 * F / (6 * k * link));
  return 0;
}
