#include "chainrule/train/progress.hpp"

#include <cstdio>
#include <string>

namespace chainrule::train {

namespace {
constexpr int kBarWidth = 30;

std::string metrics(double loss, double accuracy) {
  char buf[96];
  std::snprintf(buf, sizeof buf, " - loss: %.4f - accuracy: %.4f", loss, accuracy);
  return buf;
}
}  // namespace

void ProgressBar::begin_epoch(int epoch, int epochs, std::size_t steps) {
  epoch_ = epoch;
  epochs_ = epochs;
  steps_ = steps;
  start_ = std::chrono::steady_clock::now();
  last_draw_ = start_;
  if (terminal_) out_ << "Epoch " << epoch << "/" << epochs << "\n" << std::flush;
}

void ProgressBar::draw_bar(std::size_t done) {
  const std::string total = std::to_string(steps_);
  std::string count = std::to_string(done);
  count.insert(0, total.size() - std::min(total.size(), count.size()), ' ');
  const auto filled = steps_ ? static_cast<int>(kBarWidth * done / steps_) : kBarWidth;
  std::string bar(static_cast<std::size_t>(kBarWidth), '.');
  for (int k = 0; k < filled; ++k) bar[static_cast<std::size_t>(k)] = '=';
  if (filled < kBarWidth && done > 0) bar[static_cast<std::size_t>(filled)] = '>';
  out_ << count << "/" << total << " [" << bar << "]";
}

void ProgressBar::step(std::size_t done, double loss, double accuracy) {
  if (!terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done ? elapsed / static_cast<double>(done) * static_cast<double>(steps_ - done) : 0.0;
  out_ << "\r";
  draw_bar(done);
  char buf[48];
  std::snprintf(buf, sizeof buf, " - ETA: %.0fs", eta);
  out_ << buf << metrics(loss, accuracy) << "\x1b[K" << std::flush;  // \x1b[K clears the rest of the line
}

void ProgressBar::end_epoch(const HistoryRow& row) {
  const double ms_per_step = steps_ ? 1000.0 * row.seconds / static_cast<double>(steps_) : 0.0;
  char timing[64];
  std::snprintf(timing, sizeof timing, " %.1fs %.1fms/step", row.seconds, ms_per_step);
  char val[80];
  std::snprintf(val, sizeof val, " - val_loss: %.4f - val_accuracy: %.4f", row.val_loss, row.val_accuracy);
  if (terminal_) {
    out_ << "\r";
    draw_bar(steps_);
    out_ << timing << metrics(row.loss, row.accuracy) << val << "\x1b[K\n" << std::flush;
  } else {
    out_ << "Epoch " << epoch_ << "/" << epochs_ << " - " << steps_ << "/" << steps_ << " -" << timing
         << metrics(row.loss, row.accuracy) << val << "\n"
         << std::flush;
  }
}

}  // namespace chainrule::train
