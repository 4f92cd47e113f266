// BatchNorm1d over the batch axis.   X (N, H)   Y (N, H)   gamma, beta (1, H)
// Training:  mu = mean_i x_i,  var = mean_i (x_i - mu)^2   (per feature, biased)
//            xhat = (x - mu) / sqrt(var + eps),  y = gamma * xhat + beta
//            running_mean += momentum (mu - running_mean); running_var likewise with the
//            unbiased variance var * N/(N-1), as PyTorch does (momentum 0.1, eps 1e-5 by default;
//            Keras's BatchNormalization(momentum=0.99, epsilon=1e-3) is momentum 0.01, eps 1e-3 here).
// Inference: the same with running_mean and running_var in place of mu and var.
// Derivation of the backward pass: tutorials/12-dropout-batchnorm.
#pragma once

#include "chainrule/layers/layer.hpp"

namespace chainrule {

template <typename T>
class BatchNorm1d : public Layer<T> {
 public:
  BatchNorm1d(std::string name, int features, double momentum = 0.1, double eps = 1e-5);

  const char* kind() const override { return "batchnorm"; }
  // --bn-momentum and --bn-eps (chainrule's convention is PyTorch's: momentum m weighs the
  // batch, running += m (batch - running); Keras's momentum 0.99 weighs the running value,
  // so it is m = 0.01 here).
  void set_statistics(double momentum, double eps) {
    momentum_ = momentum;
    eps_ = eps;
  }
  double momentum() const { return momentum_; }
  double eps() const { return eps_; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;
  std::vector<Param<T>> params() override;
  std::vector<Buffer<T>> buffers() override;

  Tensor<T> gamma, beta;               // (1, H) scale and shift, trained
  Tensor<T> dgamma, dbeta;             // (1, H) their gradients, accumulated
  Tensor<T> running_mean, running_var; // (1, H) used at inference

 protected:
  double momentum_, eps_;
  bool training_ = false;
  Tensor<T> xhat_;    // (N, H) normalised input
  Tensor<T> invstd_;  // (1, H) 1 / sqrt(var + eps) of the batch (or of the running var)
};

}  // namespace chainrule
