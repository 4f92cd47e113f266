// Leaky ReLU:  Y = X where X > 0, alpha X elsewhere, elementwise.   X (N, H)   Y (N, H)
// Convention: the slope at 0 is alpha (as ReLU'(0) = 0), so the full gradient passes
// only where x > 0. alpha = 0.01 by default (PyTorch's and Keras's 0.01 / 0.3: pass it).
// A leaky unit never dies: its gradient is at least alpha times the upstream one.
#pragma once

#include "chainrule/layers/layer.hpp"

namespace chainrule {

template <typename T>
class LeakyReLU : public Layer<T> {
 public:
  explicit LeakyReLU(std::string name, double alpha = 0.01) : Layer<T>(std::move(name)), alpha_(alpha) {}

  const char* kind() const override { return "leaky_relu"; }
  double alpha() const { return alpha_; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;
  // The kink at 0, as ReLU's: the checker skips probes that cross it.
  void kink_pattern(std::vector<std::uint8_t>& bits) const override;

 protected:
  double alpha_;
  const Tensor<T>* X_ = nullptr;  // (N, H) the input; backward's slope is 1 where X > 0, alpha elsewhere
};

}  // namespace chainrule
