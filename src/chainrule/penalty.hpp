// L2 weight decay as a loss term: the penalty
//     R(W) = lambda/2 * sum over the weight matrices W of sum_ij W_ij^2      (a scalar)
// is added to the data loss, so the loss the optimizer minimises is
//     L = mean_i -log softmax(Z_i)[y_i] + lambda/2 ||W||^2,
// and its gradient is simply
//     dR/dW = lambda W                                                     (same shape as W)
// It goes through the optimizer like every other gradient: with SGD that is
// P -= lr (G + lambda P), the classic "weight decay" (PyTorch's SGD(weight_decay=lambda)).
//
// Which parameters: the weight matrices only, named "<layer>.W" (dense1.W, conv1.W), never
// the biases (".b") nor BatchNorm's gamma and beta, as PyTorch and Keras practice has it:
// shrinking a bias or a BatchNorm scale toward 0 does not make the function smoother.
// weight_decay_applies() is the one rule, shared with AdamW's decoupled decay (optim.cpp).
// Lesson: docs/cli.md (--weight-decay) says what each optimizer does with lambda.
#pragma once

#include <string>
#include <vector>

#include "chainrule/layers/layer.hpp"

namespace chainrule {

// True for the parameters weight decay shrinks: names ending in ".W".
bool weight_decay_applies(const std::string& param_name);

template <typename T>
class L2Penalty {
 public:
  explicit L2Penalty(double lambda) : lambda_(lambda) {}
  double lambda() const { return lambda_; }

  // R = lambda/2 * sum_{W} sum_ij W_ij^2, summed in double (float's 7 digits would lose
  // the small squares of a 100000-entry matrix).
  double forward(const std::vector<Param<T>>& params) const;
  // dL/dW += lambda W for each weight matrix (ADDS, like every backward: run it after
  // model.backward, which has written the data loss's dL/dW).
  void backward(const std::vector<Param<T>>& params) const;

 private:
  double lambda_;
};

}  // namespace chainrule
