#include "chainrule/train/probe.hpp"

#include <algorithm>

namespace chainrule::train {

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

}  // namespace chainrule::train
