// Checks that a training step allocates no memory once the first steps have sized every
// buffer: this program counts every operator new, plain and aligned, while the steps run
// (tests/support/counting_new.hpp; a separate program, because replacing operator new
// affects the whole program).
//
// The step is the one train::fit runs (src/chainrule/train/trainer.cpp): make_batch,
// zero_grad, forward, softmax cross-entropy forward and backward, backward, Adam. The
// monitor keeps a growing list of every step's loss and probe, by design; it is not
// part of what is counted here.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/network.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/penalty.hpp"
#include "chainrule/train/step.hpp"
#include "chainrule/train/gradstats.hpp"
#include "../support/counting_new.hpp"
#include "../support/sparse_images.hpp"

using namespace chainrule;
using chainrule::testing::sparse_images;

// The images are mostly zeros, so the per-thread zero-skipping lists (fast/gemm.cpp,
// "Zero skipping") are sized, and counted, as on real MNIST.
namespace {


// The training step's state; run() returns the operator new calls made by `steps` steps.
struct Trainer {
  explicit Trainer(const data::ImageSet& images, MlpSpec s = {}) : set(images), spec(std::move(s)) {}
  const data::ImageSet& set;
  MlpSpec spec;
  std::vector<int> order = data::all_indices(1000);
  Sequential<float> model = make_model<float>(spec);
  std::vector<Param<float>> params = model.params();
  std::unique_ptr<Optimizer> optimizer = make_optimizer(OptimizerConfig{});
  Tensor<float> X, dZ;
  std::vector<int> labels;
  SoftmaxCrossEntropy<float> loss_fn;

  std::size_t run(std::size_t first, std::size_t steps, std::size_t B) {
    const std::size_t n = order.size(), batches = data::num_batches(n, B);
    const std::size_t before = counting_new::allocations;
    for (std::size_t k = 0; k < steps; ++k) {
      const std::size_t b = (first + k) % batches;
      data::make_batch(set, order, b * B, std::min(n, (b + 1) * B), X, labels);
      model.zero_grad();
      const Tensor<float>& Z = model.forward(X, true);
      loss_fn.forward(Z, labels);
      loss_fn.backward(dZ);
      model.backward(dZ);
      optimizer->step(params);
    }
    return counting_new::allocations - before;
  }
};

}  // namespace

TEST_CASE("perf: after the first steps, a training step allocates nothing (1 and 2 threads, full and partial batches)") {
  const data::ImageSet set = sparse_images();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Trainer t(set);
    const std::size_t first = t.run(0, 1, 32);  // sizes the activations, gradients and Adam's slots
    CHECK(first > 0);                           // guards the counter: the first step must allocate
    t.run(31, 1, 32);                           // the partial last batch (8 samples)
    const std::size_t later = t.run(1, 64, 32); // two passes over the data, partial batches included
    INFO("threads = " << threads);
    CHECK(later == 0);
  }
  set_num_threads(0);
}

TEST_CASE("perf: with --activation sigmoid, tanh or leaky_relu a training step allocates nothing either") {
  const data::ImageSet set = sparse_images();
  set_num_threads(1);
  for (const char* activation : {"sigmoid", "tanh", "leaky_relu:0.1"}) {
    MlpSpec spec;
    spec.set_activation(activation);
    Trainer t(set, spec);
    CHECK(t.run(0, 1, 32) > 0);
    t.run(31, 1, 32);
    INFO("activation = " << activation);
    CHECK(t.run(1, 40, 32) == 0);
  }
  set_num_threads(0);
}

TEST_CASE("perf: train_step with --weight-decay (the L2 penalty with sgd, adamw's decay) allocates nothing either") {
  const data::ImageSet set = sparse_images();
  set_num_threads(1);
  for (const char* kind : {"sgd", "adamw"}) {
    Sequential<float> model = make_mlp<float>(MlpSpec{});
    SoftmaxCrossEntropy<float> loss_fn;
    OptimizerConfig c;
    c.kind = kind;
    c.weight_decay = 0.01;
    auto optimizer = make_optimizer(c);
    const L2Penalty<float> penalty(c.weight_decay);
    train::Step step{model, loss_fn, *optimizer, model.params(), true, {}, {}, {}, nullptr};
    if (std::string(kind) != "adamw") step.penalty = &penalty;  // as fit() does
    const std::vector<int> order = data::all_indices(1000);
    Tensor<float> X;
    std::vector<int> labels;
    auto run = [&](std::size_t first, std::size_t steps) {
      const std::size_t before = counting_new::allocations;
      for (std::size_t k = 0; k < steps; ++k) {
        const std::size_t b = (first + k) % 32;
        data::make_batch(set, order, b * 32, std::min<std::size_t>(1000, (b + 1) * 32), X, labels);
        train::train_step(step, X, labels);
      }
      return counting_new::allocations - before;
    };
    CHECK(run(0, 1) > 0);
    run(31, 1);
    INFO("optimizer = " << kind);
    CHECK(run(1, 40) == 0);
  }
  set_num_threads(0);
}

TEST_CASE("perf: LeNet-5 (--model lenet5: conv, max pooling, dense) allocates nothing in a step either") {
  const data::ImageSet set = sparse_images();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    MlpSpec spec;
    spec.layers = kLeNet5Layers;
    Trainer t(set, spec);
    CHECK(t.run(0, 1, 32) > 0);
    t.run(31, 1, 32);
    INFO("threads = " << threads);
    CHECK(t.run(1, 40, 32) == 0);
  }
  set_num_threads(0);
}

TEST_CASE("perf: with BatchNorm after the activation and steps.csv logged at every step, a step allocates nothing") {
  // steps.csv's row (train/gradstats.hpp) with its act_std and dz_std columns is formatted into a
  // string whose capacity is kept, and written with one write(): no allocation after the first row.
  const data::ImageSet set = sparse_images();
  set_num_threads(1);
  MlpSpec spec;
  spec.hidden = {64, 32};
  spec.activation = "sigmoid";
  spec.batchnorm = true;
  spec.batchnorm_after = true;
  spec.bn_momentum = 0.01;
  spec.bn_eps = 1e-3;
  spec.init = "glorot";
  spec.init_gain = 1.5;
  Trainer t(set, spec);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("chainrule-step-alloc-" + std::to_string(::getpid()) + "-steps.csv")).string();
  {
    train::GradStatsLogger logger(path, t.model, 0);
    auto logged = [&](std::size_t first, std::size_t steps) {
      const std::size_t before = counting_new::allocations;
      for (std::size_t k = 0; k < steps; ++k) {
        const std::size_t b = (first + k) % data::num_batches(t.order.size(), 32);
        data::make_batch(t.set, t.order, b * 32, std::min(t.order.size(), (b + 1) * 32), t.X, t.labels);
        t.model.zero_grad();
        const double loss = t.loss_fn.forward(t.model.forward(t.X, true), t.labels);
        t.loss_fn.backward(t.dZ);
        t.model.backward(t.dZ);
        logger.before_update(t.params);
        t.optimizer->step(t.params);
        logger.after_update(static_cast<std::int64_t>(first + k + 1), 1, loss, t.params, t.model, t.loss_fn.probs());
      }
      return counting_new::allocations - before;
    };
    CHECK(logged(0, 1) > 0);
    logged(31, 1);
    CHECK(logged(1, 40) == 0);
  }
  std::filesystem::remove(path);
  set_num_threads(0);
}

TEST_CASE("perf: the allocation counter sees an allocation made inside a step") {
  // Guards the test above: a step whose batch grows must allocate, and the counter must see it.
  const data::ImageSet set = sparse_images();
  set_num_threads(1);
  Trainer t(set);
  t.run(0, 2, 16);
  CHECK(t.run(0, 1, 64) > 0);  // a bigger batch needs bigger activations
  set_num_threads(0);

  // Tensors allocate through aligned operator new (tensor.hpp, fast/aligned.hpp): the counter sees that too.
  Tensor<float> grown(1, 1);
  const std::size_t before = counting_new::allocations;
  grown.resize(100, 100);
  CHECK(counting_new::allocations > before);
}
