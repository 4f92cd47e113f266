// Bug injection: classic backprop mistakes that can be switched on one at a time
// (chainrule train/gradcheck --inject-bug NAME, or CHAINRULE_BUG=NAME), to show that
// the gradient checks and the training diagnostics catch each of them.
// docs/bugs.md gives each bug's signature.
//
// Where they live: a mistake in a backward pass is a small subclass of the real layer or
// loss (bugs/layers.hpp, bugs/losses.hpp; the optimizer's in bugs/optim.hpp), built when
// the bug is on through the one seam in model.hpp, Parts. A mistake in the pipeline
// (pipeline_bugs below) is read once, where the training run is set up. The math in
// layers/, loss.cpp, model.cpp and optim.cpp knows nothing of either.
#pragma once

#include <string>
#include <vector>

namespace chainrule {

enum class Bug {
  None,
  DenseNoBiasGrad,            // dense backward forgets db
  DenseTransposedWeightGrad,  // dense backward stores dW in transposed order
  MissingBatchMean,           // the loss backward forgets 1/N
  SoftmaxCeSign,              // softmax cross-entropy backward gives Y - P
  ReluMaskInverted,           // ReLU backward passes the gradient where x <= 0
  ReluMaskFromOutput,         // ReLU backward builds its mask from y > 0 (harmless)
  DropoutMissingScale,        // dropout backward forgets the 1/keep scale
  BatchnormMissingMeanTerm,   // batchnorm backward drops the -mean(dxhat) term
  AdamNoBiasCorrection,       // Adam skips the bias correction of m and v
  GradsNotZeroed,             // gradients accumulate across steps
  InputsNotNormalised,        // pixels fed as 0..255
  LabelsMisaligned,           // each image paired with the next image's label
  LrTooHigh,                  // learning rate multiplied by 1000
  DeadInit,                   // hidden biases start strongly negative
};

struct BugInfo {
  Bug bug;
  const char* name;     // as typed on the command line
  const char* where;    // "gradient" (caught by gradcheck) or "pipeline" (caught by training diagnostics)
  const char* summary;  // one line
};

const std::vector<BugInfo>& all_bugs();
Bug parse_bug(const std::string& name);  // throws std::invalid_argument listing the valid names
const char* bug_name(Bug bug);

namespace detail {
inline Bug g_active_bug = Bug::None;
}
inline bool bug_active(Bug bug) { return detail::g_active_bug == bug; }
inline Bug active_bug() { return detail::g_active_bug; }
// Switches the bug on (Bug::None: off) and installs the parts that build it.
void set_active_bug(Bug bug);

// Restores the previous bug when it goes out of scope (for tests).
class ScopedBug {
 public:
  explicit ScopedBug(Bug bug) : previous_(active_bug()) { set_active_bug(bug); }
  ~ScopedBug() { set_active_bug(previous_); }
  ScopedBug(const ScopedBug&) = delete;
  ScopedBug& operator=(const ScopedBug&) = delete;

 private:
  Bug previous_;
};

}  // namespace chainrule
