// Tutorial 20: generalisation and regularisation, on the 2000-image run of lesson 10
// (--limit 2000 --epochs 20 --batch 32: 1800 images to train on, 200 held out).
//   1. Selecting lies: twelve seeds of the same run, each scored on its 200 validation images
//      and on the two halves of the test set. The best of twelve on a set scores higher on
//      that set than on fresh images.
//   2. The gap, and early stopping: the run's curves, then --early-stopping 5 --restore-best.
//   3. L2 weight decay: the penalty's gradient lambda W, checked by centered differences,
//      and SGD's step with it, (1 - lr lambda) W - lr dL/dW.
//   4. Weight decay (L2 with Adam, decoupled with AdamW) and dropout on the same run.
//
// Every run is train::fit, the loop behind `chainrule train`, with the settings of the
// command shown in the README; every test accuracy is train::evaluate on the 10000 test
// images, what `chainrule evaluate` prints.
//
// Needs real MNIST in data/mnist (tools/fetch_mnist.sh), or the folder given as the first
// argument. Without it, it says so and exits 77, which ctest reports as skipped (exit 1
// instead when CHAINRULE_REQUIRE_MNIST=1). One thread: the float sums run in the same order
// at every run, so the numbers below are the same every time.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/data/idx.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/penalty.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/tensor.hpp"
#include "chainrule/train/trainer.hpp"
#include "../lesson_mnist.hpp"

namespace data = chainrule::data;
namespace train = chainrule::train;
using chainrule::Tensor;

namespace {

// The settings of `chainrule train --limit 2000 --epochs 20 --batch 32 --threads 1`; no run folder.
train::TrainConfig small_run(const std::string& dir) {
  train::TrainConfig config;
  config.data_dir = dir;
  config.limit = 2000;
  config.epochs = 20;
  config.batch = 32;
  config.seed = 42;
  config.threads = 1;
  return config;
}

train::TrainResult run(const train::TrainConfig& config, const data::Mnist& mnist) {
  const train::TrainData slice = train::select_data(config, mnist);
  std::ostringstream log;  // fit's progress lines hold timings; keep them off this page
  return train::fit(config, slice, log);
}

double accuracy(chainrule::Sequential<float>& model, const data::ImageSet& set, const std::vector<int>& idx) {
  return train::evaluate(model, set, idx).accuracy;
}

// ||W||, over the weight matrices (the parameters weight decay shrinks).
double weight_norm(chainrule::Sequential<float>& model) {
  double s = 0;
  for (const auto& p : model.params())
    if (chainrule::weight_decay_applies(p.name))
      for (float w : p.value->data) s += static_cast<double>(w) * w;
  return std::sqrt(s);
}

std::vector<int> range(int begin, int end) {
  std::vector<int> v;
  for (int i = begin; i < end; ++i) v.push_back(i);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "data/mnist";
  std::optional<data::Mnist> loaded = lesson::load_mnist(dir, "This lesson trains on");
  if (!loaded) return lesson::missing_mnist_exit_code();
  data::Mnist& mnist = *loaded;
  chainrule::set_num_threads(1);
  const std::vector<int> test_all = range(0, 10000), first_half = range(0, 5000), last_half = range(5000, 10000);
  // Test halves A and B: the 10000 test images in a seeded random order, cut in two.
  std::vector<int> shuffled = test_all;
  chainrule::Rng split_rng(2);
  data::shuffle(shuffled, split_rng);
  const std::vector<int> test_a(shuffled.begin(), shuffled.begin() + 5000), test_b(shuffled.begin() + 5000, shuffled.end());

  // ---- 1. Selecting lies ---------------------------------------------------------------------
  // Twelve candidates that differ only by the seed (weights, shuffle, which 200 are held out,
  // as --seed does), each after epoch 20. Each is scored on its own 200 validation images and
  // on the two random test halves A and B (and on the file's first and last 5000 test images).
  std::printf("== 1. Twelve seeds of the same run, after epoch 20\n");
  std::printf("  seed   val (200)   test A (5000)   test B (5000)\n");
  const int candidates = 12;
  std::vector<double> val(candidates), a(candidates), b(candidates), first(candidates), last(candidates);
  for (int k = 0; k < candidates; ++k) {
    train::TrainConfig config = small_run(dir);
    config.seed = static_cast<std::uint64_t>(k + 1);
    train::TrainResult r = run(config, mnist);
    val[k] = r.history.back().val_accuracy;
    a[k] = accuracy(r.model, mnist.test, test_a);
    b[k] = accuracy(r.model, mnist.test, test_b);
    first[k] = accuracy(r.model, mnist.test, first_half);
    last[k] = accuracy(r.model, mnist.test, last_half);
    std::printf("  %4d      %5.1f%%          %5.2f%%          %5.2f%%\n", k + 1, 100 * val[k], 100 * a[k], 100 * b[k]);
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  const int by_val = static_cast<int>(std::max_element(val.begin(), val.end()) - val.begin());
  const int by_a = static_cast<int>(std::max_element(a.begin(), a.end()) - a.begin());
  std::printf("  the mean of all twelve:   val %5.2f%%   test A %5.2f%%   test B %5.2f%%\n", 100 * mean(val),
              100 * mean(a), 100 * mean(b));
  std::printf("  chosen by val:    seed %2d   val %5.1f%% (%+.2f over the mean)   test A %5.2f%% (%+.2f)   test B %5.2f%% (%+.2f)\n",
              by_val + 1, 100 * val[by_val], 100 * (val[by_val] - mean(val)), 100 * a[by_val],
              100 * (a[by_val] - mean(a)), 100 * b[by_val], 100 * (b[by_val] - mean(b)));
  std::printf("  chosen by test A: seed %2d   test A %5.2f%% (%+.2f over the mean)   test B %5.2f%% (%+.2f)\n", by_a + 1,
              100 * a[by_a], 100 * (a[by_a] - mean(a)), 100 * b[by_a], 100 * (b[by_a] - mean(b)));
  double lo = 1, hi = 0;
  for (int k = 0; k < candidates; ++k) {
    lo = std::min(lo, val[k]);
    hi = std::max(hi, val[k]);
  }
  double lo_b = 1, hi_b = 0;
  for (int k = 0; k < candidates; ++k) {
    lo_b = std::min(lo_b, b[k]);
    hi_b = std::max(hi_b, b[k]);
  }
  std::printf("  in file order instead: test images 0..4999 %5.2f%%, 5000..9999 %5.2f%% (the mean of all twelve)\n",
              100 * mean(first), 100 * mean(last));
  std::printf("  spread: val %.1f%% .. %.1f%%, test B %.2f%% .. %.2f%%\n", 100 * lo, 100 * hi, 100 * lo_b, 100 * hi_b);

  // ---- 2. The gap, and early stopping ----------------------------------------------------------
  std::printf("== 2. The 2000-image run (seed 42): the curves, and the gap between them\n");
  train::TrainResult base = run(small_run(dir), mnist);
  std::printf("  epoch   loss   accuracy   val_loss   val_accuracy   gap\n");
  for (const auto& row : base.history)
    std::printf("  %5d   %.3f    %5.1f%%      %.3f         %5.1f%%   %4.1f\n", row.epoch, row.loss, 100 * row.accuracy,
                row.val_loss, 100 * row.val_accuracy, 100 * (row.accuracy - row.val_accuracy));
  std::printf("  best.ckpt: epoch %d (the lowest val_loss)\n", base.best_epoch);

  std::printf("== 2b. The same run with --early-stopping 5 --restore-best, then on the test set\n");
  struct Stop {
    const char* name;
    std::string monitor;
    int patience;
    double min_delta;
  };
  const Stop stops[] = {{"--monitor val_loss", "val_loss", 5, 0.0},
                        {"--monitor val_loss --min-delta 0.03", "val_loss", 5, 0.03},
                        {"--monitor val_loss, --early-stopping 3", "val_loss", 3, 0.0},
                        {"--monitor val_accuracy", "val_accuracy", 5, 0.0}};
  std::printf("  %-38s  stopped after   best epoch   test accuracy\n", "");
  std::printf("  %-38s  %9d        %9s     %9.2f%%\n", "no early stopping (last.ckpt)", 20, "",
              100 * accuracy(base.model, mnist.test, test_all));
  for (const Stop& s : stops) {
    train::TrainConfig config = small_run(dir);
    config.early_stopping = s.patience;
    config.min_delta = s.min_delta;
    config.monitor = s.monitor;
    config.restore_best = true;
    train::TrainResult r = run(config, mnist);
    std::printf("  %-38s  %9d        %9d     %9.2f%%\n", s.name, r.history.back().epoch, r.best_epoch,
                100 * accuracy(r.model, mnist.test, test_all));
  }

  // ---- 3. The L2 penalty's gradient, and SGD's step ---------------------------------------------
  std::printf("== 3. R = lambda/2 ||W||^2: its gradient, and one SGD step with it\n");
  {
    const double lambda = 0.1;
    chainrule::Rng rng(3);
    Tensor<double> W(3, 4), G(3, 4);
    for (double& w : W.data) w = rng.normal();
    const chainrule::L2Penalty<double> penalty(lambda);
    const std::vector<chainrule::Param<double>> params = {{"dense1.W", &W, &G}};
    penalty.backward(params);  // G += lambda W   (G was 0)
    double worst = 0;
    const double h = 1e-5;
    for (std::size_t j = 0; j < W.data.size(); ++j) {
      const double keep = W.data[j];
      W.data[j] = keep + h;
      const double up = penalty.forward(params);
      W.data[j] = keep - h;
      const double down = penalty.forward(params);
      W.data[j] = keep;
      const double numeric = (up - down) / (2 * h);
      worst = std::max(worst, std::fabs(numeric - G.data[j]) / std::max(1e-12, std::fabs(numeric) + std::fabs(G.data[j])));
    }
    std::printf("  W (3, 4), lambda = %.1f: R = %.4f, W[0][0] = %.4f, dR/dW[0][0] = %.4f\n", lambda, penalty.forward(params),
                W(0, 0), G(0, 0));
    std::printf("  backward's lambda W against centered differences, 12 entries: worst relative error %s\n",
                worst < 1e-8 ? "< 1e-8: PASS" : "FAIL");
  }
  {
    // One SGD step on a float matrix with a data gradient g and the penalty: the trainer's
    // order (model.backward writes g, penalty.backward adds lambda W, optimizer.step).
    const double lr = 0.1, lambda = 0.01;
    chainrule::Rng rng(4);
    Tensor<float> W(128, 10), G(128, 10);
    for (float& w : W.data) w = static_cast<float>(rng.normal());
    for (float& g : G.data) g = static_cast<float>(0.01 * rng.normal());
    const Tensor<float> W0 = W, g = G;
    const std::vector<chainrule::Param<float>> params = {{"dense2.W", &W, &G}};
    chainrule::L2Penalty<float>(lambda).backward(params);  // G = g + lambda W
    chainrule::OptimizerConfig sgd;
    sgd.kind = "sgd";
    sgd.lr = lr;
    chainrule::make_optimizer(sgd)->step(params);  // W -= lr G
    double worst = 0;
    for (std::size_t j = 0; j < W.data.size(); ++j) {
      const double shrink = (1 - lr * lambda) * W0.data[j] - lr * g.data[j];  // (1 - lr lambda) W - lr g
      worst = std::max(worst, std::fabs(W.data[j] - shrink));
    }
    std::printf("  SGD, lr = %.1f, lambda = %.2f on W (128, 10): the step equals (1 - lr lambda) W - lr g = %.3f W - %.1f g\n",
                lr, lambda, 1 - lr * lambda, lr);
    std::printf("  largest difference over the 1280 entries: %s\n", worst < 1e-6 ? "< 1e-6 (float rounding): PASS" : "FAIL");
  }

  // ---- 4. Regularisers on the 2000-image run ---------------------------------------------------
  std::printf("== 4. Regularisers on the same run (seed 42, after epoch 20)\n");
  struct Setting {
    const char* name;
    const char* kind;
    double weight_decay;
    double dropout;
  };
  const Setting settings[] = {{"none (adam)", "adam", 0, 0},
                              {"--weight-decay 0.001 (adam, L2)", "adam", 1e-3, 0},
                              {"--weight-decay 0.01 (adam, L2)", "adam", 1e-2, 0},
                              {"--optimizer adamw --weight-decay 1", "adamw", 1.0, 0},
                              {"--dropout 0.2", "adam", 0, 0.2},
                              {"--dropout 0.5", "adam", 0, 0.5}};
  const int seeds = 3;  // the means: seeds 1 to 3
  std::printf("  %-34s  ------------ seed 42 -------------------------   seeds 1-3, mean\n", "");
  std::printf("  %-34s  train   val   gap   val_loss   ||W||   test     val    test\n", "");
  for (const Setting& s : settings) {
    train::TrainConfig config = small_run(dir);
    config.optimizer.kind = s.kind;
    config.optimizer.weight_decay = s.weight_decay;
    config.spec.dropout = s.dropout;
    const bool plain = s.weight_decay == 0 && s.dropout == 0;  // section 2's run, and section 1's seeds
    train::TrainResult r = plain ? std::move(base) : run(config, mnist);
    const train::TrainData slice = train::select_data(config, mnist);
    const double tr = accuracy(r.model, mnist.train, slice.train_indices);  // inference mode, after epoch 20
    const double va = r.history.back().val_accuracy;
    double val_sum = 0, test_sum = 0;
    for (int seed = 1; seed <= seeds; ++seed) {
      if (plain) {  // section 1 trained these: A and B are 5000 images each, so the test set's is their mean
        val_sum += val[static_cast<std::size_t>(seed - 1)];
        test_sum += (a[static_cast<std::size_t>(seed - 1)] + b[static_cast<std::size_t>(seed - 1)]) / 2;
        continue;
      }
      train::TrainConfig other = config;
      other.seed = static_cast<std::uint64_t>(seed);
      train::TrainResult o = run(other, mnist);
      val_sum += o.history.back().val_accuracy;
      test_sum += accuracy(o.model, mnist.test, test_all);
    }
    std::printf("  %-34s  %5.1f%%  %4.1f%%  %4.1f   %.3f     %5.1f   %5.2f%%   %5.2f%%  %5.2f%%\n", s.name, 100 * tr, 100 * va,
                100 * (tr - va), r.history.back().val_loss, weight_norm(r.model),
                100 * accuracy(r.model, mnist.test, test_all), 100 * val_sum / seeds, 100 * test_sum / seeds);
  }
  return 0;
}
