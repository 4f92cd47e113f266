// Exercise: the backward pass of BatchNorm in training mode (tutorials/12-dropout-batchnorm).
//   X (N, H)   Y (N, H)   gamma, beta (1, H)
//   mu = mean_i x_i,  var = mean_i (x_i - mu)^2    (per column, over the batch)
//   xhat = (x - mu) / sqrt(var + eps),  y = gamma * xhat + beta
// Grade it: tools/grade.sh batchnorm
#include <cmath>

#include "exercises.hpp"

namespace exercises {
namespace {

class BatchNorm : public Layer<double> {
 public:
  explicit BatchNorm(int features)
      : Layer<double>("batchnorm"), gamma(1, features, 1.0), beta(1, features), dgamma(1, features), dbeta(1, features) {}
  const char* kind() const override { return "batchnorm"; }
  std::vector<chainrule::Param<double>> params() override {
    return {{"batchnorm.gamma", &gamma, &dgamma}, {"batchnorm.beta", &beta, &dbeta}};
  }

  // Training mode: the batch's own mean and variance (given; the running statistics are left out).
  void forward(const Tensor<double>& X, Tensor<double>& Y, bool /*training*/) override {
    const int N = X.rows, H = X.cols;
    Y.resize(N, H);
    xhat_.resize(N, H);
    invstd_.resize(1, H);
    for (int j = 0; j < H; ++j) {
      double mu = 0, var = 0;
      for (int i = 0; i < N; ++i) mu += X(i, j);
      mu /= N;
      for (int i = 0; i < N; ++i) var += (X(i, j) - mu) * (X(i, j) - mu);
      var /= N;
      invstd_(0, j) = 1.0 / std::sqrt(var + eps_);
      for (int i = 0; i < N; ++i) {
        xhat_(i, j) = (X(i, j) - mu) * invstd_(0, j);
        Y(i, j) = gamma(0, j) * xhat_(i, j) + beta(0, j);
      }
    }
  }

  // dY (N, H) -> dgamma (1, H) +=, dbeta (1, H) +=, dX (N, H) =
  // Hint: dbeta = sum_i dy_i, dgamma = sum_i dy_i xhat_i, and with dxhat = dy * gamma
  //   dx_i = invstd / N * (N dxhat_i - sum_k dxhat_k - xhat_i sum_k dxhat_k xhat_k)
  // The middle term is there because mu depends on every x_i, the last because var does.
  void backward([[maybe_unused]] const Tensor<double>& dY, [[maybe_unused]] Tensor<double>* dX) override {
    // TODO: resize *dX to dY's shape; per column j, add into dbeta and dgamma (+=),
    //       then write dX with the formula above (xhat_ and invstd_ are kept by forward).
  }

  Tensor<double> gamma, beta, dgamma, dbeta;

 private:
  double eps_ = 1e-5;
  Tensor<double> xhat_;    // (N, H) the normalised input
  Tensor<double> invstd_;  // (1, H) 1 / sqrt(var + eps)
};

}  // namespace

std::unique_ptr<Layer<double>> make_batchnorm(int features) { return std::make_unique<BatchNorm>(features); }

}  // namespace exercises
