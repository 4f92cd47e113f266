#include "chainrule/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <ostream>
#include <sstream>

#include "chainrule/init.hpp"
#include "chainrule/layers/batchnorm.hpp"
#include "chainrule/layers/conv2d.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/layers/pool.hpp"
#include "chainrule/layers/relu.hpp"
#include "chainrule/layers/softmax.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/penalty.hpp"
#include "chainrule/rng.hpp"

namespace chainrule {

double relative_error(double analytic, double numeric, double floor) {
  return std::abs(analytic - numeric) / std::max(floor, std::abs(analytic) + std::abs(numeric));
}

double expected_noise(double loss_scale, double h, double truncation, double denominator) {
  constexpr double eps = std::numeric_limits<double>::epsilon();
  // (4 D(h) - D(2h)) / 3 carries 4/3 of D(h)'s rounding and 1/6 of D(h)'s again from D(2h): 1.5, say 2.
  return (2 * eps * loss_scale / h + truncation) / denominator + 64 * eps;
}

bool GradCheckReport::passed() const {
  return !rows.empty() && std::all_of(rows.begin(), rows.end(), [](const GradCheckRow& r) { return r.pass; });
}

double GradCheckReport::max_rel_error() const {
  double m = 0;
  for (const auto& r : rows) m = std::max(m, r.max_rel_error);
  return m;
}

double GradCheckReport::margin() const {
  double m = std::numeric_limits<double>::infinity();
  for (const auto& r : rows) m = std::min(m, r.ratio > 0 ? safety / r.ratio : m);
  return m;
}

namespace {

// Which entries of a tensor of `total` entries to probe: all, or a seeded sample.
std::vector<std::size_t> entries_to_probe(std::size_t total, const GradCheckOptions& o, Rng& rng) {
  std::vector<std::size_t> idx(total);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  if (o.sample == 0 || total <= o.full_up_to || o.sample >= total) return idx;
  const std::size_t max_entries = o.sample;
  for (std::size_t k = 0; k < max_entries; ++k) std::swap(idx[k], idx[k + rng.below(total - k)]);
  idx.resize(max_entries);
  std::sort(idx.begin(), idx.end());
  return idx;
}

std::string format_g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1e", v);
  return buf;
}

// An error / noise ratio: "0.42", "3.1", "2e+07".
std::string format_ratio(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 100 ? "%.2g" : "%.0e", v);
  return buf;
}

}  // namespace

GradCheckReport check_gradients(const std::string& title, const std::string& detail,
                                const std::function<double()>& loss,
                                const std::function<void(std::vector<std::uint8_t>&)>& kinks,
                                const std::vector<CheckedTensor>& tensors, const GradCheckOptions& options,
                                const std::function<double()>& magnitude) {
  GradCheckReport report{title, detail, options.safety, {}};
  Rng rng(options.seed ^ 0x5eedULL);
  std::vector<std::uint8_t> base_kinks, probe_kinks;
  loss();
  kinks(base_kinks);
  const double h = options.h;

  for (const auto& t : tensors) {
    GradCheckRow row;
    row.name = t.name;
    row.shape = t.value->shape();
    row.total = t.value->size();
    for (double a : t.analytic->data) row.max_abs_analytic = std::max(row.max_abs_analytic, std::abs(a));
    const double scale_floor = std::max(options.floor, options.scale_floor * row.max_abs_analytic);

    for (std::size_t k : entries_to_probe(row.total, options, rng)) {
      double& theta = t.value->data[k];
      const double saved = theta;
      bool crossed = false;
      double loss_scale = 0;
      // L at theta + step, noting whether the step moved a ReLU across its kink.
      auto at = [&](double step) {
        theta = saved + step;
        const double value = loss();
        probe_kinks.clear();
        kinks(probe_kinks);
        crossed |= probe_kinks != base_kinks;
        loss_scale = std::max(loss_scale, magnitude ? magnitude() : std::abs(value));
        return value;
      };
      // Centered differences with the steps h, 2h and 4h: D(s) = L' + s^2 L'''/6 + s^4 L'''''/120 + ...
      const double d1 = (at(h) - at(-h)) / (2 * h);
      const double d2 = (at(2 * h) - at(-2 * h)) / (4 * h);
      const double d4 = (at(4 * h) - at(-4 * h)) / (8 * h);
      theta = saved;
      if (crossed) {  // a step went over a ReLU kink: the difference quotient means nothing here
        ++row.skipped;
        continue;
      }
      // Richardson: (4 D(h) - D(2h)) / 3 cancels the s^2 term, leaving L' - h^4 L'''''/30.
      const double n = (4 * d1 - d2) / 3;
      const double n_wide = (4 * d2 - d4) / 3;  // the same from 2h and 4h: its h^4 term is 16 times larger
      const double truncation = std::abs(n_wide - n) / 15;
      const double a = t.analytic->data[k];
      const double denominator = std::max(scale_floor, std::abs(a) + std::abs(n));
      const double rel = std::abs(a - n) / denominator;
      const double noise = expected_noise(loss_scale, h, truncation, denominator);
      if (rel >= row.max_rel_error) {
        row.max_rel_error = rel;
        row.noise = noise;
      }
      row.ratio = std::max(row.ratio, rel / noise);
      ++row.checked;
    }
    loss();  // leave the forward state as it was

    if (row.max_abs_analytic == 0.0) {
      row.pass = false;
      row.note = "the analytic gradient is all zeros: a check on zeros proves nothing";
    } else if (row.checked == 0) {
      row.pass = false;
      row.note = "no entry could be checked";
    } else if (!(row.ratio <= options.safety)) {
      row.pass = false;
      row.note = "an error " + format_ratio(row.ratio) + " times its noise: the backward pass disagrees";
    } else {
      row.pass = true;
    }
    report.rows.push_back(row);
  }
  return report;
}

namespace {
Tensor<double> random_tensor(int rows, int cols, Rng& rng, double scale = 1.0) {
  Tensor<double> t(rows, cols);
  for (auto& v : t.data) v = scale * rng.normal();
  return t;
}

double dot(const Tensor<double>& a, const Tensor<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.data.size(); ++k) s += a.data[k] * b.data[k];
  return s;
}

std::string layer_detail(int N, const GradCheckOptions& o) {
  std::ostringstream s;
  s << "N = " << N << ", h = " << format_g(o.h) << ", L = sum(Y * G) with random G";
  return s.str();
}
}  // namespace

GradCheckReport check_layer(Layer<double>& layer, Tensor<double> X, const GradCheckOptions& options) {
  Rng rng(options.seed);
  Tensor<double> Y, dX;
  layer.forward(X, Y, /*training=*/true);
  const Tensor<double> G = random_tensor(Y.rows, Y.cols, rng);  // the upstream gradient dL/dY

  // Analytic: zero the parameter gradients, then one backward pass with dY = G.
  auto params = layer.params();
  for (auto& p : params) p.grad->zero();
  layer.backward(G, &dX);

  std::vector<CheckedTensor> tensors{{"X", &X, &dX}};
  for (auto& p : params) tensors.push_back({p.name, p.value, p.grad});

  Tensor<double> Yp;
  auto loss = [&] {
    layer.forward(X, Yp, true);
    return dot(Yp, G);
  };
  // The rounding of a sum grows with its terms, not with its (possibly cancelled) total.
  auto magnitude = [&] {
    double m = 0;
    for (std::size_t k = 0; k < Yp.data.size(); ++k) m += std::abs(Yp.data[k] * G.data[k]);
    return m;
  };
  auto kinks = [&](std::vector<std::uint8_t>& bits) { layer.kink_pattern(bits); };
  std::string title = layer.name() + " (" + layer.kind() + ")";
  return check_gradients(title, layer_detail(X.rows, options), loss, kinks, tensors, options, magnitude);
}

GradCheckReport check_model(const std::string& title, Sequential<double>& model, Tensor<double> X,
                            const std::vector<int>& labels, const GradCheckOptions& options) {
  auto loss_fn = parts<double>().softmax_cross_entropy();  // the real loss, or an injected bug's
  SoftmaxCrossEntropy<double>& ce = *loss_fn;
  Tensor<double> dZ;
  model.zero_grad();
  ce.forward(model.forward(X, true), labels);
  ce.backward(dZ);
  model.backward(dZ, /*need_input_grad=*/true);
  const Tensor<double> dX = model.input_grad();

  std::vector<CheckedTensor> tensors{{"X", &X, &dX}};
  for (auto& p : model.params()) tensors.push_back({p.name, p.value, p.grad});

  auto loss = [&] { return ce.forward(model.forward(X, true), labels); };
  auto kinks = [&](std::vector<std::uint8_t>& bits) { model.kink_pattern(bits); };
  std::ostringstream detail;
  detail << "N = " << X.rows << ", h = " << format_g(options.h) << ", softmax cross-entropy loss";
  if (options.sample) detail << ", " << options.sample << " sampled entries of tensors over " << options.full_up_to;
  return check_gradients(title, detail.str(), loss, kinks, tensors, options);
}

// ---- The standard suite ------------------------------------------------------------

namespace {

// A scalar loss module checked on its input: L(Z) itself is the scalar.
template <typename Forward, typename Backward>
GradCheckReport check_loss(const std::string& title, const std::string& input_name, Tensor<double> Z, Forward forward,
                           Backward backward, const GradCheckOptions& options) {
  Tensor<double> dZ;
  forward(Z);
  backward(dZ);
  std::ostringstream detail;
  detail << "N = " << Z.rows << ", h = " << format_g(options.h) << ", the loss itself is the scalar";
  return check_gradients(title, detail.str(), [&] { return forward(Z); }, [](std::vector<std::uint8_t>&) {},
                         {{input_name, &Z, &dZ}}, options);
}

std::vector<int> random_labels(int n, int classes, Rng& rng) {
  std::vector<int> labels(n);
  for (auto& y : labels) y = static_cast<int>(rng.below(static_cast<std::uint64_t>(classes)));
  return labels;
}

}  // namespace

namespace {
// The 6-5-3 network case with a given hidden activation (small_network_case is its ReLU).
NetworkCase network_case(std::uint64_t seed, const std::string& activation) {
  MlpSpec spec;
  spec.inputs = 6;
  spec.hidden = {5};
  spec.classes = 3;
  spec.seed = seed;
  spec.set_activation(activation);
  NetworkCase c{make_mlp<double>(spec), Tensor<double>(4, 6), {}};
  Rng rng(seed ^ 0x653ULL);
  for (auto& p : c.model.params())
    if (p.name.back() == 'b')
      for (auto& b : p.value->data) b = 0.1 * rng.normal();
  // Redraw each input row until its hidden pre-activations Z1 = x W1 + b1 keep 0.05 away
  // from ReLU's kink: then no probe (at most 4h = 4e-4 times an entry of x or W1) crosses it.
  const auto& dense1 = c.model.get<Dense<double>>("dense1");
  for (int i = 0; i < c.X.rows; ++i) {
    for (bool near_kink = true; near_kink;) {
      for (int k = 0; k < c.X.cols; ++k) c.X(i, k) = rng.normal();
      near_kink = false;
      for (int j = 0; j < dense1.W.cols; ++j) {
        double z = dense1.b(0, j);
        for (int k = 0; k < c.X.cols; ++k) z += c.X(i, k) * dense1.W(k, j);
        near_kink |= std::abs(z) < 0.05;
      }
    }
  }
  c.labels = random_labels(c.X.rows, 3, rng);
  return c;
}
}  // namespace

NetworkCase small_network_case(std::uint64_t seed) { return network_case(seed, "relu"); }

std::vector<GradCheckReport> standard_gradchecks(std::uint64_t seed, bool include_784) {
  std::vector<GradCheckReport> reports;
  Rng rng(seed);
  GradCheckOptions tight;  // smooth pieces: h = 1e-5
  tight.seed = seed;
  // The step h trades truncation (~h^2 |L'''|, large where the function curves sharply) against
  // rounding noise (~eps |L| / h). The checker measures both per entry and sets each tensor's
  // limit from them (tutorials/08); h only decides how small that limit can be.
  GradCheckOptions wide = tight;  // fused loss and networks: h = 1e-4 (sums of many terms, noise-bound)
  wide.h = 1e-4;

  {  // Dense
    auto dense = parts<double>().dense("dense", 4, 3);
    he_normal(dense->W, 4, rng);
    for (auto& b : dense->b.data) b = 0.1 * rng.normal();
    reports.push_back(check_layer(*dense, random_tensor(5, 4, rng), tight));
    reports.back().title = "dense (D = 4 -> H = 3)";
  }
  {  // ReLU, on inputs kept at least 0.1 away from the kink
    auto relu = parts<double>().relu("relu");
    Tensor<double> X(5, 6);
    for (auto& x : X.data) x = (rng.uniform() < 0.5 ? -1 : 1) * rng.uniform(0.1, 1.0);
    reports.push_back(check_layer(*relu, X, tight));
  }
  {  // Softmax on its own (Jacobian-vector product)
    auto softmax = parts<double>().softmax("softmax");
    reports.push_back(check_layer(*softmax, random_tensor(4, 5, rng, 2.0), tight));
  }
  {  // Dropout in training mode, with its mask frozen across probes
    auto dropout = parts<double>().dropout("dropout", 0.5, seed);
    dropout->freeze_mask(true);
    reports.push_back(check_layer(*dropout, random_tensor(6, 5, rng), tight));
    reports.back().title = "dropout (rate 0.5, training mode)";
  }
  {  // BatchNorm1d in training mode
    auto bn = parts<double>().batchnorm("batchnorm", 4);
    for (auto& g : bn->gamma.data) g = 1.0 + 0.5 * rng.normal();
    for (auto& b : bn->beta.data) b = 0.5 * rng.normal();
    Tensor<double> X = random_tensor(6, 4, rng, 2.0);
    for (auto& x : X.data) x += 1.0;
    reports.push_back(check_layer(*bn, X, tight));
    reports.back().title = "batchnorm (training mode)";
  }
  {  // Fused softmax cross-entropy
    auto ce = parts<double>().softmax_cross_entropy();
    auto labels = random_labels(5, 4, rng);
    reports.push_back(check_loss("softmax cross-entropy (fused)", "Z", random_tensor(5, 4, rng, 2.0),
                                 [&](const Tensor<double>& Z) { return ce->forward(Z, labels); },
                                 [&](Tensor<double>& dZ) { ce->backward(dZ); }, wide));
  }
  {  // Cross-entropy on probabilities. h = 1e-6: -log p curves sharply (its third derivative
     // is -2/p^3), so a larger step misjudges it, while its gradient -1/(N p) is large
     // enough that the rounding noise of a small step does not matter.
    auto ce = parts<double>().cross_entropy();
    GradCheckOptions small_step = tight;
    small_step.h = 1e-6;
    auto labels = random_labels(5, 4, rng);
    Tensor<double> P(5, 4);
    softmax_rows(random_tensor(5, 4, rng), P);
    reports.push_back(check_loss("cross-entropy on probabilities", "P", P,
                                 [&](const Tensor<double>& Q) { return ce->forward(Q, labels); },
                                 [&](Tensor<double>& dP) { ce->backward(dP); }, small_step));
  }
  {  // Mean squared error
    auto mse = parts<double>().mean_squared_error();
    const Tensor<double> target = random_tensor(5, 2, rng);
    reports.push_back(check_loss("mean squared error", "Yhat", random_tensor(5, 2, rng),
                                 [&](const Tensor<double>& Yhat) { return mse->forward(Yhat, target); },
                                 [&](Tensor<double>& dY) { mse->backward(dY); }, tight));
  }
  {  // Fused against unfused: (P - Y)/N must equal softmax's Jacobian applied to CE's gradient
    const Tensor<double> Z = random_tensor(6, 5, rng, 2.0);
    auto labels = random_labels(6, 5, rng);
    auto fused = parts<double>().softmax_cross_entropy();
    Tensor<double> dZ_fused, P, dP, dZ_unfused;
    const double L_fused = fused->forward(Z, labels);
    fused->backward(dZ_fused);
    auto softmax = parts<double>().softmax("softmax");
    auto ce = parts<double>().cross_entropy();
    softmax->forward(Z, P, true);
    const double L_unfused = ce->forward(P, labels);
    ce->backward(dP);
    softmax->backward(dP, &dZ_unfused);

    // Two formulas, no finite differences: the noise is their own rounding, 64 eps.
    GradCheckReport r{"fused against unfused softmax cross-entropy",
                      "N = 6, C = 5: dZ = (P - Y)/N against J_softmax^T dP", tight.safety, {}};
    GradCheckRow loss_row, grad_row;
    loss_row.name = "L";
    loss_row.shape = "(1, 1)";
    loss_row.total = loss_row.checked = 1;
    loss_row.max_rel_error = relative_error(L_fused, L_unfused, tight.floor);
    loss_row.max_abs_analytic = std::abs(L_fused);
    grad_row.name = "dZ";
    grad_row.shape = dZ_fused.shape();
    grad_row.total = grad_row.checked = dZ_fused.size();
    for (double a : dZ_fused.data) grad_row.max_abs_analytic = std::max(grad_row.max_abs_analytic, std::abs(a));
    const double scale_floor = std::max(tight.floor, tight.scale_floor * grad_row.max_abs_analytic);
    for (std::size_t k = 0; k < dZ_fused.size(); ++k) {
      const double a = dZ_fused.data[k], b = dZ_unfused.data[k];
      grad_row.max_rel_error =
          std::max(grad_row.max_rel_error, std::abs(a - b) / std::max(scale_floor, std::abs(a) + std::abs(b)));
    }
    for (auto* row : {&loss_row, &grad_row}) {
      row->noise = 64 * std::numeric_limits<double>::epsilon();
      row->ratio = row->max_rel_error / row->noise;
      row->pass = row->max_abs_analytic > 0 && row->ratio <= tight.safety;
      if (!row->pass) row->note = "fused and unfused disagree: relative error " + format_g(row->max_rel_error);
    }
    r.rows = {loss_row, grad_row};
    reports.push_back(r);
  }
  {  // A small network, every entry
    NetworkCase c = small_network_case(seed);
    reports.push_back(check_model("network 6-5-3 (every entry)", c.model, c.X, c.labels, wide));
  }
  if (include_784) {  // The reference network: every entry of b1, W2, b2; a seeded sample of X and W1
    MlpSpec spec;
    spec.seed = seed;
    auto model = make_mlp<double>(spec);
    for (auto& p : model.params())
      if (p.name.back() == 'b')
        for (auto& b : p.value->data) b = 0.1 * rng.normal();
    Tensor<double> X(4, 784);
    for (auto& x : X.data) x = rng.uniform();  // like pixels in [0, 1]
    GradCheckOptions net = wide;
    net.sample = 200;
    reports.push_back(check_model("network 784-128-10", model, X,
                                  random_labels(4, 10, rng), net));
  }
  return reports;
}

// ---- The BatchNorm choices ----------------------------------------------------------

std::vector<GradCheckReport> batchnorm_gradchecks(std::uint64_t seed) {
  std::vector<GradCheckReport> reports;
  Rng bn_rng(seed ^ 0xB17ULL);
  GradCheckOptions tight;
  tight.seed = seed;
  GradCheckOptions wide = tight;  // networks, as in the standard suite
  wide.h = 1e-4;
  {  // BatchNorm1d in training mode with Keras's eps 1e-3 and momentum 0.99 (0.01 here)
    auto bn = parts<double>().batchnorm("batchnorm", 4);
    bn->set_statistics(0.01, 1e-3);
    for (auto& g : bn->gamma.data) g = 1.0 + 0.5 * bn_rng.normal();
    for (auto& b : bn->beta.data) b = 0.5 * bn_rng.normal();
    Tensor<double> X = random_tensor(6, 4, bn_rng, 0.1);  // a small spread: eps 1e-3 matters next to var ~ 0.01
    reports.push_back(check_layer(*bn, X, tight));
    reports.back().title = "batchnorm (training mode, eps 1e-3, momentum 0.01)";
  }
  for (const bool after : {false, true}) {  // 6-5-3 tanh networks with BatchNorm before and after tanh, every entry
    MlpSpec spec;
    spec.inputs = 6;
    spec.hidden = {5};
    spec.classes = 3;
    spec.seed = seed;
    spec.activation = "tanh";
    spec.batchnorm = true;
    spec.batchnorm_after = after;
    spec.bn_eps = 1e-3;
    spec.bn_momentum = 0.01;
    auto model = make_mlp<double>(spec);
    for (auto& p : model.params()) {
      if (p.name.ends_with(".gamma"))
        for (auto& g : p.value->data) g = 1.0 + 0.3 * bn_rng.normal();
      else if (p.name.back() == 'b' || p.name.ends_with(".beta"))
        for (auto& b : p.value->data) b = 0.1 * bn_rng.normal();
    }
    Tensor<double> X = random_tensor(6, 6, bn_rng);
    reports.push_back(check_model(std::string("network 6-5-3 tanh, batchnorm ") + (after ? "after" : "before") +
                                      " tanh, eps 1e-3 (every entry)",
                                  model, X, random_labels(6, 3, bn_rng), wide));
  }
  return reports;
}

// ---- The activations ---------------------------------------------------------------

std::vector<GradCheckReport> activation_gradchecks(std::uint64_t seed) {
  std::vector<GradCheckReport> reports;
  Rng rng(seed ^ 0xAC71ULL);
  GradCheckOptions tight;  // smooth (or piecewise linear) elementwise maps: h = 1e-5
  tight.seed = seed;
  GradCheckOptions wide = tight;  // networks, as in the standard suite
  wide.h = 1e-4;

  {  // Sigmoid, on inputs of scale 3: the middle and the saturated tails (sigma' down to ~1e-4)
    auto sigmoid = parts<double>().sigmoid("sigmoid");
    reports.push_back(check_layer(*sigmoid, random_tensor(5, 6, rng, 3.0), tight));
    reports.back().title = "sigmoid";
  }
  {  // Tanh, likewise
    auto tanh = parts<double>().tanh("tanh");
    reports.push_back(check_layer(*tanh, random_tensor(5, 6, rng, 3.0), tight));
    reports.back().title = "tanh";
  }
  for (const char* alpha : {"0.01", "0.2"}) {  // Leaky ReLU, on inputs kept at least 0.1 away from the kink
    auto leaky = parts<double>().leaky_relu("leaky_relu", std::stod(alpha));
    Tensor<double> X(5, 6);
    for (auto& x : X.data) x = (rng.uniform() < 0.5 ? -1 : 1) * rng.uniform(0.1, 1.0);
    reports.push_back(check_layer(*leaky, X, tight));
    reports.back().title = "leaky_relu (alpha " + std::string(alpha) + ")";
  }
  for (const char* activation : {"sigmoid", "tanh", "leaky_relu:0.1"}) {  // a 6-5-3 network, every entry
    NetworkCase c = network_case(seed, activation);
    reports.push_back(check_model("network 6-5-3 with " + std::string(activation) + " (every entry)", c.model, c.X,
                                  c.labels, wide));
  }
  return reports;
}

// ---- Weight decay: the L2 penalty -----------------------------------------------------

std::vector<GradCheckReport> penalty_gradchecks(std::uint64_t seed) {
  std::vector<GradCheckReport> reports;
  Rng rng(seed ^ 0x12ULL);
  GradCheckOptions tight;  // a quadratic: h = 1e-5
  tight.seed = seed;
  GradCheckOptions wide = tight;  // networks, as in the standard suite
  wide.h = 1e-4;
  const double lambda = rng.uniform(0.01, 0.5);
  std::ostringstream lam;
  lam << "lambda = " << format_g(lambda);

  {  // The penalty alone: R = lambda/2 (||W1||^2 + ||W2||^2), with a bias it must leave alone
    Tensor<double> W1 = random_tensor(5, 4, rng), W2 = random_tensor(4, 3, rng), b1 = random_tensor(1, 4, rng);
    Tensor<double> dW1(5, 4), dW2(4, 3), db1(1, 4);
    const std::vector<Param<double>> params{{"dense1.W", &W1, &dW1}, {"dense1.b", &b1, &db1}, {"dense2.W", &W2, &dW2}};
    const L2Penalty<double> penalty(lambda);
    penalty.backward(params);  // the gradients start at 0: dR/dW = lambda W
    reports.push_back(check_gradients("L2 penalty lambda/2 ||W||^2", lam.str() + ", h = " + format_g(tight.h) +
                                          ", the penalty itself is the scalar",
                                      [&] { return penalty.forward(params); }, [](std::vector<std::uint8_t>&) {},
                                      {{"dense1.W", &W1, &dW1}, {"dense2.W", &W2, &dW2}}, tight));
  }
  {  // The 6-5-3 network with the penalty: L = cross-entropy + lambda/2 ||W||^2, every entry
    NetworkCase c = small_network_case(seed);
    SoftmaxCrossEntropy<double> ce;
    const L2Penalty<double> penalty(lambda);
    const std::vector<Param<double>> params = c.model.params();
    Tensor<double> dZ;
    c.model.zero_grad();
    ce.forward(c.model.forward(c.X, true), c.labels);
    ce.backward(dZ);
    c.model.backward(dZ, /*need_input_grad=*/true);
    penalty.backward(params);  // dL/dW += lambda W, as train_step does
    const Tensor<double> dX = c.model.input_grad();
    std::vector<CheckedTensor> tensors{{"X", &c.X, &dX}};
    for (const auto& p : params) tensors.push_back({p.name, p.value, p.grad});
    auto loss = [&] { return ce.forward(c.model.forward(c.X, true), c.labels) + penalty.forward(params); };
    auto kinks = [&](std::vector<std::uint8_t>& bits) { c.model.kink_pattern(bits); };
    reports.push_back(check_gradients("network 6-5-3 + L2 penalty (every entry)",
                                      "N = 4, " + lam.str() + ", h = " + format_g(wide.h) +
                                          ", softmax cross-entropy + lambda/2 ||W||^2",
                                      loss, kinks, tensors, wide));
  }
  return reports;
}

// ---- The convolutional layers ---------------------------------------------------------

namespace {

std::string geometry(const ImageShape& in, int kernel, int stride, int padding) {
  std::ostringstream s;
  s << in.channels << " x " << in.height << "x" << in.width << ", k " << kernel << ", stride " << stride;
  if (padding) s << ", pad " << padding;
  return s.str();
}

// Copies each chosen window's max onto another entry of the same window: an exact tie.
void plant_ties(Tensor<double>& X, const ImageShape& in, int k, int s, Rng& rng) {
  const int Ho = (in.height - k) / s + 1, Wo = (in.width - k) / s + 1;
  int w = 0;
  for (int n = 0; n < X.rows; ++n)
    for (int c = 0; c < in.channels; ++c)
      for (int i = 0; i < Ho; ++i)
        for (int j = 0; j < Wo; ++j)
          if (w++ % 2 == 0) {  // every other window
            int best = in.index(c, s * i, s * j);
            for (int u = 0; u < k; ++u)
              for (int v = 0; v < k; ++v)
                if (X(n, in.index(c, s * i + u, s * j + v)) > X(n, best)) best = in.index(c, s * i + u, s * j + v);
            int other;
            do {
              const int place = static_cast<int>(rng.below(static_cast<std::uint64_t>(k * k)));
              other = in.index(c, s * i + place / k, s * j + place % k);
            } while (other == best);
            X(n, other) = X(n, best);
          }
}

void init_conv(Conv2d<double>& conv, Rng& rng) {
  he_normal(conv.W, conv.fan_in(), rng);
  for (auto& b : conv.b.data) b = 0.1 * rng.normal();
}

void init_dense(Dense<double>& dense, Rng& rng) {
  he_normal(dense.W, dense.W.rows, rng);
  for (auto& b : dense.b.data) b = 0.1 * rng.normal();
}

}  // namespace

std::vector<GradCheckReport> cnn_gradchecks(std::uint64_t seed, bool include_lenet5) {
  std::vector<GradCheckReport> reports;
  Rng rng(seed ^ 0xC0417ULL);
  GradCheckOptions tight;  // conv and pooling are (piecewise) linear in each tensor: h = 1e-5
  tight.seed = seed;
  GradCheckOptions wide = tight;  // networks, as in the standard suite
  wide.h = 1e-4;

  struct ConvCase {
    ImageShape in;
    int out, k, s, p;
  };
  for (const ConvCase& c : {ConvCase{{2, 5, 7}, 3, 3, 1, 1}, ConvCase{{2, 5, 7}, 3, 3, 2, 2},
                            ConvCase{{3, 6, 5}, 2, 2, 2, 0}, ConvCase{{1, 7, 5}, 2, 5, 1, 2}}) {
    auto made = parts<double>().conv2d("conv", c.in, c.out, c.k, c.s, c.p);
    Conv2d<double>& conv = *made;
    init_conv(conv, rng);
    reports.push_back(check_layer(conv, random_tensor(2, c.in.size(), rng), tight));
    reports.back().title = "conv2d (" + geometry(c.in, c.k, c.s, c.p) + " -> " + std::to_string(c.out) + " x " +
                           std::to_string(conv.out_shape().height) + "x" + std::to_string(conv.out_shape().width) + ")";
  }
  for (const ConvCase& c : {ConvCase{{2, 5, 7}, 0, 2, 2, 0}, ConvCase{{2, 7, 5}, 0, 3, 2, 0}}) {
    auto pool = parts<double>().maxpool2d("maxpool", c.in, c.k, c.s);
    Tensor<double> X = random_tensor(2, c.in.size(), rng);
    plant_ties(X, c.in, c.k, c.s, rng);
    reports.push_back(check_layer(*pool, X, tight));
    reports.back().title = "maxpool2d (" + geometry(c.in, c.k, c.s, 0) + ", ties in every other window)";
  }
  for (const ConvCase& c : {ConvCase{{2, 5, 7}, 0, 2, 2, 0}, ConvCase{{2, 7, 5}, 0, 3, 2, 0}}) {
    auto pool = parts<double>().avgpool2d("avgpool", c.in, c.k, c.s);
    reports.push_back(check_layer(*pool, random_tensor(2, c.in.size(), rng), tight));
    reports.back().title = "avgpool2d (" + geometry(c.in, c.k, c.s, 0) + ")";
  }
  {  // conv -> relu -> maxpool -> dense, every entry
    Sequential<double> model;
    init_conv(model.add(parts<double>().conv2d("conv1", ImageShape{1, 6, 6}, 2, 3, 1, 1)), rng);
    model.add(parts<double>().relu("relu1"));
    model.add(parts<double>().maxpool2d("pool1", ImageShape{2, 6, 6}, 2, 0));
    init_dense(model.add(parts<double>().dense("dense1", 18, 3)), rng);
    Tensor<double> X = random_tensor(3, 36, rng);
    reports.push_back(check_model("network conv-relu-maxpool-dense (every entry)", model, X,
                                  random_labels(3, 3, rng), wide));
  }
  if (include_lenet5) {  // LeNet-5 on 28x28: conv 6@5x5 pad 2, max 2, conv 16@5x5, max 2, 120, 84, 10
    Sequential<double> model;
    init_conv(model.add(parts<double>().conv2d("conv1", ImageShape{1, 28, 28}, 6, 5, 1, 2)), rng);
    model.add(parts<double>().relu("relu1"));
    model.add(parts<double>().maxpool2d("pool1", ImageShape{6, 28, 28}, 2, 0));
    init_conv(model.add(parts<double>().conv2d("conv2", ImageShape{6, 14, 14}, 16, 5, 1, 0)), rng);
    model.add(parts<double>().relu("relu2"));
    model.add(parts<double>().maxpool2d("pool2", ImageShape{16, 10, 10}, 2, 0));
    init_dense(model.add(parts<double>().dense("dense1", 400, 120)), rng);
    model.add(parts<double>().relu("relu3"));
    init_dense(model.add(parts<double>().dense("dense2", 120, 84)), rng);
    model.add(parts<double>().relu("relu4"));
    init_dense(model.add(parts<double>().dense("dense3", 84, 10)), rng);
    Tensor<double> X(2, 784);
    for (auto& x : X.data) x = rng.uniform();  // like pixels in [0, 1]
    // h = 1e-5: with 9408 ReLUs, steps of 4h = 4e-4 on conv1 would cross a kink on most probes.
    GradCheckOptions net = tight;
    net.sample = 40;
    net.full_up_to = 200;
    reports.push_back(check_model("network LeNet-5", model, X, random_labels(2, 10, rng), net));
  }
  return reports;
}

void print_report(std::ostream& out, const GradCheckReport& report, bool color) {
  const char* green = color ? "\033[32m" : "";
  const char* red = color ? "\033[31m" : "";
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  auto verdict = [&](bool pass) { return std::string(pass ? green : red) + (pass ? "PASS" : "FAIL") + reset; };

  out << bold << report.title << reset << "  " << verdict(report.passed()) << "\n";
  out << "  " << report.detail << "; PASS while every error <= " << report.safety << " x its noise\n";
  char line[200];
  std::snprintf(line, sizeof line, "  %-16s %-12s %17s %14s %9s %13s   %s\n", "tensor", "shape", "checked",
                "max rel error", "noise", "error / noise", "result");
  out << line;
  for (const auto& r : report.rows) {
    std::string checked = std::to_string(r.checked) + " / " + std::to_string(r.total);
    std::snprintf(line, sizeof line, "  %-16s %-12s %17s %14s %9s %13s   ", r.name.c_str(), r.shape.c_str(),
                  checked.c_str(), format_g(r.max_rel_error).c_str(), format_g(r.noise).c_str(),
                  format_ratio(r.ratio).c_str());
    out << line << verdict(r.pass);
    if (r.skipped) out << "  (" << r.skipped << " probes skipped: they crossed a ReLU kink)";
    if (!r.note.empty()) out << "  " << r.note;
    out << "\n";
  }
}

}  // namespace chainrule
