// Training diagnostics: the answers to "my loss is not decreasing, why?".
//
// A Monitor watches a run: the loss of every step, and every so often a probe of
// the gradients, updates and activations. Its rules turn what it sees into
// findings in plain words, each with the evidence and what to try. The same rules
// serve `chainrule train` (live, from the running model) and `chainrule doctor`
// (afterwards, from history.csv and steps.csv). docs/bugs.md lists the classic bugs
// and the finding each one produces; tutorials/11-debugging walks through them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chainrule/model.hpp"
#include "chainrule/train/step_stats.hpp"

namespace chainrule::train {

// What a probe measures at one step (after that step's update).
struct Probe {
  std::int64_t step = 0;
  double grad_norm = 0;                 // sqrt of the sum of every parameter gradient's squared norm
  double weight_update_ratio = 0;       // largest ||dW|| / ||W|| over the weight matrices (*.W)
  std::vector<double> dead_fractions;   // per ReLU layer: units that were 0 for the whole batch
  double softmax_saturation = 0;        // fraction of the batch with max probability > 0.99
};

struct Finding {
  std::string id;        // stable key: see Monitor's rules below
  std::string title;     // one line, plain words
  std::string evidence;  // the numbers behind it
  std::string advice;    // what usually causes it and what to try
  std::int64_t step = 0; // when it was first seen
};

struct MonitorSettings {
  int classes = 10;          // an untrained network's loss is about ln(classes)
  std::string optimizer;     // "adam", "sgd", "momentum"
  double lr = 1e-3;
  int patience = 200;        // steps before judging whether the loss decreases
  int min_points = 20;       // losses needed before any trend is judged
  int start_window = 10;     // how many of the first losses make "the start"
};

// The rules (ids):
//   initial-loss-high     the first loss is far above ln(C): inputs or initial weights too large
//   loss-not-decreasing   after `patience` steps the loss is no lower than at the start
//   loss-diverging        the loss has grown well above where it started (or is not finite)
//   chance-level          the loss sits at ln(C) while the ReLUs are alive: labels may not match images
//   dead-relus            more than 90% of a hidden layer's units are zero for every sample
//   updates-too-large     updates above 2% of the weights per step, twice running (healthy: ~0.1% to 1%)
//   gradients-growing     the gradient norm keeps growing far above its start while the loss does not fall
//   adam-first-step       Adam's first update was not lr per weight: its bias correction is missing
class Monitor {
 public:
  explicit Monitor(MonitorSettings settings) : settings_(std::move(settings)) {}

  void on_step(std::int64_t step, double loss);
  void on_probe(const Probe& probe);
  // Adam's first step moves every weight with a non-zero gradient by lr (bias-corrected
  // M/sqrt(S) = G/|G|); without the correction, by (1 - b1)/sqrt(1 - b2) = 3.16 lr.
  void on_adam_first_step(double largest_update_over_lr);

  // Findings not returned before (each rule reports once).
  std::vector<Finding> take_new_findings();
  // Every finding, the most specific cause first (a stuck loss is a symptom; dead units are a cause).
  std::vector<Finding> findings() const;

 private:
  void add(const std::string& id, const std::string& title, const std::string& evidence, const std::string& advice,
           std::int64_t step);
  bool has(const std::string& id) const;
  void evaluate(std::int64_t step);

  MonitorSettings settings_;
  std::vector<std::pair<std::int64_t, double>> losses_;  // (step, loss) as seen
  std::vector<Probe> probes_;
  std::vector<Finding> findings_;
  std::size_t reported_ = 0;
};

// Measures a Probe around one optimizer step of a live model (used by the trainer), from
// the same numbers steps.csv records (step_stats.hpp): before_update() keeps a copy of the
// parameters (allocated once), after_update() compares. largest_change() is the largest
// |delta| of any parameter entry.
class ProbeRecorder {
 public:
  void before_update(const std::vector<Param<float>>& params) { meter_.before_update(params); }
  Probe after_update(std::int64_t step, const std::vector<Param<float>>& params, Sequential<float>& model,
                     const Tensor<float>& probs);
  double largest_change() const { return largest_change_; }

 private:
  StepStatsMeter meter_;
  double largest_change_ = 0;
};

// Prints findings as a numbered list (nothing when there are none).
std::string format_findings(const std::vector<Finding>& findings);

// ---- Reading a run folder back (for chainrule doctor) --------------------------------
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;  // empty cells and "nan" read as NaN
  bool partial_last_line = false;         // a last line without its newline was ignored
  int column(const std::string& name) const;  // -1 when absent
};
// Throws std::runtime_error naming the file and line on unreadable or malformed input, or
// when path is not a regular file (a FIFO would block). Lines may end in "\n" or "\r\n";
// a last line without its newline is a row cut short (steps.csv grows by whole lines) and
// is ignored.
CsvTable read_csv(const std::string& path);
// config.txt as key -> value (the first value of a repeated key); empty when the file is
// absent; throws std::runtime_error when it is there but not a regular file.
std::map<std::string, std::string> read_config(const std::string& path);

// What the Monitor's rules make of a finished (or stopped) run folder.
struct RunDiagnosis {
  std::vector<Finding> findings;
  std::string summary;      // e.g. "51 logged steps from steps.csv, 1 epochs from history.csv"
  std::size_t points = 0;   // the losses the trend rules saw (logged steps, or epochs without steps.csv)
  std::size_t needed = 0;   // how many they need before they judge a trend
  std::string unit;         // "logged steps" or "epochs"
};
RunDiagnosis diagnose_run_folder(const std::string& run_dir);
// The same, findings only.
std::vector<Finding> diagnose_run(const std::string& run_dir, std::string* summary = nullptr);

}  // namespace chainrule::train
