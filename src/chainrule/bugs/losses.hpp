// Classic mistakes in the losses' backward passes, one small subclass each; each backward
// is the correct one from loss.cpp with the mistake marked // BUG:. Built through Parts
// (model.hpp) when the bug is switched on (bugs.hpp). Signatures: docs/bugs.md.
#pragma once

#include <algorithm>
#include <limits>

#include "chainrule/loss.hpp"

namespace chainrule::bugs {

// missing-batch-mean (fused softmax cross-entropy): dZ = P - Y, N times too large.
// softmax-ce-sign: dZ = (Y - P) / N, the gradient of the loss's negative.
template <typename T>
class SoftmaxCrossEntropyMistake : public SoftmaxCrossEntropy<T> {
 public:
  explicit SoftmaxCrossEntropyMistake(bool forget_mean, bool flip_sign) : forget_mean_(forget_mean), flip_sign_(flip_sign) {}
  void backward(Tensor<T>& dZ) const override {
    const Tensor<T>& P = this->P_;
    const int N = P.rows;
    T factor = T(1) / T(N);
    if (forget_mean_) factor = T(1);       // BUG: the mean's 1/N is forgotten
    if (flip_sign_) factor = -factor;      // BUG: Y - P instead of P - Y
    dZ.resize(P.rows, P.cols);
    if (!this->one_hot_) {
      for (int i = 0; i < N; ++i) {
        const T* p = P.row(i);
        T* g = dZ.row(i);
        for (int k = 0; k < P.cols; ++k) g[k] = p[k];
        g[this->labels_[i]] -= T(1);
        for (int k = 0; k < P.cols; ++k) g[k] *= factor;
      }
    } else {
      for (std::size_t k = 0; k < dZ.data.size(); ++k) dZ.data[k] = (P.data[k] - this->Y_.data[k]) * factor;
    }
  }

 private:
  bool forget_mean_, flip_sign_;
};

// missing-batch-mean (cross-entropy on probabilities): dP = -Y / P, N times too large.
template <typename T>
class CrossEntropyMissingMean : public CrossEntropy<T> {
 public:
  void backward(Tensor<T>& dP) const override {
    const Tensor<T>& P = *this->P_;
    const T scale = T(1);  // BUG: should be 1 / N
    dP.resize(P.rows, P.cols);
    dP.zero();
    for (int i = 0; i < P.rows; ++i) {
      const T p = std::max(P(i, this->labels_[i]), std::numeric_limits<T>::min());
      dP(i, this->labels_[i]) = -scale / p;
    }
  }
};

// missing-batch-mean (mean squared error): dYhat = 2 (Yhat - Y) / C, N times too large.
template <typename T>
class MeanSquaredErrorMissingMean : public MeanSquaredError<T> {
 public:
  void backward(Tensor<T>& dYhat) const override {
    const Tensor<T>& Yhat = *this->Yhat_;
    const T scale = T(2) / T(Yhat.cols);  // BUG: should be 2 / (N C)
    dYhat.resize(Yhat.rows, Yhat.cols);
    for (std::size_t k = 0; k < Yhat.data.size(); ++k) dYhat.data[k] = scale * (Yhat.data[k] - this->Y_.data[k]);
  }
};

}  // namespace chainrule::bugs
