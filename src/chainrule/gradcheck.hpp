// The gradient checker: the one routine that proves every hand-written backward pass.
//
// For each checked entry theta of a tensor it compares the analytic gradient a
// (from backward) with the centered difference
//     n = (L(theta + h) - L(theta - h)) / (2h)
// using ONE relative error, with a floor so that two tiny numbers do not blow it up:
//     rel = |a - n| / max(floor, |a| + |n|)
// Everything runs in double precision (float's 7 digits would drown a 1e-7 check).
// A layer is checked through the scalar L = sum(Y * G) with a random upstream
// gradient G (a plain sum could hide a bug: BatchNorm's outputs sum to a constant).
// Probes whose +-h step flips a ReLU's side of its kink are skipped and counted.
// A tensor whose analytic gradient is all zeros never passes: a check on zeros proves nothing.
// Background and thresholds: tutorials/08-gradient-checking.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "chainrule/layers/layer.hpp"
#include "chainrule/model.hpp"

namespace chainrule {

struct GradCheckOptions {
  double h = 1e-5;            // step of the centered difference (the suite picks per piece: tutorials/08)
  double floor = 1e-8;        // floor of the relative error's denominator
  double threshold = 1e-7;    // largest relative error that passes
  std::size_t sample = 0;       // 0: check every entry; otherwise tensors larger than full_up_to
  std::size_t full_up_to = 2000;  // entries get a seeded sample of `sample` entries
  std::uint64_t seed = 1;     // for the upstream gradient and the sample
};

double relative_error(double analytic, double numeric, double floor);

struct GradCheckRow {
  std::string name;           // "dense1.W", "X", ...
  std::string shape;          // "(784, 128)"
  std::size_t total = 0;      // entries in the tensor
  std::size_t checked = 0;    // entries probed
  std::size_t skipped = 0;    // probes skipped because they crossed a ReLU kink
  double max_rel_error = 0;   // over the probed entries
  double max_abs_analytic = 0;
  bool pass = false;
  std::string note;           // why it failed, when it did
};

struct GradCheckReport {
  std::string title;          // "dense (4 -> 3)"
  std::string detail;         // "N = 5, h = 1e-05"
  double threshold = 0;
  std::vector<GradCheckRow> rows;
  bool passed() const;
  double max_rel_error() const;
};

// A tensor to check: its values (perturbed in place, then restored) and its analytic gradient.
struct CheckedTensor {
  std::string name;
  Tensor<double>* value;
  const Tensor<double>* analytic;
};

// The one checker. loss() recomputes the scalar from the current values;
// kinks(bits) reports the kink pattern of the forward pass loss() just ran.
GradCheckReport check_gradients(const std::string& title, const std::string& detail,
                                const std::function<double()>& loss,
                                const std::function<void(std::vector<std::uint8_t>&)>& kinks,
                                const std::vector<CheckedTensor>& tensors, const GradCheckOptions& options);

// Checks one layer in training mode on input X: the input gradient and every parameter.
GradCheckReport check_layer(Layer<double>& layer, Tensor<double> X, const GradCheckOptions& options);

// Checks a whole model with softmax cross-entropy on (X, labels): dX and every parameter.
GradCheckReport check_model(const std::string& title, Sequential<double>& model, Tensor<double> X,
                            const std::vector<int>& labels, const GradCheckOptions& options);

// The standard suite that `chainrule gradcheck` runs and the tests assert:
// every layer, every loss, fused against unfused, a 6-5-3 network entry by entry
// and the 784-128-10 network (every entry of the small tensors, a sample of the large).
// include_784 = false leaves out the (slowest) 784-128-10 network.
std::vector<GradCheckReport> standard_gradchecks(std::uint64_t seed = 1, bool include_784 = true);

// Prints a report as a table; with color, PASS is green and FAIL red.
void print_report(std::ostream& out, const GradCheckReport& report, bool color = false);

}  // namespace chainrule
