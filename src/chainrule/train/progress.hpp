// The progress display of `chainrule train`, like Keras's:
//   on a terminal   "Epoch 3/10", then a bar redrawn in place during the epoch:
//                   469/469 [==============================] 0.4s 0.8ms/step - loss: 0.0712 - accuracy: 0.9781 - val_loss: ...
//   otherwise       one plain line per epoch (for logs and pipes):
//                   Epoch 3/10 - 469/469 - 0.4s 0.8ms/step - loss: 0.0712 - accuracy: 0.9781 - val_loss: ...
#pragma once

#include <chrono>
#include <cstddef>
#include <ostream>

#include "chainrule/io/history.hpp"

namespace chainrule::train {

using io::HistoryRow;  // one epoch of history.csv (io/history.hpp)

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  void begin_epoch(int epoch, int epochs, std::size_t steps);
  // After each step: the running means of the epoch's loss and accuracy so far.
  // Redraws at most ten times a second, and only on a terminal.
  void step(std::size_t done, double loss, double accuracy);
  void end_epoch(const HistoryRow& row);

 private:
  void draw_bar(std::size_t done);
  std::ostream& out_;
  bool terminal_;
  int epoch_ = 0, epochs_ = 0;
  std::size_t steps_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace chainrule::train
