#include "chainrule/layers/dense.hpp"

#include "chainrule/kernels.hpp"

namespace chainrule {

template <typename T>
Dense<T>::Dense(std::string name, int in_features, int out_features)
    : Layer<T>(std::move(name)),
      W(in_features, out_features),
      b(1, out_features),
      dW(in_features, out_features),
      db(1, out_features) {}

// Y = X W + b: each row of Y is one sample's pre-activation.
template <typename T>
void Dense<T>::forward(const Tensor<T>& X, Tensor<T>& Y, bool /*training*/) {
  if (X.cols != W.rows)
    throw ShapeError(this->name() + ".forward: X is " + X.shape() + " but W is " + W.shape() +
                     "; X's columns must equal W's rows");
  matmul(X, W, Y);  // Y (N, H) = X (N, D) W (D, H)
  for (int i = 0; i < Y.rows; ++i) {
    T* y = Y.row(i);
    for (int j = 0; j < Y.cols; ++j) y[j] += b.data[j];  // broadcast b over the batch
  }
  X_ = &X;
}

// dW += X^T dY     (D, H) = (N, D)^T (N, H)   sum over the batch of outer products
// db += sum_i dY_i (1, H)                      b was added to every row
// dX  = dY W^T     (N, D) = (N, H) (D, H)^T
template <typename T>
void Dense<T>::backward(const Tensor<T>& dY, Tensor<T>* dX) {
  const Tensor<T>& X = *X_;
  expect_shape((this->name() + ".backward").c_str(), "dY", dY, X.rows, W.cols);

  matmul_tn(X, dY, dW, /*accumulate=*/true);  // dW += X^T dY
  for (int i = 0; i < dY.rows; ++i) {            // db += sum over the batch of dY's rows
    const T* g = dY.row(i);
    for (int j = 0; j < dY.cols; ++j) db.data[j] += g[j];
  }
  if (dX) matmul_nt(dY, W, *dX);                 // dX = dY W^T
}

template <typename T>
std::vector<Param<T>> Dense<T>::params() {
  return {{this->name() + ".W", &W, &dW}, {this->name() + ".b", &b, &db}};
}

template class Dense<float>;
template class Dense<double>;

}  // namespace chainrule
