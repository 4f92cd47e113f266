// Tutorial 21: choosing the learning rate. Every run below is train::fit (the loop behind
// `chainrule train`) on the first 2000 training images of real MNIST, 0.1 of them held out
// for validation (1800 to train on, 200 to validate), 784-128-10, one thread:
//   1. the update-to-weight ratio ||dW|| / ||W|| per layer, read back from steps.csv
//      (--log-grads 10), for SGD at a too-small, a good and a too-large rate;
//   2. the schedules (constant, step, cosine, cosine:T, plateau) on the same run, with history.csv's lr column;
//   3. the noise of a batch gradient against the batch size: its variance falls like 1/B;
//   4. SGD at six batch sizes x seven rates, same epochs: the best rate grows with the batch.
//
// Needs real MNIST in data/mnist (tools/fetch_mnist.sh), or the folder given as the first
// argument. Without it, it says so and exits 77, which ctest reports as skipped (exit 1
// instead when CHAINRULE_REQUIRE_MNIST=1).
//
// One thread everywhere: float sums then always run in the same order, so the numbers are
// the same at every run; they are printed with few digits so that they are also the same
// across builds. No timings are printed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>  // mkdtemp

#include "chainrule/data/dataset.hpp"
#include "chainrule/data/idx.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/train/trainer.hpp"
#include "../lesson_mnist.hpp"

namespace data = chainrule::data;
namespace train = chainrule::train;
namespace fs = std::filesystem;
using chainrule::Tensor;

namespace {

// The settings shared by every run: `chainrule train --limit 2000 --epochs E --batch B
// --optimizer sgd --lr LR --seed 42 --threads 1` (plus --lr-schedule or --log-grads).
train::TrainConfig base_config(const std::string& dir, double lr, int batch, int epochs) {
  train::TrainConfig config;
  config.data_dir = dir;
  config.optimizer.kind = "sgd";
  config.optimizer.lr = lr;
  config.batch = batch;
  config.epochs = epochs;
  config.seed = 42;
  config.threads = 1;
  config.limit = 2000;        // --limit 2000
  config.validation = "0.1";  // the default: 200 of the 2000 held out, chosen by the seed
  return config;
}

// steps.csv as columns: name -> values, one per logged step.
std::map<std::string, std::vector<double>> read_csv(const fs::path& file) {
  std::ifstream in(file);
  std::string line, cell;
  std::getline(in, line);
  std::vector<std::string> names;
  std::istringstream header(line);
  while (std::getline(header, cell, ',')) names.push_back(cell);
  std::map<std::string, std::vector<double>> columns;
  while (std::getline(in, line)) {
    std::istringstream row(line);
    for (std::size_t i = 0; i < names.size() && std::getline(row, cell, ','); ++i)
      columns[names[i]].push_back(std::strtod(cell.c_str(), nullptr));
  }
  return columns;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

std::string percent(double fraction) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * fraction);
  return buf;
}

// All of a float model's parameter gradients as one vector of doubles.
std::vector<double> flat_grads(chainrule::Sequential<float>& model) {
  std::vector<double> g;
  for (const auto& p : model.params())
    for (float v : p.grad->data) g.push_back(static_cast<double>(v));
  return g;
}

// The gradient of the mean loss over samples order[begin..end), at the model's weights.
std::vector<double> gradient(chainrule::Sequential<float>& model, const data::ImageSet& set,
                             const std::vector<int>& order, std::size_t begin, std::size_t end) {
  chainrule::SoftmaxCrossEntropy<float> loss_fn;
  Tensor<float> X, dZ;
  std::vector<int> labels;
  data::make_batch(set, order, begin, end, X, labels);
  model.zero_grad();
  loss_fn.forward(model.forward(X, /*training=*/true), labels);
  loss_fn.backward(dZ);  // dZ = (P - Y) / B: the mean over the batch
  model.backward(dZ);
  return flat_grads(model);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "data/mnist";
  std::optional<data::Mnist> loaded = lesson::load_mnist(dir, "This lesson trains on");
  if (!loaded) return lesson::missing_mnist_exit_code();
  data::Mnist& mnist = *loaded;
  chainrule::set_num_threads(1);
  std::string tmpl = (fs::temp_directory_path() / "chainrule-tutorial-21-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::printf("cannot create a temporary folder in %s\n", fs::temp_directory_path().c_str());
    return 1;
  }
  const fs::path tmp(tmpl);
  std::ostringstream log;  // fit's progress lines hold timings; keep them off this page

  // ---- 1. The update-to-weight ratio, per layer, from steps.csv --------------------------------
  std::printf("== 1. Update-to-weight ratio ||P_after - P_before|| / ||P_after|| per step (steps.csv)\n");
  std::printf("  batch 32, 3 epochs (171 steps), logged every 10 steps: the median of 18 rows\n");
  std::printf("  optimizer      lr   dense1.W  dense2.W  dense1.b  dense2.b   val_loss  val_accuracy\n");
  const std::vector<std::pair<const char*, double>> ratio_runs = {
      {"sgd", 0.01}, {"sgd", 0.1}, {"sgd", 1.0}, {"adam", 1e-4}, {"adam", 1e-3}, {"adam", 1e-2}};
  for (const auto& [kind, lr] : ratio_runs) {
    train::TrainConfig config = base_config(dir, lr, 32, 3);
    config.optimizer.kind = kind;  // --optimizer
    config.log_grads = 10;         // --log-grads 10
    char name[32];
    std::snprintf(name, sizeof name, "ratio-%s-%g", kind, lr);
    config.run_dir = (tmp / name).string();
    const train::TrainData slice = train::select_data(config, mnist);
    const train::TrainResult result = train::fit(config, slice, log);
    auto steps = read_csv(tmp / name / "steps.csv");
    std::printf("  %-9s %6g", kind, lr);
    for (const char* p : {"dense1.W", "dense2.W", "dense1.b", "dense2.b"})
      std::printf("   %.1e", median(steps[std::string(p) + ":update_ratio"]));
    const auto& last = result.history.back();
    std::printf("   %8.2f  %12s\n", last.val_loss, percent(last.val_accuracy).c_str());
  }

  // ---- 2. Schedules ------------------------------------------------------------------------------
  std::printf("== 2. Schedules: SGD from lr 1 (last: a constant 0.3), batch 32, 10 epochs; the lr column of history.csv\n");
  std::printf("  schedule        lr of epochs 1..10\n");
  const std::vector<std::pair<const char*, double>> runs = {
      {"constant", 1.0}, {"step:4:0.3", 1.0}, {"cosine", 1.0}, {"cosine:5", 1.0}, {"plateau:1:0.5", 1.0}, {"constant", 0.3}};
  for (const auto& [schedule, lr] : runs) {
    train::TrainConfig config = base_config(dir, lr, 32, 10);
    config.lr_schedule = schedule;  // --lr-schedule
    const train::TrainData slice = train::select_data(config, mnist);
    const train::TrainResult result = train::fit(config, slice, log);
    std::printf("  %-14s ", schedule);
    for (const auto& row : result.history) std::printf(" %.3g", row.lr);
    std::printf("\n");
    std::size_t best = 0;
    for (std::size_t e = 1; e < result.history.size(); ++e)
      if (result.history[e].val_loss < result.history[best].val_loss) best = e;
    const auto& last = result.history.back();
    std::printf("  %-14s  after epoch 10: loss %.2f, val_loss %.2f, val_accuracy %s; lowest val_loss %.2f (epoch %d)\n",
                "", last.loss, last.val_loss, percent(last.val_accuracy).c_str(), result.history[best].val_loss,
                result.history[best].epoch);
  }

  // ---- 3. The noise of a batch gradient ----------------------------------------------------------
  // At the initial weights (seed 42): g, the gradient of the mean loss over all 1800 training
  // images, and for each B the gradients g_B of 56 batches of B images, drawn without replacement
  // from a shuffled order (shuffled again after each pass over it). E||g_B - g||^2 is the variance
  // of g_B, summed over the 101770 entries: sigma^2 / B (1 - (B - 1) / (M - 1)) for M images.
  std::printf("== 3. The noise of a batch gradient at the initial weights: 1800 images, 56 batches of each size\n");
  {
    train::TrainConfig config = base_config(dir, 0.1, 32, 1);
    const train::TrainData slice = train::select_data(config, mnist);
    auto model = chainrule::make_mlp<float>(chainrule::MlpSpec{});  // 784-128-10, seed 42
    const std::vector<int>& all = slice.train_indices;
    const std::size_t M = all.size();
    const std::vector<double> g = gradient(model, mnist.train, all, 0, M);
    double g2 = 0;
    for (double v : g) g2 += v * v;
    std::printf("  ||g|| over all %zu images = %.3f\n", M, std::sqrt(g2));
    std::printf("     B   mean ||g_B||   E||g_B - g||^2   B x E||g_B - g||^2   the same / (1 - (B-1)/(M-1))\n");
    for (std::size_t B : {4, 8, 16, 32, 64, 128}) {
      chainrule::Rng rng(7);
      std::vector<int> order = all;
      double norm = 0, var = 0;
      const int batches = 56;
      for (int b = 0; b < batches; ++b) {
        const std::size_t start = (static_cast<std::size_t>(b) * B) % (M - M % B);
        if (start == 0) data::shuffle(order, rng);
        const std::vector<double> gb = gradient(model, mnist.train, order, start, start + B);
        double n2 = 0, d2 = 0;
        for (std::size_t k = 0; k < g.size(); ++k) {
          n2 += gb[k] * gb[k];
          d2 += (gb[k] - g[k]) * (gb[k] - g[k]);
        }
        norm += std::sqrt(n2);
        var += d2;
      }
      norm /= batches;
      var /= batches;
      const double fpc = 1.0 - static_cast<double>(B - 1) / static_cast<double>(M - 1);
      std::printf("  %4zu   %-12.2f   %-14.2f   %-18.1f   %.1f\n", B, norm, var,
                  static_cast<double>(B) * var, static_cast<double>(B) * var / fpc);
    }
  }

  // ---- 4. Batch size and learning rate, SGD ------------------------------------------------------
  std::printf("== 4. SGD: val_loss after 3 epochs on 1800 images, batch size x learning rate\n");
  const std::vector<double> rates = {0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6};
  std::printf("  batch  steps ");
  for (double lr : rates) std::printf("  lr %-6g", lr);
  std::printf("  best lr\n");
  for (int batch : {4, 8, 16, 32, 64, 128}) {
    std::printf("  %5d  %5zu ", batch, 3 * data::num_batches(1800, static_cast<std::size_t>(batch)));
    double best_loss = 1e300, best_lr = 0;
    for (double lr : rates) {
      const train::TrainConfig config = base_config(dir, lr, batch, 3);
      const train::TrainData slice = train::select_data(config, mnist);
      const train::TrainResult result = train::fit(config, slice, log);
      if (result.diverged) {
        std::printf("  %-9s", "diverged");
        continue;
      }
      const double v = result.history.back().val_loss;
      std::printf("  %-9.2f", v);
      if (v < best_loss) {
        best_loss = v;
        best_lr = lr;
      }
    }
    std::printf("  %g\n", best_lr);
  }

  fs::remove_all(tmp);
  return 0;
}
