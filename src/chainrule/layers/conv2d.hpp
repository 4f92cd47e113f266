// Conv2d: a 2-D convolution over a batch of images (a cross-correlation, as in every framework).
//   X (N, Cin*H*W)   W (Cin*k*k, Cout)   b (1, Cout)   Y (N, Cout*Ho*Wo)
//   Ho = (H + 2p - k) / s + 1, Wo = (W + 2p - k) / s + 1      (kernel k, stride s, zero padding p)
// Rows are images, channel-major (layers/image.hpp). With X zero outside the image:
//   Y[n, o, i, j] = b[o] + sum_{c, u, v} X[n, c, s i - p + u, s j - p + v] W[(c, u, v), o]
//
// W's column o is filter o, row (c, u, v) = (c * k + u) * k + v, the same layout as Dense's
// W (D, H), whose column j is unit j's weights: a convolution IS a dense layer applied to every
// k x k patch, so the im2col path below is Dense's three products on the patches, argument for
// argument (forward cols W, dW += cols^T dY, dcols = dY W^T).
//
// Two implementations, held equal by tests/unit/layers/test_conv2d.cpp:
//   forward_reference / backward_reference   the plain loops that define the layer
//   forward / backward                        im2col, then kernels.hpp's products (what trains)
// On the Fast path a float layer with stride 1 runs forward and backward without the patch
// matrix (kernels.hpp, fast_conv_forward): the same sums in the same order, the same bits,
// about 3 times faster for LeNet-5 (docs/performance.md, "Convolution without the patch matrix").
// Initialise W with he_normal(conv.W, conv.fan_in(), rng) (init.hpp), as make_mlp does for Dense.
// Derivation: the comments above backward_reference (conv2d.cpp); a lesson is planned (issue 19).
#pragma once

#include "chainrule/layers/image.hpp"
#include "chainrule/layers/layer.hpp"
#include "chainrule/kernels.hpp"

namespace chainrule {

template <typename T>
class Conv2d : public Layer<T> {
 public:
  Conv2d(std::string name, ImageShape in, int out_channels, int kernel, int stride = 1, int padding = 0);

  const char* kind() const override { return "conv2d"; }

  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override;
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override;
  std::vector<Param<T>> params() override;

  // The definition, loop by loop. Same contract as forward and backward (backward_reference
  // adds to dW and db); backward_reference must follow forward_reference.
  void forward_reference(const Tensor<T>& X, Tensor<T>& Y);
  void backward_reference(const Tensor<T>& dY, Tensor<T>* dX);

  const ImageShape& in_shape() const { return in_; }
  const ImageShape& out_shape() const { return out_; }
  int kernel() const { return k_; }
  int stride() const { return s_; }
  int padding() const { return p_; }
  int fan_in() const { return in_.channels * k_ * k_; }  // the inputs one output sees: He's fan_in

  Tensor<T> W;   // (Cin*k*k, Cout) column o is filter o
  Tensor<T> b;   // (1, Cout) one bias per output channel
  Tensor<T> dW;  // (Cin*k*k, Cout) dL/dW, accumulated by backward
  Tensor<T> db;  // (1, Cout) dL/db, accumulated by backward

 protected:
  ImageShape in_, out_;
  int k_, s_, p_;
  const Tensor<T>* X_ = nullptr;  // (N, Cin*H*W) the input forward saw
  Tensor<T> cols_;                // (N*Ho*Wo, Cin*k*k) its patches, one per output pixel: dW needs them
  Tensor<T> Yp_, dYp_, dcols_;    // scratch: Y and dY one pixel per row (N*Ho*Wo, Cout); dcols like cols_
  // The direct route (kernels.hpp, fast_conv_forward): float on the Fast path, stride 1.
  bool direct_ = false;           // forward took it, so backward does
  Tensor<float> bordered_;        // its zero-bordered copy of X
  ConvGeometry geometry() const { return {in_.channels, in_.height, in_.width, out_.channels, k_, p_}; }
};

// im2col: the patch under every output pixel, one per row.
//   cols (N*Ho*Wo, Cin*k*k):  cols((n * Ho + i) * Wo + j, (c * k + u) * k + v) = X[n, c, s i - p + u, s j - p + v]
// (0 where the window hangs over the padding). Resizes cols.
template <typename T>
void im2col(const Tensor<T>& X, const ImageShape& in, int k, int s, int p, Tensor<T>& cols);

// col2im: its adjoint. Adds every entry of dcols back onto the pixel it was copied from
// (a pixel under several windows collects from each); padding entries are dropped.
// Resizes dX to (N, Cin*H*W) and overwrites it.
template <typename T>
void col2im(const Tensor<T>& dcols, const ImageShape& in, int k, int s, int p, Tensor<T>& dX);

}  // namespace chainrule
