// Exercise: the backward pass of a dense layer.   Y = X W + b
//   X (N, D)   W (D, H)   b (1, H)   Y (N, H)
// Grade it: tools/grade.sh dense
#include "chainrule/kernels.hpp"
#include "exercises.hpp"

namespace exercises {
namespace {

class Dense : public Layer<double> {
 public:
  Dense(int in, int out) : Layer<double>("dense"), W(in, out), b(1, out), dW(in, out), db(1, out) {}
  const char* kind() const override { return "dense"; }
  std::vector<chainrule::Param<double>> params() override { return {{"dense.W", &W, &dW}, {"dense.b", &b, &db}}; }

  // Y = X W + b: each row of Y is one sample's pre-activation (given).
  void forward(const Tensor<double>& X, Tensor<double>& Y, bool /*training*/) override {
    chainrule::matmul(X, W, Y);  // Y (N, H) = X (N, D) W (D, H)
    for (int i = 0; i < Y.rows; ++i)
      for (int j = 0; j < Y.cols; ++j) Y(i, j) += b(0, j);  // broadcast b over the batch
    X_ = &X;
  }

  // dY (N, H) -> dW (D, H) +=, db (1, H) +=, dX (N, D) =
  // Hint: dW = X^T dY, db = the sum of dY's rows, dX = dY W^T
  // (chainrule::matmul_tn(A, B, C, accumulate) is C = A^T B, matmul_nt is C = A B^T).
  void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
    const Tensor<double>& X = *X_;
    chainrule::matmul_tn(X, dY, dW, /*accumulate=*/true);  // dW += X^T dY
    for (int i = 0; i < dY.rows; ++i)
      for (int j = 0; j < dY.cols; ++j) db(0, j) += dY(i, j);  // db += sum over the batch
    if (dX) chainrule::matmul_nt(dY, W, *dX);                  // dX = dY W^T
  }

  Tensor<double> W, b, dW, db;

 private:
  const Tensor<double>* X_ = nullptr;  // (N, D) the input forward saw
};

}  // namespace

std::unique_ptr<Layer<double>> make_dense(int in, int out) { return std::make_unique<Dense>(in, out); }

}  // namespace exercises
