// One Dense layer, forward and backward, outside chainrule's own build (docs/example/).
//   Y = X W + b,  L = 1/2 sum(Y^2),  so dL/dY = Y  and  dW = X^T Y, db = colsum(Y), dX = Y W^T
// then one weight's gradient against a central difference. Every number here is a small
// binary fraction, so the results are exact and the program checks them with ==.
#include <cstddef>
#include <cstdio>
#include <vector>

#include "chainrule/layers/dense.hpp"
#include "chainrule/tensor.hpp"

using chainrule::Tensor;

namespace {

Tensor<double> make(int rows, int cols, const std::vector<double>& values) {
  Tensor<double> t(rows, cols);
  for (std::size_t k = 0; k < values.size(); ++k) t.data[k] = values[k];
  return t;
}

void print(const char* name, const Tensor<double>& t) {
  std::printf("%-3s%s =", name, t.shape().c_str());
  for (double v : t.data) std::printf(" %g", v);
  std::printf("\n");
}

double loss(const Tensor<double>& Y) {  // L = 1/2 sum(Y^2)
  double sum = 0;
  for (double y : Y.data) sum += 0.5 * y * y;
  return sum;
}

}  // namespace

int main() {
  chainrule::Dense<double> dense("dense", 3, 2);
  dense.W = make(3, 2, {1, 0, 0, 1, 1, 1});
  dense.b = make(1, 2, {0.5, -1});
  const Tensor<double> X = make(2, 3, {1, 2, 3, 4, 5, 6});

  Tensor<double> Y, dX;
  dense.forward(X, Y, /*training=*/true);
  const Tensor<double>& dY = Y;  // dL/dY = Y for L = 1/2 sum(Y^2)
  dense.backward(dY, &dX);       // adds into dense.dW and dense.db, which start at zero
  print("X", X);
  print("Y", Y);
  print("dW", dense.dW);
  print("db", dense.db);
  print("dX", dX);

  // dL/dW(2,1) by a central difference: L is quadratic in W, so it is exact for any h.
  const double h = 0.5, w = dense.W(2, 1);
  Tensor<double> Yh;
  dense.W(2, 1) = w + h;
  dense.forward(X, Yh, true);
  const double up = loss(Yh);
  dense.W(2, 1) = w - h;
  dense.forward(X, Yh, true);
  const double down = loss(Yh);
  dense.W(2, 1) = w;
  const double numeric = (up - down) / (2 * h);
  std::printf("dL/dW(2,1): backward %g, central difference %g\n", dense.dW(2, 1), numeric);

  const bool ok = Y.data == std::vector<double>{4.5, 4, 10.5, 10} &&
                  dense.dW.data == std::vector<double>{46.5, 44, 61.5, 58, 76.5, 72} &&
                  dense.db.data == std::vector<double>{15, 14} &&
                  dX.data == std::vector<double>{4.5, 4, 8.5, 10.5, 10, 20.5} && numeric == dense.dW(2, 1);
  std::printf(ok ? "chainrule example: forward, backward and the central difference agree\n"
                 : "chainrule example: MISMATCH with the values worked out by hand\n");
  return ok ? 0 : 1;
}
