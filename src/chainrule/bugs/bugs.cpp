#include "chainrule/bugs/bugs.hpp"

#include <stdexcept>

#include "chainrule/bugs/layers.hpp"
#include "chainrule/bugs/losses.hpp"
#include "chainrule/bugs/optim.hpp"
#include "chainrule/model.hpp"

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

namespace {

// The parts (model.hpp) that build the active bug's layer or loss instead of the real one.
template <typename T>
class BuggyParts : public Parts<T> {
 public:
  std::unique_ptr<Dense<T>> dense(std::string name, int in, int out) const override {
    if (bug_active(Bug::DenseNoBiasGrad)) return std::make_unique<bugs::DenseNoBiasGrad<T>>(std::move(name), in, out);
    if (bug_active(Bug::DenseTransposedWeightGrad))
      return std::make_unique<bugs::DenseTransposedWeightGrad<T>>(std::move(name), in, out);
    return Parts<T>::dense(std::move(name), in, out);
  }
  std::unique_ptr<ReLU<T>> relu(std::string name) const override {
    if (bug_active(Bug::ReluMaskInverted)) return std::make_unique<bugs::ReluMaskInverted<T>>(std::move(name));
    if (bug_active(Bug::ReluMaskFromOutput)) return std::make_unique<bugs::ReluMaskFromOutput<T>>(std::move(name));
    return Parts<T>::relu(std::move(name));
  }
  std::unique_ptr<Dropout<T>> dropout(std::string name, double rate, std::uint64_t seed) const override {
    if (bug_active(Bug::DropoutMissingScale)) return std::make_unique<bugs::DropoutMissingScale<T>>(std::move(name), rate, seed);
    return Parts<T>::dropout(std::move(name), rate, seed);
  }
  std::unique_ptr<BatchNorm1d<T>> batchnorm(std::string name, int features) const override {
    if (bug_active(Bug::BatchnormMissingMeanTerm))
      return std::make_unique<bugs::BatchnormMissingMeanTerm<T>>(std::move(name), features);
    return Parts<T>::batchnorm(std::move(name), features);
  }
  std::unique_ptr<SoftmaxCrossEntropy<T>> softmax_cross_entropy() const override {
    if (bug_active(Bug::MissingBatchMean) || bug_active(Bug::SoftmaxCeSign))
      return std::make_unique<bugs::SoftmaxCrossEntropyMistake<T>>(bug_active(Bug::MissingBatchMean),
                                                                  bug_active(Bug::SoftmaxCeSign));
    return Parts<T>::softmax_cross_entropy();
  }
  std::unique_ptr<CrossEntropy<T>> cross_entropy() const override {
    if (bug_active(Bug::MissingBatchMean)) return std::make_unique<bugs::CrossEntropyMissingMean<T>>();
    return Parts<T>::cross_entropy();
  }
  std::unique_ptr<MeanSquaredError<T>> mean_squared_error() const override {
    if (bug_active(Bug::MissingBatchMean)) return std::make_unique<bugs::MeanSquaredErrorMissingMean<T>>();
    return Parts<T>::mean_squared_error();
  }
};

}  // namespace

void set_active_bug(Bug bug) {
  detail::g_active_bug = bug;
  static const BuggyParts<float> buggy_float;
  static const BuggyParts<double> buggy_double;
  use_parts<float>(bug == Bug::None ? nullptr : &buggy_float);
  use_parts<double>(bug == Bug::None ? nullptr : &buggy_double);
  use_optimizer_maker(bug == Bug::AdamNoBiasCorrection ? bugs::make_adam_no_bias_correction : nullptr);
}

}  // namespace chainrule
