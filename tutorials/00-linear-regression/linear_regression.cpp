// Tutorial 00: linear regression by hand.
// Fits y = w x + b to 20 seeded points with mean squared error, first with plain
// gradient descent, then with Adam written out inline. Every gradient is derived
// in README.md and checked here against a centered difference.
#include <cmath>
#include <cstdio>
#include <vector>

#include "chainrule/loss.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/tensor.hpp"

namespace {

struct Data {
  std::vector<double> x, y;
};

// L(w, b) = (1/N) sum_i (w x_i + b - y_i)^2
double loss(const Data& d, double w, double b) {
  double total = 0;
  for (std::size_t i = 0; i < d.x.size(); ++i) {
    const double r = w * d.x[i] + b - d.y[i];  // residual: prediction minus target
    total += r * r;
  }
  return total / static_cast<double>(d.x.size());
}

// dL/dw = (2/N) sum_i r_i x_i,   dL/db = (2/N) sum_i r_i
void gradient(const Data& d, double w, double b, double& dw, double& db) {
  dw = 0;
  db = 0;
  for (std::size_t i = 0; i < d.x.size(); ++i) {
    const double r = w * d.x[i] + b - d.y[i];
    dw += r * d.x[i];
    db += r;
  }
  const double scale = 2.0 / static_cast<double>(d.x.size());
  dw *= scale;
  db *= scale;
}

}  // namespace

int main() {
  // ---- The data: y = 2 x + 0.5 plus a little noise ------------------------------
  std::printf("== 1. The data (seed 7): y = 2 x + 0.5 + 0.1 * noise, 20 points\n");
  chainrule::Rng rng(7);
  Data d;
  for (int i = 0; i < 20; ++i) {
    const double x = rng.uniform(-1.0, 1.0);
    d.x.push_back(x);
    d.y.push_back(2.0 * x + 0.5 + 0.1 * rng.normal());
  }
  for (int i = 0; i < 3; ++i) std::printf("  x[%d] = %+.4f   y[%d] = %+.4f\n", i, d.x[i], i, d.y[i]);
  std::printf("  ...\n");

  // ---- The gradient at w = 0, b = 0, checked numerically --------------------------
  std::printf("== 2. The gradient at w = 0, b = 0\n");
  double dw, db;
  gradient(d, 0.0, 0.0, dw, db);
  const double h = 1e-5;
  const double nw = (loss(d, h, 0) - loss(d, -h, 0)) / (2 * h);
  const double nb = (loss(d, 0, h) - loss(d, 0, -h)) / (2 * h);
  std::printf("  L = %.6f\n", loss(d, 0, 0));
  std::printf("  dL/dw: formula %+.6f   centered difference %+.6f\n", dw, nw);
  std::printf("  dL/db: formula %+.6f   centered difference %+.6f\n", db, nb);

  // The library's MeanSquaredError gives dL/dYhat; the chain rule turns it into dL/dw.
  chainrule::Tensor<double> Yhat(20, 1), Y(20, 1), dYhat;
  for (int i = 0; i < 20; ++i) Y(i, 0) = d.y[i];  // Yhat = 0 at w = b = 0
  chainrule::MeanSquaredError<double> mse;
  const double L = mse.forward(Yhat, Y);
  mse.backward(dYhat);
  double dw_chain = 0, db_chain = 0;
  for (int i = 0; i < 20; ++i) {
    dw_chain += dYhat(i, 0) * d.x[i];  // dL/dw = sum_i dL/dyhat_i * dyhat_i/dw, dyhat_i/dw = x_i
    db_chain += dYhat(i, 0);           // dyhat_i/db = 1
  }
  std::printf("  via chainrule::MeanSquaredError: L = %.6f, dL/dw = %+.6f, dL/db = %+.6f\n", L, dw_chain, db_chain);

  // ---- Plain gradient descent -------------------------------------------------------
  std::printf("== 3. Gradient descent, learning rate 0.1\n");
  double w = 0, b = 0;
  const double lr = 0.1;
  for (int step = 0; step <= 200; ++step) {
    if (step % 40 == 0) std::printf("  step %3d   w = %.4f   b = %.4f   L = %.6f\n", step, w, b, loss(d, w, b));
    gradient(d, w, b, dw, db);
    w -= lr * dw;
    b -= lr * db;
  }

  // ---- Adam, written out (the library's version: src/chainrule/optim.hpp) --------------
  std::printf("== 4. Adam, learning rate 0.1, beta1 0.9, beta2 0.999, eps 1e-8\n");
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  w = 0;
  b = 0;
  double mw = 0, mb = 0, vw = 0, vb = 0;  // first and second moments, one per parameter
  for (int t = 1; t <= 201; ++t) {
    if ((t - 1) % 40 == 0) std::printf("  step %3d   w = %.4f   b = %.4f   L = %.6f\n", t - 1, w, b, loss(d, w, b));
    gradient(d, w, b, dw, db);
    mw = beta1 * mw + (1 - beta1) * dw;
    mb = beta1 * mb + (1 - beta1) * db;
    vw = beta2 * vw + (1 - beta2) * dw * dw;
    vb = beta2 * vb + (1 - beta2) * db * db;
    const double c1 = 1 - std::pow(beta1, t), c2 = 1 - std::pow(beta2, t);  // bias corrections
    w -= lr * (mw / c1) / (std::sqrt(vw / c2) + eps);
    b -= lr * (mb / c1) / (std::sqrt(vb / c2) + eps);
  }

  // ---- The exact answer, for comparison ---------------------------------------------
  // Setting both derivatives to zero gives two linear equations (the normal equations).
  std::printf("== 5. The exact minimum (both derivatives zero)\n");
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int i = 0; i < 20; ++i) {
    sx += d.x[i];
    sy += d.y[i];
    sxx += d.x[i] * d.x[i];
    sxy += d.x[i] * d.y[i];
  }
  const double n = 20;
  const double w_star = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const double b_star = (sy - w_star * sx) / n;
  std::printf("  w* = %.4f   b* = %.4f   L = %.6f\n", w_star, b_star, loss(d, w_star, b_star));
  return 0;
}
