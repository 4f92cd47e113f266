// Tutorial 09: optimizers. SGD, momentum and Adam from src/chainrule/optim.hpp on the
// line-fitting problem of tutorial 00, Adam checked against an inline version, and
// Adam's bias correction measured on a constant gradient.
#include <cmath>
#include <cstdio>
#include <vector>

#include "chainrule/optim.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

namespace {

// The data of tutorial 00: y = 2 x + 0.5 + 0.1 noise, 20 points, seed 7.
struct Line {
  std::vector<double> x, y;
  Line() {
    chainrule::Rng rng(7);
    for (int i = 0; i < 20; ++i) {
      x.push_back(rng.uniform(-1.0, 1.0));
      y.push_back(2.0 * x.back() + 0.5 + 0.1 * rng.normal());
    }
  }
  // Mean squared error at (w, b) and, into g, its gradient (dL/dw, dL/db).
  double loss_and_grad(double w, double b, Tensor<float>& g) const {
    double L = 0, dw = 0, db = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double r = w * x[i] + b - y[i];
      L += r * r;
      dw += r * x[i];
      db += r;
    }
    const double n = static_cast<double>(x.size());
    g(0, 0) = static_cast<float>(2 * dw / n);
    g(0, 1) = static_cast<float>(2 * db / n);
    return L / n;
  }
};

void run(const Line& line, const chainrule::OptimizerConfig& config) {
  auto optimizer = chainrule::make_optimizer(config);
  Tensor<float> theta(1, 2), grad(1, 2);  // theta = (w, b), starting at (0, 0)
  const std::vector<chainrule::Param<float>> params = {{"theta", &theta, &grad}};
  std::printf("  %s\n", config.describe().c_str());
  for (int step = 0; step <= 100; ++step) {
    const double L = line.loss_and_grad(theta(0, 0), theta(0, 1), grad);
    if (step == 0 || step == 5 || step == 10 || step == 25 || step == 50 || step == 100)
      std::printf("    step %3d   w = %7.4f   b = %7.4f   L = %.5f\n", step, static_cast<double>(theta(0, 0)),
                  static_cast<double>(theta(0, 1)), L);
    optimizer->step(params);  // reads grad, updates theta in place
  }
}

}  // namespace

int main() {
  const Line line;

  std::printf("== 1. Three optimizers, 100 steps each, from w = b = 0 (best: w = 1.9738, b = 0.5137)\n");
  chainrule::OptimizerConfig sgd;
  sgd.kind = "sgd";
  sgd.lr = 0.1;
  run(line, sgd);
  chainrule::OptimizerConfig momentum = sgd;
  momentum.kind = "momentum";
  momentum.momentum = 0.9;
  run(line, momentum);
  chainrule::OptimizerConfig adam;
  adam.kind = "adam";
  adam.lr = 0.1;
  run(line, adam);

  // ---- The library's Adam against the formula, written out in double -------------------------
  std::printf("== 2. chainrule::Adam against the update written out (double), 20 steps\n");
  {
    auto lib = chainrule::make_optimizer(adam);
    Tensor<float> theta(1, 2), grad(1, 2);
    const std::vector<chainrule::Param<float>> params = {{"theta", &theta, &grad}};
    double w = 0, b = 0, m[2] = {0, 0}, v[2] = {0, 0};
    Tensor<float> g(1, 2);
    double worst = 0;
    for (int t = 1; t <= 20; ++t) {
      line.loss_and_grad(theta(0, 0), theta(0, 1), grad);
      lib->step(params);
      line.loss_and_grad(w, b, g);
      double* p[2] = {&w, &b};
      for (int k = 0; k < 2; ++k) {
        const double gk = g(0, k);
        m[k] = adam.beta1 * m[k] + (1 - adam.beta1) * gk;
        v[k] = adam.beta2 * v[k] + (1 - adam.beta2) * gk * gk;
        const double mhat = m[k] / (1 - std::pow(adam.beta1, t)), vhat = v[k] / (1 - std::pow(adam.beta2, t));
        *p[k] -= adam.lr * mhat / (std::sqrt(vhat) + adam.eps);
      }
      worst = std::fmax(worst, std::fmax(std::fabs(w - theta(0, 0)), std::fabs(b - theta(0, 1))));
    }
    std::printf("  after 20 steps: library w = %.4f b = %.4f, written out w = %.4f b = %.4f\n",
                static_cast<double>(theta(0, 0)), static_cast<double>(theta(0, 1)), w, b);
    std::printf("  largest difference over the 20 steps < 1e-5 (float against double): %s\n",
                worst < 1e-5 ? "yes" : "NO");
  }

  // ---- Why Adam corrects its moments ----------------------------------------------------------
  std::printf("== 3. Bias correction: a constant gradient g = 1, beta1 = 0.9, beta2 = 0.999\n");
  std::printf("     t   m_t      1-b1^t   m_t/(1-b1^t)   v_t        step/lr corrected   uncorrected m/sqrt(v)\n");
  double m = 0, v = 0;
  for (int t = 1; t <= 1000; ++t) {
    m = 0.9 * m + 0.1 * 1.0;
    v = 0.999 * v + 0.001 * 1.0;
    if (t == 1 || t == 2 || t == 5 || t == 10 || t == 100 || t == 250 || t == 1000) {
      const double c1 = 1 - std::pow(0.9, t), c2 = 1 - std::pow(0.999, t);
      std::printf("  %4d   %.4f   %.4f   %.4f         %.6f   %.4f              %.4f\n", t, m, c1, m / c1, v,
                  (m / c1) / std::sqrt(v / c2), m / std::sqrt(v));
    }
  }
  // Both steps divide the same m by the same sqrt(v); only c1 and c2 differ. So, up to eps,
  // uncorrected / corrected = c1 / sqrt(c2) = (1 - b1^t) / sqrt(1 - b2^t) for ANY gradients.
  {
    chainrule::Rng rng(1);
    double mr = 0, vr = 0, worst = 0;
    for (int t = 1; t <= 1000; ++t) {  // noisy gradients: mean 0.1, standard deviation 1
      const double g = 0.1 + rng.normal();
      mr = 0.9 * mr + 0.1 * g;
      vr = 0.999 * vr + 0.001 * g * g;
      const double c1 = 1 - std::pow(0.9, t), c2 = 1 - std::pow(0.999, t);
      const double corrected = (mr / c1) / std::sqrt(vr / c2), uncorrected = mr / std::sqrt(vr);  // eps = 0
      worst = std::fmax(worst, std::fabs(uncorrected / corrected - c1 / std::sqrt(c2)));
    }
    double largest = 0, smallest = 1e300;
    int t_largest = 0, t_smallest = 0;
    for (int t = 1; t <= 10000; ++t) {
      const double ratio = (1 - std::pow(0.9, t)) / std::sqrt(1 - std::pow(0.999, t));
      if (ratio > largest) largest = ratio, t_largest = t;
      if (ratio < smallest) smallest = ratio, t_smallest = t;
    }
    std::printf("  uncorrected / corrected step = (1-b1^t)/sqrt(1-b2^t), whatever the gradients:\n");
    std::printf("    on 1000 noisy gradients (mean 0.1, sd 1), largest difference from that formula < 1e-12: %s\n",
                worst < 1e-12 ? "yes" : "NO");
    std::printf("    over t = 1..10000: largest %.4f at t = %d, smallest %.4f at t = %d, never below 1: %s\n", largest,
                t_largest, smallest, t_smallest, smallest >= 1 ? "yes" : "NO");
  }

  // ---- Momentum's terminal velocity --------------------------------------------------------------
  std::printf("== 4. Momentum on a constant gradient g = 1, lr 0.1, mu 0.9: the velocity\n");
  double vel = 0;
  for (int t = 1; t <= 50; ++t) {
    vel = 0.9 * vel - 0.1 * 1.0;
    if (t == 1 || t == 2 || t == 10 || t == 50) std::printf("  t = %2d   V = %.4f\n", t, vel);
  }
  std::printf("  limit -lr g / (1 - mu) = %.4f: ten times the plain SGD step\n", -0.1 / (1 - 0.9));

  // ---- Where eps goes: chainrule (on sqrt(v_hat)) against Keras (on the uncorrected sqrt(v)) -------
  // Keras: theta -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
  //       = lr m_hat / (sqrt(v_hat) + eps / sqrt(1 - b2^t)),  so its eps counts 1/sqrt(1 - b2^t) times more.
  std::printf("== 5. Where eps goes, at t = 1 (eps = 1e-7): step / lr for a gradient g\n");
  std::printf("     g        chainrule m_hat/(sqrt(v_hat)+eps)   Keras lr_t m/(sqrt(v)+eps)/lr\n");
  for (const double g : {1e-2, 1e-4, 1e-6}) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-7;
    const double m1 = (1 - b1) * g, v1 = (1 - b2) * g * g;  // the moments after one step
    const double ours = (m1 / (1 - b1)) / (std::sqrt(v1 / (1 - b2)) + eps);
    const double keras = std::sqrt(1 - b2) / (1 - b1) * m1 / (std::sqrt(v1) + eps);
    std::printf("  %.0e   %.4f                              %.4f\n", g, ours, keras);
  }
  std::printf("  Keras's eps acts as eps / sqrt(1 - b2^t): %.2e at t = 1, %.2e at t = 1000\n", 1e-7 / std::sqrt(1 - 0.999),
              1e-7 / std::sqrt(1 - std::pow(0.999, 1000)));
  return 0;
}
