// The gradient checker: the one routine that proves every hand-written backward pass.
//
// For each checked entry theta of a tensor it compares the analytic gradient a
// (from backward) with the centered difference
//     n = (L(theta + h) - L(theta - h)) / (2h)
// using ONE relative error. Its denominator has two floors: an absolute one, and one tied
// to the tensor's scale (A = the tensor's largest |a|), so a tiny entry is judged against 1% of A:
//     rel = |a - n| / max(floor, |a| + |n|, 0.01 A)
// The limit is not a fixed number. It comes, entry by entry, from the two errors of a
// centered difference (the error model; tutorials/08 derives it):
//     rounding     eps |L| / h        each loss value carries a rounding error of about eps |L|
//     truncation   h^2 |L'''| / 6     measured as |n(2h) - n(h)| / 3, from a second step 2h
// Their sum, divided by the same denominator, is the noise the checker expects for that
// entry. An entry passes while its relative error is at most `safety` (10) times its noise;
// the report prints, per tensor, the largest relative error, the noise expected there, and
// the largest error / noise ratio over the entries (PASS while <= 10).
// Everything runs in double precision (float's 7 digits would drown the check).
// A layer is checked through the scalar L = sum(Y * G) with a random upstream
// gradient G (a plain sum could hide a bug: BatchNorm's outputs sum to a constant).
// Probes whose steps (+-h, +-2h) flip a ReLU's side of its kink are skipped and counted.
// A tensor whose analytic gradient is all zeros never passes: a check on zeros proves nothing.
// Background: tutorials/08-gradient-checking.
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
  double h = 1e-5;              // step of the centered difference (the suite picks per piece: tutorials/08)
  double floor = 1e-8;          // absolute floor of the relative error's denominator
  double scale_floor = 1e-2;    // and a floor of scale_floor x the tensor's largest |a|
  double safety = 10;           // an entry passes while its rel error <= safety x its noise
  std::size_t sample = 0;       // 0: check every entry; otherwise tensors larger than full_up_to
  std::size_t full_up_to = 2000;  // entries get a seeded sample of `sample` entries
  std::uint64_t seed = 1;       // for the upstream gradient and the sample
};

// |a - n| / max(floor, |a| + |n|): the relative error of lesson 08 (the checker adds the scale floor).
double relative_error(double analytic, double numeric, double floor);

// The error model: the relative error expected from the numerics alone for one entry,
//   (eps * loss_scale / h + truncation) / denominator + 64 eps
// where loss_scale is |L| near the entry, truncation the measured |n(2h) - n(h)| / 3,
// and 64 eps allows for the rounding of the analytic gradient itself.
double expected_noise(double loss_scale, double h, double truncation, double denominator);

struct GradCheckRow {
  std::string name;           // "dense1.W", "X", ...
  std::string shape;          // "(784, 128)"
  std::size_t total = 0;      // entries in the tensor
  std::size_t checked = 0;    // entries probed
  std::size_t skipped = 0;    // probes skipped because they crossed a ReLU kink
  double max_rel_error = 0;   // over the probed entries
  double noise = 0;           // the relative error the error model expects at that entry
  double ratio = 0;           // the largest rel error / noise over the entries: PASS while <= safety
  double max_abs_analytic = 0;
  bool pass = false;
  std::string note;           // why it failed, when it did
};

struct GradCheckReport {
  std::string title;          // "dense (4 -> 3)"
  std::string detail;         // "N = 5, h = 1e-05"
  double safety = 0;          // PASS while every row's ratio <= safety
  std::vector<GradCheckRow> rows;
  bool passed() const;
  double max_rel_error() const;
  // The smallest safety / ratio over the rows: above 1 passes, and says by how much.
  double margin() const;
};

// A tensor to check: its values (perturbed in place, then restored) and its analytic gradient.
struct CheckedTensor {
  std::string name;
  Tensor<double>* value;
  const Tensor<double>* analytic;
};

// The one checker. loss() recomputes the scalar from the current values;
// kinks(bits) reports the kink pattern of the forward pass loss() just ran; magnitude(),
// when given, the sum of the absolute terms that loss() just added up (the scale of its
// rounding error; without it |L| is used, right for a loss whose terms share one sign).
GradCheckReport check_gradients(const std::string& title, const std::string& detail,
                                const std::function<double()>& loss,
                                const std::function<void(std::vector<std::uint8_t>&)>& kinks,
                                const std::vector<CheckedTensor>& tensors, const GradCheckOptions& options,
                                const std::function<double()>& magnitude = {});

// Checks one layer in training mode on input X: the input gradient and every parameter.
GradCheckReport check_layer(Layer<double>& layer, Tensor<double> X, const GradCheckOptions& options);

// Checks a whole model with softmax cross-entropy on (X, labels): dX and every parameter.
GradCheckReport check_model(const std::string& title, Sequential<double>& model, Tensor<double> X,
                            const std::vector<int>& labels, const GradCheckOptions& options);

// The 6-5-3 network of the standard suite for a seed: He weights, biases ~ 0.1 N(0, 1), four
// random inputs whose hidden pre-activations all keep 0.05 away from ReLU's kink (so that no
// entry is skipped), random labels. tests/gradcheck/teeth.cpp slips its gradients on purpose.
struct NetworkCase {
  Sequential<double> model;
  Tensor<double> X;         // (4, 6)
  std::vector<int> labels;  // 4 labels in 0..2
};
NetworkCase small_network_case(std::uint64_t seed);

// The standard suite that `chainrule gradcheck` runs and the tests assert:
// every layer, every loss, fused against unfused, a 6-5-3 network entry by entry
// and the 784-128-10 network (every entry of the small tensors, a sample of the large).
// include_784 = false leaves out the (slowest) 784-128-10 network.
std::vector<GradCheckReport> standard_gradchecks(std::uint64_t seed = 1, bool include_784 = true);

// The checks of the hidden activations other than ReLU, kept apart from the standard suite
// (whose reports tests and tutorials quote): sigmoid and tanh alone (inputs of scale 3, into
// their saturated tails), leaky ReLU alone with alpha 0.01 and 0.2 (inputs 0.1 away from its
// kink), and the 6-5-3 network of small_network_case with sigmoid, tanh and leaky_relu:0.1,
// every entry.
std::vector<GradCheckReport> activation_gradchecks(std::uint64_t seed = 1);

// The checks of the BatchNorm choices, likewise apart: BatchNorm1d alone in training mode with
// eps 1e-3 and momentum 0.01 (Keras's defaults), and 6-5-3 tanh networks with BatchNorm before
// and after the activation (eps 1e-3), every entry.
std::vector<GradCheckReport> batchnorm_gradchecks(std::uint64_t seed = 1);

// The checks of the convolutional layers, kept apart from the standard suite (whose reports
// tests and tutorials quote): Conv2d on odd sizes (5x7, 6x5) with stride 1 and 2, padding 0, 1
// and 2, several channels in and out; MaxPool2d with exact ties planted in its input (the
// checker skips the probes that move an argmax) and with overlapping windows; AvgPool2d; and
// a small conv-relu-maxpool-dense network, every entry. include_lenet5 adds the whole
// LeNet-5 (28x28 input) on sampled entries (a few seconds).
std::vector<GradCheckReport> cnn_gradchecks(std::uint64_t seed = 1, bool include_lenet5 = false);

// Prints a report as a table; with color, PASS is green and FAIL red.
void print_report(std::ostream& out, const GradCheckReport& report, bool color = false);

}  // namespace chainrule
