#include "chainrule/model.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "chainrule/init.hpp"
#include "chainrule/fast/threads.hpp"

namespace chainrule {

template <typename T>
Layer<T>& Sequential<T>::add(std::unique_ptr<Layer<T>> layer) {
  layers_.push_back(std::move(layer));
  for (auto& p : layers_.back()->params()) params_.push_back(p);
  outputs_.emplace_back();
  grads_.emplace_back();
  return *layers_.back();
}

template <typename T>
const Tensor<T>& Sequential<T>::forward(const Tensor<T>& X, bool training) {
  if (layers_.empty()) throw std::logic_error("Sequential::forward: the model has no layers");
  const Tensor<T>* in = &X;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->forward(*in, outputs_[i], training);
    in = &outputs_[i];
  }
  return outputs_.back();
}

template <typename T>
void Sequential<T>::backward(const Tensor<T>& dOut, bool need_input_grad) {
  expect_same_shape("Sequential::backward", "dOut", dOut, "the last output", outputs_.back());
  dout_.resize(dOut.rows, dOut.cols);
  dout_.data.assign(dOut.data.begin(), dOut.data.end());  // keeps its capacity: no allocation per step
  const Tensor<T>* upstream = &dout_;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    Tensor<T>* dX = i > 0 ? &grads_[i - 1] : (need_input_grad ? &input_grad_ : nullptr);
    layers_[i]->backward(*upstream, dX);
    upstream = dX;
  }
}

template <typename T>
const Tensor<T>& Sequential<T>::output_grad(std::size_t i) const {
  return i + 1 == layers_.size() ? dout_ : grads_[i];
}

// Every gradient = 0 (p.grad->zero()), each tensor's rows shared out between the threads as
// the products share them (docs/performance.md, "Notes from the code").
template <typename T>
void Sequential<T>::zero_grad() {
  for (auto& p : params_) fast::zero(*p.grad);  // the cached list: no allocation per step
}

template <typename T>
std::vector<Param<T>> Sequential<T>::params() {
  return params_;
}

template <typename T>
std::vector<Buffer<T>> Sequential<T>::buffers() {
  std::vector<Buffer<T>> all;
  for (auto& layer : layers_)
    for (auto& b : layer->buffers()) all.push_back(b);
  return all;
}

template <typename T>
std::size_t Sequential<T>::parameter_count() {
  std::size_t n = 0;
  for (auto& p : params_) n += p.value->size();
  return n;
}

template <typename T>
Layer<T>* Sequential<T>::find(const std::string& name) {
  for (auto& layer : layers_)
    if (layer->name() == name) return layer.get();
  return nullptr;
}

template <typename T>
void Sequential<T>::kink_pattern(std::vector<std::uint8_t>& bits) const {
  for (const auto& layer : layers_) layer->kink_pattern(bits);
}

// ---- The MLP builder ------------------------------------------------------------

std::string MlpSpec::architecture() const {
  if (!layers.empty()) return layers;
  std::ostringstream s;
  s << inputs;
  for (int h : hidden) s << '-' << h;
  s << '-' << classes;
  if (activation == "leaky_relu")
    s << "+leaky_relu" << leaky_alpha;
  else if (activation != "relu")
    s << '+' << activation;
  if (dropout > 0) s << "+dropout" << dropout;
  if (batchnorm) s << (batchnorm_after ? "+batchnorm_after" : "+batchnorm");
  return s.str();
}

namespace {
std::string shortest(double v) {  // the shortest text that reads back as the same double
  char buf[40];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}
}  // namespace

std::string MlpSpec::activation_text() const {
  return activation == "leaky_relu" ? "leaky_relu:" + shortest(leaky_alpha) : activation;
}

void MlpSpec::check_activation() const {
  if (activation != "relu" && activation != "sigmoid" && activation != "tanh" && activation != "leaky_relu")
    throw std::invalid_argument("unknown activation '" + activation + "'; use relu, sigmoid, tanh or leaky_relu[:alpha]");
  if (!(leaky_alpha >= 0.0 && leaky_alpha < 1.0))
    throw std::invalid_argument("leaky_relu's alpha must be in [0, 1), got " + shortest(leaky_alpha));
}

void MlpSpec::set_activation(const std::string& text) {
  const std::size_t colon = text.find(':');
  const std::string name = text.substr(0, colon);
  double alpha = 0.01;
  if (colon != std::string::npos) {
    if (name != "leaky_relu")
      throw std::invalid_argument("activation '" + text + "': only leaky_relu takes a parameter (leaky_relu:ALPHA)");
    const std::string a = text.substr(colon + 1);
    char* end = nullptr;
    alpha = a.empty() ? NAN : std::strtod(a.c_str(), &end);
    if (a.empty() || end != a.c_str() + a.size() || !(alpha >= 0.0 && alpha < 1.0))
      throw std::invalid_argument("activation '" + text + "': leaky_relu's alpha must be a number in [0, 1), e.g. leaky_relu:0.1");
  }
  MlpSpec checked = *this;
  checked.activation = name;
  checked.leaky_alpha = alpha;
  checked.check_activation();  // leaves *this unchanged when it throws
  *this = checked;
}

namespace {
// "normal:0.01" -> ("normal", 0.01); "he" -> ("he", NAN). Throws on a bad number.
std::pair<std::string, double> split_init(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) return {text, NAN};
  const std::string name = text.substr(0, colon), v = text.substr(colon + 1);
  char* end = nullptr;
  const double value = v.empty() ? NAN : std::strtod(v.c_str(), &end);
  if (name != "normal" && name != "uniform")
    throw std::invalid_argument("init '" + text + "': only normal:STD and uniform:A take a number");
  if (v.empty() || end != v.c_str() + v.size() || !(value > 0.0 && std::isfinite(value)))
    throw std::invalid_argument("init '" + text + "': " + (name == "normal" ? "STD" : "A") +
                                " must be a positive number, e.g. " + name + ":0.01");
  return {name, value};
}
}  // namespace

void MlpSpec::check_init() const {
  const auto [name, value] = split_init(init);
  const bool numbered = name == "normal" || name == "uniform";
  if (name != "auto" && name != "he" && name != "glorot" && name != "lecun" && !numbered)
    throw std::invalid_argument("unknown init '" + init + "'; use auto, he, glorot, lecun, normal:STD or uniform:A");
  if (numbered && std::isnan(value))
    throw std::invalid_argument("init '" + init + "' needs its number: " + name + (name == "normal" ? ":STD" : ":A") +
                                ", e.g. " + name + ":0.01");
  if (!(init_gain > 0.0 && std::isfinite(init_gain)))
    throw std::invalid_argument("the init gain must be a positive number, got " + shortest(init_gain));
  if (init_gain != 1.0 && name != "he" && name != "glorot")
    throw std::invalid_argument("the init gain applies only to the he and glorot inits, not to '" + init + "'");
}

void MlpSpec::check_batchnorm() const {
  if (!(bn_momentum > 0.0 && bn_momentum <= 1.0))
    throw std::invalid_argument("the BatchNorm momentum must be in (0, 1] (running = running + m (batch - running); "
                                "Keras's momentum 0.99 is 0.01 here), got " + shortest(bn_momentum));
  if (!(bn_eps > 0.0 && std::isfinite(bn_eps)))
    throw std::invalid_argument("the BatchNorm eps must be a positive number, got " + shortest(bn_eps));
}

template <typename T>
Sequential<T> make_mlp(const MlpSpec& spec) {
  if (!spec.layers.empty())
    throw std::invalid_argument("make_mlp: the spec holds a layer list; build it with make_model or make_network (network.hpp)");
  if (spec.inputs <= 0 || spec.classes <= 0)
    throw std::invalid_argument("make_mlp: inputs and classes must be positive");
  spec.check_init();
  spec.check_activation();
  spec.check_batchnorm();
  const auto [init, init_value] = split_init(spec.init);
  Rng rng(spec.seed);
  Sequential<T> model;
  int in = spec.inputs;
  const std::size_t layers = spec.hidden.size() + 1;
  for (std::size_t k = 0; k < layers; ++k) {
    const bool last = k + 1 == layers;
    const int out = last ? spec.classes : spec.hidden[k];
    if (out <= 0) throw std::invalid_argument("make_mlp: hidden sizes must be positive");
    const std::string n = std::to_string(k + 1);
    auto dense = parts<T>().dense("dense" + n, in, out);
    if (init == "he" || (init == "auto" && !last))
      he_normal(dense->W, in, rng, spec.init_gain);
    else if (init == "glorot" || init == "auto")
      glorot_uniform(dense->W, in, out, rng, spec.init_gain);
    else if (init == "lecun")
      lecun_normal(dense->W, in, rng);
    else if (init == "normal")
      normal_init(dense->W, init_value, rng);
    else
      uniform_init(dense->W, init_value, rng);
    model.add(std::move(dense));
    if (last) break;
    auto batchnorm = [&] {
      auto bn = parts<T>().batchnorm("batchnorm" + n, out);
      bn->set_statistics(spec.bn_momentum, spec.bn_eps);
      model.add(std::move(bn));
    };
    if (spec.batchnorm && !spec.batchnorm_after) batchnorm();
    model.add(parts<T>().activation(spec, n));
    if (spec.batchnorm && spec.batchnorm_after) batchnorm();
    if (spec.dropout > 0) model.add(parts<T>().dropout("dropout" + n, spec.dropout, spec.seed * 1000003ULL + k + 1));
    in = out;
  }
  return model;
}

template <typename From, typename To>
void copy_state(Sequential<From>& from, Sequential<To>& to) {
  auto fp = from.params();
  auto tp = to.params();
  auto fb = from.buffers();
  auto tb = to.buffers();
  if (fp.size() != tp.size() || fb.size() != tb.size())
    throw std::invalid_argument("copy_state: the two models have different architectures");
  auto copy = [](const Tensor<From>& a, Tensor<To>& b, const std::string& name) {
    if (a.rows != b.rows || a.cols != b.cols) throw ShapeError("copy_state: " + name + " is " + a.shape() + " in one model and " + b.shape() + " in the other");
    for (std::size_t k = 0; k < a.data.size(); ++k) b.data[k] = static_cast<To>(a.data[k]);
  };
  for (std::size_t i = 0; i < fp.size(); ++i) copy(*fp[i].value, *tp[i].value, fp[i].name);
  for (std::size_t i = 0; i < fb.size(); ++i) copy(*fb[i].value, *tb[i].value, fb[i].name);
}

// ---- The parts, and the seam ---------------------------------------------------------

template <typename T>
std::unique_ptr<Dense<T>> Parts<T>::dense(std::string name, int in, int out) const {
  return std::make_unique<Dense<T>>(std::move(name), in, out);
}
template <typename T>
std::unique_ptr<ReLU<T>> Parts<T>::relu(std::string name) const {
  return std::make_unique<ReLU<T>>(std::move(name));
}
template <typename T>
std::unique_ptr<Sigmoid<T>> Parts<T>::sigmoid(std::string name) const {
  return std::make_unique<Sigmoid<T>>(std::move(name));
}
template <typename T>
std::unique_ptr<Tanh<T>> Parts<T>::tanh(std::string name) const {
  return std::make_unique<Tanh<T>>(std::move(name));
}
template <typename T>
std::unique_ptr<LeakyReLU<T>> Parts<T>::leaky_relu(std::string name, double alpha) const {
  return std::make_unique<LeakyReLU<T>>(std::move(name), alpha);
}
template <typename T>
std::unique_ptr<Layer<T>> Parts<T>::activation(const MlpSpec& spec, const std::string& n) const {
  if (spec.activation == "sigmoid") return sigmoid("sigmoid" + n);
  if (spec.activation == "tanh") return tanh("tanh" + n);
  if (spec.activation == "leaky_relu") return leaky_relu("leaky_relu" + n, spec.leaky_alpha);
  return relu("relu" + n);
}
template <typename T>
std::unique_ptr<Dropout<T>> Parts<T>::dropout(std::string name, double rate, std::uint64_t seed) const {
  return std::make_unique<Dropout<T>>(std::move(name), rate, seed);
}
template <typename T>
std::unique_ptr<BatchNorm1d<T>> Parts<T>::batchnorm(std::string name, int features) const {
  return std::make_unique<BatchNorm1d<T>>(std::move(name), features);
}
template <typename T>
std::unique_ptr<Softmax<T>> Parts<T>::softmax(std::string name) const {
  return std::make_unique<Softmax<T>>(std::move(name));
}
template <typename T>
std::unique_ptr<Conv2d<T>> Parts<T>::conv2d(std::string name, ImageShape in, int out_channels, int kernel, int stride,
                                            int padding) const {
  return std::make_unique<Conv2d<T>>(std::move(name), in, out_channels, kernel, stride, padding);
}
template <typename T>
std::unique_ptr<MaxPool2d<T>> Parts<T>::maxpool2d(std::string name, ImageShape in, int kernel, int stride) const {
  return std::make_unique<MaxPool2d<T>>(std::move(name), in, kernel, stride);
}
template <typename T>
std::unique_ptr<AvgPool2d<T>> Parts<T>::avgpool2d(std::string name, ImageShape in, int kernel, int stride) const {
  return std::make_unique<AvgPool2d<T>>(std::move(name), in, kernel, stride);
}
template <typename T>
std::unique_ptr<SoftmaxCrossEntropy<T>> Parts<T>::softmax_cross_entropy() const {
  return std::make_unique<SoftmaxCrossEntropy<T>>();
}
template <typename T>
std::unique_ptr<CrossEntropy<T>> Parts<T>::cross_entropy() const {
  return std::make_unique<CrossEntropy<T>>();
}
template <typename T>
std::unique_ptr<MeanSquaredError<T>> Parts<T>::mean_squared_error() const {
  return std::make_unique<MeanSquaredError<T>>();
}

namespace {
template <typename T>
const Parts<T>*& parts_in_use() {
  static const Parts<T> real;
  static const Parts<T>* in_use = &real;
  return in_use;
}
}  // namespace

template <typename T>
const Parts<T>& parts() {
  return *parts_in_use<T>();
}

template <typename T>
void use_parts(const Parts<T>* p) {
  static const Parts<T> real;
  parts_in_use<T>() = p ? p : &real;
}

template class Parts<float>;
template class Parts<double>;
template const Parts<float>& parts<float>();
template const Parts<double>& parts<double>();
template void use_parts<float>(const Parts<float>*);
template void use_parts<double>(const Parts<double>*);

template class Sequential<float>;
template class Sequential<double>;
template Sequential<float> make_mlp<float>(const MlpSpec&);
template Sequential<double> make_mlp<double>(const MlpSpec&);
template void copy_state<float, double>(Sequential<float>&, Sequential<double>&);
template void copy_state<double, float>(Sequential<double>&, Sequential<float>&);
template void copy_state<float, float>(Sequential<float>&, Sequential<float>&);

}  // namespace chainrule
