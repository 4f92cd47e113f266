#include "chainrule/layers/sigmoid.hpp"

#include <cmath>

namespace chainrule {

// y = 1 / (1 + e^-x), written so that exp never overflows:
//   x >= 0:  1 / (1 + e^-x)          (e^-x <= 1)
//   x <  0:  e^x / (1 + e^x)         (e^x < 1)
template <typename T>
void Sigmoid<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool /*training*/) {
  Y.resize(X.rows, X.cols);
  for (std::size_t k = 0; k < X.data.size(); ++k) {
    const T x = X.data[k];
    if (x >= T(0)) {
      Y.data[k] = T(1) / (T(1) + std::exp(-x));
    } else {
      const T e = std::exp(x);
      Y.data[k] = e / (T(1) + e);
    }
  }
  Y_ = &Y;
}

// dx = dy * y (1 - y)
// Why the output: sigma' can be written in sigma itself, sigma' = sigma (1 - sigma), so the
// y that forward already computed gives the derivative with one multiply-subtract, without
// keeping X or calling exp again. (The model keeps Y alive until backward: it is this layer's
// entry in the model's outputs.)
template <typename T>
void Sigmoid<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
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
  for (std::size_t k = 0; k < n; ++k) dx[k] = dy[k] * y[k] * (T(1) - y[k]);
}

template class Sigmoid<float>;
template class Sigmoid<double>;

}  // namespace chainrule
