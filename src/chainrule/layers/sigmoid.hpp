// Sigmoid:  Y = 1 / (1 + exp(-X)), elementwise.   X (N, H)   Y (N, H)
// Backward uses the saved OUTPUT, not the input: sigma'(x) = sigma(x) (1 - sigma(x)) = y (1 - y).
// Saturation: y (1 - y) <= 1/4, and it goes to 0 as |x| grows, so a stack of sigmoids
// shrinks the gradient layer by layer (the vanishing gradient of the lessons).
#pragma once

#include "chainrule/layers/layer.hpp"

namespace chainrule {

template <typename T>
class Sigmoid : public Layer<T> {
 public:
  explicit Sigmoid(std::string name) : Layer<T>(std::move(name)) {}

  const char* kind() const override { return "sigmoid"; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;

 protected:
  const Tensor<T>* Y_ = nullptr;  // (N, H) the output; backward's factor is y (1 - y)
};

}  // namespace chainrule
