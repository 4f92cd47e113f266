#include "chainrule/layers/dropout.hpp"

#include <stdexcept>


namespace chainrule {

template <typename T>
Dropout<T>::Dropout(std::string name, double rate, std::uint64_t seed)
    : Layer<T>(std::move(name)), rate_(rate), rng_(seed) {
  if (!(rate >= 0.0 && rate < 1.0))
    throw std::invalid_argument("dropout rate must be in [0, 1), got " + std::to_string(rate));
}

template <typename T>
void Dropout<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool training) {
  training_ = training;
  Y.resize(X.rows, X.cols);
  if (!training || rate_ == 0.0) {
    Y.data = X.data;  // copy (the buffer's capacity is kept)
    return;
  }
  const T keep = static_cast<T>(1.0 - rate_);
  if (!(frozen_ && mask_.same_shape(X))) {
    mask_.resize(X.rows, X.cols);
    for (auto& m : mask_.data) m = rng_.uniform() < 1.0 - rate_ ? T(1) / keep : T(0);
  }
  for (std::size_t k = 0; k < X.data.size(); ++k) Y.data[k] = X.data[k] * mask_.data[k];
}

// dx = dy * m: a dropped unit passes no gradient, a kept one passes it scaled by 1/keep.
template <typename T>
void Dropout<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
  if (!dX) return;
  dX->resize(dY.rows, dY.cols);
  if (!training_ || rate_ == 0.0) {
    dX->data = dY.data;
    return;
  }
  expect_same_shape((this->name() + ".backward").c_str(), "dY", dY, "mask", mask_);
  for (std::size_t k = 0; k < dY.data.size(); ++k) dX->data[k] = dY.data[k] * mask_.data[k];
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace chainrule
