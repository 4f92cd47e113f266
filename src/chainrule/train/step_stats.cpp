#include "chainrule/train/step_stats.hpp"

#include <algorithm>
#include <cmath>

#include "chainrule/layers/relu.hpp"

namespace chainrule::train {

void StepStatsMeter::before_update(const std::vector<Param<float>>& params) {
  if (before_.size() != params.size()) before_.resize(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    before_[i].resize(params[i].value->rows, params[i].value->cols);
    std::copy(params[i].value->data.begin(), params[i].value->data.end(), before_[i].data.begin());
  }
}

const StepStats& StepStatsMeter::after_update(const std::vector<Param<float>>& params, const Sequential<float>& model,
                                              const Tensor<float>& probs) {
  StepStats& s = stats_;
  s.params.resize(params.size());
  double grad_sq = 0;
  s.largest_change = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& g = params[i].grad->data;
    const auto& w = params[i].value->data;
    const auto& w0 = before_[i].data;
    double sum = 0, sumsq = 0, delta2 = 0, norm2 = 0, largest = 0;  // in double: float sums lose digits
    for (std::size_t j = 0; j < g.size(); ++j) {
      sum += g[j];
      sumsq += static_cast<double>(g[j]) * g[j];
      const double d = static_cast<double>(w[j]) - w0[j];  // what this step changed
      delta2 += d * d;
      norm2 += static_cast<double>(w[j]) * w[j];
      largest = std::max(largest, std::abs(d));
    }
    const double n = std::max<double>(1.0, static_cast<double>(g.size()));
    ParamStats& p = s.params[i];
    p.grad_mean = sum / n;
    p.grad_std = std::sqrt(std::max(0.0, sumsq / n - p.grad_mean * p.grad_mean));
    p.grad_sq = sumsq;
    p.grad_norm = std::sqrt(sumsq);
    p.update_ratio = norm2 > 0 ? std::sqrt(delta2 / norm2) : 0.0;
    p.largest_change = largest;
    grad_sq += sumsq;
    s.largest_change = std::max(s.largest_change, largest);
  }
  s.grad_norm = std::sqrt(grad_sq);
  s.dead_fractions.clear();  // keeps its capacity: no allocation after the first step
  for (std::size_t i = 0; i < model.size(); ++i)
    if (const auto* relu = dynamic_cast<const ReLU<float>*>(&model.layer(i))) s.dead_fractions.push_back(relu->dead_fraction());
  s.softmax_saturation = softmax_saturation(probs);
  return s;
}

double softmax_saturation(const Tensor<float>& P) {
  if (P.rows == 0) return 0.0;
  int saturated = 0;
  for (int i = 0; i < P.rows; ++i) saturated += *std::max_element(P.row(i), P.row(i) + P.cols) > 0.99f ? 1 : 0;
  return static_cast<double>(saturated) / P.rows;
}

}  // namespace chainrule::train
