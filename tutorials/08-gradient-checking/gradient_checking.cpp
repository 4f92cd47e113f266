// Tutorial 08: gradient checking. Centered differences, the relative error, why
// double precision, the choice of h (rounding noise against truncation error), the
// checker's error model (Richardson's step, the noise it expects), and its report.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "chainrule/gradcheck.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using chainrule::Tensor;

namespace {

// An error's order of magnitude, "1e-07", printed the same way on every build.
std::string order(double e) {
  if (e == 0) return "0";
  char buf[16];
  std::snprintf(buf, sizeof buf, "1e%+03d", static_cast<int>(std::floor(std::log10(e))));
  return buf;
}

// The reference network (seed 42) on four random images.
struct Setup {
  Tensor<double> X{4, 784};
  std::vector<int> labels{3, 1, 4, 1};
  Setup() {
    chainrule::Rng rng(1);
    for (auto& x : X.data) x = rng.uniform();
  }
};

}  // namespace

int main() {
  // ---- 1. One-sided against centered differences ----------------------------------------
  std::printf("== 1. f(x) = exp(x) at x = 1: f'(1) = e. Error of each difference quotient\n");
  std::printf("  h        forward (f(x+h) - f(x))/h   centered (f(x+h) - f(x-h))/2h\n");
  const double e = std::exp(1.0);
  for (double h : {1e-1, 1e-2, 1e-3}) {
    const double fwd = (std::exp(1 + h) - std::exp(1.0)) / h;
    const double ctr = (std::exp(1 + h) - std::exp(1 - h)) / (2 * h);
    std::printf("  %.0e    %.2e                    %.2e\n", h, std::fabs(fwd - e), std::fabs(ctr - e));
  }

  // ---- 2. The relative error and its floor ------------------------------------------------
  std::printf("== 2. rel = |a - n| / max(1e-8, |a| + |n|)\n");
  const double pairs[4][2] = {{1.0, 1.0 + 1e-8}, {1e-3, 1e-3 + 1e-11}, {2e-12, 1e-12}, {0.0, 3e-13}};
  for (const auto& p : pairs)
    std::printf("  a = %.8e  n = %.8e  |a - n| = %.0e  rel = %.1e\n", p[0], p[1], std::fabs(p[0] - p[1]),
                chainrule::relative_error(p[0], p[1], 1e-8));

  // ---- 3. Why double precision --------------------------------------------------------------
  std::printf("== 3. The same check in float and in double (10 largest entries of dW2)\n");
  Setup s;
  chainrule::set_kernel_path(chainrule::KernelPath::Reference);  // float: the plain loops, same everywhere
  auto mf = chainrule::make_mlp<float>(chainrule::MlpSpec{});
  auto md = chainrule::make_mlp<double>(chainrule::MlpSpec{});
  const Tensor<float> Xf = s.X.cast<float>();
  chainrule::SoftmaxCrossEntropy<float> cef;
  chainrule::SoftmaxCrossEntropy<double> ced;
  Tensor<float> dZf;
  Tensor<double> dZd;
  mf.zero_grad();
  cef.forward(mf.forward(Xf, true), s.labels);
  cef.backward(dZf);
  mf.backward(dZf);
  md.zero_grad();
  ced.forward(md.forward(s.X, true), s.labels);
  ced.backward(dZd);
  md.backward(dZd);
  auto& W2f = mf.get<chainrule::Dense<float>>("dense2");
  auto& W2d = md.get<chainrule::Dense<double>>("dense2");
  std::vector<std::size_t> idx(W2d.dW.size());
  for (std::size_t k = 0; k < idx.size(); ++k) idx[k] = k;
  std::partial_sort(idx.begin(), idx.begin() + 10, idx.end(),
                    [&](std::size_t a, std::size_t b) { return std::fabs(W2d.dW.data[a]) > std::fabs(W2d.dW.data[b]); });
  idx.resize(10);
  for (double h : {1e-2, 1e-3, 1e-4}) {
    double worst_f = 0, worst_d = 0;
    for (std::size_t k : idx) {
      float& wf = W2f.W.data[k];
      const float saved_f = wf;
      wf = saved_f + static_cast<float>(h);
      const float pf = cef.forward(mf.forward(Xf, true), s.labels);
      wf = saved_f - static_cast<float>(h);
      const float nf = cef.forward(mf.forward(Xf, true), s.labels);
      wf = saved_f;
      const double numeric_f = (static_cast<double>(pf) - static_cast<double>(nf)) / (2 * h);
      worst_f = std::max(worst_f, chainrule::relative_error(W2f.dW.data[k], numeric_f, 1e-8));

      double& wd = W2d.W.data[k];
      const double saved_d = wd;
      wd = saved_d + h;
      const double pd = ced.forward(md.forward(s.X, true), s.labels);
      wd = saved_d - h;
      const double nd = ced.forward(md.forward(s.X, true), s.labels);
      wd = saved_d;
      worst_d = std::max(worst_d, chainrule::relative_error(W2d.dW.data[k], (pd - nd) / (2 * h), 1e-8));
    }
    std::printf("  h = %.0e: worst relative error  float %s   double %s\n", h, order(worst_f).c_str(), order(worst_d).c_str());
  }

  // ---- 4. The h sweep on 784-128-10 --------------------------------------------------------
  // Written out (the checker does the same per entry) to also show the absolute error |a - n|.
  std::printf("== 4. Choosing h: 784-128-10 in double, 60 seeded entries each of X and W1\n");
  std::printf("  h        max rel error      max |a - n|\n");
  std::printf("           X       W1         X       W1\n");
  {
    auto model = chainrule::make_mlp<double>(chainrule::MlpSpec{});
    Tensor<double> X = s.X, dZ;
    chainrule::SoftmaxCrossEntropy<double> ce;
    model.zero_grad();
    ce.forward(model.forward(X, true), s.labels);
    ce.backward(dZ);
    model.backward(dZ, /*need_input_grad=*/true);
    const Tensor<double> dX = model.input_grad();
    auto& d1 = model.get<chainrule::Dense<double>>("dense1");
    auto loss = [&] { return ce.forward(model.forward(X, true), s.labels); };
    std::vector<std::uint8_t> base, probe;
    loss();
    model.kink_pattern(base);
    chainrule::Rng pick(9);
    std::vector<std::size_t> ix(60), iw(60);
    for (auto& k : ix) k = pick.below(X.size());
    for (auto& k : iw) k = pick.below(d1.W.size());
    for (double h : {1e-3, 1e-4, 1e-5, 1e-6, 1e-7}) {
      double rel[2] = {0, 0}, abs_err[2] = {0, 0};
      for (int t = 0; t < 2; ++t) {
        Tensor<double>& value = t == 0 ? X : d1.W;
        const Tensor<double>& analytic = t == 0 ? dX : d1.dW;
        for (std::size_t k : t == 0 ? ix : iw) {
          const double saved = value.data[k];
          value.data[k] = saved + h;
          const double plus = loss();
          probe.clear();
          model.kink_pattern(probe);
          bool crossed = probe != base;
          value.data[k] = saved - h;
          const double minus = loss();
          probe.clear();
          model.kink_pattern(probe);
          crossed |= probe != base;
          value.data[k] = saved;
          if (crossed) continue;  // a ReLU flipped: skip, as the checker does
          const double numeric = (plus - minus) / (2 * h);
          rel[t] = std::max(rel[t], chainrule::relative_error(analytic.data[k], numeric, 1e-8));
          abs_err[t] = std::max(abs_err[t], std::fabs(analytic.data[k] - numeric));
        }
      }
      std::printf("  %.0e    %s  %s      %s  %s\n", h, order(rel[0]).c_str(), order(rel[1]).c_str(),
                  order(abs_err[0]).c_str(), order(abs_err[1]).c_str());
    }
    loss();
  }

  // ---- 5. The error model, on f(x) = exp(x) at x = 1 ----------------------------------------
  // What check_gradients computes for one entry: D(h), D(2h), D(4h); Richardson's n; the noise.
  std::printf("== 5. The checker's error model on f(x) = exp(x) at x = 1 (f' = e)\n");
  std::printf("  h        |D(h) - e|  |n - e|    rounding   truncation  noise      |n - e| / noise\n");
  for (double h : {1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6}) {
    auto D = [&](double step) { return (std::exp(1 + step) - std::exp(1 - step)) / (2 * step); };
    const double n = (4 * D(h) - D(2 * h)) / 3;            // Richardson: the h^2 term cancels
    const double n_wide = (4 * D(2 * h) - D(4 * h)) / 3;   // the same from 2h and 4h (16x its h^4 term)
    const double eps = std::numeric_limits<double>::epsilon();
    const double rounding = 2 * eps * std::exp(1 + 4 * h) / h;
    const double truncation = std::fabs(n_wide - n) / 15;
    const double noise = rounding + truncation;  // absolute here: divided by |a| + |n| in the checker
    std::printf("  %.0e    %-10s  %-9s  %-9s  %-10s  %-9s  %s\n", h, order(std::fabs(D(h) - e)).c_str(),
                order(std::fabs(n - e)).c_str(), order(rounding).c_str(), order(truncation).c_str(),
                order(noise).c_str(), std::fabs(n - e) <= noise ? "<= 1" : "> 1");
  }

  // ---- 6. A report, as `chainrule gradcheck` prints it --------------------------------------
  std::printf("== 6. check_model on a 6-5-3 network: each error beside the noise the model expects\n");
  {
    chainrule::MlpSpec spec;
    spec.inputs = 6;
    spec.hidden = {5};
    spec.classes = 3;
    auto model = chainrule::make_mlp<double>(spec);
    chainrule::Rng rng(8);
    Tensor<double> X(4, 6);
    for (auto& x : X.data) x = rng.normal();
    for (auto& p : model.params())
      if (p.name.back() == 'b')
        for (auto& b : p.value->data) b = 0.1 * rng.normal();
    chainrule::GradCheckOptions o;  // the defaults: h = 1e-5, floors 1e-8 and 1%, safety 10
    const auto report = chainrule::check_model("network 6-5-3", model, X, {0, 2, 1, 2}, o);
    // Orders of magnitude, so that this page reads the same on every build.
    std::printf("  tensor     checked  max rel error  noise there  error / noise  result\n");
    for (const auto& r : report.rows)
      std::printf("  %-9s  %2zu / %-2zu  %-13s  %-11s  %-13s  %s\n", r.name.c_str(), r.checked, r.total,
                  order(r.max_rel_error).c_str(), order(r.noise).c_str(), r.ratio <= o.safety ? "<= 10" : "> 10",
                  r.pass ? "PASS" : "FAIL");
    std::printf("  %s: every error is at most %g times its noise\n", report.passed() ? "PASS" : "FAIL", o.safety);
  }
  return 0;
}
