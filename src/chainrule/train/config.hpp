// A training run's settings: what `chainrule train` takes on its command line, checks,
// writes to config.txt and into every checkpoint, and reads back on --resume; and the
// samples a run trains and validates on (--limit, --validation). docs/cli.md lists them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"

namespace chainrule::train {

struct TrainConfig {
  std::string data_dir = "data/mnist";
  MlpSpec spec;               // hidden sizes, dropout, batchnorm, init; spec.seed is set from seed
  OptimizerConfig optimizer;  // kind, lr, weight_decay and the rest
  std::string lr_schedule = "constant";  // --lr-schedule: the rate of each epoch (train/schedule.hpp)
  int epochs = 10;            // total epochs (a resumed run continues up to this number)
  int batch = 128;
  std::uint64_t seed = 42;
  std::string validation = "0.1";   // a fraction in (0, 1) of the training set, held out (seeded), or "test"
  // Choosing the best epoch and stopping early, as Keras's ModelCheckpoint(save_best_only) and
  // EarlyStopping: an epoch improves when its `monitor` beats the best so far by more than
  // min_delta; best.ckpt holds the last improving epoch; with early_stopping = P > 0 the run
  // stops after P epochs in a row without an improvement; restore_best puts the best epoch's
  // weights back at the end (train/callbacks.hpp).
  std::string monitor = "val_loss";  // "val_loss" (lower is better) or "val_accuracy" (higher is better)
  int early_stopping = 0;            // patience in epochs; 0 = off
  double min_delta = 0;              // how much an improvement must beat the best by, >= 0
  bool restore_best = false;         // at the end, the model holds the best epoch's weights
  int threads = 0;                  // 0 = automatic: one thread, or OMP_NUM_THREADS (docs/performance.md)
  std::string run_dir;              // history.csv, config.txt, steps.csv, *.ckpt; empty = write nothing
  std::string resume;               // checkpoint to continue from
  int log_grads = 0;                // steps.csv row every this many steps; 0 = off
  int limit = 0;                    // train on the first N training images only (0 = all)
  bool progress_bar = false;        // redraw a bar in place (a terminal); else one line per epoch
  bool overwrite = false;           // run_dir may hold an earlier run: delete its files first (never saved)
  // Data parallelism (train/shards.hpp): the global batch is cut into `shards` shards whose
  // gradients are added in shard order. Saved only when not 1. rank -1: this process computes
  // every shard (--shards); rank r >= 0: it is MPI rank r of `shards` (--data-parallel), computes
  // shard r and gets the others' through `exchange` (src/cli/mpi.cpp). rank and exchange are never saved.
  int shards = 1;
  int rank = -1;
  std::function<void(std::vector<float>& grads, std::vector<double>& stats)> exchange;

  // Throws std::invalid_argument naming the bad setting.
  void validate() const;
  // Every setting as (key, value), as written to config.txt and into checkpoints.
  std::vector<std::pair<std::string, std::string>> settings() const;
  // The inverse of settings() (unknown keys are ignored). Throws std::invalid_argument.
  static TrainConfig from_settings(const std::vector<std::pair<std::string, std::string>>& settings);
};

// Bounds on what a run may ask for (docs/cli.md). kMaxThreads is in kernels.hpp.
constexpr int kMaxHidden = 1000000;                          // units in one hidden layer
constexpr int kMaxShards = 1024;                             // --shards, and MPI ranks for --data-parallel
constexpr int kMaxPatience = 1000000;                        // --early-stopping epochs
constexpr double kMaxTrainingBytes = 4.0 * 1024 * 1024 * 1024;  // 4 GiB, see estimate_training_bytes

// About how many bytes training needs: the parameters, their gradients, the optimizer's
// slots and the copies the probes keep, plus the activations (and their gradients) of a
// training batch and of an evaluation batch of up to 1000 samples. fit refuses a run above
// kMaxTrainingBytes with this figure.
double estimate_training_bytes(const TrainConfig& config, std::size_t train_samples, std::size_t val_samples);
// Throws std::invalid_argument with the figure when that is above kMaxTrainingBytes.
void check_training_memory(const TrainConfig& config, std::size_t train_samples, std::size_t val_samples);

// "42" -> 42: a seed in 0..2^64-1, digits only (no sign, no spaces). Throws
// std::invalid_argument starting with `what` (e.g. "--seed").
std::uint64_t parse_seed(const std::string& what, const std::string& text);

// The samples a run trains and validates on.
struct TrainData {
  const data::ImageSet* train = nullptr;
  std::vector<int> train_indices;
  const data::ImageSet* val = nullptr;
  std::vector<int> val_indices;
  std::string val_name;  // "test" or "holdout 0.1 of train"
};
// Applies --limit and --validation to a loaded MNIST. Throws std::invalid_argument naming
// the file or the option when the training or the validation set would be empty.
TrainData select_data(const TrainConfig& config, const data::Mnist& mnist);

}  // namespace chainrule::train
