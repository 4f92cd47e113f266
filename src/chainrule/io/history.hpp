// The per-epoch history of a training run, as history.csv and checkpoints hold it (docs/formats.md):
//   history.csv   epoch,loss,accuracy,val_loss,val_accuracy,seconds     (epoch counts from 1)
// loss and accuracy are the means over the epoch's training batches (each batch counts once),
// val_loss and val_accuracy are measured on the whole validation set after the epoch.
#pragma once

#include <string>
#include <vector>

#include "chainrule/io/files.hpp"

namespace chainrule::io {

struct HistoryRow {
  int epoch = 0;  // 1-based
  double loss = 0, accuracy = 0, val_loss = 0, val_accuracy = 0;
  double seconds = 0;  // wall-clock time of the epoch's training steps and validation
};

// The CSV text of the history: header line, then one line per row.
std::string history_csv(const std::vector<HistoryRow>& rows);

}  // namespace chainrule::io
