#include "chainrule/train/callbacks.hpp"

#include <cstdio>
#include <stdexcept>
#include <utility>

namespace chainrule::train {

EpochWatch::EpochWatch(std::string monitor, double min_delta, int patience)
    : monitor_(std::move(monitor)), min_delta_(min_delta), patience_(patience) {
  if (monitor_ != "val_loss" && monitor_ != "val_accuracy")
    throw std::invalid_argument("--monitor '" + monitor_ + "' is unknown; use val_loss or val_accuracy");
}

double EpochWatch::value(const io::HistoryRow& row) const {
  return monitor_ == "val_loss" ? row.val_loss : row.val_accuracy;
}

bool EpochWatch::observe(const io::HistoryRow& row) {
  const double v = value(row);
  // A NaN never improves (every comparison with it is false).
  const bool improved = best_epoch_ == 0 ? v == v
                        : monitor_ == "val_loss" ? v < best_ - min_delta_
                                                 : v > best_ + min_delta_;
  if (improved) {
    best_ = v;
    best_epoch_ = row.epoch;
    wait_ = 0;
  } else {
    ++wait_;
  }
  return improved;
}

void EpochWatch::replay(const std::vector<io::HistoryRow>& rows) {
  best_epoch_ = 0;
  best_ = 0;
  wait_ = 0;
  for (const auto& row : rows) observe(row);
}

std::string EpochWatch::stop_message() const {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s did not improve by more than %g for %d epoch%s (best %.4f at epoch %d)",
                monitor_.c_str(), min_delta_, wait_, wait_ == 1 ? "" : "s", best_, best_epoch_);
  return buf;
}

}  // namespace chainrule::train
