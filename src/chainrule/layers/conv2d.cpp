#include "chainrule/layers/conv2d.hpp"

#include <algorithm>
#include <type_traits>

#include "chainrule/kernels.hpp"

namespace chainrule {

template <typename T>
Conv2d<T>::Conv2d(std::string name, ImageShape in, int out_channels, int kernel, int stride, int padding)
    : Layer<T>(std::move(name)), in_(in), k_(kernel), s_(stride), p_(padding) {
  if (in.channels < 1 || out_channels < 1)
    throw std::invalid_argument(this->name() + ": needs at least one channel in and out");
  out_ = {out_channels, window_positions(this->name(), in.height, kernel, stride, padding),
          window_positions(this->name(), in.width, kernel, stride, padding)};
  W.resize(fan_in(), out_channels);
  dW.resize(fan_in(), out_channels);
  b.resize(1, out_channels);
  db.resize(1, out_channels);
}

namespace {
template <typename T>
void expect_images(const std::string& layer, const char* op, const Tensor<T>& X, const ImageShape& in) {
  if (X.cols != in.size())  // the message is built only on a mismatch: a step allocates nothing
    throw ShapeError(layer + "." + op + ": X is " + X.shape() + " but the layer takes images " + in.str() + ", " +
                     std::to_string(in.size()) + " columns");
}
}  // namespace

// ---- The definition: plain loops ------------------------------------------------------

// For each image, the 6-deep loop: every output (o, i, j) is b[o] plus the dot product of
// filter o with the k x k x Cin patch whose top-left corner is (s i - p, s j - p).
template <typename T>
void Conv2d<T>::forward_reference(const Tensor<T>& X, Tensor<T>& Y) {
  expect_images(this->name(), "forward_reference", X, in_);
  const int N = X.rows;
  Y.resize(N, out_.size());
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < out_.channels; ++o)
      for (int i = 0; i < out_.height; ++i)
        for (int j = 0; j < out_.width; ++j) {
          T sum = b.data[o];
          for (int c = 0; c < in_.channels; ++c)
            for (int u = 0; u < k_; ++u)
              for (int v = 0; v < k_; ++v) {
                const int y = s_ * i - p_ + u, x = s_ * j - p_ + v;
                if (y < 0 || y >= in_.height || x < 0 || x >= in_.width) continue;  // zero padding
                sum += X(n, in_.index(c, y, x)) * W((c * k_ + u) * k_ + v, o);
              }
          Y(n, out_.index(o, i, j)) = sum;
        }
  X_ = &X;
  direct_ = false;
  cols_.resize(0, 0);  // backward (the im2col path) needs forward's patches, not these
}

// Each gradient entry written as its own sum (the chain rule through the forward sum):
//
// dW is a correlation of the input with dY: slide dY (its pixels s apart) over the padded input
//   dW[(c, u, v), o] += sum_n sum_{i, j} X[n, c, s i - p + u, s j - p + v] dY[n, o, i, j]
// db: b[o] was added to every pixel of channel o
//   db[o] += sum_n sum_{i, j} dY[n, o, i, j]
// dX is a full convolution of dY with the flipped kernel: pixel (y, x) collects from every
// output whose window covered it, weighted by the kernel entry that touched it,
//   dX[n, c, y, x] = sum_o sum_{u, v} dY[n, o, (y + p - u) / s, (x + p - v) / s] W[(c, u, v), o]
// over the (u, v) where s divides y + p - u and x + p - v and the quotients are output pixels.
// For s = 1 this is dY padded by k - 1 - p, correlated with the kernel turned by 180 degrees.
template <typename T>
void Conv2d<T>::backward_reference(const Tensor<T>& dY, Tensor<T>* dX) {
  const Tensor<T>& X = *X_;
  const int N = X.rows;
  if (dY.rows != N || dY.cols != out_.size())  // the message only on a mismatch
    expect_shape((this->name() + ".backward_reference").c_str(), "dY", dY, N, out_.size());
  auto inside = [&](int d, int& q, int n_out) {  // q = d / s when d is a multiple of s inside 0..n_out-1
    if (d < 0 || d % s_ != 0) return false;
    q = d / s_;
    return q < n_out;
  };
  for (int o = 0; o < out_.channels; ++o) {
    for (int c = 0; c < in_.channels; ++c)
      for (int u = 0; u < k_; ++u)
        for (int v = 0; v < k_; ++v) {
          T sum = 0;
          for (int n = 0; n < N; ++n)
            for (int i = 0; i < out_.height; ++i)
              for (int j = 0; j < out_.width; ++j) {
                const int y = s_ * i - p_ + u, x = s_ * j - p_ + v;
                if (y < 0 || y >= in_.height || x < 0 || x >= in_.width) continue;
                sum += X(n, in_.index(c, y, x)) * dY(n, out_.index(o, i, j));
              }
          dW((c * k_ + u) * k_ + v, o) += sum;
        }
    T sum = 0;
    for (int n = 0; n < N; ++n)
      for (int q = 0; q < out_.pixels(); ++q) sum += dY(n, o * out_.pixels() + q);
    db.data[o] += sum;
  }
  if (!dX) return;
  dX->resize(N, in_.size());
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < in_.channels; ++c)
      for (int y = 0; y < in_.height; ++y)
        for (int x = 0; x < in_.width; ++x) {
          T sum = 0;
          for (int o = 0; o < out_.channels; ++o)
            for (int u = 0; u < k_; ++u)
              for (int v = 0; v < k_; ++v) {
                int i, j;
                if (inside(y + p_ - u, i, out_.height) && inside(x + p_ - v, j, out_.width))
                  sum += dY(n, out_.index(o, i, j)) * W((c * k_ + u) * k_ + v, o);
              }
          (*dX)(n, in_.index(c, y, x)) = sum;
        }
}

// ---- im2col: the same sums as matrix products ----------------------------------------

namespace {
// One patch row: the k x k x Cin window whose top-left corner is (y0, x0) = (s i - p, s j - p)
// of the image `img` (one row of X, channel-major), in the order (c, u, v), 0 over the padding.
// Each (c, u) is a run of k pixels of one image row: copied straight when the window lies
// inside the image across (x0 .. x0 + k - 1), entry by entry with the padding test otherwise.
template <typename T>
void copy_patch(const T* img, const ImageShape& in, int k, int y0, int x0, T* patch) {
  const bool inside_x = x0 >= 0 && x0 + k <= in.width;
  for (int c = 0; c < in.channels; ++c)
    for (int u = 0; u < k; ++u, patch += k) {
      const int y = y0 + u;
      if (y < 0 || y >= in.height) {  // the whole run is padding
        for (int v = 0; v < k; ++v) patch[v] = T(0);
        continue;
      }
      const T* src = img + in.index(c, y, 0);
      if (inside_x)
        for (int v = 0; v < k; ++v) patch[v] = src[x0 + v];
      else
        for (int v = 0; v < k; ++v) patch[v] = x0 + v < 0 || x0 + v >= in.width ? T(0) : src[x0 + v];
    }
}

// The adjoint of copy_patch: adds the patch's entries onto the pixels they were copied from
// (padding entries are dropped). Each pixel of one window appears once in it.
template <typename T>
void add_patch(const T* patch, const ImageShape& in, int k, int y0, int x0, T* img) {
  const bool inside_x = x0 >= 0 && x0 + k <= in.width;
  for (int c = 0; c < in.channels; ++c)
    for (int u = 0; u < k; ++u, patch += k) {
      const int y = y0 + u;
      if (y < 0 || y >= in.height) continue;
      T* dst = img + in.index(c, y, 0);
      if (inside_x)
        for (int v = 0; v < k; ++v) dst[x0 + v] += patch[v];
      else
        for (int v = 0; v < k; ++v)
          if (x0 + v >= 0 && x0 + v < in.width) dst[x0 + v] += patch[v];
    }
}

// im2col of the images first..last-1 of X only (cols gets (last - first)*Ho*Wo rows).
template <typename T>
void im2col_images(const Tensor<T>& X, int first, int last, const ImageShape& in, int k, int s, int p, Tensor<T>& cols) {
  const int Ho = window_positions("im2col", in.height, k, s, p), Wo = window_positions("im2col", in.width, k, s, p);
  cols.resize((last - first) * Ho * Wo, in.channels * k * k);
  for (int n = first; n < last; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j) copy_patch(X.row(n), in, k, s * i - p, s * j - p, cols.row(((n - first) * Ho + i) * Wo + j));
}
}  // namespace

template <typename T>
void im2col(const Tensor<T>& X, const ImageShape& in, int k, int s, int p, Tensor<T>& cols) {
  im2col_images(X, 0, X.rows, in, k, s, p, cols);
}

// The windows are visited in the order (n, i, j), so every pixel collects its terms in that
// order, starting from 0.
template <typename T>
void col2im(const Tensor<T>& dcols, const ImageShape& in, int k, int s, int p, Tensor<T>& dX) {
  const int Ho = window_positions("col2im", in.height, k, s, p), Wo = window_positions("col2im", in.width, k, s, p);
  const int N = dcols.rows / (Ho * Wo);
  expect_shape("col2im", "dcols", dcols, N * Ho * Wo, in.channels * k * k);
  dX.resize(N, in.size());
  dX.zero();
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j) add_patch(dcols.row((n * Ho + i) * Wo + j), in, k, s * i - p, s * j - p, dX.row(n));
}

// Y = the dense layer on the patches: Yp (N*Ho*Wo, Cout) = cols W + b, then from one pixel
// per row to one image per row (channel-major).
// Outside training nothing needs the patches afterwards, so a large batch (an evaluation of
// 1000 images) is taken kEvalImages images at a time: cols stays the size of a training batch
// instead of growing to 1000 x 784 x 25 floats for LeNet-5's first layer. Each image's
// products are the same either way.
template <typename T>
void Conv2d<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool training) {
  constexpr int kEvalImages = 128;
  expect_images(this->name(), "forward", X, in_);
  const int N = X.rows, P = out_.pixels();
  direct_ = false;
  if constexpr (std::is_same_v<T, float>) {  // the same sums without the patches (kernels.hpp)
    if (fast_conv_takes(geometry(), s_)) {
      Y.resize(N, out_.size());
      fast_conv_forward(geometry(), N, X.data.data(), W.data.data(), b.data.data(), Y.data.data(), bordered_);
      X_ = &X;
      direct_ = true;
      return;
    }
  }
  const int step = training || N <= kEvalImages ? N : kEvalImages;
  Y.resize(N, out_.size());
  for (int first = 0; first < N || first == 0; first += step) {
    const int last = std::min(N, first + step);
    im2col_images(X, first, last, in_, k_, s_, p_, cols_);  // cols (n*P, Cin*k*k) for these n images
    matmul(cols_, W, Yp_);  // Yp (n*P, Cout) = cols (n*P, Cin*k*k) W (Cin*k*k, Cout)
    for (int n = first; n < last; ++n)
      for (int q = 0; q < P; ++q) {
        const T* yp = Yp_.row((n - first) * P + q);
        for (int o = 0; o < out_.channels; ++o) Y(n, o * P + q) = yp[o] + b.data[o];
      }
    if (step == 0) break;  // N = 0
  }
  X_ = &X;
}

// Dense's backward on the patches (the sums of backward_reference, grouped as products):
//   dW += cols^T dYp     (Cin*k*k, Cout) = (N*P, Cin*k*k)^T (N*P, Cout)  the correlation of X with dY
//   db += colsum(dYp)    (1, Cout)
//   dX  = col2im(dYp W^T)  dcols (N*P, Cin*k*k) = (N*P, Cout) (Cin*k*k, Cout)^T, each patch's
//                          gradient added back onto its pixels: the full convolution with the flipped kernel
template <typename T>
void Conv2d<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
  const int N = X_->rows, P = out_.pixels();
  if constexpr (std::is_same_v<T, float>) {
    if (direct_) {
      if (dY.rows != N || dY.cols != out_.size())  // the message only on a mismatch
        expect_shape((this->name() + ".backward").c_str(), "dY", dY, N, out_.size());
      if (dX) dX->resize(N, in_.size());
      fast_conv_backward(geometry(), N, bordered_, dY.data.data(), W.data.data(), dW.data.data(), db.data.data(),
                         dX ? dX->data.data() : nullptr);
      return;
    }
  }
  if (dY.rows != N || dY.cols != out_.size() || cols_.rows != N * P || cols_.cols != fan_in()) {  // the message only on a mismatch
    const std::string op = this->name() + ".backward";
    expect_shape(op.c_str(), "dY", dY, N, out_.size());
    expect_shape(op.c_str(), "the patches of forward (a training-mode forward of this batch)", cols_, N * P, fan_in());
  }
  dYp_.resize(N * P, out_.channels);
  for (int n = 0; n < N; ++n)
    for (int q = 0; q < P; ++q) {
      T* g = dYp_.row(n * P + q);
      for (int o = 0; o < out_.channels; ++o) g[o] = dY(n, o * P + q);
    }
  matmul_tn(cols_, dYp_, dW, /*accumulate=*/true);  // dW += cols^T dYp
  for (int r = 0; r < dYp_.rows; ++r) {                // db += sum over every pixel of every image
    const T* g = dYp_.row(r);
    for (int o = 0; o < out_.channels; ++o) db.data[o] += g[o];
  }
  if (!dX) return;
  matmul_nt(dYp_, W, dcols_);               // dcols = dYp W^T
  col2im(dcols_, in_, k_, s_, p_, *dX);     // dX = the patches' gradients added back onto their pixels
}

template <typename T>
std::vector<Param<T>> Conv2d<T>::params() {
  return {{this->name() + ".W", &W, &dW}, {this->name() + ".b", &b, &db}};
}

template class Conv2d<float>;
template class Conv2d<double>;
template void im2col(const Tensor<float>&, const ImageShape&, int, int, int, Tensor<float>&);
template void im2col(const Tensor<double>&, const ImageShape&, int, int, int, Tensor<double>&);
template void col2im(const Tensor<float>&, const ImageShape&, int, int, int, Tensor<float>&);
template void col2im(const Tensor<double>&, const ImageShape&, int, int, int, Tensor<double>&);

}  // namespace chainrule
