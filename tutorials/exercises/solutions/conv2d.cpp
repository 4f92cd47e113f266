// Exercise: the backward pass of a 2-D convolution (tutorials/22-convolution).
//   X (N, Cin*H*W)   W (Cin*k*k, Cout)   b (1, Cout)   Y (N, Cout*Ho*Wo)   images channel-major in each row
//   Y[n, o, i, j] = b[o] + sum_{c, u, v} X[n, c, s i - p + u, s j - p + v] W[(c, u, v), o]   (X = 0 outside)
// Grade it: tools/grade.sh conv2d
#include "chainrule/layers/image.hpp"
#include "exercises.hpp"

namespace exercises {
namespace {

using chainrule::ImageShape;

class Conv2d : public Layer<double> {
 public:
  Conv2d(ImageShape in, int out_channels, int k, int s, int p)
      : Layer<double>("conv"), in_(in), k_(k), s_(s), p_(p),
        out_{out_channels, chainrule::window_positions("conv", in.height, k, s, p),
             chainrule::window_positions("conv", in.width, k, s, p)},
        W(in.channels * k * k, out_channels), b(1, out_channels), dW(in.channels * k * k, out_channels),
        db(1, out_channels) {}
  const char* kind() const override { return "conv2d"; }
  std::vector<chainrule::Param<double>> params() override { return {{"conv.W", &W, &dW}, {"conv.b", &b, &db}}; }

  // The 6-deep loop that defines the layer (given).
  void forward(const Tensor<double>& X, Tensor<double>& Y, bool /*training*/) override {
    Y.resize(X.rows, out_.size());
    for (int n = 0; n < X.rows; ++n)
      for (int o = 0; o < out_.channels; ++o)
        for (int i = 0; i < out_.height; ++i)
          for (int j = 0; j < out_.width; ++j) {
            double sum = b(0, o);
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
  }

  // dY (N, Cout*Ho*Wo) -> dW (Cin*k*k, Cout) +=, db (1, Cout) +=, dX (N, Cin*H*W) =
  // Hint: walk the same loops as forward. Each term X[n, c, y, x] W[(c, u, v), o] of Y[n, o, i, j]
  // sends dY[n, o, i, j] X[n, c, y, x] to dW[(c, u, v), o] and dY[n, o, i, j] W[(c, u, v), o] to
  // dX[n, c, y, x]; b[o] is in every pixel of channel o. (dW: a correlation of X with dY; dX: the
  // full convolution of dY with the flipped kernel. A pixel under several windows collects from each.)
  void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
    const Tensor<double>& X = *X_;
    if (dX) {
      dX->resize(X.rows, X.cols);
      dX->zero();
    }
    for (int n = 0; n < X.rows; ++n)
      for (int o = 0; o < out_.channels; ++o)
        for (int i = 0; i < out_.height; ++i)
          for (int j = 0; j < out_.width; ++j) {
            const double g = dY(n, out_.index(o, i, j));
            db(0, o) += g;
            for (int c = 0; c < in_.channels; ++c)
              for (int u = 0; u < k_; ++u)
                for (int v = 0; v < k_; ++v) {
                  const int y = s_ * i - p_ + u, x = s_ * j - p_ + v;
                  if (y < 0 || y >= in_.height || x < 0 || x >= in_.width) continue;
                  dW((c * k_ + u) * k_ + v, o) += g * X(n, in_.index(c, y, x));
                  if (dX) (*dX)(n, in_.index(c, y, x)) += g * W((c * k_ + u) * k_ + v, o);
                }
          }
  }

 private:
  ImageShape in_;
  int k_, s_, p_;
  ImageShape out_;

 public:
  Tensor<double> W, b, dW, db;

 private:
  const Tensor<double>* X_ = nullptr;  // (N, Cin*H*W) the input forward saw
};

}  // namespace

std::unique_ptr<Layer<double>> make_conv2d(chainrule::ImageShape in, int out_channels, int kernel, int stride,
                                           int padding) {
  return std::make_unique<Conv2d>(in, out_channels, kernel, stride, padding);
}

}  // namespace exercises
