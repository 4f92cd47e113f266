// What one training step did, measured in one place: the statistics of each parameter's
// gradient and update, the dead ReLU units and the softmax saturation. Both steps.csv's rows
// (gradstats.hpp) and the monitor's probes (probe.hpp) are made from these numbers.
// Reading them: tutorials/11-debugging.
#pragma once

#include <vector>

#include "chainrule/model.hpp"

namespace chainrule::train {

// One parameter tensor P, after one optimizer step.
struct ParamStats {
  double grad_mean = 0;       // mean of the values of dL/dP
  double grad_std = 0;        // their (population) standard deviation
  double grad_sq = 0;         // their sum of squares, ||dL/dP||^2
  double grad_norm = 0;       // ||dL/dP|| = sqrt(grad_sq)
  double update_ratio = 0;    // ||P_after - P_before|| / ||P_after|| (0 if P is all zero)
  double largest_change = 0;  // the largest |P_after - P_before| of one entry
};

// The whole network, after one optimizer step.
struct StepStats {
  std::vector<ParamStats> params;      // one per parameter tensor, in model order
  double grad_norm = 0;                // sqrt of the sum of every grad_sq: the whole gradient's norm
  double largest_change = 0;           // the largest |delta| of any parameter entry
  std::vector<double> dead_fractions;  // per ReLU layer: units that were 0 for the whole batch
  double softmax_saturation = 0;       // fraction of the batch with max probability > 0.99
};

// Measures a StepStats around one optimizer step:
//   meter.before_update(params)   keeps a copy of every parameter (allocated once)
//   optimizer.step(params)
//   meter.after_update(...)       compares, and returns the numbers (reused from step to step)
class StepStatsMeter {
 public:
  void before_update(const std::vector<Param<float>>& params);
  const StepStats& after_update(const std::vector<Param<float>>& params, const Sequential<float>& model,
                                const Tensor<float>& probs);

 private:
  std::vector<Tensor<float>> before_;
  StepStats stats_;
};

// Fraction of rows of P (N, C) whose largest value is above 0.99.
double softmax_saturation(const Tensor<float>& P);

}  // namespace chainrule::train
