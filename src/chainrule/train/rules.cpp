#include "chainrule/train/rules.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace chainrule::train {

namespace {
std::string num(double v, const char* fmt = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

double mean_loss(const std::vector<std::pair<std::int64_t, double>>& losses, std::size_t from, std::size_t to) {
  double s = 0;
  std::size_t n = 0;
  for (std::size_t i = from; i < to && i < losses.size(); ++i) {
    s += losses[i].second;
    ++n;
  }
  return n ? s / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}
}  // namespace

void Monitor::add(const std::string& id, const std::string& title, const std::string& evidence,
                  const std::string& advice, std::int64_t step) {
  if (!has(id)) findings_.push_back({id, title, evidence, advice, step});
}

bool Monitor::has(const std::string& id) const {
  return std::any_of(findings_.begin(), findings_.end(), [&](const Finding& f) { return f.id == id; });
}

void Monitor::on_step(std::int64_t step, double loss) {
  losses_.emplace_back(step, loss);
  const double chance = std::log(static_cast<double>(settings_.classes));
  if (losses_.size() == 1 && step <= 1 && std::isfinite(loss) && loss > 2 * chance + 1)
    add("initial-loss-high", "the first loss is far above what an untrained network gives",
        "loss " + num(loss) + " at step " + std::to_string(step) + "; a fresh network guessing uniformly gives ln(" +
            std::to_string(settings_.classes) + ") = " + num(chance),
        "the logits start huge: are the inputs normalised (pixels / 255, not 0..255)? are the initial weights "
        "scaled (He or Glorot)?",
        step);
  if (!std::isfinite(loss))
    add("loss-diverging", "the loss is not a finite number",
        "loss " + num(loss) + " at step " + std::to_string(step),
        "lower the learning rate; check the inputs are normalised; see the layer named by the NaN guard", step);
  evaluate(step);
}

void Monitor::on_probe(const Probe& probe) {
  probes_.push_back(probe);
  for (std::size_t r = 0; r < probe.dead_fractions.size(); ++r)
    if (probe.dead_fractions[r] > 0.9)
      add("dead-relus", "most hidden units are dead (zero for every sample)",
          num(100 * probe.dead_fractions[r], "%.0f") + "% of the units of ReLU layer " + std::to_string(r + 1) +
              " were zero for the whole batch at step " + std::to_string(probe.step),
          "a dead ReLU passes no gradient, so it never recovers: look for strongly negative initial biases, "
          "or a learning rate so high that one update pushed the units below zero",
          probe.step);
  if (probe.weight_update_ratio > 0.02 && probes_.size() >= 2) {
    // Judge on two probes in a row past step 1, so that Adam's first step (every weight
    // moves by lr) or one noisy step does not raise it.
    const Probe& prev = probes_[probes_.size() - 2];
    if (prev.weight_update_ratio > 0.02 && prev.step > 1)
      add("updates-too-large", "each step changes the weights by more than 2%",
          "update-to-weight ratio ||dW|| / ||W|| = " + num(probe.weight_update_ratio) + " at step " +
              std::to_string(probe.step) + " (healthy training is around 1e-3)",
          "the learning rate is too high for this optimizer (lr " + num(settings_.lr) + "); try 10x or 100x lower",
          probe.step);
  }
  evaluate(probe.step);
}

void Monitor::on_adam_first_step(double largest_update_over_lr) {
  if (largest_update_over_lr > 1.5)
    add("adam-first-step", "Adam's first step was larger than its learning rate",
        "the largest weight change at step 1 was " + num(largest_update_over_lr, "%.3g") +
            " x lr; a bias-corrected Adam moves each weight by at most lr at step 1, an uncorrected one by "
            "(1 - beta1) / sqrt(1 - beta2) = 3.16 x lr",
        "Adam's bias correction (M / (1 - beta1^t), S / (1 - beta2^t)) is missing: the first hundreds of steps "
        "are about 3x too large",
        1);
}

void Monitor::evaluate(std::int64_t step) {
  const double chance = std::log(static_cast<double>(settings_.classes));
  const std::size_t n = losses_.size();
  if (n < static_cast<std::size_t>(settings_.min_points)) return;
  const auto first = static_cast<std::size_t>(settings_.start_window);
  const double start = mean_loss(losses_, 0, first);
  const std::size_t window = std::max<std::size_t>(first, n / 5);
  const double recent = mean_loss(losses_, n - window, n);

  if (std::isfinite(start) && std::isfinite(recent) && recent > 1.5 * start && recent > chance)
    add("loss-diverging", "the loss is growing instead of falling",
        "mean loss " + num(start) + " at the start, " + num(recent) + " over the last " +
            std::to_string(window) + " (step " + std::to_string(step) + ")",
        "a learning rate far too high, or a gradient with the wrong sign (run chainrule gradcheck)", step);

  if (step < settings_.patience) return;
  const bool stuck = std::isfinite(recent) && recent > 0.95 * start;
  if (stuck)
    add("loss-not-decreasing", "the loss has not decreased",
        "mean loss " + num(start) + " at the start and " + num(recent) + " over the last " +
            std::to_string(window) + ", after " + std::to_string(step) + " steps",
        "see the other findings for the likely cause; if there are none, run chainrule gradcheck", step);

  const bool at_chance = std::isfinite(recent) && std::abs(recent - chance) < 0.15;
  bool alive = !probes_.empty();
  for (const auto& p : probes_)
    for (double d : p.dead_fractions) alive = alive && d < 0.5;
  if (at_chance && alive && !has("dead-relus"))
    add("chance-level", "the network does no better than guessing",
        "the loss stays at " + num(recent) + ", about ln(" + std::to_string(settings_.classes) + ") = " + num(chance) +
            ", while the hidden units are alive and the gradients flow",
        "the labels may not belong to the images (shuffled separately, off by one); check a few images against "
        "their labels (chainrule export, tools/plots/digits.gp)",
        step);

  if (probes_.size() >= 4) {
    double early = 0;
    const std::size_t k = std::min<std::size_t>(3, probes_.size());
    for (std::size_t i = 0; i < k; ++i) early += probes_[i].grad_norm / static_cast<double>(k);
    const double last = probes_.back().grad_norm;
    if (early > 0 && last > 10 * early && !(recent < 0.5 * start))
      add("gradients-growing", "the gradient norm keeps growing",
          "total gradient norm " + num(early) + " at the start, " + num(last) + " at step " +
              std::to_string(probes_.back().step) + ", while the loss went from " + num(start) + " to " + num(recent),
          "gradients that pile up step after step are not being zeroed before each backward pass "
          "(model.zero_grad()); or the learning rate is too high",
          step);
  }
}

std::vector<Finding> Monitor::findings() const {
  // Causes before the symptoms they produce: too-large updates kill ReLUs, dead ReLUs stall the loss.
  static const std::vector<std::string> order = {"initial-loss-high", "adam-first-step", "updates-too-large",
                                                 "gradients-growing", "dead-relus",      "chance-level",
                                                 "loss-diverging",    "loss-not-decreasing"};
  std::vector<Finding> sorted = findings_;
  auto rank = [&](const Finding& f) { return std::find(order.begin(), order.end(), f.id) - order.begin(); };
  std::stable_sort(sorted.begin(), sorted.end(), [&](const Finding& a, const Finding& b) { return rank(a) < rank(b); });
  return sorted;
}

std::vector<Finding> Monitor::take_new_findings() {
  std::vector<Finding> out(findings_.begin() + static_cast<std::ptrdiff_t>(reported_), findings_.end());
  reported_ = findings_.size();
  return out;
}

std::string format_findings(const std::vector<Finding>& findings) {
  std::ostringstream s;
  int k = 0;
  for (const auto& f : findings) {
    s << "  " << ++k << ". " << f.title << "  [" << f.id << "]\n"
      << "     evidence: " << f.evidence << "\n"
      << "     try:      " << f.advice << "\n";
  }
  return s.str();
}

}  // namespace chainrule::train
