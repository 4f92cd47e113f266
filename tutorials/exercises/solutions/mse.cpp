// Exercise: mean squared error, over every entry (tutorials/03-loss).
//   Yhat (N, C) predictions   Y (N, C) targets
//   L = 1/(N C) sum_ij (Yhat_ij - Y_ij)^2
// Grade it: tools/grade.sh mse
#include "exercises.hpp"

namespace exercises {
namespace {

class MeanSquaredError : public Loss {
 public:
  explicit MeanSquaredError(const Tensor<double>& targets) : Y_(targets) {}

  // Keeps Yhat for backward (given).
  double forward(const Tensor<double>& Yhat) override {
    Yhat_ = Yhat;
    double total = 0;
    for (std::size_t k = 0; k < Yhat.size(); ++k) total += (Yhat.data[k] - Y_.data[k]) * (Yhat.data[k] - Y_.data[k]);
    return total / static_cast<double>(Yhat.size());
  }

  // -> dYhat (N, C) = dL/dYhat
  // Hint: d/du of u^2 is 2u, and L is the mean over all N C entries.
  void backward(Tensor<double>& dYhat) const override {
    const double scale = 2.0 / static_cast<double>(Yhat_.size());  // 2 / (N C)
    dYhat.resize(Yhat_.rows, Yhat_.cols);
    for (std::size_t k = 0; k < Yhat_.size(); ++k) dYhat.data[k] = scale * (Yhat_.data[k] - Y_.data[k]);
  }

 private:
  Tensor<double> Y_;     // (N, C) the targets
  Tensor<double> Yhat_;  // (N, C) from the last forward
};

}  // namespace

std::unique_ptr<Loss> make_mean_squared_error(const Tensor<double>& targets) {
  return std::make_unique<MeanSquaredError>(targets);
}

}  // namespace exercises
