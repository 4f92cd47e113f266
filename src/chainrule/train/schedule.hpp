// Learning-rate schedules (--lr-schedule): the rate of each epoch.
//
//   constant                lr_e = lr                                   (the default)
//   step:EVERY:FACTOR       lr_e = lr * FACTOR^floor((e - 1) / EVERY)   (Keras's ExponentialDecay
//                                                                        with staircase; PyTorch's StepLR)
//   cosine                  lr_e = lr * (1 + cos(pi (e - 1) / E)) / 2,  E = --epochs
//   cosine:T                the same over T epochs, E = T; after epoch T the rate stays at epoch T's
//                                                                       (PyTorch's CosineAnnealingLR, eta_min 0)
//   plateau:PATIENCE:FACTOR lr_e = lr * FACTOR^k, k = how many times val_loss went PATIENCE epochs
//                           in a row without a new best (strictly lower) in epochs 1..e-1; the count
//                           starts again after each cut (Keras's ReduceLROnPlateau, min_delta 0, cooldown 0)
// with e the epoch, counted from 1, and lr the --lr given.
//
// The rate is a pure function of (the schedule, lr, e, --epochs, the history of epochs 1..e-1):
// no state of its own, so a resumed run, which has the history in its checkpoint, computes
// the very rates the uninterrupted run did, and resume stays bit-exact. fit() sets it with
// optimizer.set_lr at the start of each epoch (not with constant: the rate is never touched).
// Note for cosine without T: its curve is drawn over --epochs, so a run resumed with a larger
// --epochs takes a different curve from its next epoch on (give cosine:T to fix the horizon).
#pragma once

#include <string>
#include <vector>

#include "chainrule/io/history.hpp"

namespace chainrule::train {

struct LrSchedule {
  std::string kind = "constant";  // "constant", "step", "cosine" or "plateau"
  int every = 0;                  // step: epochs between cuts (>= 1)
  int patience = 0;               // plateau: epochs without improvement before a cut (>= 1)
  int horizon = 0;                // cosine: T epochs (0 = --epochs)
  double factor = 1;              // step, plateau: the cut, in (0, 1)
};

// "step:10:0.5" -> {step, every 10, factor 0.5}. Throws std::invalid_argument naming the text
// and saying how to write it (callers put "--lr-schedule" in front).
LrSchedule parse_lr_schedule(const std::string& text);

// The rate of epoch `epoch` (1-based) of a run of `epochs` epochs, given the base rate `lr` and
// the history of the epochs before it (rows with an epoch number below `epoch` are used).
double scheduled_lr(const LrSchedule& schedule, double lr, int epoch, int epochs,
                    const std::vector<io::HistoryRow>& history);

}  // namespace chainrule::train
