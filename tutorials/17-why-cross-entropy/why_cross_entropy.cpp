// Tutorial 17: why cross-entropy, and not a squared error, on a sigmoid or softmax output.
//   1. One sigmoid neuron (Nielsen's chapter 3 example): the squared error's gradient carries
//      a factor sigma'(z), which is tiny when the neuron is confidently wrong; cross-entropy's does not.
//   2. The same for a softmax output, with the library's Softmax layer and losses: the squared
//      error's gradient at the label's logit carries the factor P[y], cross-entropy's does not.
//   3. 784-128-10 with a softmax output on real MNIST, trained by plain SGD with each loss:
//      loss and test accuracy per epoch.
//
// Needs real MNIST in data/mnist (tools/fetch_mnist.sh), or the folder given as the first
// argument; without it, it says so and exits 77, which ctest reports as skipped (exit 1
// instead when CHAINRULE_REQUIRE_MNIST=1). Double precision everywhere: the numbers are the
// same at every run and on every build.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/data/idx.hpp"
#include "chainrule/layers/softmax.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"
#include "../lesson_mnist.hpp"

namespace data = chainrule::data;
using chainrule::Tensor;

namespace {

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// Samples indices[begin..end) of the set as X (n, 784) in [0, 1] and their labels, in double.
void batch(const data::ImageSet& set, const std::vector<int>& indices, std::size_t begin, std::size_t end,
           Tensor<double>& X, std::vector<int>& labels) {
  Tensor<float> Xf;
  data::make_batch(set, indices, begin, end, Xf, labels);
  X = Xf.cast<double>();
}

enum class Loss { squared, cross_entropy };

struct Run {
  const char* name;
  Loss loss;
  double lr;
};

// Trains 784-128-10 + softmax with plain SGD (P -= lr dP) and prints one line per epoch.
void train(const Run& run, const data::Mnist& mnist, const std::vector<int>& train_idx,
           const std::vector<int>& test_idx, int epochs, int B) {
  chainrule::Sequential<double> model = chainrule::make_mlp<double>(chainrule::MlpSpec{});  // He/Glorot, seed 42
  model.add(std::make_unique<chainrule::Softmax<double>>("softmax"));  // the model now outputs P (N, 10)
  const auto params = model.params();
  chainrule::MeanSquaredError<double> mse;  // L = 1/(N C) sum (P - Y)^2
  chainrule::CrossEntropy<double> ce;       // L = -(1/N) sum log P[i][y_i]
  chainrule::Rng rng(1);                    // the shuffle: the same order for every run
  std::vector<int> order = train_idx;
  Tensor<double> X, dP;
  std::vector<int> labels;
  std::printf("  %s, SGD lr %g\n", run.name, run.lr);
  std::printf("    epoch  train loss  test accuracy\n");
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    data::shuffle(order, rng);
    double sum = 0;
    const std::size_t batches = data::num_batches(order.size(), B);
    for (std::size_t b = 0; b < batches; ++b) {
      batch(mnist.train, order, b * B, std::min(order.size(), (b + 1) * B), X, labels);
      model.zero_grad();
      const Tensor<double>& P = model.forward(X, true);
      if (run.loss == Loss::squared) {
        sum += mse.forward(P, chainrule::one_hot<double>(labels, 10));
        mse.backward(dP);  // dP = 2 (P - Y) / (N C)
      } else {
        sum += ce.forward(P, labels);
        ce.backward(dP);  // dP = -Y / (N P)
      }
      model.backward(dP);  // Softmax::backward, then the dense and ReLU layers
      for (const auto& p : params)
        for (std::size_t k = 0; k < p.value->data.size(); ++k) p.value->data[k] -= run.lr * p.grad->data[k];
    }
    int correct = 0;
    for (std::size_t b = 0; b < test_idx.size(); b += 500) {
      batch(mnist.test, test_idx, b, std::min(test_idx.size(), b + 500), X, labels);
      const Tensor<double>& P = model.forward(X, false);
      for (int i = 0; i < P.rows; ++i)
        correct += std::max_element(P.row(i), P.row(i) + 10) - P.row(i) == labels[static_cast<std::size_t>(i)];
    }
    std::printf("    %5d  %10.4f  %12.1f%%\n", epoch, sum / static_cast<double>(batches),
                100.0 * correct / static_cast<double>(test_idx.size()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  // ---- 1. One sigmoid neuron, confidently wrong ---------------------------------------------------
  // a = sigma(w x + b), input x = 1, target y = 0, start w = 2, b = 2 (a = 0.98), gradient descent lr 0.15.
  //   squared error   C = (a - y)^2 / 2                 dC/dw = (a - y) sigma'(z) x,  sigma'(z) = a (1 - a)
  //   cross-entropy   C = -(y ln a + (1 - y) ln(1 - a))   dC/dw = (a - y) x
  std::printf("== 1. One sigmoid neuron: x = 1, target y = 0, start w = b = 2, gradient descent lr 0.15\n");
  {
    const double x = 1, y = 0, lr = 0.15;
    double ws = 2, bs = 2, wc = 2, bc = 2;  // squared error's neuron, cross-entropy's neuron
    std::printf("  step    squared error: a   dC/dw      cross-entropy: a   dC/dw\n");
    for (int step = 0; step <= 300; ++step) {
      const double as = sigmoid(ws * x + bs), ac = sigmoid(wc * x + bc);
      const double gs = (as - y) * as * (1 - as), gc = ac - y;  // dC/dz; dC/dw = dC/dz x, dC/db = dC/dz
      if (step % 50 == 0 || step == 10)
        std::printf("  %4d    %16.4f   %.4f     %16.4f   %.4f\n", step, as, gs * x, ac, gc * x);
      ws -= lr * gs * x;
      bs -= lr * gs;
      wc -= lr * gc * x;
      bc -= lr * gc;
    }
  }

  // ---- 2. A softmax output, confidently wrong -------------------------------------------------------
  // One sample (N = 1, C = 10), label 0; logits 0 everywhere except class 1, which gets m.
  // The larger m, the more confidently wrong. The gradient at the label's logit, dL/dZ[0]:
  //   squared error   dZ_k = P_k (dP_k - sum_c P_c dP_c),  dP = 2 (P - Y) / (N C)   -> carries P_0
  //   cross-entropy   dZ_k = (P_k - Y_k) / N                                        -> about -1
  std::printf("== 2. A softmax output, confidently wrong: label 0, logits (0, m, 0, ..., 0)\n");
  std::printf("     m    P[0]       P[1]    squared error: dL/dZ[0]   cross-entropy: dL/dZ[0]\n");
  for (double m : {0.0, 2.0, 4.0, 6.0, 8.0}) {
    chainrule::Softmax<double> softmax("softmax");
    Tensor<double> Z(1, 10), P, dP, dZ_se, dZ_ce;
    Z(0, 1) = m;
    softmax.forward(Z, P, true);
    chainrule::MeanSquaredError<double> mse;
    mse.forward(P, chainrule::one_hot<double>({0}, 10));
    mse.backward(dP);
    softmax.backward(dP, &dZ_se);
    chainrule::CrossEntropy<double> ce;
    ce.forward(P, std::vector<int>{0});
    ce.backward(dP);
    softmax.backward(dP, &dZ_ce);
    std::printf("  %4.0f  %.5f  %.5f  %24.6f  %24.4f\n", m, P(0, 0), P(0, 1), dZ_se(0, 0), dZ_ce(0, 0));
  }

  // ---- 3. Softmax output on real MNIST --------------------------------------------------------------
  const std::string dir = argc > 1 ? argv[1] : "data/mnist";
  std::optional<data::Mnist> loaded = lesson::load_mnist(dir, "Part 2 of this lesson trains on");
  if (!loaded) return lesson::missing_mnist_exit_code();
  data::Mnist& mnist = *loaded;
  const int train_n = 2000, test_n = 2000, epochs = 5, B = 32;
  std::printf("== 3. 784-128-10 + softmax on MNIST: the first %d training images, batch %d, %d epochs;\n"
              "      accuracy on the first %d test images\n", train_n, B, epochs, test_n);
  const std::vector<int> train_idx = data::all_indices(train_n), test_idx = data::all_indices(test_n);
  const double lr = 0.1;
  const Run runs[] = {{"cross-entropy", Loss::cross_entropy, lr},
                      {"squared error", Loss::squared, lr},
                      {"squared error", Loss::squared, 5 * lr}};
  for (const Run& run : runs) train(run, mnist, train_idx, test_idx, epochs, B);
  return 0;
}
