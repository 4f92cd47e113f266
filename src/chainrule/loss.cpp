#include "chainrule/loss.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "chainrule/layers/softmax.hpp"

namespace chainrule {

namespace {
void check_labels(const char* op, const std::vector<int>& labels, int rows, int classes) {
  if (static_cast<int>(labels.size()) != rows)
    throw ShapeError(std::string(op) + ": " + std::to_string(labels.size()) + " labels for " +
                     std::to_string(rows) + " rows; there must be one label per sample");
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      throw std::invalid_argument(std::string(op) + ": label " + std::to_string(labels[i]) + " of sample " +
                                  std::to_string(i) + " is outside 0.." + std::to_string(classes - 1) +
                                  " (labels are 0-based class indices)");
}
}  // namespace

template <typename T>
Tensor<T> one_hot(const std::vector<int>& labels, int classes) {
  check_labels("one_hot", labels, static_cast<int>(labels.size()), classes);
  Tensor<T> Y(static_cast<int>(labels.size()), classes);
  for (std::size_t i = 0; i < labels.size(); ++i) Y(static_cast<int>(i), labels[i]) = T(1);
  return Y;
}

// ---- Softmax cross-entropy (fused) --------------------------------------------

// One pass per row: the exponentials serve both the probabilities and the loss
// (the same values, in the same order, as softmax_rows followed by the log-sum-exp).
template <typename T>
T SoftmaxCrossEntropy<T>::forward(const Tensor<T>& Z, const std::vector<int>& labels) {
  check_labels("softmax_cross_entropy", labels, Z.rows, Z.cols);
  P_.resize(Z.rows, Z.cols);
  T total = 0;
  for (int i = 0; i < Z.rows; ++i) {
    const T* z = Z.row(i);
    T* p = P_.row(i);
    const T m = *std::max_element(z, z + Z.cols);  // exp(z - m) <= 1: no overflow
    T sum = 0;
    for (int k = 0; k < Z.cols; ++k) {
      p[k] = std::exp(z[k] - m);
      sum += p[k];
    }
    for (int k = 0; k < Z.cols; ++k) p[k] /= sum;
    total += std::log(sum) - (z[labels[i]] - m);  // -log P[i][y_i], never log(0)
  }
  labels_.assign(labels.begin(), labels.end());
  one_hot_ = false;
  return total / T(Z.rows);
}

template <typename T>
T SoftmaxCrossEntropy<T>::forward(const Tensor<T>& Z, const Tensor<T>& Y) {
  expect_same_shape("softmax_cross_entropy", "Z", Z, "Y", Y);
  softmax_rows(Z, P_);
  T total = 0;
  for (int i = 0; i < Z.rows; ++i) {
    const T* z = Z.row(i);
    const T m = *std::max_element(z, z + Z.cols);
    T sum = 0;
    for (int k = 0; k < Z.cols; ++k) sum += std::exp(z[k] - m);
    const T lse = std::log(sum) + m;
    for (int k = 0; k < Z.cols; ++k) total += Y(i, k) * (lse - z[k]);  // -y_k log p_k
  }
  Y_.resize(Y.rows, Y.cols);
  Y_.data.assign(Y.data.begin(), Y.data.end());
  one_hot_ = true;
  return total / T(Z.rows);
}

// dZ = (P - Y) / N
template <typename T>
void SoftmaxCrossEntropy<T>::backward(Tensor<T>& dZ) const {
  const int N = P_.rows;
  const T factor = T(1) / T(N);  // the mean's 1/N, applied once: the start of the whole backward pass
  dZ.resize(P_.rows, P_.cols);
  if (!one_hot_) {  // one pass: dZ[i][k] = (P[i][k] - [k == y_i]) / N
    for (int i = 0; i < N; ++i) {
      const T* p = P_.row(i);
      T* g = dZ.row(i);
      for (int k = 0; k < P_.cols; ++k) g[k] = p[k];
      g[labels_[i]] -= T(1);
      for (int k = 0; k < P_.cols; ++k) g[k] *= factor;
    }
  } else {
    for (std::size_t k = 0; k < dZ.data.size(); ++k) dZ.data[k] = (P_.data[k] - Y_.data[k]) * factor;
  }
}

// ---- Cross-entropy on probabilities --------------------------------------------

template <typename T>
T CrossEntropy<T>::forward(const Tensor<T>& P, const std::vector<int>& labels) {
  check_labels("cross_entropy", labels, P.rows, P.cols);
  T total = 0;
  for (int i = 0; i < P.rows; ++i) {
    // A probability of exactly 0 would give log(0) = -inf; the smallest normal number
    // stands in for it (the fused loss above never needs this).
    const T p = std::max(P(i, labels[i]), std::numeric_limits<T>::min());
    total -= std::log(p);
  }
  P_ = &P;
  labels_.assign(labels.begin(), labels.end());
  return total / T(P.rows);
}

// dP[i][y_i] = -1 / (N P[i][y_i]); every other entry is 0.
template <typename T>
void CrossEntropy<T>::backward(Tensor<T>& dP) const {
  const Tensor<T>& P = *P_;
  const T scale = T(1) / T(P.rows);
  dP.resize(P.rows, P.cols);
  dP.zero();
  for (int i = 0; i < P.rows; ++i) {
    const T p = std::max(P(i, labels_[i]), std::numeric_limits<T>::min());
    dP(i, labels_[i]) = -scale / p;
  }
}

// ---- Mean squared error ----------------------------------------------------------

template <typename T>
T MeanSquaredError<T>::forward(const Tensor<T>& Yhat, const Tensor<T>& Y) {
  expect_same_shape("mean_squared_error", "Yhat", Yhat, "Y", Y);
  T total = 0;
  for (std::size_t k = 0; k < Y.data.size(); ++k) total += (Yhat.data[k] - Y.data[k]) * (Yhat.data[k] - Y.data[k]);
  Yhat_ = &Yhat;
  Y_.resize(Y.rows, Y.cols);
  Y_.data.assign(Y.data.begin(), Y.data.end());
  return total / T(Y.data.size());
}

// dYhat = 2 (Yhat - Y) / (N C)
template <typename T>
void MeanSquaredError<T>::backward(Tensor<T>& dYhat) const {
  const Tensor<T>& Yhat = *Yhat_;
  const T scale = T(2) / T(Yhat.data.size());  // 2 / (N C)
  dYhat.resize(Yhat.rows, Yhat.cols);
  for (std::size_t k = 0; k < Yhat.data.size(); ++k) dYhat.data[k] = scale * (Yhat.data[k] - Y_.data[k]);
}

template Tensor<float> one_hot<float>(const std::vector<int>&, int);
template Tensor<double> one_hot<double>(const std::vector<int>&, int);
template class SoftmaxCrossEntropy<float>;
template class SoftmaxCrossEntropy<double>;
template class CrossEntropy<float>;
template class CrossEntropy<double>;
template class MeanSquaredError<float>;
template class MeanSquaredError<double>;

}  // namespace chainrule
