// Sequential: a list of layers run in order. The data flow of one training step
// for 784-128-10 (docs/architecture.md):
//
//   X (N,784) -dense1-> Z1 (N,128) -relu1-> H (N,128) -dense2-> Z2 (N,10) -softmax+CE-> L
//   dZ2 = (P - Y)/N -> dW2 = H^T dZ2, db2, dH = dZ2 W2^T -> dZ1 = dH*[Z1>0] -> dW1 = X^T dZ1, db1
//
// Gradients: each layer's backward ADDS its parameter gradients (+=), so the
// model must zero them first. zero_grad() is the one place that does it; the
// training step calls it before every backward pass. (Running backward twice
// without zeroing doubles the gradients: tutorials/05-output-layer.)
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "chainrule/layers/batchnorm.hpp"
#include "chainrule/layers/conv2d.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/layers/layer.hpp"
#include "chainrule/layers/leaky_relu.hpp"
#include "chainrule/layers/pool.hpp"
#include "chainrule/layers/relu.hpp"
#include "chainrule/layers/sigmoid.hpp"
#include "chainrule/layers/softmax.hpp"
#include "chainrule/layers/tanh.hpp"
#include "chainrule/loss.hpp"

namespace chainrule {

template <typename T>
class Sequential {
 public:
  Sequential() = default;
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  Layer<T>& add(std::unique_ptr<Layer<T>> layer);
  template <typename L>
  L& add(std::unique_ptr<L> layer) {  // returns the layer as its own type: auto& d = model.add(make_unique<Dense<T>>(...))
    L& added = *layer;
    add(std::unique_ptr<Layer<T>>(std::move(layer)));
    return added;
  }

  // Runs every layer; returns the last layer's output (the logits Z, (N, C)).
  // The model keeps every activation until the next forward, for backward.
  const Tensor<T>& forward(const Tensor<T>& X, bool training);

  // dOut (N, C) = dL/dZ from the loss. Accumulates every parameter gradient.
  // With need_input_grad, also computes dL/dX (input_grad()); otherwise the first
  // layer skips it (nothing upstream of the data needs it).
  void backward(const Tensor<T>& dOut, bool need_input_grad = false);

  void zero_grad();

  // Every parameter in model order (a copy of the list built by add(): layers never
  // change their parameters, so zero_grad walks the list without rebuilding it).
  std::vector<Param<T>> params();
  std::vector<Buffer<T>> buffers();
  std::size_t parameter_count();

  std::size_t size() const { return layers_.size(); }
  Layer<T>& layer(std::size_t i) { return *layers_[i]; }
  const Layer<T>& layer(std::size_t i) const { return *layers_[i]; }
  Layer<T>* find(const std::string& name);
  // The layer called `name` as its own type: model.get<Dense<double>>("dense1").W.
  // Throws std::invalid_argument when there is no such layer or it has another type.
  template <typename L>
  L& get(const std::string& name) {
    Layer<T>* layer = find(name);
    if (!layer) throw std::invalid_argument("Sequential::get: no layer is called '" + name + "'");
    L* typed = dynamic_cast<L*>(layer);
    if (!typed) throw std::invalid_argument("Sequential::get: '" + name + "' is a " + layer->kind() + " layer");
    return *typed;
  }

  const Tensor<T>& output(std::size_t i) const { return outputs_[i]; }  // layer i's last output
  const Tensor<T>& output_grad(std::size_t i) const;                     // dL/d(output of layer i)
  const Tensor<T>& input_grad() const { return input_grad_; }           // dL/dX (N, D)

  void kink_pattern(std::vector<std::uint8_t>& bits) const;

 private:
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<Param<T>> params_;    // every layer's params(), in order, collected by add()
  std::vector<Tensor<T>> outputs_;  // outputs_[i] = layer i's output
  std::vector<Tensor<T>> grads_;    // grads_[i] = dL/d(input of layer i + 1) = dL/d(outputs_[i]), i < last
  Tensor<T> input_grad_;
  Tensor<T> dout_;  // a copy of the last dOut, so output_grad(last) never dangles
};

// The multilayer perceptrons of the MNIST tutorials:
//   D -> [dense_k -> (batchnorm_k) -> act_k -> (dropout_k)] for each hidden size -> dense_out
//   with batchnorm_after:  dense_k -> act_k -> batchnorm_k -> (dropout_k)   (as the Keras notebooks)
// act is ReLU by default, or sigmoid, tanh, leaky ReLU (`activation`); it is named after its
// kind. Layer names: dense1, batchnorm1, relu1 (sigmoid1, tanh1, leaky_relu1), dropout1, dense2, ...
struct MlpSpec {
  int inputs = 784;
  std::vector<int> hidden = {128};
  int classes = 10;
  double dropout = 0.0;    // drop rate after each hidden ReLU; 0 = no dropout layer
  bool batchnorm = false;  // BatchNorm1d between each hidden dense and its ReLU
  bool batchnorm_after = false;  // with batchnorm: after the activation instead of before it
  double bn_momentum = 0.1;      // running = running + m (batch - running): PyTorch's convention
  double bn_eps = 1e-5;          // xhat = (x - mu) / sqrt(var + eps)
  // "auto" (He before the hidden activation, Glorot for the output), "he", "glorot", "lecun",
  // "normal:STD", "uniform:A" (init.hpp has the formulas); he, glorot and lecun apply to every layer.
  std::string init = "auto";
  double init_gain = 1.0;  // G in He's and Glorot's formulas (only with init he or glorot)
  std::uint64_t seed = 42;
  std::string activation = "relu";  // after each hidden dense (and batchnorm): "relu", "sigmoid", "tanh", "leaky_relu"
  double leaky_alpha = 0.01;        // leaky_relu's slope for x <= 0 (used only by leaky_relu)
  // A layer list (network.hpp, `--layers`, `--model lenet5`): when set, make_model builds that
  // network (make_network) instead of the MLP, and hidden, dropout, batchnorm, activation are unused.
  std::string layers;

  // e.g. "784-128-10", "784-512-256-10+dropout0.2+batchnorm", "784-128-10+tanh", "784-128-10+leaky_relu0.1";
  // with a layer list, the list ("conv:6:5:pad2,relu,...,dense:10")
  std::string architecture() const;
  // The activation as --activation spells it: "relu", "sigmoid", "tanh", "leaky_relu:0.01".
  std::string activation_text() const;
  // Sets activation (and leaky_alpha) from that text; throws std::invalid_argument on an unknown
  // name or a bad alpha (leaky_relu's alpha must be a finite number in [0, 1)).
  void set_activation(const std::string& text);
  // Throws std::invalid_argument unless activation and leaky_alpha are valid.
  void check_activation() const;
  // Throws std::invalid_argument unless init (and init_gain) is one of the forms above, with
  // STD and A positive finite numbers and G a positive finite gain.
  void check_init() const;
  // Throws std::invalid_argument unless bn_momentum is in (0, 1] and bn_eps is positive and finite.
  void check_batchnorm() const;
  // True when the BatchNorm settings are today's defaults (before, momentum 0.1, eps 1e-5).
  bool batchnorm_default() const { return !batchnorm_after && bn_momentum == 0.1 && bn_eps == 1e-5; }
};

template <typename T>
Sequential<T> make_mlp(const MlpSpec& spec);

// The parts a model and its loss are built from. make_mlp, the training step and the
// gradient checks build every layer and loss through parts<T>(); by default these are the
// real ones of layers/ and loss.hpp. This is the one seam through which an injected bug
// enters: src/chainrule/bugs/ installs parts that build, say, a Dense whose backward
// forgets db. Nothing here knows about bugs.
template <typename T>
class Parts {
 public:
  virtual ~Parts() = default;
  virtual std::unique_ptr<Dense<T>> dense(std::string name, int in, int out) const;
  virtual std::unique_ptr<ReLU<T>> relu(std::string name) const;
  virtual std::unique_ptr<Sigmoid<T>> sigmoid(std::string name) const;
  virtual std::unique_ptr<Tanh<T>> tanh(std::string name) const;
  virtual std::unique_ptr<LeakyReLU<T>> leaky_relu(std::string name, double alpha) const;
  // The hidden activation `spec` names, built through the methods above ("relu1", "tanh1", ...).
  std::unique_ptr<Layer<T>> activation(const MlpSpec& spec, const std::string& n) const;
  virtual std::unique_ptr<Dropout<T>> dropout(std::string name, double rate, std::uint64_t seed) const;
  virtual std::unique_ptr<BatchNorm1d<T>> batchnorm(std::string name, int features) const;
  virtual std::unique_ptr<Softmax<T>> softmax(std::string name) const;
  // The image layers (layers/conv2d.hpp, layers/pool.hpp); pooling's stride 0 means = kernel.
  virtual std::unique_ptr<Conv2d<T>> conv2d(std::string name, ImageShape in, int out_channels, int kernel,
                                            int stride, int padding) const;
  virtual std::unique_ptr<MaxPool2d<T>> maxpool2d(std::string name, ImageShape in, int kernel, int stride) const;
  virtual std::unique_ptr<AvgPool2d<T>> avgpool2d(std::string name, ImageShape in, int kernel, int stride) const;
  virtual std::unique_ptr<SoftmaxCrossEntropy<T>> softmax_cross_entropy() const;
  virtual std::unique_ptr<CrossEntropy<T>> cross_entropy() const;
  virtual std::unique_ptr<MeanSquaredError<T>> mean_squared_error() const;
};

template <typename T>
const Parts<T>& parts();  // the parts in use
template <typename T>
void use_parts(const Parts<T>* p);  // nullptr: the real ones again

// Copies every parameter and buffer from one model to another of the same architecture
// (e.g. a trained float model into a double model for a gradient check).
template <typename From, typename To>
void copy_state(Sequential<From>& from, Sequential<To>& to);

}  // namespace chainrule
