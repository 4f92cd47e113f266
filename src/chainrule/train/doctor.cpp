#include "chainrule/train/doctor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>

#include "chainrule/train/run_reader.hpp"

namespace chainrule::train {

namespace {

// The settings the run's rules used: its optimizer and the learning rate it really ran with.
MonitorSettings settings_of(const std::map<std::string, std::string>& cfg, const std::vector<std::string>& live) {
  MonitorSettings settings;
  if (auto it = cfg.find("optimizer"); it != cfg.end()) settings.optimizer = it->second;
  if (auto it = cfg.find("lr"); it != cfg.end()) settings.lr = std::strtod(it->second.c_str(), nullptr);
  for (const std::string& line : live)  // the learning rate the run really used
    if (line.rfind("effective_lr ", 0) == 0) settings.lr = std::strtod(line.c_str() + 13, nullptr);
  return settings;
}

// Feeds steps.csv to the monitor: each row is a step's loss and the probe of that step.
void replay_steps(const CsvTable& t, const std::string& path, Monitor& monitor) {
  const int c_step = t.column("step"), c_loss = t.column("loss"), c_sat = t.column("softmax_saturation");
  if (c_step < 0 || c_loss < 0) throw std::runtime_error(path + ": no step or loss column");
  std::vector<int> norms, ratios, dead;  // the columns each Probe field is made from
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    const std::string& c = t.columns[i];
    auto ends = [&](const std::string& suffix) {
      return c.size() > suffix.size() && c.compare(c.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends(":grad_norm")) norms.push_back(static_cast<int>(i));
    if (ends(".W:update_ratio")) ratios.push_back(static_cast<int>(i));
    if (ends(":dead_fraction")) dead.push_back(static_cast<int>(i));
  }
  for (const auto& row : t.rows) {
    const auto step = static_cast<std::int64_t>(row[c_step]);
    monitor.on_step(step, row[c_loss]);
    Probe p;
    p.step = step;
    double sq = 0;  // the whole gradient's norm from the per-tensor ones
    for (int c : norms) sq += row[c] * row[c];
    p.grad_norm = std::sqrt(sq);
    for (int c : ratios) p.weight_update_ratio = std::max(p.weight_update_ratio, row[c]);
    for (int c : dead) p.dead_fractions.push_back(row[c]);
    if (c_sat >= 0) p.softmax_saturation = row[c_sat];
    monitor.on_probe(p);
  }
}

// Without steps.csv, history.csv's epoch means stand in for the step losses (and no probes).
void replay_epochs(const CsvTable& h, const std::string& path, Monitor& monitor) {
  const int c_epoch = h.column("epoch"), c_loss = h.column("loss");
  if (c_loss < 0) throw std::runtime_error(path + ": no loss column");
  for (const auto& row : h.rows) monitor.on_step(static_cast<std::int64_t>(c_epoch >= 0 ? row[c_epoch] : 0), row[c_loss]);
}

}  // namespace

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
  const MonitorSettings settings = settings_of(cfg, live);
  Monitor monitor(settings);
  RunDiagnosis report;
  std::ostringstream what;
  auto partial = [&](const CsvTable& t) { return t.partial_last_line ? " (its cut-short last line ignored)" : ""; };

  if (have_steps) {
    const std::string path = (dir / "steps.csv").string();
    const CsvTable t = read_csv(path);
    replay_steps(t, path, monitor);
    what << t.rows.size() << " logged steps from steps.csv" << partial(t);
    report.points = t.rows.size();
    report.needed = static_cast<std::size_t>(settings.min_points);
    report.unit = "logged steps";
  }
  if (have_history) {
    const std::string path = (dir / "history.csv").string();
    const CsvTable h = read_csv(path, {"stop"});
    if (!have_steps) {
      MonitorSettings by_epoch = settings;  // one loss per epoch: judge from two epochs on
      by_epoch.patience = 0;
      by_epoch.min_points = 2;
      by_epoch.start_window = 1;
      monitor = Monitor(by_epoch);
      replay_epochs(h, path, monitor);
      report.points = h.rows.size();
      report.needed = static_cast<std::size_t>(by_epoch.min_points);
      report.unit = "epochs";
    }
    what << (have_steps ? ", " : "") << h.rows.size() << " epochs from history.csv" << partial(h);
    const auto stop = h.text.find("stop");  // absent in a history.csv written before the column existed
    if (stop != h.text.end() && !stop->second.empty()) {
      report.stop = stop->second.back();
      const int c_epoch = h.column("epoch");
      report.stop_epoch = c_epoch >= 0 ? static_cast<int>(h.rows.back()[static_cast<std::size_t>(c_epoch)]) : 0;
    }
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
