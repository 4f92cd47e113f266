// The live probe: what the trainer hands the Monitor (rules.hpp) every so often, measured on
// the running model around one optimizer step. The numbers come from step_stats.hpp, the
// same ones steps.csv records. What each one tells: tutorials/11-debugging.
#pragma once

#include <cstdint>
#include <vector>

#include "chainrule/model.hpp"
#include "chainrule/train/rules.hpp"
#include "chainrule/train/step_stats.hpp"

namespace chainrule::train {

// before_update() keeps a copy of the parameters (allocated once), after_update() compares
// and returns the Probe. largest_change() is the largest |delta| of any parameter entry.
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

}  // namespace chainrule::train
