#include "chainrule/layers/softmax.hpp"

#include <algorithm>
#include <cmath>

namespace chainrule {

template <typename T>
void softmax_rows(const Tensor<T>& Z, Tensor<T>& P) {
  P.resize(Z.rows, Z.cols);
  for (int i = 0; i < Z.rows; ++i) {
    const T* z = Z.row(i);
    T* p = P.row(i);
    const T zmax = *std::max_element(z, z + Z.cols);  // exp(z - max) <= 1: no overflow
    T sum = 0;
    for (int j = 0; j < Z.cols; ++j) {
      p[j] = std::exp(z[j] - zmax);
      sum += p[j];
    }
    for (int j = 0; j < Z.cols; ++j) p[j] /= sum;
  }
}

template <typename T>
void Softmax<T>::forward(const Tensor<T>& Z, Tensor<T>& P, bool /*training*/) {
  softmax_rows(Z, P);
  P_ = &P;
}

// The Jacobian of one row is dP_j/dZ_k = P_j (delta_jk - P_k). Multiplying by dP:
//   dZ_k = sum_j dP_j P_j (delta_jk - P_k) = P_k (dP_k - sum_j dP_j P_j)
template <typename T>
void Softmax<T>::backward(const Tensor<T>& dP, Tensor<T>* dZ) {
  const Tensor<T>& P = *P_;
  expect_same_shape((this->name() + ".backward").c_str(), "dP", dP, "P", P);
  if (!dZ) return;
  dZ->resize(P.rows, P.cols);
  for (int i = 0; i < P.rows; ++i) {
    const T* p = P.row(i);
    const T* g = dP.row(i);
    T dot = 0;
    for (int j = 0; j < P.cols; ++j) dot += g[j] * p[j];
    T* out = dZ->row(i);
    for (int k = 0; k < P.cols; ++k) out[k] = p[k] * (g[k] - dot);
  }
}

template void softmax_rows<float>(const Tensor<float>&, Tensor<float>&);
template void softmax_rows<double>(const Tensor<double>&, Tensor<double>&);
template class Softmax<float>;
template class Softmax<double>;

}  // namespace chainrule
