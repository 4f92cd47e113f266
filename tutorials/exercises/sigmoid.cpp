// Exercise: the backward pass of the logistic sigmoid (the library has no sigmoid: this one is yours).
//   Y = sigma(X) = 1 / (1 + exp(-X)), elementwise.   X (N, H)   Y (N, H)
// Grade it: tools/grade.sh sigmoid
#include <cmath>

#include "exercises.hpp"

namespace exercises {
namespace {

class Sigmoid : public Layer<double> {
 public:
  Sigmoid() : Layer<double>("sigmoid") {}
  const char* kind() const override { return "sigmoid"; }

  // y = 1 / (1 + exp(-x)) (given). It keeps its output: the derivative needs only y.
  void forward(const Tensor<double>& X, Tensor<double>& Y, bool /*training*/) override {
    Y.resize(X.rows, X.cols);
    for (std::size_t k = 0; k < X.size(); ++k) Y.data[k] = 1.0 / (1.0 + std::exp(-X.data[k]));
    Y_ = &Y;
  }

  // dY (N, H) -> dX (N, H)
  // Hint: sigma'(x) = sigma(x) (1 - sigma(x)), and sigma(x) is the y forward kept.
  void backward([[maybe_unused]] const Tensor<double>& dY, [[maybe_unused]] Tensor<double>* dX) override {
    // TODO: resize *dX to Y_'s shape, then dx = dy * y * (1 - y).
  }

 private:
  const Tensor<double>* Y_ = nullptr;  // (N, H) the output
};

}  // namespace

std::unique_ptr<Layer<double>> make_sigmoid() { return std::make_unique<Sigmoid>(); }

}  // namespace exercises
