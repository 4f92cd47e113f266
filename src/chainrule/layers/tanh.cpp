#include "chainrule/layers/tanh.hpp"

#include <cmath>

namespace chainrule {

// y = tanh(x) = (e^x - e^-x) / (e^x + e^-x)   (std::tanh: no overflow for large |x|)
template <typename T>
void Tanh<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool /*training*/) {
  Y.resize(X.rows, X.cols);
  for (std::size_t k = 0; k < X.data.size(); ++k) Y.data[k] = std::tanh(X.data[k]);
  Y_ = &Y;
}

// dx = dy * (1 - y^2)
// Why the output: tanh' can be written in tanh itself, tanh' = 1 - tanh^2, so the y that
// forward already computed gives the derivative with one multiply-subtract, without keeping
// X or calling tanh again. (The model keeps Y alive until backward: it is this layer's entry
// in the model's outputs.)
template <typename T>
void Tanh<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
  const Tensor<T>& Y = *Y_;
  // The message is built only on a mismatch: a name like "sigmoid1.backward" is too long for
  // std::string's small buffer, and a training step must not allocate (tests/perf).
  if (!dY.same_shape(Y)) expect_same_shape((this->name() + ".backward").c_str(), "dY", dY, "Y", Y);
  if (!dX) return;
  dX->resize(Y.rows, Y.cols);
  const T* y = Y.data.data();
  const T* dy = dY.data.data();
  T* dx = dX->data.data();
  const std::size_t n = Y.data.size();
  for (std::size_t k = 0; k < n; ++k) dx[k] = dy[k] * (T(1) - y[k] * y[k]);
}

template class Tanh<float>;
template class Tanh<double>;

}  // namespace chainrule
