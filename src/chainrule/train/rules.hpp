// The diagnostic rules: what a run's numbers (the loss of every step, and now and then a
// Probe of the gradients, updates and activations) say about why the loss does not fall.
// A Monitor turns them into findings in plain words, each with its evidence and what to try.
// `chainrule train` feeds it live (probe.hpp), `chainrule doctor` from the run's files
// (doctor.hpp). docs/bugs.md lists the finding of each classic bug; tutorials/11-debugging
// walks through them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace chainrule::train {

// What a probe measures at one step (after that step's update): live from the model
// (ProbeRecorder, probe.hpp), or afterwards from a row of steps.csv (doctor.cpp).
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

// Prints findings as a numbered list (nothing when there are none).
std::string format_findings(const std::vector<Finding>& findings);

}  // namespace chainrule::train
