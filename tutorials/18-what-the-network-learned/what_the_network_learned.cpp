// Tutorial 18: what the network learned. Trains 784-128-10 exactly as the README's command
//   chainrule train --hidden 128 --init auto --optimizer adam --lr 0.001 --batch 128 --epochs 3
//                   --seed 42 --validation test --threads 1
// does (train::fit, the loop behind it), then computes from the 10000 test images the numbers
// the README's pictures show: per-digit accuracy, the most-confused pairs, the first mistakes,
// and which hidden units respond most to which digit.
//
// Needs real MNIST in data/mnist (tools/fetch_mnist.sh), or the folder given as the first
// argument. Without it, it says so and exits 77, which ctest reports as skipped (exit 1
// instead when CHAINRULE_REQUIRE_MNIST=1). One thread: the run is the same at every run.
#include <algorithm>
#include <array>
#include <cstdio>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/data/idx.hpp"
#include "chainrule/model.hpp"
#include "chainrule/train/trainer.hpp"
#include "../lesson_mnist.hpp"

namespace data = chainrule::data;
namespace train = chainrule::train;
using chainrule::Tensor;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "data/mnist";
  std::optional<data::Mnist> loaded = lesson::load_mnist(dir, "This lesson trains on");
  if (!loaded) return lesson::missing_mnist_exit_code();
  data::Mnist& mnist = *loaded;

  // ---- 1. The run: every setting spelled out, as on the command line ----------------------------
  train::TrainConfig config;
  config.data_dir = dir;
  config.spec.hidden = {128};
  config.spec.init = "auto";
  config.optimizer.kind = "adam";
  config.optimizer.lr = 0.001;
  config.batch = 128;
  config.epochs = 3;
  config.seed = 42;
  config.validation = "test";
  config.threads = 1;
  const train::TrainData selected = train::select_data(config, mnist);
  std::ostringstream log;  // fit's progress lines hold timings; keep them off this page
  train::TrainResult result = train::fit(config, selected, log);
  chainrule::Sequential<float>& model = result.model;

  const std::vector<int> test = data::all_indices(mnist.test.count);
  const train::EvalResult eval = train::evaluate(model, mnist.test, test);
  const int C = 10, K = 128;
  std::array<std::array<int, 10>, 10> confusion{};  // [true][predicted]
  for (std::size_t i = 0; i < eval.labels.size(); ++i) ++confusion[eval.labels[i]][eval.predicted[i]];
  int errors = 0;
  for (int t = 0; t < C; ++t)
    for (int p = 0; p < C; ++p) errors += t != p ? confusion[t][p] : 0;
  std::printf("== 1. 784-128-10, Adam lr 0.001, batch 128, 3 epochs on all %d training images, seed 42\n",
              mnist.train.count);
  std::printf("  test accuracy %.2f%% (%d errors in %d images)\n", 100 * eval.accuracy, errors, mnist.test.count);

  // ---- 2. Per digit: the confusion matrix's rows ---------------------------------------------------
  std::printf("== 2. Accuracy per digit (recall: the diagonal over the row's sum)\n");
  std::printf("  digit  images  correct  accuracy  most often mistaken for\n");
  for (int t = 0; t < C; ++t) {
    int n = 0, worst = -1;
    for (int p = 0; p < C; ++p) {
      n += confusion[t][p];
      if (p != t && (worst < 0 || confusion[t][p] > confusion[t][worst])) worst = p;
    }
    std::printf("  %5d  %6d  %7d  %7.1f%%  %d (%d times)\n", t, n, confusion[t][t], 100.0 * confusion[t][t] / n, worst,
                confusion[t][worst]);
  }

  // ---- 3. The most-confused pairs: the largest off-diagonal cells ----------------------------------
  std::printf("== 3. The five largest off-diagonal cells (true -> predicted)\n");
  std::vector<std::array<int, 3>> cells;  // {count, true, predicted}
  for (int t = 0; t < C; ++t)
    for (int p = 0; p < C; ++p)
      if (t != p) cells.push_back({confusion[t][p], t, p});
  std::stable_sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) { return a[0] > b[0]; });
  for (int k = 0; k < 5; ++k)
    std::printf("  %d -> %d: %2d times (and %d -> %d: %d times)\n", cells[k][1], cells[k][2], cells[k][0], cells[k][2],
                cells[k][1], confusion[cells[k][2]][cells[k][1]]);

  // ---- 4. The first mistakes, in test-set order (misclassified.csv holds the same) -----------------
  std::printf("== 4. The first 24 mistakes: test index true->predicted\n");
  int shown = 0;
  for (std::size_t i = 0; i < eval.labels.size() && shown < 24; ++i) {
    if (eval.labels[i] == eval.predicted[i]) continue;
    std::printf("%s%5zu %d->%d", shown % 6 == 0 ? "  " : "   ", i, eval.labels[i], eval.predicted[i]);
    if (++shown % 6 == 0) std::printf("\n");
  }

  // ---- 5. Which hidden units respond to which digit ------------------------------------------------
  // H = ReLU(X W1 + b1) (N, 128) for every test image; mean[d][j] = unit j's mean over the images of digit d.
  std::vector<std::array<double, 10>> mean(K);  // [unit][digit]
  std::vector<double> mean_all(K, 0.0);
  std::vector<int> active_count(K, 0);  // images on which the unit is > 0
  std::array<int, 10> per_digit{};
  Tensor<float> X;
  std::vector<int> labels;
  for (std::size_t b = 0; b < test.size(); b += 1000) {
    data::make_batch(mnist.test, test, b, std::min(test.size(), b + 1000), X, labels);
    model.forward(X, false);
    const Tensor<float>& H = model.output(1);  // relu1's output
    for (int i = 0; i < H.rows; ++i) {
      const int d = labels[static_cast<std::size_t>(i)];
      ++per_digit[d];
      for (int j = 0; j < K; ++j) {
        mean[j][d] += H(i, j);
        mean_all[j] += H(i, j);
        active_count[j] += H(i, j) > 0 ? 1 : 0;
      }
    }
  }
  for (int j = 0; j < K; ++j) {
    for (int d = 0; d < C; ++d) mean[j][d] /= per_digit[d];
    mean_all[j] /= static_cast<double>(test.size());
  }
  int dead = 0, rare = 0;
  for (int j = 0; j < K; ++j) {
    dead += active_count[j] == 0 ? 1 : 0;
    rare += active_count[j] > 0 && active_count[j] < 100 ? 1 : 0;
  }
  std::printf("== 5. Hidden units: mean of H = ReLU(Z1) over the test images of each digit\n");
  std::printf("  units never active on the 10000 test images: %d; active on fewer than 100: %d\n", dead, rare);
  std::printf("  digit  the two units whose mean on this digit most exceeds their mean on all digits\n");
  std::vector<int> picked;
  for (int d = 0; d < C; ++d) {
    std::vector<int> units(K);
    std::iota(units.begin(), units.end(), 0);
    std::stable_sort(units.begin(), units.end(), [&](int a, int b) {
      return mean[a][d] - mean_all[a] > mean[b][d] - mean_all[b];
    });
    std::printf("  %5d", d);
    for (int k = 0; k < 2; ++k) {
      const int j = units[k];
      int top = 0;  // the digit this unit responds to most
      for (int e = 1; e < C; ++e) top = mean[j][e] > mean[j][top] ? e : top;
      std::printf("   unit %3d: %.2f on %d, %.2f on all%s", j, mean[j][d], d, mean_all[j], top == d ? "" : " (!)");
      picked.push_back(j);
    }
    std::printf("\n");
  }
  std::printf("  unit  mean of H on the test images of digit 0 .. 9\n");
  for (int j : {picked[0], picked[18]}) {  // digit 0's first unit, and digit 9's
    std::printf("  %4d ", j);
    for (int d = 0; d < C; ++d) std::printf(" %5.2f", mean[j][d]);
    std::printf("\n");
  }
  std::printf("  the first unit of each digit, as fields of weights1.csv (unit j is field j + 1):");
  for (std::size_t k = 0; k < picked.size(); k += 2) std::printf("%s$%d", k == 0 ? " " : ",", picked[k] + 1);
  std::printf("\n");
  return 0;
}
