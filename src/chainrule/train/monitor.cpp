#include "chainrule/train/monitor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "chainrule/io/files.hpp"

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

// ---- Probing a live model ----------------------------------------------------------

Probe ProbeRecorder::after_update(std::int64_t step, const std::vector<Param<float>>& params, Sequential<float>& model,
                                  const Tensor<float>& probs) {
  const StepStats& s = meter_.after_update(params, model, probs);
  Probe p;
  p.step = step;
  p.grad_norm = s.grad_norm;
  for (std::size_t i = 0; i < params.size(); ++i) {  // the rules judge the weight matrices (*.W) only
    const std::string& name = params[i].name;
    if (name.size() > 2 && name.compare(name.size() - 2, 2, ".W") == 0)
      p.weight_update_ratio = std::max(p.weight_update_ratio, s.params[i].update_ratio);
  }
  p.dead_fractions = s.dead_fractions;
  p.softmax_saturation = s.softmax_saturation;
  largest_change_ = s.largest_change;
  return p;
}

// ---- Reading a run folder back ------------------------------------------------------

int CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int>(i);
  return -1;
}

CsvTable read_csv(const std::string& path) {
  io::require_regular_file(path);  // a FIFO would block the read below
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the file");
  CsvTable t;
  std::string line;
  auto next_line = [&](bool& whole) {  // one line without its "\n" or "\r\n"; whole: it ended with "\n"
    if (!std::getline(in, line)) return false;
    whole = !in.eof();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  };
  bool whole = false;
  if (!next_line(whole) || line.empty()) throw std::runtime_error(path + ": the file is empty (no header line)");
  std::stringstream header(line);
  for (std::string cell; std::getline(header, cell, ',');) t.columns.push_back(cell);
  std::size_t lineno = 1;
  while (next_line(whole)) {
    ++lineno;
    if (!whole) {  // a last line without its newline was cut short (a full disk, a killed writer): not a row
      t.partial_last_line = !line.empty();
      break;
    }
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) {
      if (cell.empty() || cell == "nan" || cell == "-nan") {
        row.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (end == cell.c_str() || *end != '\0')
        throw std::runtime_error(path + ":" + std::to_string(lineno) + ": '" + cell + "' is not a number");
      row.push_back(v);
    }
    if (!line.empty() && line.back() == ',') row.push_back(std::numeric_limits<double>::quiet_NaN());
    if (row.size() != t.columns.size())
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": " + std::to_string(row.size()) +
                               " values for " + std::to_string(t.columns.size()) + " columns");
    t.rows.push_back(std::move(row));
  }
  return t;
}

namespace {
// The lines of an optional text file (config.txt, diagnostics.txt), without "\r"; none when it is absent.
std::vector<std::string> read_lines_if_present(const std::string& path) {
  std::vector<std::string> lines;
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return lines;
  io::require_regular_file(path);  // present but a FIFO, a folder, a device: say so rather than hang
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the file");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}
}  // namespace

std::map<std::string, std::string> read_config(const std::string& path) {
  std::map<std::string, std::string> cfg;
  for (const std::string& line : read_lines_if_present(path)) {
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    cfg.emplace(line.substr(0, eq), line.substr(eq + 3));
  }
  return cfg;
}

RunDiagnosis diagnose_run_folder(const std::string& run_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(run_dir);
  if (!fs::is_directory(dir))
    throw std::invalid_argument(run_dir + ": no such run folder (chainrule train --out DIR writes one)");
  std::error_code ec;
  const bool have_steps = fs::exists(fs::symlink_status(dir / "steps.csv", ec)),
             have_history = fs::exists(fs::symlink_status(dir / "history.csv", ec));
  if (!have_steps && !have_history)
    throw std::invalid_argument(run_dir + ": neither steps.csv nor history.csv is there; train with "
                                "--out " + run_dir + " --log-grads 10 to record what doctor reads");

  const auto cfg = read_config((dir / "config.txt").string());
  const auto live = read_lines_if_present((dir / "diagnostics.txt").string());
  MonitorSettings settings;
  if (auto it = cfg.find("optimizer"); it != cfg.end()) settings.optimizer = it->second;
  if (auto it = cfg.find("lr"); it != cfg.end()) settings.lr = std::strtod(it->second.c_str(), nullptr);
  for (const std::string& line : live)  // the learning rate the run really used
    if (line.rfind("effective_lr ", 0) == 0) settings.lr = std::strtod(line.c_str() + 13, nullptr);
  Monitor monitor(settings);
  RunDiagnosis report;
  std::ostringstream what;
  auto partial = [&](const CsvTable& t) { return t.partial_last_line ? " (its cut-short last line ignored)" : ""; };

  if (have_steps) {
    const CsvTable t = read_csv((dir / "steps.csv").string());
    const int c_step = t.column("step"), c_loss = t.column("loss"), c_sat = t.column("softmax_saturation");
    if (c_step < 0 || c_loss < 0) throw std::runtime_error((dir / "steps.csv").string() + ": no step or loss column");
    std::vector<int> norms, ratios, dead;
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      const std::string& c = t.columns[i];
      auto ends = [&](const std::string& suffix) { return c.size() > suffix.size() && c.compare(c.size() - suffix.size(), suffix.size(), suffix) == 0; };
      if (ends(":grad_norm")) norms.push_back(static_cast<int>(i));
      if (ends(".W:update_ratio")) ratios.push_back(static_cast<int>(i));
      if (ends(":dead_fraction")) dead.push_back(static_cast<int>(i));
    }
    for (const auto& row : t.rows) {
      const auto step = static_cast<std::int64_t>(row[c_step]);
      monitor.on_step(step, row[c_loss]);
      Probe p;
      p.step = step;
      double sq = 0;
      for (int c : norms) sq += row[c] * row[c];
      p.grad_norm = std::sqrt(sq);
      for (int c : ratios) p.weight_update_ratio = std::max(p.weight_update_ratio, row[c]);
      for (int c : dead) p.dead_fractions.push_back(row[c]);
      if (c_sat >= 0) p.softmax_saturation = row[c_sat];
      monitor.on_probe(p);
    }
    what << t.rows.size() << " logged steps from steps.csv" << partial(t);
    report.points = t.rows.size();
    report.needed = static_cast<std::size_t>(settings.min_points);
    report.unit = "logged steps";
  }
  if (have_history) {
    const CsvTable h = read_csv((dir / "history.csv").string());
    if (!have_steps) {  // epoch means stand in for step losses
      const int c_epoch = h.column("epoch"), c_loss = h.column("loss");
      if (c_loss < 0) throw std::runtime_error((dir / "history.csv").string() + ": no loss column");
      MonitorSettings by_epoch = settings;  // one loss per epoch: judge from two epochs on
      by_epoch.patience = 0;
      by_epoch.min_points = 2;
      by_epoch.start_window = 1;
      monitor = Monitor(by_epoch);
      for (const auto& row : h.rows) monitor.on_step(static_cast<std::int64_t>(c_epoch >= 0 ? row[c_epoch] : 0), row[c_loss]);
      report.points = h.rows.size();
      report.needed = static_cast<std::size_t>(by_epoch.min_points);
      report.unit = "epochs";
    }
    what << (have_steps ? ", " : "") << h.rows.size() << " epochs from history.csv" << partial(h);
  }
  // Findings that only the live run could see (train writes them to diagnostics.txt).
  for (const std::string& line : live)
    if (line.rfind("adam-first-step ", 0) == 0) monitor.on_adam_first_step(std::strtod(line.c_str() + 16, nullptr));
  report.summary = what.str();
  report.findings = monitor.findings();
  return report;
}

std::vector<Finding> diagnose_run(const std::string& run_dir, std::string* summary) {
  RunDiagnosis report = diagnose_run_folder(run_dir);
  if (summary) *summary = report.summary;
  return std::move(report.findings);
}

}  // namespace chainrule::train
