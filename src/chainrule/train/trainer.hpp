// The fit loop behind `chainrule train` (and the tests); lesson: tutorials/10-training.
// Each batch is built by make_batch, then goes through train_step (train/step.hpp):
//
//   make_batch        X (N, 784) = pixels / 255, labels (N)       (data/dataset.hpp)
//   model.zero_grad   every dL/dP = 0 (backward ADDS into them)
//   model.forward     Z (N, 10) logits
//   loss.forward      L = mean_i -log softmax(Z_i)[y_i]            (stops here if L is not finite)
//   loss.backward     dZ = (P - Y) / N
//   model.backward    dL/dP for every parameter
//   optimizer.step    P -= update(dL/dP)                          (optim.hpp)
//
// After each epoch: validation, a history row, history.csv, last.ckpt, and best.ckpt when
// the monitored value improved; then early stopping, if asked (train/callbacks.hpp). Everything random (weights, dropout masks, the shuffle) comes
// from the seed, so the same seed and thread count give the same run, also across --resume.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "chainrule/bugs/pipeline.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/data/idx.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/train/config.hpp"
#include "chainrule/io/history.hpp"
#include "chainrule/train/run_folder.hpp"

namespace chainrule::train {

using io::HistoryRow;  // one epoch of history.csv (io/history.hpp)

struct TrainResult {
  std::vector<HistoryRow> history;  // every epoch so far, including those before a resume
  bool diverged = false;            // stopped on a non-finite loss
  std::string diagnosis;            // why, which layer, what to try (when diverged)
  std::string stop;                 // the last row's stop: io::kStopEpochs or io::kStopEarly
  int best_epoch = 0;               // the epoch best.ckpt holds (--monitor, --min-delta)
  bool restored = false;            // --restore-best: model holds best_epoch's weights
  Sequential<float> model;          // the weights after the last step (the best epoch's when restored)
};

// Trains (or resumes) as configured, printing progress to `log`. Writes the run
// folder when config.run_dir is set, holding its lock (train/run_folder.hpp) throughout.
// Throws std::invalid_argument for bad settings (RunFolderError for a folder in use or
// holding another run) and io::CheckpointError for a bad --resume file.
TrainResult fit(const TrainConfig& config, const TrainData& data, std::ostream& log);
// The same with a run folder already locked and checked by the caller (the command line
// does so before it loads the data).
TrainResult fit(const TrainConfig& config, const TrainData& data, std::ostream& log, const RunFolder& folder);

// Loss and accuracy of a model on some samples (inference mode), with every prediction.
struct EvalResult {
  double loss = 0, accuracy = 0;
  std::vector<int> predicted;  // (indices.size()) argmax of the logits, in the order of indices
  std::vector<int> labels;     // (indices.size()) the true labels, same order
};
// make_batch builds each batch (fit passes the injected bug inputs-not-normalised's copy).
EvalResult evaluate(Sequential<float>& model, const data::ImageSet& set, const std::vector<int>& indices,
                    int batch = 1000, bugs::MakeBatch make_batch = data::make_batch);

}  // namespace chainrule::train
