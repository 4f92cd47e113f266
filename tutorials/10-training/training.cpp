// Tutorial 10: training 784-128-10 on real MNIST. The six calls of one training
// step written out by hand, why the samples are shuffled, then train::fit (the loop
// behind `chainrule train`) on a 2000-image slice with a held-out validation part, the
// run folder it leaves.
//
// Needs real MNIST in data/mnist (tools/fetch_mnist.sh), or the folder given as the
// first argument. Without it, it says so and exits 77, which ctest reports as skipped
// (exit 1 instead when CHAINRULE_REQUIRE_MNIST=1).
//
// One thread everywhere: float sums then always run in the same order, so the numbers
// below are the same at every run. They are printed with few digits so that they are
// also the same across builds (release, sanitizers).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>  // mkdtemp

#include "chainrule/data/dataset.hpp"
#include "chainrule/data/idx.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/train/step.hpp"
#include "chainrule/train/trainer.hpp"
#include "../lesson_mnist.hpp"

namespace data = chainrule::data;
namespace train = chainrule::train;
using chainrule::Tensor;

namespace {

// One epoch over `order` in batches of 32, with train::train_step (src/chainrule/train/step.cpp),
// the six calls that fit makes for every batch. Returns the mean of the batch losses.
double train_one_epoch(chainrule::Sequential<float>& model, chainrule::Optimizer& optimizer,
                       const data::ImageSet& set, const std::vector<int>& order) {
  chainrule::SoftmaxCrossEntropy<float> loss_fn;
  train::Step step{model, loss_fn, optimizer, model.params(), true, {}, {}, {}};
  Tensor<float> X;          // X (N, 784)
  std::vector<int> labels;  // (N)
  const std::size_t B = 32, n = order.size();
  double sum = 0;
  const std::size_t batches = data::num_batches(n, B);
  for (std::size_t b = 0; b < batches; ++b) {
    data::make_batch(set, order, b * B, std::min(n, (b + 1) * B), X, labels);  // the batch
    sum += train::train_step(step, X, labels).loss;                            // the six calls
  }
  return sum / static_cast<double>(batches);
}

// A copy of the parameters, to measure how far one optimizer step moved them.
struct ProbeCopy {
  std::vector<std::vector<float>> values;
  explicit ProbeCopy(const std::vector<chainrule::Param<float>>& params) {
    for (const auto& p : params) values.emplace_back(p.value->data.begin(), p.value->data.end());
  }
  double largest_change(const std::vector<chainrule::Param<float>>& params) const {
    double largest = 0;
    for (std::size_t i = 0; i < params.size(); ++i)
      for (std::size_t k = 0; k < values[i].size(); ++k)
        largest = std::max(largest, std::fabs(static_cast<double>(params[i].value->data[k]) - values[i][k]));
    return largest;
  }
};

std::string percent(double fraction) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * fraction);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "data/mnist";
  std::optional<data::Mnist> loaded = lesson::load_mnist(dir, "This lesson trains on");
  if (!loaded) return lesson::missing_mnist_exit_code();
  data::Mnist& mnist = *loaded;
  chainrule::set_num_threads(1);

  // ---- 1. The data -------------------------------------------------------------------------
  std::printf("== 1. Real MNIST, as the trainer sees it\n");
  std::printf("  train: %d images of %d x %d bytes (0..255), test: %d images\n", mnist.train.count,
              mnist.train.rows, mnist.train.cols, mnist.test.count);
  std::printf("  the first 12 training labels:");
  for (int i = 0; i < 12; ++i) std::printf(" %d", mnist.train.labels[static_cast<std::size_t>(i)]);
  std::printf("\n");
  const std::vector<int> first2000 = data::all_indices(2000);
  {
    Tensor<float> X;
    std::vector<int> labels;
    data::make_batch(mnist.train, first2000, 0, 32, X, labels);
    const auto [lo, hi] = std::minmax_element(X.data.begin(), X.data.end());
    std::printf("  make_batch(images 0..31): X (%d, %d), values %.2f .. %.2f, labels (%zu)\n", X.rows, X.cols,
                static_cast<double>(*lo), static_cast<double>(*hi), labels.size());
  }

  // ---- 2. One step, six calls ----------------------------------------------------------------
  std::printf("== 2. One training step by hand (batch 32, Adam lr 0.001, seed 42)\n");
  {
    auto model = chainrule::make_mlp<float>(chainrule::MlpSpec{});  // 784-128-10, He/Glorot, seed 42
    const auto params = model.params();
    auto optimizer = chainrule::make_optimizer(chainrule::OptimizerConfig{});  // Adam, Keras's defaults
    chainrule::SoftmaxCrossEntropy<float> loss_fn;
    Tensor<float> X, dZ;
    std::vector<int> labels;

    data::make_batch(mnist.train, first2000, 0, 32, X, labels);
    std::printf("  1. make_batch    X (%d, %d), labels (%zu)\n", X.rows, X.cols, labels.size());

    model.zero_grad();
    std::size_t entries = 0, zeros = 0;
    for (const auto& p : params)
      for (float g : p.grad->data) {
        ++entries;
        zeros += g == 0.0f ? 1 : 0;
      }
    std::printf("  2. zero_grad     %zu of the %zu gradient entries are 0\n", zeros, entries);

    const Tensor<float>& Z = model.forward(X, /*training=*/true);
    std::printf("  3. forward       Z (%d, %d), the logits\n", Z.rows, Z.cols);

    const double L = loss_fn.forward(Z, labels);
    std::printf("  4. loss          L = %.2f   (guessing uniformly gives ln 10 = %.2f)\n", L, std::log(10.0));

    loss_fn.backward(dZ);
    model.backward(dZ);
    // Row k of dW1 = X^T dZ1 is sum_i X[i][k] dZ1[i]: zero when pixel k is 0 in every image.
    const Tensor<float>& dW1 = *params[0].grad;  // (784, 128)
    int zero_rows = 0, black_pixels = 0;
    for (int k = 0; k < dW1.rows; ++k) {
      zero_rows += std::all_of(dW1.row(k), dW1.row(k) + dW1.cols, [](float g) { return g == 0.0f; }) ? 1 : 0;
      bool black = true;
      for (int i = 0; i < X.rows; ++i) black = black && X(i, k) == 0.0f;
      black_pixels += black ? 1 : 0;
    }
    std::printf("  5. backward      dZ (%d, %d), then dL/dP for all %zu parameter tensors\n", dZ.rows, dZ.cols, params.size());
    std::printf("                   dW1 has %d rows of zeros: the %d pixels that are 0 in all 32 images\n", zero_rows,
                black_pixels);

    ProbeCopy before(params);
    optimizer->step(params);
    std::printf("  6. Adam step     the largest change of any parameter: %.2f x lr\n", before.largest_change(params) / 1e-3);

    const double L_after = loss_fn.forward(model.forward(X, true), labels);
    std::printf("  the same batch again:  L = %.2f (lower)\n", L_after);
  }

  // ---- 3. Why shuffle --------------------------------------------------------------------------
  // The same 2000 images for one epoch, once sorted by label (all 0s, then all 1s, ...),
  // once in a seeded random order; then the accuracy on the first 1000 test images.
  std::printf("== 3. Why shuffle: one epoch on 2000 images, then 1000 test images\n");
  const std::vector<int> first1000_test = data::all_indices(1000);
  {
    std::vector<int> sorted = first2000;
    std::stable_sort(sorted.begin(), sorted.end(), [&](int a, int b) {
      return mnist.train.labels[static_cast<std::size_t>(a)] < mnist.train.labels[static_cast<std::size_t>(b)];
    });
    std::vector<int> shuffled = first2000;
    chainrule::Rng rng(7);
    data::shuffle(shuffled, rng);
    std::printf("  order of the epoch   test accuracy   predictions of each class 0..9\n");
    for (const auto& [name, order] : {std::pair<const char*, const std::vector<int>&>{"sorted by label", sorted},
                                      {"shuffled", shuffled}}) {
      auto model = chainrule::make_mlp<float>(chainrule::MlpSpec{});
      auto optimizer = chainrule::make_optimizer(chainrule::OptimizerConfig{});
      train_one_epoch(model, *optimizer, mnist.train, order);
      const train::EvalResult r = train::evaluate(model, mnist.test, first1000_test);
      std::vector<int> counts(10, 0);
      for (int p : r.predicted) ++counts[static_cast<std::size_t>(p)];
      std::printf("  %-18s   %13s  ", name, percent(r.accuracy).c_str());
      for (int c : counts) std::printf(" %4d", c);
      std::printf("\n");
    }
    std::vector<int> truth(10, 0);
    for (int i : first1000_test) ++truth[mnist.test.labels[static_cast<std::size_t>(i)]];
    std::printf("  %-18s   %13s  ", "(the true counts)", "");
    for (int c : truth) std::printf(" %4d", c);
    std::printf("\n");
  }

  // ---- 4. train::fit ---------------------------------------------------------------------------
  std::printf("== 4. train::fit: the first 2000 training images, 0.1 of them held out, 3 epochs\n");
  std::string tmpl = (std::filesystem::temp_directory_path() / "chainrule-tutorial-10-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::printf("cannot create a temporary folder in %s\n", std::filesystem::temp_directory_path().c_str());
    return 1;
  }
  const std::filesystem::path run = std::filesystem::path(tmpl) / "run";
  train::TrainConfig config;
  config.data_dir = dir;
  config.epochs = 3;
  config.batch = 32;
  config.seed = 42;
  config.threads = 1;
  config.run_dir = run.string();
  config.limit = 2000;       // --limit 2000
  config.validation = "0.1";  // --validation 0.1, the default: 200 of the 2000, chosen by the seed
  const train::TrainData slice = train::select_data(config, mnist);
  std::printf("  select_data: %zu training images, %zu for validation (%s), none of the test images\n",
              slice.train_indices.size(), slice.val_indices.size(), slice.val_name.c_str());
  std::ostringstream log;  // fit's progress lines hold timings; keep them off this page
  const train::TrainResult result = train::fit(config, slice, log);
  std::printf("  784-128-10, Adam lr 0.001, batch 32 (%zu steps per epoch), seed 42, 1 thread\n",
              data::num_batches(slice.train_indices.size(), 32));
  std::printf("  epoch   loss  accuracy   val_loss  val_accuracy\n");
  for (const auto& row : result.history)
    std::printf("  %5d   %.2f    %6s       %.2f        %6s\n", row.epoch, row.loss, percent(row.accuracy).c_str(),
                row.val_loss, percent(row.val_accuracy).c_str());

  // ---- 5. The run folder -----------------------------------------------------------------------
  std::printf("== 5. What fit wrote into the run folder\n");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(run)) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  std::printf("  files:");
  for (const auto& f : files) std::printf(" %s", f.c_str());
  std::printf("\n");
  std::ifstream history(run / "history.csv");
  std::string header, line;
  std::getline(history, header);
  int rows = 0;
  std::string last_row;
  while (std::getline(history, line)) {
    ++rows;
    last_row = line;
  }
  std::printf("  history.csv: header \"%s\", %d rows (one per epoch)\n", header.c_str(), rows);
  std::printf("  the last row ends in \"%s\": why the run stopped there\n", last_row.substr(last_row.rfind(',') + 1).c_str());
  std::filesystem::remove_all(tmpl);

  return 0;
}
