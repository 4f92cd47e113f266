// Tanh:  Y = tanh(X), elementwise.   X (N, H)   Y (N, H)
// Backward uses the saved OUTPUT, not the input: tanh'(x) = 1 - tanh(x)^2 = 1 - y^2.
// Saturation: 1 - y^2 <= 1, and it goes to 0 as |x| grows (a vanishing gradient,
// milder than sigmoid's: tanh'(0) = 1 where sigma'(0) = 1/4).
#pragma once

#include "chainrule/layers/layer.hpp"

namespace chainrule {

template <typename T>
class Tanh : public Layer<T> {
 public:
  explicit Tanh(std::string name) : Layer<T>(std::move(name)) {}

  const char* kind() const override { return "tanh"; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;

 protected:
  const Tensor<T>* Y_ = nullptr;  // (N, H) the output; backward's factor is 1 - y^2
};

}  // namespace chainrule
