// ReLU:  Y = max(0, X), elementwise.   X (N, H)   Y (N, H)
// Convention: ReLU'(0) = 0, so the gradient passes only where x > 0.
// Derivation: tutorials/06-relu.
#pragma once

#include "chainrule/layers/layer.hpp"

namespace chainrule {

template <typename T>
class ReLU : public Layer<T> {
 public:
  explicit ReLU(std::string name) : Layer<T>(std::move(name)) {}

  const char* kind() const override { return "relu"; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;
  void kink_pattern(std::vector<std::uint8_t>& bits) const override;

  // Diagnostics on the last batch: the fraction of outputs that were zero, and the
  // fraction of units ("dead" ReLUs) that were zero for every sample in the batch.
  double zero_fraction() const;
  double dead_fraction() const;

 protected:
  const Tensor<T>* X_ = nullptr;  // (N, H) the input; backward's mask is X > 0
};

}  // namespace chainrule
