// The per-epoch history of a training run, as history.csv and checkpoints hold it (docs/formats.md):
//   history.csv   epoch,loss,accuracy,val_loss,val_accuracy,seconds,lr,stop     (epoch counts from 1)
// loss and accuracy are the means over the epoch's training batches (each batch counts once),
// val_loss and val_accuracy are measured on the whole validation set after the epoch, lr is
// the learning rate the optimizer used in the epoch, and stop is empty except on the last
// row of a run that ended: why it ended there (kStopEpochs, kStopEarly, kStopDiverged).
#pragma once

#include <string>
#include <vector>

#include "chainrule/io/files.hpp"

namespace chainrule::io {

// The values of the stop column.
inline constexpr const char* kStopEpochs = "epochs";             // --epochs were all trained
inline constexpr const char* kStopEarly = "early_stopping";      // --early-stopping's patience ran out
inline constexpr const char* kStopDiverged = "diverged";         // the next epoch hit a non-finite loss

struct HistoryRow {
  int epoch = 0;  // 1-based
  double loss = 0, accuracy = 0, val_loss = 0, val_accuracy = 0;
  double seconds = 0;  // wall-clock time of the epoch's training steps and validation
  double lr = 0;       // the optimizer's learning rate during the epoch
  std::string stop;    // empty, or why the run stopped after this epoch (the last row only)
};

// The CSV text of the history: header line, then one line per row.
std::string history_csv(const std::vector<HistoryRow>& rows);

}  // namespace chainrule::io
