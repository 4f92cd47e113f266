#include "chainrule/layers/leaky_relu.hpp"

namespace chainrule {

// y = x if x > 0, else alpha x
template <typename T>
void LeakyReLU<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool /*training*/) {
  Y.resize(X.rows, X.cols);
  const T a = static_cast<T>(alpha_);
  for (std::size_t k = 0; k < X.data.size(); ++k) Y.data[k] = X.data[k] > T(0) ? X.data[k] : a * X.data[k];
  X_ = &X;
}

// dx = dy * (x > 0 ? 1 : alpha)     (the slope on each side of the kink; alpha at 0)
template <typename T>
void LeakyReLU<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
  const Tensor<T>& X = *X_;
  // The message is built only on a mismatch: a name like "sigmoid1.backward" is too long for
  // std::string's small buffer, and a training step must not allocate (tests/perf).
  if (!dY.same_shape(X)) expect_same_shape((this->name() + ".backward").c_str(), "dY", dY, "X", X);
  if (!dX) return;
  dX->resize(X.rows, X.cols);
  const T a = static_cast<T>(alpha_);
  const T* x = X.data.data();
  const T* dy = dY.data.data();
  T* dx = dX->data.data();
  const std::size_t n = X.data.size();
  for (std::size_t k = 0; k < n; ++k) dx[k] = x[k] > T(0) ? dy[k] : a * dy[k];
}

template <typename T>
void LeakyReLU<T>::kink_pattern(std::vector<std::uint8_t>& bits) const {
  if (!X_) return;
  for (T x : X_->data) bits.push_back(x > T(0) ? 1 : 0);
}

template class LeakyReLU<float>;
template class LeakyReLU<double>;

}  // namespace chainrule
