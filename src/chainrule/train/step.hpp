// One training step: the six calls that teach a network, on one screen.
// tutorials/10-training walks through this very function; fit() (trainer.hpp) calls it
// once per batch, and the diagnostics watch it through two hooks.
#pragma once

#include <functional>
#include <vector>

#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/penalty.hpp"

namespace chainrule::train {

// What every step uses, set up once by fit().
struct Step {
  Sequential<float>& model;
  SoftmaxCrossEntropy<float>& loss;
  Optimizer& optimizer;
  std::vector<Param<float>> params;   // model.params(), listed once
  bool zero_grads = true;             // false only for the injected bug grads-not-zeroed
  std::function<void(double loss)> before_update;  // the diagnostics: after backward, before the update
                                                   // (both get the cross-entropy, without the penalty)
  std::function<void(double loss)> after_update;   // and after it (either may be empty)
  Tensor<float> dZ;                   // (N, C) dL/dZ, reused by every step
  const L2Penalty<float>* penalty = nullptr;  // --weight-decay as an L2 term (not with adamw), or none
};

struct StepResult {
  double loss = 0;   // the batch's mean cross-entropy, before the update
  double penalty = 0;  // lambda/2 ||W||^2 before the update (0 without it): the loss minimised is loss + penalty
  int correct = 0;   // samples whose largest probability is at their label
  bool finite = true;  // false: the loss is NaN or infinite, and nothing was updated
};

// X (N, 784) a batch of images, labels (N) their digits.
StepResult train_step(Step& s, const Tensor<float>& X, const std::vector<int>& labels);

// How many rows of P (N, C) have their largest entry at the row's label.
int count_correct(const Tensor<float>& P, const std::vector<int>& labels);

}  // namespace chainrule::train
