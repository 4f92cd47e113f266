// --early-stopping on real MNIST (data/mnist): a 50-epoch run of 784-512-256-10 on 1000
// images (200 of them held out), Adam lr 0.003, patience 3, --restore-best. It overfits in
// a few epochs, so it stops long before epoch 50 and ends with the best epoch's weights.
// Exits 77 (ctest: skipped) when the files are absent, unless CHAINRULE_REQUIRE_MNIST=1.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/train/trainer.hpp"

#include "../support/small_runs.hpp"

using namespace chainrule;
using chainrule::testing::weights;

namespace {

const std::string kDir = CHAINRULE_MNIST_DIR;

}  // namespace

TEST_CASE("mnist: --early-stopping stops a 50-epoch run of 784-512-256-10 and restores the best weights") {
  const data::Mnist mnist = data::load_mnist(kDir);
  train::TrainConfig c;
  c.data_dir = kDir;
  c.spec.hidden = {512, 256};
  c.optimizer.lr = 0.003;
  c.epochs = 50;
  c.batch = 32;
  c.limit = 1000;
  c.validation = "0.2";
  c.early_stopping = 3;
  c.restore_best = true;
  c.threads = 1;
  const std::filesystem::path dir = std::filesystem::path(CHAINRULE_TEST_TMP) / "mnist-early-stopping";
  std::filesystem::remove_all(dir);
  c.run_dir = dir.string();
  const train::TrainData data = train::select_data(c, mnist);
  std::ostringstream log;
  train::TrainResult r = train::fit(c, data, log);
  INFO(log.str());

  REQUIRE(r.history.size() < 50);
  CHECK(r.stop == "early_stopping");
  CHECK(r.history.back().stop == "early_stopping");
  // The best epoch has the lowest val_loss, and the three epochs after it none lower.
  const auto lowest = std::min_element(r.history.begin(), r.history.end(),
                                       [](const auto& a, const auto& b) { return a.val_loss < b.val_loss; });
  CHECK(r.best_epoch == lowest->epoch);
  CHECK(r.best_epoch == static_cast<int>(r.history.size()) - 3);

  const io::Checkpoint best = io::read_checkpoint((dir / "best.ckpt").string());
  const io::Checkpoint last = io::read_checkpoint((dir / "last.ckpt").string());
  CHECK(best.epoch == r.best_epoch);
  CHECK(last.epoch == static_cast<int>(r.history.size()));
  REQUIRE(r.restored);
  CHECK(weights(r.model) == weights(best));  // restored: the best epoch's weights
  CHECK(weights(r.model) != weights(last));  // not the last epoch's, which last.ckpt keeps to resume from
}

int main(int argc, char** argv) {
  const char* require = std::getenv("CHAINRULE_REQUIRE_MNIST");
  const bool required = require != nullptr && std::string(require) == "1";
  try {
    for (const char* stem : {"train-images", "t10k-images"}) data::find_idx_file(kDir, stem, "idx3");
    for (const char* stem : {"train-labels", "t10k-labels"}) data::find_idx_file(kDir, stem, "idx1");
  } catch (const data::DataError& e) {
    std::printf("%s MNIST test: %s\n(run tools/fetch_mnist.sh to download MNIST into %s)\n",
                required ? "FAILED" : "SKIPPED", e.what(), kDir.c_str());
    return required ? 1 : 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
