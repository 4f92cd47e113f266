// Pooling: each k x k window of each channel becomes one number (kernel k, stride s = k by
// default, no padding). Rows are images, channel-major (layers/image.hpp).
//   X (N, C*H*W)   Y (N, C*Ho*Wo)   Ho = (H - k) / s + 1, Wo = (W - k) / s + 1   no parameters
//
// MaxPool2d:  Y[n, c, i, j] = max_{u, v} X[n, c, s i + u, s j + v]
//   dX gets each dY at its window's max, 0 elsewhere (the max is locally the identity in that
//   entry and constant in the others). Ties: the FIRST max in scan order (u, then v: row by row
//   through the window) takes all of dY and the other tied entries get nothing, as in PyTorch.
//   At a tie max is not differentiable; kink_pattern reports each window's argmax, so the
//   gradient checker skips the probes that move it.
// AvgPool2d (LeNet-5's subsampling):  Y[n, c, i, j] = mean_{u, v} X[n, c, s i + u, s j + v]
//   dX[window] += dY / k^2: each entry of the window counted 1/k^2 in the mean.
// When windows overlap (s < k) an entry collects from every window it is in.
// A lesson on pooling is planned (issue 19).
#pragma once

#include "chainrule/layers/image.hpp"
#include "chainrule/layers/layer.hpp"

namespace chainrule {

template <typename T>
class MaxPool2d : public Layer<T> {
 public:
  MaxPool2d(std::string name, ImageShape in, int kernel, int stride = 0);  // stride 0: = kernel

  const char* kind() const override { return "maxpool2d"; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;
  // One byte per window: the argmax's place in its window, u * k + v (kernel at most 16).
  void kink_pattern(std::vector<std::uint8_t>& bits) const override;

  const ImageShape& in_shape() const { return in_; }
  const ImageShape& out_shape() const { return out_; }
  int kernel() const { return k_; }
  int stride() const { return s_; }

 protected:
  ImageShape in_, out_;
  int k_, s_;
  int rows_ = 0;                    // N of the last forward
  std::vector<int> argmax_;         // (N * C*Ho*Wo) per window, its max's column in the input row
  std::vector<std::uint8_t> place_; // (N * C*Ho*Wo) per window, u * k + v of that max
};

template <typename T>
class AvgPool2d : public Layer<T> {
 public:
  AvgPool2d(std::string name, ImageShape in, int kernel, int stride = 0);  // stride 0: = kernel

  const char* kind() const override { return "avgpool2d"; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;

  const ImageShape& in_shape() const { return in_; }
  const ImageShape& out_shape() const { return out_; }
  int kernel() const { return k_; }
  int stride() const { return s_; }

 protected:
  ImageShape in_, out_;
  int k_, s_;
  int rows_ = 0;  // N of the last forward
};

}  // namespace chainrule
