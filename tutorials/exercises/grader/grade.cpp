// The exercises' grader: runs chainrule's gradient checker on the learner's backward passes
// (tutorials/exercises/*.cpp), on several seeds and shapes, prints the checker's table, and
// for a failing row names the closest classic mistake (grader/hints.cpp).
//   chainrule_grade [NAME ...]     every exercise, or the named ones; exit 0 when all pass
//   chainrule_grade --list         the names
// tools/grade.sh [NAME] builds this program and runs it. tutorials/exercises/README.md.
#include <unistd.h>

#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/gradcheck.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/layers/batchnorm.hpp"
#include "chainrule/layers/conv2d.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/layers/pool.hpp"
#include "chainrule/layers/relu.hpp"
#include "chainrule/layers/softmax.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/rng.hpp"
#include "exercises.hpp"
#include "grader/hints.hpp"

namespace grader {
namespace {

using chainrule::GradCheckOptions;
using chainrule::GradCheckReport;
using chainrule::GradCheckRow;
using chainrule::Layer;
using chainrule::Rng;

bool g_color = false;

Tensor<double> random_tensor(int rows, int cols, Rng& rng, double scale = 1.0, double shift = 0.0) {
  Tensor<double> t(rows, cols);
  for (auto& v : t.data) v = shift + scale * rng.normal();
  return t;
}

std::vector<int> random_labels(int n, int classes, Rng& rng) {
  std::vector<int> labels(n);
  for (auto& y : labels) y = static_cast<int>(rng.below(static_cast<std::uint64_t>(classes)));
  return labels;
}

Tensor<double> map2(const Tensor<double>& a, const Tensor<double>& b, const std::function<double(double, double)>& f) {
  Tensor<double> out(a.rows, a.cols);
  for (std::size_t k = 0; k < a.data.size(); ++k) out.data[k] = f(a.data[k], b.data[k]);
  return out;
}

std::string red(const std::string& s) { return g_color ? "\033[31m" + s + "\033[0m" : s; }
std::string green(const std::string& s) { return g_color ? "\033[32m" + s + "\033[0m" : s; }

// One graded case: the learner's tensors, the true ones, and what to say about each.
struct Graded {
  std::string label;  // "dW"
  Tensor<double> g;   // the learner's
  Tensor<double> t;   // the true gradient
  HintContext ctx;
};

// The result of one case: passed, or the hints to print (first: the one for the summary).
struct CaseResult {
  bool pass = false;
  std::vector<std::string> hints;
};

// Fills in the hints for the failing rows of a report; rows and graded are in the same order.
void add_row_hints(const GradCheckReport& report, const std::vector<Graded>& graded, CaseResult& result) {
  for (std::size_t r = 0; r < report.rows.size() && r < graded.size(); ++r) {
    if (report.rows[r].pass) continue;
    const Graded& gr = graded[r];
    std::string hint = diagnose(gr.label, gr.g, gr.t, gr.ctx);
    if (hint.empty()) hint = gr.label + " disagrees with the true gradient; " + worst_entry(gr.g, gr.t);
    result.hints.push_back(hint);
  }
}

// Runs f, turning an exception into a hint.
bool guarded(const std::function<void()>& f, CaseResult& result) {
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    result.hints.push_back(std::string("your code threw: ") + e.what());
    return false;
  }
}

// ---- Layers ----------------------------------------------------------------------------

struct LayerCase {
  std::string detail;                           // "seed 1: N = 5, D = 4 -> H = 3"
  std::unique_ptr<Layer<double>> learner;       // parameters already set
  Tensor<double> X;
  Tensor<double> G;                             // the upstream gradient for the hints
  Tensor<double> true_dX;                       // the true gradients for dY = G
  std::vector<Tensor<double>> true_grads;       // in params() order
  std::vector<HintContext> contexts;            // dX first, then each parameter
  std::string input_label = "dX";               // softmax's is dZ
  GradCheckOptions options;
};

std::string grad_label(const std::string& param_name) {
  const auto dot = param_name.rfind('.');
  return "d" + (dot == std::string::npos ? param_name : param_name.substr(dot + 1));
}

CaseResult grade_layer_case(LayerCase& c, bool print_table, std::ostream& out) {
  CaseResult result;
  Layer<double>& layer = *c.learner;
  auto params = layer.params();
  Tensor<double> Y, dX;
  std::vector<Tensor<double>> once;
  bool ran = guarded([&] {
    layer.forward(c.X, Y, true);
    for (auto& p : params) p.grad->zero();
    layer.backward(c.G, &dX);
    for (auto& p : params) once.push_back(*p.grad);
  }, result);
  if (!ran) return result;

  // Shapes first: the checker reads every entry of dX and of each gradient.
  std::string problem = check_shape(c.input_label, dX, c.X.rows, c.X.cols);
  for (std::size_t i = 0; i < params.size() && problem.empty(); ++i)
    problem = check_shape(grad_label(params[i].name), *params[i].grad, params[i].value->rows, params[i].value->cols);
  if (!problem.empty()) {
    result.hints.push_back(problem);
    return result;
  }
  // The contract: backward ADDS into the parameter gradients.
  if (!guarded([&] { layer.backward(c.G, &dX); }, result)) return result;
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor<double> twice = once[i];
    for (auto& v : twice.data) v *= 2;
    const bool nonzero = std::any_of(once[i].data.begin(), once[i].data.end(), [](double v) { return v != 0; });
    if (nonzero && close(*params[i].grad, once[i]) && !close(twice, once[i]))
      result.hints.push_back(grad_label(params[i].name) + " was overwritten (=), not added to (+=): backward must ADD "
                             "into each parameter gradient (the model zeroes them before each step; layer.hpp)");
  }

  GradCheckReport report;
  if (!guarded([&] { report = chainrule::check_layer(layer, c.X, c.options); }, result)) return result;
  report.detail = c.detail + "; " + report.detail;

  std::vector<Graded> graded{{c.input_label, dX, c.true_dX, c.contexts[0]}};
  for (std::size_t i = 0; i < params.size(); ++i)
    graded.push_back({grad_label(params[i].name), once[i], c.true_grads[i], c.contexts[i + 1]});
  add_row_hints(report, graded, result);
  result.pass = report.passed() && result.hints.empty();
  if (print_table || !result.pass) chainrule::print_report(out, report, g_color);
  return result;
}

// Copies the learner's parameter values into the library's layer (same order).
void copy_params(Layer<double>& from, Layer<double>& to) {
  auto a = from.params(), b = to.params();
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) *b[i].value = *a[i].value;
}

// The true gradients from a library layer: dX and each parameter's, for dY = G.
void library_truth(Layer<double>& ref, LayerCase& c) {
  Tensor<double> Y;
  ref.forward(c.X, Y, true);
  for (auto& p : ref.params()) p.grad->zero();
  ref.backward(c.G, &c.true_dX);
  for (auto& p : ref.params()) c.true_grads.push_back(*p.grad);
}

GradCheckOptions tight_options(std::uint64_t seed) {
  GradCheckOptions o;
  o.seed = seed;
  return o;
}

std::vector<LayerCase> dense_cases() {
  std::vector<LayerCase> cases;
  struct Shape { int N, D, H; };
  const Shape shapes[] = {{5, 4, 3}, {8, 6, 6}, {3, 7, 2}};
  std::uint64_t seed = 0;
  for (const auto& s : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 1);
    LayerCase c;
    c.detail = "seed " + std::to_string(seed) + ": D = " + std::to_string(s.D) + " -> H = " + std::to_string(s.H);
    c.learner = exercises::make_dense(s.D, s.H);
    auto params = c.learner->params();
    if (params.size() == 2) {
      *params[0].value = random_tensor(s.D, s.H, rng, std::sqrt(2.0 / s.D));
      *params[1].value = random_tensor(1, s.H, rng, 0.1);
    }
    c.X = random_tensor(s.N, s.D, rng);
    c.G = random_tensor(s.N, s.H, rng);
    chainrule::Dense<double> ref("dense", s.D, s.H);
    copy_params(*c.learner, ref);
    library_truth(ref, c);
    HintContext base;
    base.N = s.N;
    HintContext dW = base, db = base;
    db.zero_message = "db is all zeros: did you sum dY over the batch?";
    Tensor<double> first_row(1, s.H);
    for (int j = 0; j < s.H; ++j) first_row(0, j) = c.G(0, j);
    db.candidates.push_back({first_row, "db is the first row of dY only: sum dY over all N rows of the batch"});
    db.factors.push_back({1.0 / s.N, "db is the mean of dY's rows: sum them instead (the loss's gradient already holds the 1/N)"});
    dW.factors.push_back({1.0 / s.N, "dW is 1/N of the right one: X^T dY is already the sum the loss needs (its gradient holds the 1/N)"});
    c.contexts = {base, dW, db};
    c.options = tight_options(seed);
    cases.push_back(std::move(c));
  }
  return cases;
}

// X away from ReLU's kink, so that no probe crosses it.
Tensor<double> away_from_kink(int rows, int cols, Rng& rng) {
  Tensor<double> X(rows, cols);
  for (auto& x : X.data) x = (rng.uniform() < 0.5 ? -1 : 1) * rng.uniform(0.1, 1.0);
  return X;
}

std::vector<LayerCase> relu_cases() {
  std::vector<LayerCase> cases;
  const std::pair<int, int> shapes[] = {{5, 6}, {4, 3}, {7, 8}};
  std::uint64_t seed = 0;
  for (const auto& [N, H] : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 2);
    LayerCase c;
    c.detail = "seed " + std::to_string(seed);
    c.learner = exercises::make_relu();
    c.X = away_from_kink(N, H, rng);
    c.G = random_tensor(N, H, rng);
    chainrule::ReLU<double> ref("relu");
    library_truth(ref, c);
    HintContext dX;
    dX.N = N;
    dX.candidates.push_back({map2(c.X, c.G, [](double x, double g) { return x <= 0 ? g : 0.0; }),
                             "dX passes dY where x <= 0 and blocks it where x > 0: the ReLU mask is inverted"});
    dX.candidates.push_back({c.G, "dX = dY everywhere: the ReLU mask is missing (dx = 0 where x <= 0)"});
    dX.candidates.push_back({map2(c.X, c.G, [](double x, double) { return x > 0 ? 1.0 : 0.0; }),
                             "dX is the mask [x > 0] alone: multiply it by dY (the chain rule)"});
    dX.candidates.push_back({map2(c.X, c.G, [](double x, double g) { return x > 0 ? g * x : 0.0; }),
                             "dX = dY * max(0, x): that is y, the forward's output, not its derivative (1 where x > 0)"});
    c.contexts = {dX};
    c.options = tight_options(seed);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<LayerCase> sigmoid_cases() {
  std::vector<LayerCase> cases;
  const std::pair<int, int> shapes[] = {{5, 4}, {3, 7}, {6, 2}};
  std::uint64_t seed = 0;
  for (const auto& [N, H] : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 3);
    LayerCase c;
    c.detail = "seed " + std::to_string(seed);
    c.learner = exercises::make_sigmoid();
    c.X = random_tensor(N, H, rng, 2.0);
    c.G = random_tensor(N, H, rng);
    auto sigma = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    c.true_dX = map2(c.X, c.G, [&](double x, double g) { return g * sigma(x) * (1 - sigma(x)); });
    HintContext dX;
    dX.N = N;
    dX.candidates.push_back({map2(c.X, c.G, [&](double x, double) { return sigma(x) * (1 - sigma(x)); }),
                             "dX is sigma'(x) alone: multiply it by dY (the chain rule)"});
    dX.candidates.push_back({map2(c.X, c.G, [&](double x, double g) { return g * sigma(x); }),
                             "dX = dY * y: the factor (1 - y) of sigma' = y (1 - y) is missing"});
    dX.candidates.push_back({map2(c.X, c.G, [&](double x, double g) { return g * (1 - sigma(x)); }),
                             "dX = dY * (1 - y): the factor y of sigma' = y (1 - y) is missing"});
    dX.candidates.push_back({map2(c.X, c.G, [&](double x, double g) { return g * x * (1 - x); }),
                             "dX = dY * x (1 - x): sigma' = y (1 - y) takes the OUTPUT y = sigma(x), not the input x"});
    dX.candidates.push_back({map2(c.X, c.G, [&](double x, double g) { return g * sigma(sigma(x)) * (1 - sigma(sigma(x))); }),
                             "dX = dY * sigma'(y): y is already sigma(x); use y (1 - y) directly"});
    c.contexts = {dX};
    c.options = tight_options(seed);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<LayerCase> softmax_cases() {
  std::vector<LayerCase> cases;
  const std::pair<int, int> shapes[] = {{4, 5}, {3, 3}, {6, 10}};
  std::uint64_t seed = 0;
  for (const auto& [N, C] : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 4);
    LayerCase c;
    c.detail = "seed " + std::to_string(seed);
    c.learner = exercises::make_softmax();
    c.input_label = "dZ";
    c.X = random_tensor(N, C, rng, 2.0);
    c.G = random_tensor(N, C, rng);
    chainrule::Softmax<double> ref("softmax");
    library_truth(ref, c);
    Tensor<double> P;
    chainrule::softmax_rows(c.X, P);
    HintContext dZ;
    dZ.N = N;
    dZ.candidates.push_back({map2(P, c.G, [](double p, double g) { return p * g; }),
                             "dZ = P * dP: only the Jacobian's diagonal P_k delta_jk; the term -P_k sum_j dP_j P_j is missing"});
    dZ.candidates.push_back({map2(P, c.G, [](double p, double g) { return p * (1 - p) * g; }),
                             "dZ = P (1 - P) dP: that is the Jacobian's diagonal alone; every P_j depends on every Z_k"});
    Tensor<double> no_p = c.G;  // dP_k - sum_j dP_j P_j, without the leading P_k
    for (int i = 0; i < N; ++i) {
      double dot = 0;
      for (int j = 0; j < C; ++j) dot += c.G(i, j) * P(i, j);
      for (int k = 0; k < C; ++k) no_p(i, k) = c.G(i, k) - dot;
    }
    dZ.candidates.push_back({no_p, "dZ = dP - sum_j dP_j P_j: the leading factor P_k is missing"});
    c.contexts = {dZ};
    c.options = tight_options(seed);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<LayerCase> dropout_cases() {
  std::vector<LayerCase> cases;
  struct Shape { int N, H; double rate; };
  const Shape shapes[] = {{6, 5, 0.5}, {4, 8, 0.2}, {5, 5, 0.7}};
  std::uint64_t seed = 0;
  for (const auto& s : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 5);
    LayerCase c;
    char rate[16];
    std::snprintf(rate, sizeof rate, "%.1f", s.rate);
    c.detail = "seed " + std::to_string(seed) + ": rate " + rate;
    c.learner = exercises::make_dropout(s.rate, seed);
    c.X = random_tensor(s.N, s.H, rng);
    c.G = random_tensor(s.N, s.H, rng);
    chainrule::Dropout<double> ref("dropout", s.rate, seed);  // the same seed draws the same mask
    ref.freeze_mask(true);
    library_truth(ref, c);
    const double keep = 1 - s.rate;
    Tensor<double> kept(s.N, s.H);  // [m != 0]
    for (std::size_t k = 0; k < kept.size(); ++k) kept.data[k] = c.true_dX.data[k] != 0 || c.G.data[k] == 0 ? 1 : 0;
    HintContext dX;
    dX.N = s.N;
    dX.factors.push_back({keep, "dX is keep = 1 - rate times the right one on the kept units: the 1/keep scale is missing "
                                "(forward multiplied by M = mask / keep, so backward must too)"});
    dX.factors.push_back({1 / keep, "dX is 1/keep times the right one: the 1/keep scale is applied twice (M already holds it)"});
    dX.candidates.push_back({c.G, "dX = dY everywhere: the mask is missing (a dropped unit passes no gradient)"});
    dX.candidates.push_back({map2(kept, c.G, [&](double m, double g) { return m == 0 ? g / keep : 0.0; }),
                             "dX passes the gradient of the DROPPED units: the mask is inverted"});
    dX.candidates.push_back({map2(kept, c.G, [&](double m, double) { return m / keep; }),
                             "dX is the mask M alone: multiply it by dY (the chain rule)"});
    c.contexts = {dX};
    c.options = tight_options(seed);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<LayerCase> batchnorm_cases() {
  std::vector<LayerCase> cases;
  const std::pair<int, int> shapes[] = {{6, 4}, {5, 3}, {8, 6}};
  std::uint64_t seed = 0;
  for (const auto& [N, H] : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 6);
    LayerCase c;
    c.detail = "seed " + std::to_string(seed);
    c.learner = exercises::make_batchnorm(H);
    auto params = c.learner->params();
    if (params.size() == 2) {
      *params[0].value = random_tensor(1, H, rng, 0.5, 1.0);
      *params[1].value = random_tensor(1, H, rng, 0.5);
    }
    c.X = random_tensor(N, H, rng, 2.0, 1.0);
    c.G = random_tensor(N, H, rng);
    chainrule::BatchNorm1d<double> ref("batchnorm", H);
    copy_params(*c.learner, ref);
    library_truth(ref, c);
    const Tensor<double>& gamma = ref.gamma;
    // xhat and invstd, and the known wrong dX's built from them.
    Tensor<double> xhat(N, H), inference(N, H), no_var(N, H), no_mean(N, H);
    Tensor<double> dgamma_no_xhat(1, H), dx_no_gamma(N, H);
    for (int j = 0; j < H; ++j) {
      double mu = 0, var = 0;
      for (int i = 0; i < N; ++i) mu += c.X(i, j);
      mu /= N;
      for (int i = 0; i < N; ++i) var += (c.X(i, j) - mu) * (c.X(i, j) - mu);
      var /= N;
      const double invstd = 1 / std::sqrt(var + 1e-5);
      double sum_dy = 0, sum_dy_xhat = 0;
      for (int i = 0; i < N; ++i) {
        xhat(i, j) = (c.X(i, j) - mu) * invstd;
        sum_dy += c.G(i, j);
        sum_dy_xhat += c.G(i, j) * xhat(i, j);
      }
      dgamma_no_xhat(0, j) = sum_dy;
      const double g = gamma(0, j);
      for (int i = 0; i < N; ++i) {
        const double dxhat = c.G(i, j) * g;
        inference(i, j) = dxhat * invstd;
        no_var(i, j) = invstd / N * (N * dxhat - g * sum_dy);
        no_mean(i, j) = invstd / N * (N * dxhat - xhat(i, j) * g * sum_dy_xhat);
        dx_no_gamma(i, j) = invstd / N * (N * c.G(i, j) - sum_dy - xhat(i, j) * sum_dy_xhat);
      }
    }
    HintContext dX, dgamma, dbeta;
    dX.N = dgamma.N = dbeta.N = N;
    dX.candidates.push_back({inference, "dX = dy * gamma * invstd: that is the inference-mode gradient; in training mu and "
                                        "var depend on every x_i, so both batch terms are missing"});
    dX.candidates.push_back({no_mean, "BatchNorm's mean term is missing: dX - the true dX is the same down each column "
                                      "(-sum_k dxhat_k: mu depends on every x_i)"});
    dX.candidates.push_back({no_var, "BatchNorm's variance term is missing: -xhat_i sum_k dxhat_k xhat_k (var depends on every x_i)"});
    dX.candidates.push_back({dx_no_gamma, "dX forgets gamma: dxhat = dy * gamma, not dy"});
    dX.column_constant_message = "dX is off by the same amount down each column: a term that is constant over the batch "
                                 "is wrong (BatchNorm's mean term, -sum_k dxhat_k?)";
    dgamma.candidates.push_back({dgamma_no_xhat, "dgamma = sum_i dy_i: that is dbeta; dgamma = sum_i dy_i * xhat_i"});
    dbeta.zero_message = "dbeta is all zeros: did you sum dY over the batch?";
    c.contexts = {dX, dgamma, dbeta};
    c.options = tight_options(seed);
    cases.push_back(std::move(c));
  }
  return cases;
}

// ---- Losses ----------------------------------------------------------------------------

struct LossCase {
  std::string title, detail;
  std::unique_ptr<exercises::Loss> learner;
  Tensor<double> Z;
  Tensor<double> true_dZ;
  HintContext ctx;
  std::string input_label;  // "dZ"
  GradCheckOptions options;
};

CaseResult grade_loss_case(LossCase& c, bool print_table, std::ostream& out) {
  CaseResult result;
  Tensor<double> dZ;
  if (!guarded([&] {
        c.learner->forward(c.Z);
        c.learner->backward(dZ);
      }, result))
    return result;
  if (std::string problem = check_shape(c.input_label, dZ, c.Z.rows, c.Z.cols); !problem.empty()) {
    result.hints.push_back(problem);
    return result;
  }
  GradCheckReport report;
  Tensor<double> Z = c.Z;
  std::ostringstream detail;
  detail << c.detail << "; N = " << Z.rows << ", the loss itself is the scalar";
  if (!guarded([&] {
        report = chainrule::check_gradients(
            c.title, detail.str(), [&] { return c.learner->forward(Z); }, [](std::vector<std::uint8_t>&) {},
            {{c.input_label.substr(1), &Z, &dZ}}, c.options);
      }, result))
    return result;
  add_row_hints(report, {{c.input_label, dZ, c.true_dZ, c.ctx}}, result);
  result.pass = report.passed() && result.hints.empty();
  if (print_table || !result.pass) chainrule::print_report(out, report, g_color);
  return result;
}

std::vector<LossCase> softmax_ce_cases() {
  std::vector<LossCase> cases;
  const std::pair<int, int> shapes[] = {{5, 4}, {3, 10}, {8, 3}};
  std::uint64_t seed = 0;
  for (const auto& [N, C] : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 7);
    LossCase c;
    c.title = "softmax cross-entropy (fused)";
    c.detail = "seed " + std::to_string(seed);
    c.input_label = "dZ";
    c.Z = random_tensor(N, C, rng, 2.0);
    const auto labels = random_labels(N, C, rng);
    c.learner = exercises::make_softmax_cross_entropy(labels);
    chainrule::SoftmaxCrossEntropy<double> ref;
    ref.forward(c.Z, labels);
    ref.backward(c.true_dZ);
    const Tensor<double>& P = ref.probs();
    c.ctx.N = N;
    Tensor<double> p_over_n = P, minus_y_over_np(N, C), y_minus_p_no_mean = P;
    for (auto& v : p_over_n.data) v /= N;
    for (int i = 0; i < N; ++i) minus_y_over_np(i, labels[i]) = -1.0 / (N * P(i, labels[i]));
    c.ctx.candidates.push_back({p_over_n, "dZ = P / N: subtract 1 at each sample's label (dZ = (P - Y) / N, Y one-hot)"});
    c.ctx.candidates.push_back({P, "dZ = P: subtract the one-hot Y, and divide by N (dZ = (P - Y) / N)"});
    c.ctx.candidates.push_back({minus_y_over_np, "dZ = -Y / (N P): that is dL/dP, the gradient before the softmax; fused, "
                                                 "dL/dZ = (P - Y) / N"});
    c.options = tight_options(seed);
    c.options.h = 1e-4;
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<LossCase> mse_cases() {
  std::vector<LossCase> cases;
  const std::pair<int, int> shapes[] = {{5, 3}, {4, 6}, {6, 1}};
  std::uint64_t seed = 0;
  for (const auto& [N, C] : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 8);
    LossCase c;
    c.title = "mean squared error";
    c.detail = "seed " + std::to_string(seed) + ": C = " + std::to_string(C);
    c.input_label = "dYhat";
    c.Z = random_tensor(N, C, rng);
    const Tensor<double> targets = random_tensor(N, C, rng);
    c.learner = exercises::make_mean_squared_error(targets);
    chainrule::MeanSquaredError<double> ref;
    ref.forward(c.Z, targets);
    ref.backward(c.true_dZ);
    c.ctx.N = N;
    if (C > 1) {
      c.ctx.factors.push_back({static_cast<double>(C), "dYhat is off by the number of columns C = " + std::to_string(C) +
                                                           ": the mean is over all N C entries, so divide by N C"});
      c.ctx.factors.push_back({static_cast<double>(N * C), "dYhat is N C = " + std::to_string(N * C) +
                                                               " times the right one: the 1/(N C) of the mean is missing"});
    }
    c.ctx.factors.push_back({-1.0, "dYhat: sign flipped: d/dYhat of (Yhat - Y)^2 is 2 (Yhat - Y), not 2 (Y - Yhat)"});
    c.ctx.factors.push_back({0.5, "dYhat is half the right value: the 2 of d/du u^2 = 2u is missing"});
    c.options = tight_options(seed);
    cases.push_back(std::move(c));
  }
  return cases;
}

// ---- The whole network -------------------------------------------------------------------

struct NetworkCase {
  std::string detail;
  exercises::Network net;
  Tensor<double> X;
  std::vector<int> labels;
};

// The true gradients, written here independently of the learner's files.
exercises::Gradients true_network_gradients(const NetworkCase& c) {
  using chainrule::matmul;
  using chainrule::matmul_nt;
  using chainrule::matmul_tn;
  const int N = c.X.rows;
  Tensor<double> Z1, H, Z2;
  matmul(c.X, c.net.W1, Z1);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < Z1.cols; ++j) Z1(i, j) += c.net.b1(0, j);
  H = Z1;
  for (auto& v : H.data) v = v > 0 ? v : 0;
  matmul(H, c.net.W2, Z2);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < Z2.cols; ++j) Z2(i, j) += c.net.b2(0, j);
  chainrule::SoftmaxCrossEntropy<double> ce;
  ce.forward(Z2, c.labels);
  exercises::Gradients g;
  ce.backward(g.dZ2);
  matmul_tn(H, g.dZ2, g.dW2);
  g.db2 = Tensor<double>(1, g.dZ2.cols);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < g.dZ2.cols; ++j) g.db2(0, j) += g.dZ2(i, j);
  matmul_nt(g.dZ2, c.net.W2, g.dH);
  g.dZ1 = g.dH;
  for (std::size_t k = 0; k < Z1.size(); ++k)
    if (!(Z1.data[k] > 0)) g.dZ1.data[k] = 0;
  matmul_tn(c.X, g.dZ1, g.dW1);
  g.db1 = Tensor<double>(1, g.dZ1.cols);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < g.dZ1.cols; ++j) g.db1(0, j) += g.dZ1(i, j);
  return g;
}

NetworkCase network_case(std::uint64_t seed, int N) {
  Rng rng(seed * 1000 + 9);
  NetworkCase c;
  c.detail = "seed " + std::to_string(seed);
  c.net.W1 = random_tensor(784, 128, rng, std::sqrt(2.0 / 784));
  c.net.b1 = random_tensor(1, 128, rng, 0.1);
  c.net.W2 = random_tensor(128, 10, rng, std::sqrt(2.0 / 128));
  c.net.b2 = random_tensor(1, 10, rng, 0.1);
  c.X = Tensor<double>(N, 784);
  for (auto& x : c.X.data) x = rng.uniform();
  c.labels = random_labels(N, 10, rng);
  return c;
}

CaseResult grade_network_case(NetworkCase& c, bool print_table, std::ostream& out) {
  CaseResult result;
  const int N = c.X.rows;
  exercises::Gradients g;
  exercises::Forward f;
  if (!guarded([&] {
        f = exercises::network_forward(c.net, c.X, c.labels);
        exercises::network_backward(c.net, c.X, c.labels, f, g);
      }, result))
    return result;
  const exercises::Gradients t = true_network_gradients(c);

  struct Entry {
    const char* label;
    const Tensor<double>* g;
    const Tensor<double>* t;
    Tensor<double>* value;  // the parameter, or null for an intermediate
  };
  exercises::Network& net = c.net;
  const std::vector<Entry> entries{{"dZ2", &g.dZ2, &t.dZ2, nullptr}, {"dW2", &g.dW2, &t.dW2, &net.W2},
                                   {"db2", &g.db2, &t.db2, &net.b2},   {"dH", &g.dH, &t.dH, nullptr},
                                   {"dZ1", &g.dZ1, &t.dZ1, nullptr},   {"dW1", &g.dW1, &t.dW1, &net.W1},
                                   {"db1", &g.db1, &t.db1, &net.b1}};
  for (const auto& e : entries)
    if (std::string problem = check_shape(e.label, *e.g, e.t->rows, e.t->cols); !problem.empty()) {
      result.hints.push_back(problem);
      return result;
    }

  // The intermediates against the true ones (two formulas: the noise is their rounding);
  // the parameters by the checker, on the given forward pass.
  GradCheckOptions o = tight_options(c.labels.size() + 7);
  o.h = 1e-4;
  o.sample = 100;
  o.full_up_to = 200;
  std::vector<chainrule::CheckedTensor> tensors;
  for (const auto& e : entries)
    if (e.value) tensors.push_back({std::string(e.label).substr(1), e.value, e.g});
  exercises::Forward probe;
  GradCheckReport report;
  std::ostringstream detail;
  detail << c.detail << "; N = " << N << ", h = 1e-04, softmax cross-entropy loss, W1 and W2: 100 sampled entries; "
         << "dZ2, dH, dZ1 against the true ones";
  if (!guarded([&] {
        report = chainrule::check_gradients(
            "network 784-128-10", detail.str(),
            [&] { return (probe = exercises::network_forward(c.net, c.X, c.labels)).loss; },
            [&](std::vector<std::uint8_t>& bits) {
              for (double z : probe.Z1.data) bits.push_back(z > 0 ? 1 : 0);
            },
            tensors, o);
      }, result))
    return result;
  std::vector<GradCheckRow> rows;
  std::vector<Graded> graded;
  std::size_t p = 0;
  for (const auto& e : entries) {
    HintContext ctx;
    ctx.N = N;
    const std::string label = e.label;
    if (label == "dZ1") {
      ctx.candidates.push_back({map2(f.Z1, g.dH, [](double z, double d) { return z <= 0 ? d : 0.0; }),
                                "dZ1: the ReLU mask is inverted: dZ1 = dH where Z1 > 0, else 0"});
      ctx.candidates.push_back({g.dH, "dZ1 = dH: the ReLU's mask [Z1 > 0] is missing"});
      ctx.candidates.push_back({map2(f.Z1, g.dH, [](double z, double d) { return z > 0 ? d * z : 0.0; }),
                                "dZ1 = dH * relu(Z1): the derivative of relu is the mask [Z1 > 0], not relu itself"});
    }
    if (label == "db1" || label == "db2") ctx.zero_message = label + " is all zeros: did you sum " +
                                                             (label == "db1" ? "dZ1" : "dZ2") + " over the batch?";
    if (label == "dZ2") {
      Tensor<double> P = f.P;
      ctx.candidates.push_back({P, "dZ2 = P: subtract the one-hot Y, and divide by N (dZ2 = (P - Y) / N)"});
      for (auto& v : P.data) v /= N;
      ctx.candidates.push_back({P, "dZ2 = P / N: subtract 1 at each sample's label (dZ2 = (P - Y) / N)"});
    }
    if (e.value) {
      rows.push_back(report.rows[p++]);
    } else {  // compared with the true intermediate
      GradCheckRow row;
      row.name = label;
      row.shape = e.t->shape();
      row.total = row.checked = e.t->size();
      for (double a : e.g->data) row.max_abs_analytic = std::max(row.max_abs_analytic, std::abs(a));
      double tmax = 0;
      for (double v : e.t->data) tmax = std::max(tmax, std::abs(v));
      const double floor = std::max(1e-8, 0.01 * tmax);
      for (std::size_t k = 0; k < e.t->size(); ++k) {
        const double a = e.g->data[k], b = e.t->data[k];
        row.max_rel_error = std::max(row.max_rel_error, std::abs(a - b) / std::max(floor, std::abs(a) + std::abs(b)));
      }
      row.noise = 64 * std::numeric_limits<double>::epsilon();
      row.ratio = row.max_rel_error / row.noise;
      row.pass = row.max_abs_analytic > 0 && row.ratio <= report.safety;
      if (row.max_abs_analytic == 0) row.note = "all zeros";
      else if (!row.pass) row.note = "disagrees with the true " + label;
      rows.push_back(row);
    }
    graded.push_back({label, *e.g, *e.t, ctx});
  }
  report.rows = rows;
  // Only the first wrong tensor in backward order: every later one is computed from it.
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].pass) continue;
    GradCheckReport first = report;
    first.rows = {rows[r]};
    add_row_hints(first, {graded[r]}, result);
    std::string later;
    for (std::size_t k = r + 1; k < rows.size(); ++k)
      if (!rows[k].pass) later += (later.empty() ? "" : ", ") + graded[k].label;
    if (!later.empty())
      result.hints.push_back(graded[r].label + " is the first wrong tensor in backward order; " + later +
                             " may be wrong only because they are computed from it: fix it first");
    break;
  }
  result.pass = report.passed() && result.hints.empty();
  if (print_table || !result.pass) chainrule::print_report(out, report, g_color);
  return result;
}

// ---- Convolution and max pooling ----------------------------------------------------------

// Each filter's k x k block turned by 180 degrees (the flip of tutorials/22), per (c, o).
Tensor<double> flip_kernels(const Tensor<double>& W, int channels, int k) {
  Tensor<double> F(W.rows, W.cols);
  for (int c = 0; c < channels; ++c)
    for (int u = 0; u < k; ++u)
      for (int v = 0; v < k; ++v)
        for (int o = 0; o < W.cols; ++o)
          F((c * k + u) * k + v, o) = W((c * k + (k - 1 - u)) * k + (k - 1 - v), o);
  return F;
}

std::vector<LayerCase> conv2d_cases() {
  std::vector<LayerCase> cases;
  struct Shape { int N; chainrule::ImageShape in; int out, k, s, p; };
  const Shape shapes[] = {{2, {1, 4, 4}, 1, 2, 1, 0}, {2, {2, 5, 5}, 3, 3, 1, 1}, {2, {2, 5, 7}, 2, 3, 2, 1}};
  std::uint64_t seed = 0;
  for (const auto& s : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 10);
    LayerCase c;
    chainrule::Conv2d<double> ref("conv", s.in, s.out, s.k, s.s, s.p);
    c.detail = "seed " + std::to_string(seed) + ": " + s.in.str() + " -> " + ref.out_shape().str() + ", kernel " +
               std::to_string(s.k) + ", stride " + std::to_string(s.s) + ", padding " + std::to_string(s.p);
    c.learner = exercises::make_conv2d(s.in, s.out, s.k, s.s, s.p);
    auto params = c.learner->params();
    if (params.size() == 2) {
      *params[0].value = random_tensor(ref.fan_in(), s.out, rng, std::sqrt(2.0 / ref.fan_in()));
      *params[1].value = random_tensor(1, s.out, rng, 0.1);
    }
    c.X = random_tensor(s.N, s.in.size(), rng);
    c.G = random_tensor(s.N, ref.out_shape().size(), rng);
    copy_params(*c.learner, ref);
    library_truth(ref, c);
    HintContext base;
    base.N = s.N;
    HintContext dX = base, dW = base, db = base;
    {  // dX with the kernel not flipped: the same full convolution with each filter turned by 180 degrees
      chainrule::Conv2d<double> unflipped("conv", s.in, s.out, s.k, s.s, s.p);
      unflipped.W = flip_kernels(ref.W, s.in.channels, s.k);
      unflipped.b = ref.b;
      Tensor<double> Y, wrong;
      unflipped.forward(c.X, Y, true);
      unflipped.backward(c.G, &wrong);
      dX.candidates.push_back({wrong, "dX is the full convolution of dY with the kernel NOT flipped: pixel (y, x) meets "
                                      "kernel entry (u, v) in output (y - u, x - v), so dX runs through K backwards"});
    }
    dW.candidates.push_back({flip_kernels(c.true_grads[0], s.in.channels, s.k),
                             "each filter of dW is turned by 180 degrees: dW is a plain correlation of X with dY, "
                             "dW[(c, u, v), o] += X[n, c, s i - p + u, s j - p + v] dY[n, o, i, j], no flip"});
    dW.factors.push_back({1.0 / s.N, "dW is 1/N of the right one: sum over the batch, do not average (the loss's "
                                     "gradient already holds the 1/N)"});
    db.zero_message = "db is all zeros: b[o] is added to every pixel of channel o, so db[o] sums dY over all of them";
    const chainrule::ImageShape out = ref.out_shape();
    db.factors.push_back({1.0 / out.pixels(), "db is the mean over each channel's pixels: sum them instead"});
    db.factors.push_back({1.0 / (out.pixels() * s.N), "db is the mean over the pixels and the batch: sum them instead"});
    c.contexts = {dX, dW, db};
    c.options = tight_options(seed);
    cases.push_back(std::move(c));
  }
  return cases;
}

// Copies each chosen window's max onto another entry of the same window: a tie.
void plant_ties(Tensor<double>& X, const chainrule::ImageShape& in, int k, int s) {
  const int Ho = (in.height - k) / s + 1, Wo = (in.width - k) / s + 1;
  for (int n = 0; n < X.rows; ++n)
    for (int c = 0; c < in.channels; ++c)
      for (int i = 0; i < Ho; i += 2)
        for (int j = 0; j < Wo; ++j) {
          int best = in.index(c, s * i, s * j);
          for (int u = 0; u < k; ++u)
            for (int v = 0; v < k; ++v)
              if (X(n, in.index(c, s * i + u, s * j + v)) > X(n, best)) best = in.index(c, s * i + u, s * j + v);
          const int last = in.index(c, s * i + k - 1, s * j + k - 1);
          const int other = best == last ? in.index(c, s * i, s * j) : last;
          X(n, other) = X(n, best);
        }
}

std::vector<LayerCase> maxpool2d_cases() {
  std::vector<LayerCase> cases;
  struct Shape { int N; chainrule::ImageShape in; int k, s; };
  const Shape shapes[] = {{2, {1, 4, 4}, 2, 2}, {2, {2, 6, 5}, 2, 2}, {2, {2, 6, 6}, 3, 1}};
  std::uint64_t seed = 0;
  for (const auto& s : shapes) {
    ++seed;
    Rng rng(seed * 1000 + 11);
    LayerCase c;
    chainrule::MaxPool2d<double> ref("maxpool", s.in, s.k, s.s);
    c.detail = "seed " + std::to_string(seed) + ": " + s.in.str() + " -> " + ref.out_shape().str() + ", kernel " +
               std::to_string(s.k) + ", stride " + std::to_string(s.s) +
               (s.s < s.k ? ", overlapping windows" : ", ties planted in every other row of windows");
    c.learner = exercises::make_maxpool2d(s.in, s.k, s.s);
    c.X = random_tensor(s.N, s.in.size(), rng);
    // Ties where windows do not overlap (copied maxima would spread through overlapping ones and
    // tie most of them: every probe of a max would be skipped, and the case would test nothing).
    if (s.s >= s.k) plant_ties(c.X, s.in, s.k, s.s);
    c.G = random_tensor(s.N, ref.out_shape().size(), rng);
    library_truth(ref, c);
    HintContext dX;
    dX.N = s.N;
    chainrule::AvgPool2d<double> avg("avgpool", s.in, s.k, s.s);
    Tensor<double> Y, spread;
    avg.forward(c.X, Y, true);
    avg.backward(c.G, &spread);
    dX.candidates.push_back({spread, "dX is average pooling's gradient (dY / k^2 on every entry of the window): only "
                                     "the max's entry moved the output, so it alone gets dY"});
    for (auto& v : spread.data) v *= s.k * s.k;
    dX.candidates.push_back({spread, "dX gets dY on every entry of the window: only the max's entry gets it"});
    if (s.s < s.k) {  // overlapping windows: dX written with = keeps only the last window's share
      const chainrule::ImageShape out = ref.out_shape();
      Tensor<double> overwritten(c.X.rows, c.X.cols);
      for (int n = 0; n < c.X.rows; ++n)
        for (int ch = 0; ch < s.in.channels; ++ch)
          for (int i = 0; i < out.height; ++i)
            for (int j = 0; j < out.width; ++j) {
              int best = s.in.index(ch, s.s * i, s.s * j);
              for (int u = 0; u < s.k; ++u)
                for (int v = 0; v < s.k; ++v)
                  if (c.X(n, s.in.index(ch, s.s * i + u, s.s * j + v)) > c.X(n, best))
                    best = s.in.index(ch, s.s * i + u, s.s * j + v);
              overwritten(n, best) = c.G(n, out.index(ch, i, j));
            }
      dX.candidates.push_back({overwritten, "dX keeps only one window's gradient where windows overlap: an entry that "
                                            "is the max of two windows collects both (+=, not =)"});
    }
    c.contexts = {dX};
    c.options = tight_options(seed);
    cases.push_back(std::move(c));
  }
  return cases;
}

// ---- The exercises -------------------------------------------------------------------------

struct Exercise {
  const char* name;
  const char* what;
  std::function<std::vector<std::function<CaseResult(bool, std::ostream&)>>()> cases;
};

template <typename Case, typename Grade>
std::vector<std::function<CaseResult(bool, std::ostream&)>> wrap(std::vector<Case> cases, Grade grade) {
  std::vector<std::function<CaseResult(bool, std::ostream&)>> out;
  auto shared = std::make_shared<std::vector<Case>>(std::move(cases));
  for (std::size_t i = 0; i < shared->size(); ++i)
    out.push_back([shared, i, grade](bool print, std::ostream& os) { return grade((*shared)[i], print, os); });
  return out;
}

std::vector<Exercise> exercises_list() {
  return {
      {"dense", "dense layer: dW, db, dX of Y = X W + b", [] { return wrap(dense_cases(), grade_layer_case); }},
      {"relu", "ReLU: dX of Y = max(0, X)", [] { return wrap(relu_cases(), grade_layer_case); }},
      {"sigmoid", "sigmoid: dX of Y = 1 / (1 + exp(-X))", [] { return wrap(sigmoid_cases(), grade_layer_case); }},
      {"softmax_cross_entropy", "softmax cross-entropy, fused: dZ",
       [] { return wrap(softmax_ce_cases(), grade_loss_case); }},
      {"softmax_jacobian", "softmax alone: the Jacobian-vector product dZ = J^T dP",
       [] { return wrap(softmax_cases(), grade_layer_case); }},
      {"dropout", "dropout in training mode, frozen mask: dX", [] { return wrap(dropout_cases(), grade_layer_case); }},
      {"batchnorm", "BatchNorm in training mode: dgamma, dbeta, dX",
       [] { return wrap(batchnorm_cases(), grade_layer_case); }},
      {"mse", "mean squared error: dYhat", [] { return wrap(mse_cases(), grade_loss_case); }},
      {"network", "the whole 784-128-10 backward: dZ2 through db1", [] {
         std::vector<NetworkCase> cases{network_case(1, 4), network_case(2, 3)};
         return wrap(std::move(cases), grade_network_case);
       }},
      {"conv2d", "2-D convolution: dW, db, dX (tutorials/22)", [] { return wrap(conv2d_cases(), grade_layer_case); }},
      {"maxpool2d", "max pooling: dX routed to each window's max", [] { return wrap(maxpool2d_cases(), grade_layer_case); }},
  };
}

struct Verdict {
  std::string name;
  bool pass;
  std::string reason;
};

Verdict grade(const Exercise& e, std::ostream& out) {
  out << "=== " << e.name << " (tutorials/exercises/" << e.name << ".cpp): " << e.what << "\n";
  Verdict v{e.name, false, ""};
  std::vector<std::function<CaseResult(bool, std::ostream&)>> cases;
  CaseResult setup;
  if (!guarded([&] { cases = e.cases(); }, setup)) {
    out << "  hint: " << setup.hints[0] << "\n" << e.name << ": " << red("FAIL") << "\n\n";
    v.reason = setup.hints[0];
    return v;
  }
  std::size_t passed = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const CaseResult r = cases[i](i == 0, out);
    if (!r.pass) {
      for (const auto& h : r.hints) out << "  hint: " << h << "\n";
      if (r.hints.empty()) out << "  hint: see the rows marked FAIL above\n";
      out << e.name << ": " << red("FAIL") << " on case " << i + 1 << " of " << cases.size() << "\n\n";
      v.reason = r.hints.empty() ? "see the rows marked FAIL" : r.hints[0];
      return v;
    }
    ++passed;
  }
  out << e.name << ": " << green("PASS") << " (" << passed << " of " << cases.size()
      << " cases: seeds and shapes; the first case's table above)\n\n";
  v.pass = true;
  return v;
}

}  // namespace
}  // namespace grader

int main(int argc, char** argv) {
  using namespace grader;
  g_color = isatty(STDOUT_FILENO) != 0;
  const auto all = exercises_list();
  std::vector<const Exercise*> chosen;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--list") {
      for (const auto& e : all) std::cout << e.name << "  " << e.what << "\n";
      return 0;
    }
    if (arg == "--help" || arg == "-h") {
      std::cout << "usage: chainrule_grade [--list] [NAME ...]   (tools/grade.sh; tutorials/exercises/README.md)\n";
      return 0;
    }
    const Exercise* found = nullptr;
    for (const auto& e : all)
      if (arg == e.name || arg == std::string(e.name) + ".cpp") found = &e;
    if (!found) {
      std::cerr << "chainrule_grade: no exercise is called '" << arg << "'; the exercises are:";
      for (const auto& e : all) std::cerr << " " << e.name;
      std::cerr << "\n";
      return 2;
    }
    chosen.push_back(found);
  }
  if (chosen.empty())
    for (const auto& e : all) chosen.push_back(&e);

  std::vector<Verdict> verdicts;
  for (const Exercise* e : chosen) verdicts.push_back(grade(*e, std::cout));
  std::size_t passed = 0;
  for (const auto& v : verdicts) passed += v.pass ? 1 : 0;
  if (verdicts.size() > 1) {
    std::cout << "summary: " << passed << " of " << verdicts.size() << " exercises pass\n";
    for (const auto& v : verdicts) {
      char line[64];
      std::snprintf(line, sizeof line, "  %-22s ", v.name.c_str());
      std::cout << line << (v.pass ? green("PASS") : red("FAIL")) << (v.pass ? "" : "  " + v.reason) << "\n";
    }
  }
  return passed == verdicts.size() ? 0 : 1;
}
