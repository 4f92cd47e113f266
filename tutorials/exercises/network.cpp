// Exercise: the whole backward pass of the 784-128-10 network, by hand (tutorials/07-hidden-layer).
//   X (N, 784) -> Z1 = X W1 + b1 (N, 128) -> H = relu(Z1) -> Z2 = H W2 + b2 (N, 10)
//   -> P = softmax(Z2), L = -(1/N) sum_i log P[i][y_i]
// Grade it: tools/grade.sh network
#include <algorithm>
#include <cmath>

#include "chainrule/kernels.hpp"
#include "exercises.hpp"

namespace exercises {

// The forward pass (given): keeps Z1, H, Z2 and P for backward.
Forward network_forward(const Network& net, const Tensor<double>& X, const std::vector<int>& labels) {
  Forward f;
  chainrule::matmul(X, net.W1, f.Z1);
  for (int i = 0; i < f.Z1.rows; ++i)
    for (int j = 0; j < f.Z1.cols; ++j) f.Z1(i, j) += net.b1(0, j);
  f.H.resize(f.Z1.rows, f.Z1.cols);
  for (std::size_t k = 0; k < f.Z1.size(); ++k) f.H.data[k] = std::max(0.0, f.Z1.data[k]);
  chainrule::matmul(f.H, net.W2, f.Z2);
  for (int i = 0; i < f.Z2.rows; ++i)
    for (int j = 0; j < f.Z2.cols; ++j) f.Z2(i, j) += net.b2(0, j);
  f.P.resize(f.Z2.rows, f.Z2.cols);
  for (int i = 0; i < f.Z2.rows; ++i) {
    const double m = *std::max_element(f.Z2.row(i), f.Z2.row(i) + f.Z2.cols);
    double sum = 0;
    for (int k = 0; k < f.Z2.cols; ++k) sum += f.P(i, k) = std::exp(f.Z2(i, k) - m);
    for (int k = 0; k < f.Z2.cols; ++k) f.P(i, k) /= sum;
    f.loss += std::log(sum) - (f.Z2(i, labels[i]) - m);
  }
  f.loss /= X.rows;
  return f;
}

// Fill every tensor of g, in this order:
//   dZ2 (N, 10)    = (P - onehot(labels)) / N
//   dW2 (128, 10)  = H^T dZ2          db2 (1, 10)  = the sum of dZ2's rows
//   dH  (N, 128)   = dZ2 W2^T
//   dZ1 (N, 128)   = dH where Z1 > 0, else 0
//   dW1 (784, 128) = X^T dZ1          db1 (1, 128) = the sum of dZ1's rows
// Hint: chainrule::matmul_tn(A, B, C) is C = A^T B and matmul_nt(A, B, C) is C = A B^T;
// both resize C. Resize the others yourself (t.resize(rows, cols) zeroes nothing: fill it).
void network_backward([[maybe_unused]] const Network& net, [[maybe_unused]] const Tensor<double>& X,
                      [[maybe_unused]] const std::vector<int>& labels, [[maybe_unused]] const Forward& f,
                      [[maybe_unused]] Gradients& g) {
  // TODO: fill g.dZ2, g.dW2, g.db2, g.dH, g.dZ1, g.dW1, g.db1, in the order above.
}

}  // namespace exercises
