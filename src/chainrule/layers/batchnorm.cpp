#include "chainrule/layers/batchnorm.hpp"

#include <cmath>


namespace chainrule {

template <typename T>
BatchNorm1d<T>::BatchNorm1d(std::string name, int features, double momentum, double eps)
    : Layer<T>(std::move(name)),
      gamma(1, features, T(1)),
      beta(1, features),
      dgamma(1, features),
      dbeta(1, features),
      running_mean(1, features),
      running_var(1, features, T(1)),
      momentum_(momentum),
      eps_(eps) {}

template <typename T>
void BatchNorm1d<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool training) {
  const int N = X.rows, H = X.cols;
  // The message (a string longer than the small-string buffer) is built only on a mismatch,
  // so that a training step allocates nothing.
  if (X.cols != gamma.cols) expect_shape((this->name() + ".forward").c_str(), "X", X, -1, gamma.cols);
  training_ = training;
  Y.resize(N, H);
  xhat_.resize(N, H);
  invstd_.resize(1, H);
  for (int j = 0; j < H; ++j) {
    T mu, var;
    if (training) {
      if (N < 2) throw ShapeError(this->name() + ".forward: batch statistics need at least 2 samples, got " + std::to_string(N));
      mu = 0;
      for (int i = 0; i < N; ++i) mu += X(i, j);
      mu /= T(N);
      var = 0;
      for (int i = 0; i < N; ++i) var += (X(i, j) - mu) * (X(i, j) - mu);
      var /= T(N);
      const T m = static_cast<T>(momentum_);
      running_mean.data[j] += m * (mu - running_mean.data[j]);
      running_var.data[j] += m * (var * T(N) / T(N - 1) - running_var.data[j]);
    } else {
      mu = running_mean.data[j];
      var = running_var.data[j];
    }
    const T invstd = T(1) / std::sqrt(var + static_cast<T>(eps_));
    invstd_.data[j] = invstd;
    for (int i = 0; i < N; ++i) {
      xhat_(i, j) = (X(i, j) - mu) * invstd;
      Y(i, j) = gamma.data[j] * xhat_(i, j) + beta.data[j];
    }
  }
}

// dbeta  += sum_i dy_i
// dgamma += sum_i dy_i * xhat_i
// dxhat   = dy * gamma
// dx_i    = invstd / N * (N dxhat_i - sum_k dxhat_k - xhat_i sum_k dxhat_k xhat_k)
// The middle term comes from mu depending on every x_i, the last from var doing so.
// At inference mu and var are constants, so dx = dxhat * invstd.
template <typename T>
void BatchNorm1d<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
  if (!dY.same_shape(xhat_)) expect_same_shape((this->name() + ".backward").c_str(), "dY", dY, "xhat", xhat_);
  const int N = dY.rows, H = dY.cols;
  if (dX) dX->resize(N, H);
  for (int j = 0; j < H; ++j) {
    T sum_dy = 0, sum_dy_xhat = 0;
    for (int i = 0; i < N; ++i) {
      sum_dy += dY(i, j);
      sum_dy_xhat += dY(i, j) * xhat_(i, j);
    }
    dbeta.data[j] += sum_dy;
    dgamma.data[j] += sum_dy_xhat;
    if (!dX) continue;
    const T g = gamma.data[j], invstd = invstd_.data[j];
    if (!training_) {
      for (int i = 0; i < N; ++i) (*dX)(i, j) = dY(i, j) * g * invstd;
      continue;
    }
    const T sum_dxhat = g * sum_dy;            // sum_k dxhat_k
    const T sum_dxhat_xhat = g * sum_dy_xhat;  // sum_k dxhat_k xhat_k
    for (int i = 0; i < N; ++i) {
      const T dxhat = dY(i, j) * g;
      (*dX)(i, j) = invstd / T(N) * (T(N) * dxhat - sum_dxhat - xhat_(i, j) * sum_dxhat_xhat);
    }
  }
}

template <typename T>
std::vector<Param<T>> BatchNorm1d<T>::params() {
  return {{this->name() + ".gamma", &gamma, &dgamma}, {this->name() + ".beta", &beta, &dbeta}};
}

template <typename T>
std::vector<Buffer<T>> BatchNorm1d<T>::buffers() {
  return {{this->name() + ".running_mean", &running_mean}, {this->name() + ".running_var", &running_var}};
}

template class BatchNorm1d<float>;
template class BatchNorm1d<double>;

}  // namespace chainrule
