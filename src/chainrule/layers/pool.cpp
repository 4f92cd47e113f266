#include "chainrule/layers/pool.hpp"

#include <type_traits>

#include "chainrule/kernels.hpp"

namespace chainrule {

namespace {
ImageShape pooled(const std::string& who, const ImageShape& in, int k, int s) {
  if (in.channels < 1) throw std::invalid_argument(who + ": needs at least one channel");
  return {in.channels, window_positions(who, in.height, k, s, 0), window_positions(who, in.width, k, s, 0)};
}

template <typename T>
void expect_images(const std::string& layer, const char* op, const Tensor<T>& X, const ImageShape& in) {
  if (X.cols != in.size())  // the message is built only on a mismatch: a step allocates nothing
    throw ShapeError(layer + "." + op + ": X is " + X.shape() + " but the layer takes images " + in.str() + ", " +
                     std::to_string(in.size()) + " columns");
}
}  // namespace

// ---- MaxPool2d ----------------------------------------------------------------------------

template <typename T>
MaxPool2d<T>::MaxPool2d(std::string name, ImageShape in, int kernel, int stride)
    : Layer<T>(std::move(name)), in_(in), k_(kernel), s_(stride == 0 ? kernel : stride) {
  if (kernel > 16) throw std::invalid_argument(this->name() + ": a max-pooling kernel of at most 16");
  out_ = pooled(this->name(), in, k_, s_);
}

// y = the window's largest x; the scan keeps the first of equal maxima (a strict >).
template <typename T>
void MaxPool2d<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool /*training*/) {
  expect_images(this->name(), "forward", X, in_);
  rows_ = X.rows;
  Y.resize(X.rows, out_.size());
  argmax_.resize(static_cast<std::size_t>(X.rows) * out_.size());
  place_.resize(argmax_.size());
  if constexpr (std::is_same_v<T, float>) {  // the same scan, several windows at once (kernels.hpp)
    if (fast_max_pool2_takes(k_, s_)) {
      fast_max_pool2_forward(X.rows, in_.channels, in_.height, in_.width, X.data.data(), Y.data.data(),
                             argmax_.data(), place_.data());
      return;
    }
  }
  // One loop for every kernel size; with K = 2 (LeNet-5's pooling) the compiler knows the
  // window's size and writes its four comparisons out. K = 0: the layer's own k_.
  auto scan = [&](auto kernel) {
    constexpr int K = decltype(kernel)::value;
    const int k = K ? K : k_;
    std::size_t w = 0;  // window number, in the order of Y's entries
    for (int n = 0; n < X.rows; ++n) {
      const T* x = X.row(n);
      T* y = Y.row(n);
      for (int c = 0; c < in_.channels; ++c)
        for (int i = 0; i < out_.height; ++i)
          for (int j = 0; j < out_.width; ++j, ++w) {
            int best = in_.index(c, s_ * i, s_ * j), place = 0;
            T top = x[best];
            for (int u = 0; u < k; ++u) {
              const int row = in_.index(c, s_ * i + u, s_ * j);
              for (int v = 0; v < k; ++v) {
                // strictly larger: a tie keeps the earlier max (selects, not a branch, which the
                // data would make unpredictable)
                const bool larger = x[row + v] > top;
                top = larger ? x[row + v] : top;
                best = larger ? row + v : best;
                place = larger ? u * k + v : place;
              }
            }
            y[out_.index(c, i, j)] = top;
            argmax_[w] = best;
            place_[w] = static_cast<std::uint8_t>(place);
          }
    }
  };
  if (k_ == 2) scan(std::integral_constant<int, 2>{});
  else scan(std::integral_constant<int, 0>{});
}

// dx = dy at the window's (first) max, 0 elsewhere; summed over the windows that share an entry.
template <typename T>
void MaxPool2d<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
  if (dY.rows != rows_ || dY.cols != out_.size())  // the message only on a mismatch
    expect_shape((this->name() + ".backward").c_str(), "dY", dY, rows_, out_.size());
  if (!dX) return;
  dX->resize(rows_, in_.size());
  dX->zero();
  std::size_t w = 0;
  for (int n = 0; n < rows_; ++n)
    for (int q = 0; q < out_.size(); ++q, ++w) (*dX)(n, argmax_[w]) += dY(n, q);
}

template <typename T>
void MaxPool2d<T>::kink_pattern(std::vector<std::uint8_t>& bits) const {
  bits.insert(bits.end(), place_.begin(), place_.end());
}

// ---- AvgPool2d ----------------------------------------------------------------------------

template <typename T>
AvgPool2d<T>::AvgPool2d(std::string name, ImageShape in, int kernel, int stride)
    : Layer<T>(std::move(name)), in_(in), k_(kernel), s_(stride == 0 ? kernel : stride) {
  out_ = pooled(this->name(), in, k_, s_);
}

// y = (1 / k^2) sum of the window
template <typename T>
void AvgPool2d<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool /*training*/) {
  expect_images(this->name(), "forward", X, in_);
  rows_ = X.rows;
  Y.resize(X.rows, out_.size());
  const T scale = T(1) / static_cast<T>(k_ * k_);
  for (int n = 0; n < X.rows; ++n)
    for (int c = 0; c < in_.channels; ++c)
      for (int i = 0; i < out_.height; ++i)
        for (int j = 0; j < out_.width; ++j) {
          T sum = 0;
          for (int u = 0; u < k_; ++u)
            for (int v = 0; v < k_; ++v) sum += X(n, in_.index(c, s_ * i + u, s_ * j + v));
          Y(n, out_.index(c, i, j)) = sum * scale;
        }
}

// dx += dy / k^2 on every entry of the window
template <typename T>
void AvgPool2d<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
  if (dY.rows != rows_ || dY.cols != out_.size())  // the message only on a mismatch
    expect_shape((this->name() + ".backward").c_str(), "dY", dY, rows_, out_.size());
  if (!dX) return;
  dX->resize(rows_, in_.size());
  dX->zero();
  const T scale = T(1) / static_cast<T>(k_ * k_);
  for (int n = 0; n < rows_; ++n)
    for (int c = 0; c < in_.channels; ++c)
      for (int i = 0; i < out_.height; ++i)
        for (int j = 0; j < out_.width; ++j) {
          const T g = dY(n, out_.index(c, i, j)) * scale;
          for (int u = 0; u < k_; ++u)
            for (int v = 0; v < k_; ++v) (*dX)(n, in_.index(c, s_ * i + u, s_ * j + v)) += g;
        }
}

template class MaxPool2d<float>;
template class MaxPool2d<double>;
template class AvgPool2d<float>;
template class AvgPool2d<double>;

}  // namespace chainrule
