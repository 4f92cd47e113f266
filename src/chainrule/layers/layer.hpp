// The interface every layer implements. Each layer lives in its own file pair,
// forward written directly above backward (docs/architecture.md).
//
// Contract:
//   forward(X, Y, training)   reads X (N, in), writes Y (N, out), and keeps what
//                             backward needs (a pointer to X, a mask, ...).
//                             The model keeps X alive until backward has run.
//   backward(dY, dX)          reads dY (N, out) = dL/dY, writes dX (N, in) = dL/dX
//                             (skipped when dX is null: the first layer's input
//                             gradient is never needed), and ADDS (+=) dL/dtheta
//                             into each parameter's gradient. The model zeroes
//                             the gradients before each backward pass (model.hpp).
// Lessons: tutorials/02-forward-pass (forward) and tutorials/05-output-layer (backward, and why it adds).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chainrule/tensor.hpp"

namespace chainrule {

// A trainable tensor and its gradient, named "<layer>.<tensor>", e.g. "dense1.W".
template <typename T>
struct Param {
  std::string name;
  Tensor<T>* value;
  Tensor<T>* grad;
};

// A non-trainable tensor a layer keeps across steps (BatchNorm's running statistics).
template <typename T>
struct Buffer {
  std::string name;
  Tensor<T>* value;
};

template <typename T>
class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;

  const std::string& name() const { return name_; }
  virtual const char* kind() const = 0;  // "dense", "relu", ...

  virtual void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) = 0;
  virtual void backward(const Tensor<T>& dY, Tensor<T>* dX) = 0;

  virtual std::vector<Param<T>> params() { return {}; }
  virtual std::vector<Buffer<T>> buffers() { return {}; }

  // For the gradient checker: appends one bit per unit that sits on either side of
  // a kink (ReLU's x > 0). If a probe flips a bit, that probe crossed a kink and
  // its finite difference is meaningless, so the checker skips it.
  virtual void kink_pattern(std::vector<std::uint8_t>& /*bits*/) const {}

 private:
  std::string name_;
};

}  // namespace chainrule
