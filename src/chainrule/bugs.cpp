#include "chainrule/bugs.hpp"

#include <stdexcept>

namespace chainrule {

const std::vector<BugInfo>& all_bugs() {
  static const std::vector<BugInfo> bugs = {
      {Bug::DenseNoBiasGrad, "dense-no-bias-grad", "gradient", "dense backward leaves db at zero"},
      {Bug::DenseTransposedWeightGrad, "dense-transposed-weight-grad", "gradient", "dense backward writes dW in transposed order"},
      {Bug::MissingBatchMean, "missing-batch-mean", "gradient", "loss backward forgets the 1/N of the batch mean"},
      {Bug::SoftmaxCeSign, "softmax-ce-sign", "gradient", "softmax cross-entropy backward returns Y - P instead of P - Y"},
      {Bug::ReluMaskInverted, "relu-mask-inverted", "gradient", "ReLU backward lets the gradient through where x <= 0"},
      {Bug::ReluMaskFromOutput, "relu-mask-from-output", "harmless", "ReLU backward takes its mask from y > 0 (same as x > 0)"},
      {Bug::DropoutMissingScale, "dropout-missing-scale", "gradient", "dropout backward forgets the 1/keep scale"},
      {Bug::BatchnormMissingMeanTerm, "batchnorm-missing-mean-term", "gradient", "batchnorm backward drops the mean term of dx"},
      {Bug::AdamNoBiasCorrection, "adam-no-bias-correction", "pipeline", "Adam skips the bias correction of m and v"},
      {Bug::GradsNotZeroed, "grads-not-zeroed", "pipeline", "gradients are never zeroed, so they accumulate across steps"},
      {Bug::InputsNotNormalised, "inputs-not-normalised", "pipeline", "pixels are fed as 0..255 instead of 0..1"},
      {Bug::LabelsMisaligned, "labels-misaligned", "pipeline", "each image is paired with the next image's label"},
      {Bug::LrTooHigh, "lr-too-high", "pipeline", "the learning rate is multiplied by 1000"},
      {Bug::DeadInit, "dead-init", "pipeline", "hidden biases start at -10, so every ReLU starts dead"},
  };
  return bugs;
}

Bug parse_bug(const std::string& name) {
  if (name.empty() || name == "none") return Bug::None;
  std::string valid;
  for (const auto& b : all_bugs()) {
    if (name == b.name) return b.bug;
    valid += valid.empty() ? "" : ", ";
    valid += b.name;
  }
  throw std::invalid_argument("unknown bug '" + name + "'; valid names: " + valid);
}

const char* bug_name(Bug bug) {
  for (const auto& b : all_bugs())
    if (b.bug == bug) return b.name;
  return "none";
}

void set_active_bug(Bug bug) { detail::g_active_bug = bug; }

}  // namespace chainrule
