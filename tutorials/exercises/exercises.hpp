// The exercises' interfaces. You edit the .cpp files next to this one (dense.cpp, relu.cpp, ...),
// never this header: the grader (grader/) builds your files against the library and calls
// the factories below. README.md says what each exercise asks.
#pragma once

#include <memory>
#include <vector>

#include "chainrule/layers/image.hpp"
#include "chainrule/layers/layer.hpp"
#include "chainrule/tensor.hpp"

namespace exercises {

using chainrule::Layer;
using chainrule::Tensor;

// ---- Layers: chainrule::Layer<double>, graded by chainrule::check_layer ----------------
// Each backward(dY, dX) writes dX (resize it to X's shape) and ADDS (+=) into its parameter
// gradients, as the library's layers do (src/chainrule/layers/layer.hpp).
std::unique_ptr<Layer<double>> make_dense(int in_features, int out_features);  // dense.cpp
std::unique_ptr<Layer<double>> make_relu();                                    // relu.cpp
std::unique_ptr<Layer<double>> make_sigmoid();                                 // sigmoid.cpp
std::unique_ptr<Layer<double>> make_softmax();                                 // softmax_jacobian.cpp
std::unique_ptr<Layer<double>> make_dropout(double rate, std::uint64_t seed);  // dropout.cpp
std::unique_ptr<Layer<double>> make_batchnorm(int features);                   // batchnorm.cpp
std::unique_ptr<Layer<double>> make_conv2d(chainrule::ImageShape in, int out_channels, int kernel, int stride,
                                           int padding);                        // conv2d.cpp
std::unique_ptr<Layer<double>> make_maxpool2d(chainrule::ImageShape in, int kernel, int stride);  // maxpool2d.cpp

// ---- Losses: the loss itself is the scalar ----------------------------------------------
class Loss {
 public:
  virtual ~Loss() = default;
  virtual double forward(const Tensor<double>& Z) = 0;  // the mean loss over the batch
  virtual void backward(Tensor<double>& dZ) const = 0;  // dZ = dL/dZ, the shape of Z
};
std::unique_ptr<Loss> make_softmax_cross_entropy(const std::vector<int>& labels);  // softmax_cross_entropy.cpp
std::unique_ptr<Loss> make_mean_squared_error(const Tensor<double>& targets);      // mse.cpp

// ---- The whole 784-128-10 network (network.cpp) -------------------------------------------
//   X (N, 784) -> Z1 = X W1 + b1 (N, 128) -> H = relu(Z1) -> Z2 = H W2 + b2 (N, 10)
//   -> L = softmax cross-entropy of Z2 against labels, the mean over the batch
struct Network {
  Tensor<double> W1, b1, W2, b2;  // (784, 128) (1, 128) (128, 10) (1, 10)
};
struct Forward {  // what the forward pass keeps for backward
  Tensor<double> Z1, H, Z2, P;  // P = softmax(Z2), (N, 10)
  double loss = 0;
};
struct Gradients {  // everything backward computes, in the order it computes it
  Tensor<double> dZ2, dW2, db2, dH, dZ1, dW1, db1;
};
Forward network_forward(const Network& net, const Tensor<double>& X, const std::vector<int>& labels);
void network_backward(const Network& net, const Tensor<double>& X, const std::vector<int>& labels,
                      const Forward& f, Gradients& g);

}  // namespace exercises
