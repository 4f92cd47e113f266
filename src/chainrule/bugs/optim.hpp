// The classic optimizer mistake, as a small subclass: Adam with the mistake marked // BUG:.
// Built through make_optimizer's seam (optim.hpp) when the bug is on (bugs.hpp), for a new
// run and on --resume alike. Its signature: docs/bugs.md.
#pragma once

#include <memory>

#include "chainrule/optim.hpp"

namespace chainrule::bugs {

// adam-no-bias-correction: c1 = c2 = 1, so the first steps are about 3.16 times too large.
class AdamNoBiasCorrection : public Adam {
 public:
  using Adam::Adam;

 protected:
  AdamCoefficients coefficients() const override {
    AdamCoefficients k = Adam::coefficients();
    k.c1 = k.c2 = 1.0f;  // BUG: should be 1 - b1^t and 1 - b2^t
    return k;
  }
};

// make_optimizer's maker while the bug is on.
inline std::unique_ptr<Optimizer> make_adam_no_bias_correction(const OptimizerConfig& config) {
  if (config.kind != "adam") return make_real_optimizer(config);
  config.validate();
  return std::make_unique<AdamNoBiasCorrection>(config);
}

}  // namespace chainrule::bugs
