// Exercise: the backward pass of max pooling (tutorials/22-convolution, layers/pool.hpp).
//   X (N, C*H*W)   Y (N, C*Ho*Wo)   Y[n, c, i, j] = max_{u, v} X[n, c, s i + u, s j + v]   kernel k, stride s
// Grade it: tools/grade.sh maxpool2d
#include <limits>

#include "chainrule/layers/image.hpp"
#include "exercises.hpp"

namespace exercises {
namespace {

using chainrule::ImageShape;

class MaxPool2d : public Layer<double> {
 public:
  MaxPool2d(ImageShape in, int k, int s)
      : Layer<double>("maxpool"), in_(in), k_(k), s_(s),
        out_{in.channels, chainrule::window_positions("maxpool", in.height, k, s, 0),
             chainrule::window_positions("maxpool", in.width, k, s, 0)} {}
  const char* kind() const override { return "maxpool2d"; }

  // Each window's max (given). argmax_ keeps, per output entry, the input column of its max:
  // the FIRST max in scan order (row by row through the window) when several entries tie.
  void forward(const Tensor<double>& X, Tensor<double>& Y, bool /*training*/) override {
    Y.resize(X.rows, out_.size());
    argmax_.assign(Y.data.size(), 0);
    place_.assign(Y.data.size(), 0);
    for (int n = 0; n < X.rows; ++n)
      for (int c = 0; c < in_.channels; ++c)
        for (int i = 0; i < out_.height; ++i)
          for (int j = 0; j < out_.width; ++j) {
            double best = -std::numeric_limits<double>::infinity();
            int where = 0, place = 0;
            for (int u = 0; u < k_; ++u)
              for (int v = 0; v < k_; ++v) {
                const int col = in_.index(c, s_ * i + u, s_ * j + v);
                if (X(n, col) > best) {
                  best = X(n, col);
                  where = col;
                  place = u * k_ + v;
                }
              }
            const std::size_t e = static_cast<std::size_t>(n) * out_.size() + out_.index(c, i, j);
            Y.data[e] = best;
            argmax_[e] = where;
            place_[e] = static_cast<std::uint8_t>(place);
          }
    rows_ = X.rows;
  }

  // dY (N, C*Ho*Wo) -> dX (N, C*H*W) =
  // Hint: the max is the identity in its own entry and constant in the others. Start from dX = 0
  // and send each dY entry to the input entry argmax_ names; when windows overlap (s < k) an
  // input entry can be the max of several windows and collects from each.
  void backward([[maybe_unused]] const Tensor<double>& dY, [[maybe_unused]] Tensor<double>* dX) override {
    // TODO: when dX is not null, resize it to (rows_, in_.size()), zero it, and add each dY entry
    //       onto the input entry argmax_ names (dY.data[e] goes to column argmax_[e] of row e / out_.size()).
  }

  // For the gradient checker: each window's argmax (given). A probe that moves one crossed a kink.
  void kink_pattern(std::vector<std::uint8_t>& bits) const override { bits.insert(bits.end(), place_.begin(), place_.end()); }

 private:
  ImageShape in_;
  int k_, s_;
  ImageShape out_;
  int rows_ = 0;
  std::vector<int> argmax_;
  std::vector<std::uint8_t> place_;
};

}  // namespace

std::unique_ptr<Layer<double>> make_maxpool2d(chainrule::ImageShape in, int kernel, int stride) {
  return std::make_unique<MaxPool2d>(in, kernel, stride);
}

}  // namespace exercises
