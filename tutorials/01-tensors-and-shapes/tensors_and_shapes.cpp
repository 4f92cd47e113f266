// Tutorial 01: tensors and the shapes of the 784-128-10 network.
// Builds the reference network with make_mlp, runs one batch of N = 4 random
// "images" through it, and prints the shape of every tensor of one training step.
#include <cstdio>
#include <string>
#include <vector>

#include "chainrule/layers/dense.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/tensor.hpp"

using chainrule::Tensor;

namespace {
void show(const char* symbol, const Tensor<double>& t, const char* meaning) {
  std::printf("  %-3s %-11s %s\n", symbol, t.shape().c_str(), meaning);
}
}  // namespace

int main() {
  // ---- A tensor is rows x cols numbers, stored row after row ---------------------
  std::printf("== 1. A tensor: rows x cols, row-major\n");
  Tensor<double> A(2, 3);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) A(i, j) = 10 * i + j;
  std::printf("  A %s, A(1, 2) = %.0f, stored at data[1 * 3 + 2] = data[5] = %.0f\n", A.shape().c_str(), A(1, 2),
              A.data[5]);
  std::printf("  data = {");
  for (std::size_t k = 0; k < A.size(); ++k) std::printf(k ? ", %.0f" : "%.0f", A.data[k]);
  std::printf("}\n");

  // ---- The reference network ------------------------------------------------------
  std::printf("== 2. make_mlp: the layers of 784-128-10\n");
  chainrule::MlpSpec spec;  // inputs 784, hidden {128}, classes 10, seed 42
  chainrule::Sequential<double> model = chainrule::make_mlp<double>(spec);
  for (std::size_t i = 0; i < model.size(); ++i)
    std::printf("  layer %zu: %-6s (%s)\n", i, model.layer(i).name().c_str(), model.layer(i).kind());
  for (const auto& p : model.params()) std::printf("  parameter %-8s %s\n", p.name.c_str(), p.value->shape().c_str());
  std::printf("  %zu parameters = 784*128 + 128 + 128*10 + 10\n", model.parameter_count());

  // ---- One batch forward, then the loss and its gradient ------------------------------
  const int N = 4;
  chainrule::Rng rng(1);
  Tensor<double> X(N, 784);
  for (auto& x : X.data) x = rng.uniform();  // pixel intensities in [0, 1)
  const std::vector<int> labels = {3, 1, 4, 1};
  const Tensor<double> Y = chainrule::one_hot<double>(labels, 10);

  const Tensor<double>& Z2 = model.forward(X, /*training=*/true);
  chainrule::SoftmaxCrossEntropy<double> loss;
  const double L = loss.forward(Z2, labels);
  auto& dense1 = model.get<chainrule::Dense<double>>("dense1");
  auto& dense2 = model.get<chainrule::Dense<double>>("dense2");

  std::printf("== 3. Every tensor of one forward pass (N = %d)\n", N);
  show("X", X, "input batch: one flattened 28x28 image per row");
  show("W1", dense1.W, "dense1.W: column j = hidden unit j's 784 input weights");
  show("b1", dense1.b, "dense1.b: one bias per hidden unit, added to every row");
  show("Z1", model.output(0), "Z1 = X W1 + b1: hidden pre-activations");
  show("H", model.output(1), "H = relu(Z1): hidden activations");
  show("W2", dense2.W, "dense2.W");
  show("b2", dense2.b, "dense2.b");
  show("Z2", model.output(2), "Z2 = H W2 + b2: logits, one score per class");
  show("P", loss.probs(), "P = softmax(Z2): each row sums to 1");
  show("Y", Y, "one-hot targets from the 0-based labels {3, 1, 4, 1}");
  std::printf("  L   (scalar)    L = mean over the batch of -log P[i][y_i] = %.4f\n", L);

  // ---- The backward pass: every gradient has its tensor's shape -----------------------
  std::printf("== 4. Every gradient has the shape of what it is the gradient of\n");
  Tensor<double> dZ2;
  model.zero_grad();
  loss.backward(dZ2);
  model.backward(dZ2);
  show("dZ2", model.output_grad(2), "(P - Y) / N");
  show("dW2", dense2.dW, "H^T dZ2");
  show("db2", dense2.db, "column sums of dZ2");
  show("dH", model.output_grad(1), "dZ2 W2^T");
  show("dZ1", model.output_grad(0), "dH * [Z1 > 0]");
  show("dW1", dense1.dW, "X^T dZ1");
  show("db1", dense1.db, "column sums of dZ1");

  // ---- A wrong shape is caught, with both shapes in the message -----------------------
  std::printf("== 5. A wrong shape throws chainrule::ShapeError\n");
  try {
    Tensor<double> bad(N, 780);
    model.forward(bad, true);
  } catch (const chainrule::ShapeError& e) {
    std::printf("  %s\n", e.what());
  }
  return 0;
}
