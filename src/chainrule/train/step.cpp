#include "chainrule/train/step.hpp"

#include <algorithm>
#include <cmath>

namespace chainrule::train {

StepResult train_step(Step& s, const Tensor<float>& X, const std::vector<int>& labels) {
  StepResult r;
  if (s.zero_grads) s.model.zero_grad();              // every dL/dP = 0: backward ADDS into them
  const Tensor<float>& Z = s.model.forward(X, true);  // Z (N, C) logits, training mode
  r.loss = s.loss.forward(Z, labels);                 // L = mean_i -log softmax(Z_i)[y_i]
  if (!std::isfinite(r.loss)) {                       // stop before a NaN reaches the weights
    r.finite = false;
    return r;
  }
  if (s.penalty) r.penalty = s.penalty->forward(s.params);  // R = lambda/2 ||W||^2 (weight decay)
  s.loss.backward(s.dZ);                              // dZ = (P - Y) / N
  s.model.backward(s.dZ);                             // dL/dP for every parameter
  if (s.penalty) s.penalty->backward(s.params);       // dL/dW += lambda W
  if (s.before_update) s.before_update(r.loss);
  s.optimizer.step(s.params);                         // P -= update(dL/dP)
  if (s.after_update) s.after_update(r.loss);
  r.correct = count_correct(s.loss.probs(), labels);  // argmax_k P[i][k] == y_i
  return r;
}

int count_correct(const Tensor<float>& P, const std::vector<int>& labels) {
  int correct = 0;
  for (int i = 0; i < P.rows; ++i)
    correct += std::max_element(P.row(i), P.row(i) + P.cols) - P.row(i) == labels[static_cast<std::size_t>(i)] ? 1 : 0;
  return correct;
}

}  // namespace chainrule::train
