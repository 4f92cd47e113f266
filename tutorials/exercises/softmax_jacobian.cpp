// Exercise: softmax on its own, and its Jacobian-vector product (tutorials/04-softmax-jacobian).
//   P_ij = exp(Z_ij) / sum_k exp(Z_ik), row by row.   Z (N, C)   P (N, C)
// Grade it: tools/grade.sh softmax_jacobian
#include <algorithm>
#include <cmath>

#include "exercises.hpp"

namespace exercises {
namespace {

class Softmax : public Layer<double> {
 public:
  Softmax() : Layer<double>("softmax") {}
  const char* kind() const override { return "softmax"; }

  // Row-wise, stable: subtracts each row's max before exp (given).
  void forward(const Tensor<double>& Z, Tensor<double>& P, bool /*training*/) override {
    P.resize(Z.rows, Z.cols);
    for (int i = 0; i < Z.rows; ++i) {
      const double zmax = *std::max_element(Z.row(i), Z.row(i) + Z.cols);
      double sum = 0;
      for (int j = 0; j < Z.cols; ++j) sum += P(i, j) = std::exp(Z(i, j) - zmax);
      for (int j = 0; j < Z.cols; ++j) P(i, j) /= sum;
    }
    P_ = &P;
  }

  // dP (N, C) -> dZ (N, C), one row at a time.
  // Hint: the Jacobian of one row is dP_j/dZ_k = P_j (delta_jk - P_k), so
  //   dZ_k = sum_j dP_j P_j (delta_jk - P_k) = P_k (dP_k - sum_j dP_j P_j)
  void backward([[maybe_unused]] const Tensor<double>& dP, [[maybe_unused]] Tensor<double>* dZ) override {
    // TODO: resize *dZ to P_'s shape; for each row i, dot = sum_j dP(i, j) P(i, j),
    //       then dZ(i, k) = P(i, k) (dP(i, k) - dot).
  }

 private:
  const Tensor<double>* P_ = nullptr;  // (N, C) the output; the Jacobian needs only P
};

}  // namespace

std::unique_ptr<Layer<double>> make_softmax() { return std::make_unique<Softmax>(); }

}  // namespace exercises
