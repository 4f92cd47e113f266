#include "chainrule/optim.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "chainrule/fast/adam.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/penalty.hpp"

namespace chainrule {

void OptimizerConfig::validate() const {
  if (kind != "sgd" && kind != "momentum" && kind != "adam" && kind != "adamw")
    throw std::invalid_argument("unknown optimizer '" + kind + "'; use sgd, momentum, adam or adamw");
  if (!(lr > 0.0 && std::isfinite(lr)))
    throw std::invalid_argument("learning rate must be a positive number, got " + std::to_string(lr));
  if (!(momentum >= 0.0 && momentum < 1.0))
    throw std::invalid_argument("momentum must be in [0, 1), got " + std::to_string(momentum));
  if (!(beta1 >= 0.0 && beta1 < 1.0)) throw std::invalid_argument("beta1 must be in [0, 1), got " + std::to_string(beta1));
  if (!(beta2 >= 0.0 && beta2 < 1.0)) throw std::invalid_argument("beta2 must be in [0, 1), got " + std::to_string(beta2));
  if (!(eps > 0.0 && std::isfinite(eps))) throw std::invalid_argument("eps must be positive, got " + std::to_string(eps));
  if (!(weight_decay >= 0.0 && std::isfinite(weight_decay)))
    throw std::invalid_argument("weight decay must be a number >= 0, got " + std::to_string(weight_decay));
}

std::string OptimizerConfig::describe() const {
  std::ostringstream s;
  s << kind << "(lr=" << lr;
  if (kind == "momentum") s << ", momentum=" << momentum << ", nesterov=" << (nesterov ? "true" : "false");
  if (kind == "adam" || kind == "adamw") s << ", beta1=" << beta1 << ", beta2=" << beta2 << ", eps=" << eps;
  if (weight_decay != 0) s << ", weight_decay=" << weight_decay;
  s << ")";
  return s.str();
}

void Optimizer::set_steps(std::int64_t t) {
  if (t < 0 || t > kMaxOptimizerSteps)
    throw std::invalid_argument("optimizer step count " + std::to_string(t) + " is outside 0.." +
                                std::to_string(kMaxOptimizerSteps));
  t_ = t;
}

void Optimizer::count_step() {
  if (t_ >= kMaxOptimizerSteps)
    throw std::overflow_error("optimizer: the step count reached its limit " + std::to_string(kMaxOptimizerSteps));
  ++t_;
}

void Optimizer::check_step_limit() const {
  if (t_ >= kMaxOptimizerSteps)
    throw std::overflow_error("optimizer: the step count reached its limit " + std::to_string(kMaxOptimizerSteps));
}

void Optimizer::init_slots(const std::vector<Param<float>>& params) {
  const std::size_t n = params.size(), k = slot_count();
  if (slots_.size() == n * k) {  // the usual case at every step: checked without building any name
    bool fit = true;
    for (std::size_t j = 0; j < slots_.size(); ++j) fit = fit && slots_[j].same_shape(*params[j % n].value);
    if (fit) return;
  }
  if (slots_.size() != n * k) {
    if (!slots_.empty())
      throw ShapeError("optimizer: " + std::to_string(slots_.size()) + " state tensors for " + std::to_string(n) +
                       " parameters x " + std::to_string(k) + " slots");
    slots_.resize(n * k);
    for (std::size_t s = 0; s < k; ++s)
      for (std::size_t i = 0; i < n; ++i) slots_[s * n + i] = Tensor<float>(params[i].value->rows, params[i].value->cols);
    return;
  }
  for (std::size_t s = 0; s < k; ++s)
    for (std::size_t i = 0; i < n; ++i)
      expect_same_shape("optimizer", (params[i].name + ":" + slot_names()[s]).c_str(), slots_[s * n + i],
                        params[i].name.c_str(), *params[i].value);
}

// P -= lr G
void Sgd::step(const std::vector<Param<float>>& params) {
  count_step();
  const float lr = static_cast<float>(config_.lr);
  for (const auto& p : params) {
    float* w = p.value->data.data();
    const float* g = p.grad->data.data();
    const std::size_t n = p.value->size();
    for (std::size_t j = 0; j < n; ++j) w[j] -= lr * g[j];
  }
}

// V = mu V - lr G
// P += V               (plain momentum)
// P += mu V - lr G     (Nesterov: look one step further along the new velocity)
void Momentum::step(const std::vector<Param<float>>& params) {
  init_slots(params);
  count_step();
  const float lr = static_cast<float>(config_.lr), mu = static_cast<float>(config_.momentum);
  const bool nesterov = config_.nesterov;
  for (std::size_t i = 0; i < params.size(); ++i) {
    float* w = params[i].value->data.data();
    const float* g = params[i].grad->data.data();
    float* v = slots_[i].data.data();
    const std::size_t n = params[i].value->size();
    for (std::size_t j = 0; j < n; ++j) {
      v[j] = mu * v[j] - lr * g[j];
      w[j] += nesterov ? mu * v[j] - lr * g[j] : v[j];
    }
  }
}

// t += 1
// M = b1 M + (1 - b1) G
// S = b2 S + (1 - b2) G^2
// P -= lr (M / c1) / (sqrt(S / c2) + eps),   c1 = 1 - b1^t,  c2 = 1 - b2^t
// Without the correction (c1 = c2 = 1) the first steps are too LARGE, not too small:
// at t = 1, M = (1 - b1) G and S = (1 - b2) G^2, so M / sqrt(S) = (1 - b1) / sqrt(1 - b2)
// = 0.1 / 0.0316 = 3.16 per weight instead of 1; the factor (1 - b1^t) / sqrt(1 - b2^t)
// grows to 6.57 at t = 12, then fades towards 1 over the first few thousand steps as b2^t
// goes to 0 (tutorials/09; the monitor's adam-first-step rule looks for it).
// The two multiply-adds are written as std::fma (one rounding each): every compiler then
// computes the same bits.
// The Fast path runs the same update 16 values at a time, on threads: fast::adam_update.
void Adam::step(const std::vector<Param<float>>& params) {
  init_slots(params);
  count_step();
  const std::size_t count = params.size();
  const AdamCoefficients k = coefficients();
  for (std::size_t i = 0; i < count; ++i) {
    float* w = params[i].value->data.data();
    const float* g = params[i].grad->data.data();
    float* m = slots_[i].data.data();
    float* s = slots_[count + i].data.data();
    if (kernel_path() != KernelPath::Reference) {  // the same bits, fast: src/chainrule/fast/adam.cpp
      fast::adam_update(params[i].value->rows, params[i].value->cols, w, g, m, s, k);
      continue;
    }
    [[maybe_unused]] const fast::FlushSubnormalsToZero flush;  // as on the Fast path (fast/adam.hpp)
    const std::size_t n = params[i].value->size();
    for (std::size_t j = 0; j < n; ++j) {
      m[j] = std::fma(k.b1, m[j], (1.0f - k.b1) * g[j]);         // M = b1 M + (1 - b1) G
      s[j] = std::fma(k.b2, s[j], (1.0f - k.b2) * g[j] * g[j]);  // S = b2 S + (1 - b2) G^2
      w[j] -= k.lr * (m[j] / k.c1) / (std::sqrt(s[j] / k.c2) + k.eps);
    }
  }
}

// AdamW: P -= lr (Mhat / (sqrt(Shat) + eps) + lambda P)     (Loshchilov and Hutter)
// The decay is decoupled from the gradient: lambda P never enters M or S, so every weight
// shrinks by the same fraction lr lambda per step, however large or small its gradient
// (with Adam and an L2 term instead, lambda P would be divided by sqrt(Shat) like G).
// Written as two passes, the way PyTorch's AdamW does it:
//   1. the decay, on the weight matrices only (not biases, not BatchNorm's gamma, beta):
//        P = P (1 - lr lambda)
//   2. Adam::step, unchanged:  P -= lr Mhat / (sqrt(Shat) + eps)
// Since the Adam term does not depend on P, the two passes give the formula above.
// With lambda = 0 the decay multiplies by 1 and the run is Adam's to the bit.
void AdamW::step(const std::vector<Param<float>>& params) {
  init_slots(params);
  check_step_limit();  // refuse before the decay changes any weight, as Adam::step does
  const float keep = static_cast<float>(1.0 - config_.lr * config_.weight_decay);  // 1 - lr lambda
  for (const auto& p : params) {                           // 1. the decoupled decay
    if (!weight_decay_applies(p.name)) continue;
    float* w = p.value->data.data();
    const std::size_t n = p.value->size();
    for (std::size_t j = 0; j < n; ++j) w[j] *= keep;      // P = P (1 - lr lambda)
  }
  Adam::step(params);                                      // 2. P -= lr Mhat / (sqrt(Shat) + eps)
}

// lr, b1, b2, eps and the bias corrections c1 = 1 - b1^t, c2 = 1 - b2^t of step t.
AdamCoefficients Adam::coefficients() const {
  const double t = static_cast<double>(t_);
  AdamCoefficients k{};
  k.lr = static_cast<float>(config_.lr);
  k.eps = static_cast<float>(config_.eps);
  k.b1 = static_cast<float>(config_.beta1);
  k.b2 = static_cast<float>(config_.beta2);
  k.c1 = static_cast<float>(1.0 - std::pow(config_.beta1, t));
  k.c2 = static_cast<float>(1.0 - std::pow(config_.beta2, t));
  return k;
}

namespace {
OptimizerMaker g_maker = nullptr;
}

void use_optimizer_maker(OptimizerMaker maker) { g_maker = maker; }

std::unique_ptr<Optimizer> make_real_optimizer(const OptimizerConfig& config) {
  config.validate();
  if (config.kind == "sgd") return std::make_unique<Sgd>(config);
  if (config.kind == "momentum") return std::make_unique<Momentum>(config);
  if (config.kind == "adamw") return std::make_unique<AdamW>(config);
  return std::make_unique<Adam>(config);
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config) {
  return g_maker ? g_maker(config) : make_real_optimizer(config);
}

}  // namespace chainrule
