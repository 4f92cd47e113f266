// Exercise: the backward pass of ReLU.   Y = max(0, X), elementwise.   X (N, H)   Y (N, H)
// Grade it: tools/grade.sh relu
#include "exercises.hpp"

namespace exercises {
namespace {

class ReLU : public Layer<double> {
 public:
  ReLU() : Layer<double>("relu") {}
  const char* kind() const override { return "relu"; }

  // y = x if x > 0, else 0 (given).
  void forward(const Tensor<double>& X, Tensor<double>& Y, bool /*training*/) override {
    Y.resize(X.rows, X.cols);
    for (std::size_t k = 0; k < X.size(); ++k) Y.data[k] = X.data[k] > 0 ? X.data[k] : 0.0;
    X_ = &X;
  }

  // dY (N, H) -> dX (N, H)
  // Hint: the derivative of max(0, x) is 1 where x > 0 and 0 elsewhere (take ReLU'(0) = 0).
  void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
    const Tensor<double>& X = *X_;
    dX->resize(X.rows, X.cols);
    for (std::size_t k = 0; k < X.size(); ++k) dX->data[k] = X.data[k] > 0 ? dY.data[k] : 0.0;
  }

  // For the checker: which side of the kink each input is on (given).
  void kink_pattern(std::vector<std::uint8_t>& bits) const override {
    for (double x : X_->data) bits.push_back(x > 0 ? 1 : 0);
  }

 private:
  const Tensor<double>* X_ = nullptr;  // (N, H) the input
};

}  // namespace

std::unique_ptr<Layer<double>> make_relu() { return std::make_unique<ReLU>(); }

}  // namespace exercises
