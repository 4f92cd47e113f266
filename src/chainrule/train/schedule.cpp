#include "chainrule/train/schedule.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "chainrule/text.hpp"

namespace chainrule::train {

namespace {

constexpr int kMaxScheduleEpochs = 1000000;  // EVERY, PATIENCE and T

int whole(const std::string& text, const std::string& schedule, const char* what, const char* example) {
  int v = 0;
  if (!read_int(text, 1, kMaxScheduleEpochs, v))
    throw std::invalid_argument("'" + schedule + "': " + what + " must be a whole number of epochs in 1.." +
                                std::to_string(kMaxScheduleEpochs) + ", got '" + text + "'; e.g. " + example);
  return v;
}

double cut(const std::string& text, const std::string& schedule, const char* example) {
  double v = 0;
  if (!read_double(text, v) || !(v > 0.0 && v < 1.0))
    throw std::invalid_argument("'" + schedule + "': FACTOR must be a number in (0, 1) that multiplies the rate, got '" +
                                text + "'; e.g. " + example);
  return v;
}

}  // namespace

LrSchedule parse_lr_schedule(const std::string& text) {
  const std::vector<std::string> p = split(text, ':');
  LrSchedule s;
  const std::string name = p.empty() ? "" : p[0];
  if (name == "constant" && p.size() == 1) return s;
  if (name == "step" && p.size() == 3) {
    s.kind = "step";
    s.every = whole(p[1], text, "EVERY", "step:10:0.5 (halve the rate every 10 epochs)");
    s.factor = cut(p[2], text, "step:10:0.5");
    return s;
  }
  if (name == "cosine" && p.size() <= 2) {
    s.kind = "cosine";
    if (p.size() == 2) s.horizon = whole(p[1], text, "T", "cosine:20 (over 20 epochs), or cosine (over --epochs)");
    return s;
  }
  if (name == "plateau" && p.size() == 3) {
    s.kind = "plateau";
    s.patience = whole(p[1], text, "PATIENCE", "plateau:2:0.5 (halve the rate after 2 epochs without a lower val_loss)");
    s.factor = cut(p[2], text, "plateau:2:0.5");
    return s;
  }
  if (name == "step" || name == "plateau")
    throw std::invalid_argument("'" + text + "': write " + name + (name == "step" ? ":EVERY:FACTOR, e.g. step:10:0.5" : ":PATIENCE:FACTOR, e.g. plateau:2:0.5"));
  if (name == "constant" || name == "cosine")
    throw std::invalid_argument("'" + text + "': write " + (name == "constant" ? "constant" : "cosine or cosine:T, e.g. cosine:20"));
  throw std::invalid_argument("'" + text +
                              "' is not a schedule; use constant, step:EVERY:FACTOR, cosine[:T] or plateau:PATIENCE:FACTOR");
}

double scheduled_lr(const LrSchedule& s, double lr, int epoch, int epochs, const std::vector<io::HistoryRow>& history) {
  if (s.kind == "step")  // lr FACTOR^floor((e - 1) / EVERY)
    return lr * std::pow(s.factor, static_cast<double>((epoch - 1) / s.every));
  if (s.kind == "cosine") {  // lr (1 + cos(pi t / T)) / 2,  t = min(e, T) - 1
    const int T = s.horizon > 0 ? s.horizon : epochs;
    const int t = std::min(epoch, T) - 1;
    const double pi = 3.14159265358979323846;
    return lr * 0.5 * (1.0 + std::cos(pi * static_cast<double>(t) / static_cast<double>(T)));
  }
  if (s.kind == "plateau") {  // replay epochs 1..e-1: a cut after PATIENCE epochs without a new best val_loss
    double rate = lr, best = std::numeric_limits<double>::infinity();
    int waited = 0;
    for (const auto& row : history) {
      if (row.epoch >= epoch) break;
      if (row.val_loss < best) {
        best = row.val_loss;
        waited = 0;
      } else if (++waited >= s.patience) {
        rate *= s.factor;
        waited = 0;
      }
    }
    return rate;
  }
  return lr;  // constant
}

}  // namespace chainrule::train
