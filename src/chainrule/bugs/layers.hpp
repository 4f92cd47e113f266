// Classic backprop mistakes in the layers, one small subclass each. Every backward below is
// the correct one from layers/ with the mistake marked // BUG:, so that
//     diff src/chainrule/layers/dense.cpp src/chainrule/bugs/layers.hpp
// shows the whole mistake. The real layers never mention these. They are built through the
// model's one seam, Parts (model.hpp), when a bug is switched on (bugs.hpp).
// Each bug's signature in the gradient checker: docs/bugs.md.
#pragma once

#include "chainrule/kernels.hpp"
#include "chainrule/layers/batchnorm.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/layers/relu.hpp"

namespace chainrule::bugs {

// dense-no-bias-grad: db stays at zero.
template <typename T>
class DenseNoBiasGrad : public Dense<T> {
 public:
  using Dense<T>::Dense;
  explicit DenseNoBiasGrad(const Dense<T>& real) : Dense<T>(real) {}  // the same layer, state and all, with the mistake
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override {
    const Tensor<T>& X = *this->X_;
    expect_shape((this->name() + ".backward").c_str(), "dY", dY, X.rows, this->W.cols);
    matmul_tn(X, dY, this->dW, /*accumulate=*/true);  // dW += X^T dY
    // BUG: db += sum over the batch of dY's rows is missing
    if (dX) matmul_nt(dY, this->W, *dX);  // dX = dY W^T
  }
};

// dense-transposed-weight-grad: the right numbers, laid out as (H, D) in the (D, H) dW.
template <typename T>
class DenseTransposedWeightGrad : public Dense<T> {
 public:
  using Dense<T>::Dense;
  explicit DenseTransposedWeightGrad(const Dense<T>& real) : Dense<T>(real) {}  // the same layer, state and all, with the mistake
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override {
    const Tensor<T>& X = *this->X_;
    expect_shape((this->name() + ".backward").c_str(), "dY", dY, X.rows, this->W.cols);
    matmul_tn(dY, X, scratch_);  // BUG: dY^T X is (H, D), added entry by entry into dW (D, H)
    for (std::size_t k = 0; k < this->dW.data.size(); ++k) this->dW.data[k] += scratch_.data[k];
    for (int i = 0; i < dY.rows; ++i) {  // db += sum over the batch of dY's rows
      const T* g = dY.row(i);
      for (int j = 0; j < dY.cols; ++j) this->db.data[j] += g[j];
    }
    if (dX) matmul_nt(dY, this->W, *dX);  // dX = dY W^T
  }

 private:
  Tensor<T> scratch_;  // (H, D)
};

// relu-mask-inverted: the gradient passes where x <= 0 instead of x > 0.
template <typename T>
class ReluMaskInverted : public ReLU<T> {
 public:
  using ReLU<T>::ReLU;
  explicit ReluMaskInverted(const ReLU<T>& real) : ReLU<T>(real) {}  // the same layer, state and all, with the mistake
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override {
    const Tensor<T>& X = *this->X_;
    expect_same_shape((this->name() + ".backward").c_str(), "dY", dY, "X", X);
    if (!dX) return;
    dX->resize(X.rows, X.cols);
    for (std::size_t k = 0; k < X.data.size(); ++k)
      dX->data[k] = X.data[k] <= T(0) ? dY.data[k] : T(0);  // BUG: the mask is [x <= 0]
  }
};

// relu-mask-from-output: the mask taken from y > 0. Harmless by design: y > 0 exactly when x > 0.
template <typename T>
class ReluMaskFromOutput : public ReLU<T> {
 public:
  using ReLU<T>::ReLU;
  explicit ReluMaskFromOutput(const ReLU<T>& real) : ReLU<T>(real) {}  // the same layer, state and all, with the mistake
  void forward(const Tensor<T>& X, Tensor<T>& Y, bool training) override {
    ReLU<T>::forward(X, Y, training);
    Y_ = &Y;
  }
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override {
    const Tensor<T>& Y = *Y_;
    expect_same_shape((this->name() + ".backward").c_str(), "dY", dY, "Y", Y);
    if (!dX) return;
    dX->resize(Y.rows, Y.cols);
    for (std::size_t k = 0; k < Y.data.size(); ++k)
      dX->data[k] = Y.data[k] > T(0) ? dY.data[k] : T(0);  // "BUG": [y > 0], the same mask as [x > 0]
  }

 private:
  const Tensor<T>* Y_ = nullptr;  // (N, H) the output
};

// dropout-missing-scale: the kept units pass dY unscaled, forgetting the 1/keep of forward.
template <typename T>
class DropoutMissingScale : public Dropout<T> {
 public:
  using Dropout<T>::Dropout;
  explicit DropoutMissingScale(const Dropout<T>& real) : Dropout<T>(real) {}  // the same layer, state and all, with the mistake
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override {
    if (!dX) return;
    dX->resize(dY.rows, dY.cols);
    if (!this->training_ || this->rate_ == 0.0) {
      dX->data = dY.data;
      return;
    }
    expect_same_shape((this->name() + ".backward").c_str(), "dY", dY, "mask", this->mask_);
    for (std::size_t k = 0; k < dY.data.size(); ++k)
      dX->data[k] = dY.data[k] * (this->mask_.data[k] != T(0) ? T(1) : T(0));  // BUG: the mask without its 1/keep
  }
};

// batchnorm-missing-mean-term: dx forgets that the batch mean depends on every x_i.
template <typename T>
class BatchnormMissingMeanTerm : public BatchNorm1d<T> {
 public:
  using BatchNorm1d<T>::BatchNorm1d;
  explicit BatchnormMissingMeanTerm(const BatchNorm1d<T>& real) : BatchNorm1d<T>(real) {}  // the same layer, state and all, with the mistake
  void backward(const Tensor<T>& dY, Tensor<T>* dX) override {
    const Tensor<T>& xhat = this->xhat_;
    expect_same_shape((this->name() + ".backward").c_str(), "dY", dY, "xhat", xhat);
    const int N = dY.rows, H = dY.cols;
    if (dX) dX->resize(N, H);
    for (int j = 0; j < H; ++j) {
      T sum_dy = 0, sum_dy_xhat = 0;
      for (int i = 0; i < N; ++i) {
        sum_dy += dY(i, j);
        sum_dy_xhat += dY(i, j) * xhat(i, j);
      }
      this->dbeta.data[j] += sum_dy;
      this->dgamma.data[j] += sum_dy_xhat;
      if (!dX) continue;
      const T g = this->gamma.data[j], invstd = this->invstd_.data[j];
      if (!this->training_) {
        for (int i = 0; i < N; ++i) (*dX)(i, j) = dY(i, j) * g * invstd;
        continue;
      }
      const T sum_dxhat = dropped_;              // BUG: should be g * sum_dy, the mean's term
      const T sum_dxhat_xhat = g * sum_dy_xhat;  // sum_k dxhat_k xhat_k
      for (int i = 0; i < N; ++i) {
        const T dxhat = dY(i, j) * g;
        (*dX)(i, j) = invstd / T(N) * (T(N) * dxhat - sum_dxhat - xhat(i, j) * sum_dxhat_xhat);
      }
    }
  }

 private:
  // The zero the bug puts in the mean term's place. Read at run time, as the real layer's
  // g * sum_dy is, so the compiler forms the same fused multiply-adds and every other
  // value keeps its bits (a literal 0 let it contract the expression differently).
  T dropped_ = T(0);
};

}  // namespace chainrule::bugs
