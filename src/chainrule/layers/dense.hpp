// Dense (fully connected) layer:  Y = X W + b
//   X (N, D)   W (D, H)   b (1, H)   Y (N, H)
// Derivation: tutorials/05-output-layer and tutorials/07-hidden-layer.
#pragma once

#include "chainrule/layers/layer.hpp"

namespace chainrule {

template <typename T>
class Dense : public Layer<T> {
 public:
  Dense(std::string name, int in_features, int out_features);

  const char* kind() const override { return "dense"; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;
  std::vector<Param<T>> params() override;

  Tensor<T> W;   // (D, H) weights; column j holds hidden unit j's input weights
  Tensor<T> b;   // (1, H) biases
  Tensor<T> dW;  // (D, H) dL/dW, accumulated by backward
  Tensor<T> db;  // (1, H) dL/db, accumulated by backward

 protected:
  const Tensor<T>* X_ = nullptr;  // (N, D) the input forward saw; backward needs it for dW
};

}  // namespace chainrule
