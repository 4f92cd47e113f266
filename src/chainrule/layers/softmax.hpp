// Softmax on its own:  P_ij = exp(Z_ij) / sum_k exp(Z_ik), row by row.   Z (N, C)   P (N, C)
// Training uses the fused SoftmaxCrossEntropy loss (loss.hpp), whose backward is (P - Y)/N.
// This unfused layer, with its full Jacobian-vector product, is for teaching and
// for checking the fused path. Derivation: tutorials/04-softmax-jacobian.
#pragma once

#include "chainrule/layers/layer.hpp"

namespace chainrule {

// Row-wise softmax, stable: subtracts each row's max before exp.
template <typename T>
void softmax_rows(const Tensor<T>& Z, Tensor<T>& P);

template <typename T>
class Softmax : public Layer<T> {
 public:
  explicit Softmax(std::string name) : Layer<T>(std::move(name)) {}

  const char* kind() const override { return "softmax"; }

  void forward(const Tensor<T>& Z, Tensor<T>& P, bool training) override;
  void backward(const Tensor<T>& dP, Tensor<T>* dZ) override;

 private:
  const Tensor<T>* P_ = nullptr;  // (N, C) the output; the Jacobian needs only P
};

}  // namespace chainrule
