// Tutorial 02: the forward pass.
// First a 4-3-2 network whose weights are set by hand, small enough to check with a
// pencil; then the 784-128-10 reference network on one random "image".
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/relu.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

namespace {

// Fills a tensor from a list of values, row after row.
void set(Tensor<double>& t, const std::vector<double>& values) {
  for (std::size_t k = 0; k < values.size(); ++k) t.data[k] = values[k];
}

void print(const char* name, const Tensor<double>& t, const char* fmt = "%7.4f") {
  for (int i = 0; i < t.rows; ++i) {
    std::printf(i == 0 ? "  %-3s = [" : "        [", name);
    for (int j = 0; j < t.cols; ++j) {
      std::printf(fmt, t(i, j));
      std::printf(j + 1 < t.cols ? " " : "]\n");
    }
  }
}

}  // namespace

int main() {
  // ---- A 4-3-2 network, set by hand ---------------------------------------------
  chainrule::Sequential<double> tiny;
  auto& d1 = tiny.add(std::make_unique<chainrule::Dense<double>>("dense1", 4, 3));
  tiny.add(std::make_unique<chainrule::ReLU<double>>("relu1"));
  auto& d2 = tiny.add(std::make_unique<chainrule::Dense<double>>("dense2", 3, 2));
  set(d1.W, {1, 0, -1,    // row k = input feature k; column j = hidden unit j
             0, 1, 1,
             2, -1, 0,
             1, 1, 1});
  set(d1.b, {0.5, -2, 0.5});
  set(d2.W, {2, -1,
             1, 1,
             0, 2});
  set(d2.b, {0, 1});

  Tensor<double> X(2, 4);
  set(X, {1, 2, 0, -1,   // sample 0
          0, 1, 1, 0});  // sample 1
  const std::vector<int> labels = {1, 0};

  std::printf("== 1. The 4-3-2 network, weights set by hand\n");
  print("X", X, "%4.1f");
  print("W1", d1.W, "%4.1f");
  print("b1", d1.b, "%4.1f");
  print("W2", d2.W, "%4.1f");
  print("b2", d2.b, "%4.1f");

  const Tensor<double>& Z2 = tiny.forward(X, /*training=*/false);
  chainrule::SoftmaxCrossEntropy<double> ce;
  const double L = ce.forward(Z2, labels);
  std::printf("== 2. Its forward pass, layer by layer\n");
  print("Z1", tiny.output(0), "%4.1f");
  print("H", tiny.output(1), "%4.1f");
  print("Z2", Z2, "%4.1f");
  print("P", ce.probs());
  std::printf("  labels {1, 0}: -log P[0][1] = %.4f, -log P[1][0] = %.4f\n", -std::log(ce.probs()(0, 1)),
              -std::log(ce.probs()(1, 0)));
  std::printf("  L = mean = %.4f\n", L);

  // ---- The reference network on one random "image" ---------------------------------
  std::printf("== 3. 784-128-10 on one random image (make_mlp seed 42, pixels seed 3)\n");
  chainrule::Sequential<double> model = chainrule::make_mlp<double>(chainrule::MlpSpec{});
  chainrule::Rng rng(3);
  Tensor<double> image(1, 784);
  for (auto& x : image.data) x = rng.uniform();
  const Tensor<double>& logits = model.forward(image, false);
  const Tensor<double>& Z1 = model.output(0);
  auto& dense1 = model.get<chainrule::Dense<double>>("dense1");

  // One entry of Z1 by hand: a dot product of the image with column 0 of W1, plus b1[0].
  double z = dense1.b(0, 0);
  for (int k = 0; k < 784; ++k) z += image(0, k) * dense1.W(k, 0);
  std::printf("  Z1[0][0] = sum_k X[0][k] W1[k][0] + b1[0] = %.4f (by hand %.4f)\n", Z1(0, 0), z);
  int active = 0;
  for (double v : Z1.data) active += v > 0 ? 1 : 0;
  std::printf("  hidden units with Z1 > 0 (passed by ReLU): %d of 128\n", active);

  chainrule::SoftmaxCrossEntropy<double> ce2;
  ce2.forward(logits, std::vector<int>{0});
  const Tensor<double>& P = ce2.probs();
  int best = 0;
  double sum = 0;
  std::printf("  class   Z2       P\n");
  for (int c = 0; c < 10; ++c) {
    std::printf("  %5d %7.3f %7.4f\n", c, logits(0, c), P(0, c));
    if (P(0, c) > P(0, best)) best = c;
    sum += P(0, c);
  }
  std::printf("  sum of P = %.4f; predicted class = %d (an untrained guess)\n", sum, best);
  return 0;
}
