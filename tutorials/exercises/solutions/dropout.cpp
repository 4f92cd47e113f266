// Exercise: the backward pass of inverted dropout, in training mode (tutorials/12-dropout-batchnorm).
//   X (N, H)   Y (N, H)   keep = 1 - rate
//   M_ij = [u_ij < keep] / keep,  Y = X * M   (so E[Y] = X)
// The mask is drawn on the first forward and then frozen, so every probe of the checker
// differentiates the same function.
// Grade it: tools/grade.sh dropout
#include "chainrule/rng.hpp"
#include "exercises.hpp"

namespace exercises {
namespace {

class Dropout : public Layer<double> {
 public:
  Dropout(double rate, std::uint64_t seed) : Layer<double>("dropout"), rate_(rate), rng_(seed) {}
  const char* kind() const override { return "dropout"; }

  // Training mode, with a frozen mask (given).
  void forward(const Tensor<double>& X, Tensor<double>& Y, bool /*training*/) override {
    const double keep = 1.0 - rate_;
    if (!mask_.same_shape(X)) {  // draw the mask once
      mask_.resize(X.rows, X.cols);
      for (auto& m : mask_.data) m = rng_.uniform() < keep ? 1.0 / keep : 0.0;
    }
    Y.resize(X.rows, X.cols);
    for (std::size_t k = 0; k < X.size(); ++k) Y.data[k] = X.data[k] * mask_.data[k];
  }

  // dY (N, H) -> dX (N, H)
  // Hint: y = x * m with m a constant (0 or 1/keep), so dx = dy * m: the same mask, the same scale.
  void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
    dX->resize(dY.rows, dY.cols);
    for (std::size_t k = 0; k < dY.size(); ++k) dX->data[k] = dY.data[k] * mask_.data[k];
  }

 private:
  double rate_;
  chainrule::Rng rng_;
  Tensor<double> mask_;  // (N, H) 0 or 1/keep
};

}  // namespace

std::unique_ptr<Layer<double>> make_dropout(double rate, std::uint64_t seed) {
  return std::make_unique<Dropout>(rate, seed);
}

}  // namespace exercises
