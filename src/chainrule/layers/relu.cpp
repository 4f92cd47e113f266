#include "chainrule/layers/relu.hpp"

namespace chainrule {

// y = x if x > 0, else 0
template <typename T>
void ReLU<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool /*training*/) {
  Y.resize(X.rows, X.cols);
  for (std::size_t k = 0; k < X.data.size(); ++k) Y.data[k] = X.data[k] > T(0) ? X.data[k] : T(0);
  X_ = &X;
}

// dx = dy * [x > 0]     (the mask is the derivative: 1 on the right of the kink, 0 on the left and at 0)
template <typename T>
void ReLU<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
  const Tensor<T>& X = *X_;
  expect_same_shape((this->name() + ".backward").c_str(), "dY", dY, "X", X);
  if (!dX) return;
  dX->resize(X.rows, X.cols);
  const T* x = X.data.data();
  const T* dy = dY.data.data();
  T* dx = dX->data.data();
  const std::size_t n = X.data.size();
  // One select per value. dy[k] is read whatever x[k] is, so that the loop vectorises without
  // masked loads (a baseline x86-64 build has none, and branched on every value).
  for (std::size_t k = 0; k < n; ++k) {
    const T g = dy[k];
    dx[k] = x[k] > T(0) ? g : T(0);
  }
}

template <typename T>
void ReLU<T>::kink_pattern(std::vector<std::uint8_t>& bits) const {
  if (!X_) return;
  for (T x : X_->data) bits.push_back(x > T(0) ? 1 : 0);
}

template <typename T>
double ReLU<T>::zero_fraction() const {
  if (!X_ || X_->data.empty()) return 0.0;
  std::size_t zeros = 0;
  for (T x : X_->data) zeros += x > T(0) ? 0 : 1;
  return static_cast<double>(zeros) / static_cast<double>(X_->data.size());
}

template <typename T>
double ReLU<T>::dead_fraction() const {
  if (!X_ || X_->data.empty()) return 0.0;
  const Tensor<T>& X = *X_;
  int dead = 0;
  for (int j = 0; j < X.cols; ++j) {
    bool alive = false;
    for (int i = 0; i < X.rows && !alive; ++i) alive = X(i, j) > T(0);
    dead += alive ? 0 : 1;
  }
  return static_cast<double>(dead) / static_cast<double>(X.cols);
}

template class ReLU<float>;
template class ReLU<double>;

}  // namespace chainrule
