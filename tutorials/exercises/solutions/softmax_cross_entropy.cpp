// Exercise: softmax followed by cross-entropy, fused (tutorials/04-softmax-jacobian, 05-output-layer).
//   Z (N, C) logits   labels: N ints in 0..C-1   P = softmax(Z) row by row
//   L = -(1/N) sum_i log P[i][y_i]     (the mean over the batch)
// Grade it: tools/grade.sh softmax_cross_entropy
#include <algorithm>
#include <cmath>

#include "exercises.hpp"

namespace exercises {
namespace {

class SoftmaxCrossEntropy : public Loss {
 public:
  explicit SoftmaxCrossEntropy(std::vector<int> labels) : labels_(std::move(labels)) {}

  // Keeps P for backward (given).
  double forward(const Tensor<double>& Z) override {
    P_.resize(Z.rows, Z.cols);
    double total = 0;
    for (int i = 0; i < Z.rows; ++i) {
      const double m = *std::max_element(Z.row(i), Z.row(i) + Z.cols);  // exp(z - m) <= 1
      double sum = 0;
      for (int k = 0; k < Z.cols; ++k) sum += P_(i, k) = std::exp(Z(i, k) - m);
      for (int k = 0; k < Z.cols; ++k) P_(i, k) /= sum;
      total += std::log(sum) - (Z(i, labels_[i]) - m);  // -log P[i][y_i]
    }
    return total / Z.rows;
  }

  // -> dZ (N, C) = dL/dZ
  // Hint: for one sample, d(-log P_y)/dZ = P - onehot(y); the loss is the mean over N samples.
  void backward(Tensor<double>& dZ) const override {
    const int N = P_.rows;
    dZ.resize(P_.rows, P_.cols);
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < P_.cols; ++k) dZ(i, k) = (P_(i, k) - (k == labels_[i] ? 1.0 : 0.0)) / N;
  }

 private:
  std::vector<int> labels_;
  Tensor<double> P_;  // (N, C) from the last forward
};

}  // namespace

std::unique_ptr<Loss> make_softmax_cross_entropy(const std::vector<int>& labels) {
  return std::make_unique<SoftmaxCrossEntropy>(labels);
}

}  // namespace exercises
