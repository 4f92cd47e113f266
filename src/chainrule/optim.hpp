// Optimizers: turn each parameter's gradient into an update, in place.
//   P (any shape) a parameter tensor,  G (same shape) dL/dP from the last backward pass,
//   lr the learning rate, t the number of steps taken so far (1 at the first step).
//
//   SGD        P -= lr G
//   Momentum   V  = mu V - lr G;      P += V                  (Keras's SGD(momentum=mu))
//   Nesterov   V  = mu V - lr G;      P += mu V - lr G        (Keras's SGD(momentum=mu, nesterov=True))
//   Adam       M  = b1 M + (1 - b1) G
//              S  = b2 S + (1 - b2) G^2                       (S is Adam's v; G^2 elementwise)
//              Mhat = M / (1 - b1^t),  Shat = S / (1 - b2^t)  (bias correction: M and S start at 0)
//              P -= lr Mhat / (sqrt(Shat) + eps)
//   AdamW      Adam's update, with the weights also shrunk, decoupled from the gradient
//              (Loshchilov and Hutter):  P -= lr (Mhat / (sqrt(Shat) + eps) + lambda P),
//              on the weight matrices only (penalty.hpp: weight_decay_applies)
// Keras's defaults: lr 1e-3, b1 0.9, b2 0.999, eps 1e-7 (PyTorch uses eps 1e-8).
//
// Each update is one loop over the tensor's values, in optim.cpp (tutorials/09-optimizers).
// Adam's also has a fast copy with the same bits (fast/adam.cpp). The optimizer keeps its state
// ("slots": V for momentum, M and S for Adam) in tensors allocated at the first step;
// later steps allocate nothing. The slots and t go into checkpoints (io/checkpoint.hpp).
// Lesson: tutorials/09-optimizers (each update, Adam's bias correction, and what they do to a run).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chainrule/kernels.hpp"
#include "chainrule/layers/layer.hpp"
#include "chainrule/tensor.hpp"

namespace chainrule {

// The largest step count t: t is exact as a double up to 2^53, and no run comes near it
// (a step per microsecond for 285 years). set_steps refuses more; step() stops there.
inline constexpr std::int64_t kMaxOptimizerSteps = std::int64_t{1} << 53;

struct OptimizerConfig {
  std::string kind = "adam";  // "sgd", "momentum", "adam" or "adamw"
  double lr = 1e-3;
  double momentum = 0.9;      // mu, for "momentum"
  bool nesterov = false;      // for "momentum"
  double beta1 = 0.9;         // for "adam"
  double beta2 = 0.999;
  double eps = 1e-7;
  // lambda, >= 0. For "adamw" the optimizer's decoupled decay; for the others the L2 penalty
  // lambda/2 ||W||^2 that train_step adds to the loss (penalty.hpp), not the optimizer's.
  // Not in the checkpoint's optimizer record: the run's settings carry it (weight_decay).
  double weight_decay = 0;

  // Throws std::invalid_argument naming the bad setting (unknown kind, lr <= 0, beta outside [0, 1), ...).
  void validate() const;
  std::string describe() const;  // e.g. "adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07)"
                                 // (", weight_decay=..." added when it is not 0)
};

class Optimizer {
 public:
  explicit Optimizer(OptimizerConfig config) : config_(std::move(config)) {}
  virtual ~Optimizer() = default;

  const OptimizerConfig& config() const { return config_; }
  void set_lr(double lr) { config_.lr = lr; }

  // Updates every parameter from its gradient (params: Sequential<float>::params(), same
  // order at every step). Allocates the slots at the first call only.
  virtual void step(const std::vector<Param<float>>& params) = 0;

  // The state, for checkpoints. Slot k of parameter i is slots()[k * params.size() + i];
  // slot_names() gives k's name ("velocity"; "m", "v"). steps() is t.
  virtual std::vector<std::string> slot_names() const = 0;
  virtual std::size_t slot_count() const = 0;  // slot_names().size(), without building the names
  std::vector<Tensor<float>>& slots() { return slots_; }
  std::int64_t steps() const { return t_; }
  // Throws std::invalid_argument unless 0 <= t <= kMaxOptimizerSteps.
  void set_steps(std::int64_t t);

  // Allocates zeroed slots shaped like the parameters (no-op, and no allocation, when they
  // already fit); throws ShapeError when existing slots do not match the parameters.
  void init_slots(const std::vector<Param<float>>& params);

 protected:
  OptimizerConfig config_;
  std::vector<Tensor<float>> slots_;
  std::int64_t t_ = 0;

  // ++t_, or std::overflow_error (before any weight changes) at kMaxOptimizerSteps.
  void count_step();
  // std::overflow_error, as count_step, but without counting: for an update that changes
  // weights before it counts its step (AdamW's decay).
  void check_step_limit() const;
};

class Sgd : public Optimizer {
 public:
  using Optimizer::Optimizer;
  void step(const std::vector<Param<float>>& params) override;
  std::vector<std::string> slot_names() const override { return {}; }
  std::size_t slot_count() const override { return 0; }
};

class Momentum : public Optimizer {
 public:
  using Optimizer::Optimizer;
  void step(const std::vector<Param<float>>& params) override;
  std::vector<std::string> slot_names() const override { return {"velocity"}; }
  std::size_t slot_count() const override { return 1; }
};

class Adam : public Optimizer {
 public:
  using Optimizer::Optimizer;
  void step(const std::vector<Param<float>>& params) override;
  std::vector<std::string> slot_names() const override { return {"m", "v"}; }
  std::size_t slot_count() const override { return 2; }

 protected:
  virtual AdamCoefficients coefficients() const;  // of the current step t
};

// Adam plus the decoupled weight decay. Its step is the decay loop (optim.cpp), then
// Adam::step unchanged: Adam's bits, and its fast path, are Adam's.
class AdamW : public Adam {
 public:
  using Adam::Adam;
  void step(const std::vector<Param<float>>& params) override;
};

// Validates the config and builds the optimizer it names. It is the one seam through
// which an injected optimizer bug enters (src/chainrule/bugs/optim.hpp installs a maker
// with use_optimizer_maker); --resume builds its optimizer here too.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config);
std::unique_ptr<Optimizer> make_real_optimizer(const OptimizerConfig& config);  // Sgd, Momentum, Adam or AdamW
using OptimizerMaker = std::unique_ptr<Optimizer> (*)(const OptimizerConfig& config);
void use_optimizer_maker(OptimizerMaker maker);  // nullptr: make_real_optimizer

}  // namespace chainrule
