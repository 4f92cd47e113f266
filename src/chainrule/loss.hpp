// Losses. Each is the MEAN over the batch; its backward applies the 1/N once,
// and that 1/N is the starting gradient of the whole backward pass.
//   Z (N, C) logits   P (N, C) probabilities   Y (N, C) one-hot targets   labels: N ints in 0..C-1
// Derivations: tutorials/03-loss and tutorials/04-softmax-jacobian.
#pragma once

#include <vector>

#include "chainrule/tensor.hpp"

namespace chainrule {

// One-hot targets from 0-based labels: Y (N, C), Y[i][labels[i]] = 1.
// Throws std::invalid_argument naming the sample if a label is outside 0..C-1.
template <typename T>
Tensor<T> one_hot(const std::vector<int>& labels, int classes);

// Softmax followed by cross-entropy, fused (used for training):
//   L  = -(1/N) sum_i log softmax(Z_i)[y_i]
//      = (1/N) sum_i ( log sum_k exp(Z_ik - m_i) - (Z_iy - m_i) ),  m_i = max_k Z_ik  (log-sum-exp)
//   dZ = (P - Y) / N
template <typename T>
class SoftmaxCrossEntropy {
 public:
  virtual ~SoftmaxCrossEntropy() = default;
  T forward(const Tensor<T>& Z, const std::vector<int>& labels);
  T forward(const Tensor<T>& Z, const Tensor<T>& Y);  // one-hot (or any rows summing to 1)
  virtual void backward(Tensor<T>& dZ) const;

  const Tensor<T>& probs() const { return P_; }  // (N, C), from the last forward

 protected:
  // Targets are copied (a caller's temporary must not dangle); the copies keep
  // their capacity, so a training step allocates nothing.
  Tensor<T> P_;
  std::vector<int> labels_;
  Tensor<T> Y_;
  bool one_hot_ = false;
};

// Cross-entropy on probabilities (the unfused path: a Softmax layer, then this):
//   L  = -(1/N) sum_i log P[i][y_i]
//   dP = -Y / (N P)      (nonzero only at each sample's label)
template <typename T>
class CrossEntropy {
 public:
  virtual ~CrossEntropy() = default;
  T forward(const Tensor<T>& P, const std::vector<int>& labels);
  virtual void backward(Tensor<T>& dP) const;

 protected:
  const Tensor<T>* P_ = nullptr;  // the model's output, kept alive by the model
  std::vector<int> labels_;
};

// Mean squared error, over every entry (for regression):
//   L     = 1/(N C) sum_ij (Yhat_ij - Y_ij)^2
//   dYhat = 2 (Yhat - Y) / (N C)
template <typename T>
class MeanSquaredError {
 public:
  virtual ~MeanSquaredError() = default;
  T forward(const Tensor<T>& Yhat, const Tensor<T>& Y);
  virtual void backward(Tensor<T>& dYhat) const;

 protected:
  const Tensor<T>* Yhat_ = nullptr;  // the model's output, kept alive by the model
  Tensor<T> Y_;                      // the targets, copied
};

}  // namespace chainrule
