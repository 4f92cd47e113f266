// Choosing the best epoch and stopping early, as Keras's callbacks do after each epoch
// (lesson: tutorials/10-training; options: docs/cli.md):
//
//   ModelCheckpoint(monitor, save_best_only=True)   -> best.ckpt
//   EarlyStopping(monitor, patience, min_delta,
//                 restore_best_weights)             -> --early-stopping, --min-delta, --restore-best
//
// An epoch IMPROVES when its monitored value beats the best so far by more than min_delta:
//
//   val_loss      improves when  v < best - min_delta     (lower is better)
//   val_accuracy  improves when  v > best + min_delta     (higher is better)
//
// The first epoch always improves. best.ckpt is the last improving epoch; `wait` counts the
// epochs since it; with a patience P > 0 the run stops once wait reaches P. All of it is a
// function of the history rows alone, so a resumed run replays its history and carries on
// exactly as if it had never stopped.
//
// With min_delta = 0 this is Keras's rule for both callbacks. With min_delta > 0 Keras's
// ModelCheckpoint still takes any improvement, while chainrule's best.ckpt, like Keras's
// EarlyStopping, moves only on one larger than min_delta: one notion of "best" for both.
#pragma once

#include <string>
#include <vector>

#include "chainrule/io/history.hpp"

namespace chainrule::train {

class EpochWatch {
 public:
  EpochWatch(std::string monitor, double min_delta, int patience);

  // The monitored value of a row: its val_loss or its val_accuracy.
  double value(const io::HistoryRow& row) const;
  // Takes the next epoch's row; true when it improves (then it is the new best).
  bool observe(const io::HistoryRow& row);
  // observe() every row in order, from a fresh state (a resume's history).
  void replay(const std::vector<io::HistoryRow>& rows);

  bool should_stop() const { return patience_ > 0 && wait_ >= patience_; }
  int best_epoch() const { return best_epoch_; }  // 0 before the first epoch
  double best() const { return best_; }
  int wait() const { return wait_; }  // epochs since the best one
  const std::string& monitor() const { return monitor_; }
  // "val_loss did not improve by more than 0 for 3 epochs (best 0.0712 at epoch 7)"
  std::string stop_message() const;

 private:
  std::string monitor_;
  double min_delta_;
  int patience_;
  int best_epoch_ = 0;
  double best_ = 0;
  int wait_ = 0;
};

}  // namespace chainrule::train
