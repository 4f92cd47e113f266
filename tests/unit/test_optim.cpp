// Tests for src/chainrule/optim: each optimizer (and AdamW's decoupled decay) against two steps worked out by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/bugs/optim.hpp"
#include "chainrule/optim.hpp"

using namespace chainrule;

namespace {

// One parameter tensor P = [1, -2] with its gradient tensor.
struct OneParam {
  Tensor<float> w{1, 2}, g{1, 2};
  std::vector<Param<float>> params;
  OneParam() {
    w.data = {1.0f, -2.0f};
    params.push_back({"dense1.W", &w, &g});
  }
  void step(Optimizer& opt, float g0, float g1) {
    g.data = {g0, g1};
    opt.step(params);
  }
};

OptimizerConfig cfg(const std::string& kind, double lr) {
  OptimizerConfig c;
  c.kind = kind;
  c.lr = lr;
  return c;
}

// float32 arithmetic: agreement to 1e-5 relative (the hand values are exact decimals or double results).
void check(const Tensor<float>& w, double a, double b) {
  CHECK(w.data[0] == doctest::Approx(a).epsilon(1e-5));
  CHECK(w.data[1] == doctest::Approx(b).epsilon(1e-5));
}

}  // namespace

TEST_CASE("SGD: P -= lr G, two steps by hand") {
  OneParam p;
  Sgd opt(cfg("sgd", 0.1));
  p.step(opt, 0.5f, 0.25f);  // 1 - 0.1*0.5 = 0.95,  -2 - 0.1*0.25 = -2.025
  check(p.w, 0.95, -2.025);
  p.step(opt, 0.5f, 0.25f);  // 0.95 - 0.05 = 0.9,   -2.025 - 0.025 = -2.05
  check(p.w, 0.9, -2.05);
  CHECK(opt.steps() == 2);
}

TEST_CASE("Momentum: V = mu V - lr G, P += V, two steps by hand") {
  OneParam p;
  OptimizerConfig c = cfg("momentum", 0.1);
  c.momentum = 0.9;
  Momentum opt(c);
  p.step(opt, 0.5f, 0.25f);  // V = (-0.05, -0.025);  P = (0.95, -2.025)
  check(p.w, 0.95, -2.025);
  p.step(opt, 0.5f, 0.25f);  // V = 0.9 V - 0.1 G = (-0.095, -0.0475);  P = (0.855, -2.0725)
  check(p.w, 0.855, -2.0725);
  check(opt.slots()[0], -0.095, -0.0475);
}

TEST_CASE("Nesterov momentum: P += mu V - lr G with the new V, two steps by hand") {
  OneParam p;
  OptimizerConfig c = cfg("momentum", 0.1);
  c.momentum = 0.9;
  c.nesterov = true;
  Momentum opt(c);
  p.step(opt, 0.5f, 0.25f);  // V = (-0.05, -0.025);  P = 1 - 0.045 - 0.05 = 0.905,  -2 - 0.0225 - 0.025 = -2.0475
  check(p.w, 0.905, -2.0475);
  p.step(opt, 0.5f, 0.25f);  // V = (-0.095, -0.0475);  P = 0.905 - 0.0855 - 0.05 = 0.7695,  -2.0475 - 0.04275 - 0.025
  check(p.w, 0.7695, -2.11525);
}

TEST_CASE("Adam with bias correction: two steps by hand") {
  OneParam p;
  Adam opt(cfg("adam", 0.1));  // b1 0.9, b2 0.999, eps 1e-7
  // t = 1, G = (0.5, -1): M = 0.1 G, S = 0.001 G^2, c1 = 0.1, c2 = 0.001, so Mhat = G, Shat = G^2
  // and P -= 0.1 G / (|G| + 1e-7): almost exactly lr in the direction of -sign(G).
  p.step(opt, 0.5f, -1.0f);
  check(p.w, 0.90000002, -1.90000001);
  // t = 2, G = (0.1, 2): M = (0.055, 0.11), S = (0.00025975, 0.004999), c1 = 0.19, c2 = 0.001999
  // P0 -= 0.1 * (0.055 / 0.19) / (sqrt(0.00025975 / 0.001999) + 1e-7) = 0.1 * 0.289474 / 0.360472 = 0.0803041
  p.step(opt, 0.1f, 2.0f);
  check(p.w, 0.81969594, -1.93661036);
  CHECK(opt.steps() == 2);
  check(opt.slots()[0], 0.055, 0.11);           // M
  check(opt.slots()[1], 0.00025975, 0.004999);  // S (v)
}

TEST_CASE("Adam without bias correction (injected bug adam-no-bias-correction) takes different steps") {
  OneParam p;
  bugs::AdamNoBiasCorrection opt(cfg("adam", 0.1));
  // t = 1: P -= 0.1 * 0.05 / (sqrt(0.00025) + 1e-7) = 0.316226  (over three times the corrected step)
  p.step(opt, 0.5f, -1.0f);
  check(p.w, 0.68377423, -1.68377323);
  p.step(opt, 0.1f, 2.0f);
  check(p.w, 0.34251672, -1.83935206);
}

TEST_CASE("optimizers allocate their state once and reuse it") {
  OneParam p;
  Adam opt(cfg("adam", 0.01));
  p.step(opt, 0.5f, 0.5f);
  REQUIRE(opt.slots().size() == 2);
  const float* m = opt.slots()[0].data.data();
  const float* v = opt.slots()[1].data.data();
  for (int k = 0; k < 5; ++k) p.step(opt, 0.1f, -0.1f);
  CHECK(opt.slots()[0].data.data() == m);
  CHECK(opt.slots()[1].data.data() == v);
}

TEST_CASE("make_optimizer builds each kind and rejects bad settings by name") {
  CHECK(make_optimizer(cfg("sgd", 0.1))->slot_names().empty());
  CHECK(make_optimizer(cfg("momentum", 0.1))->slot_names() == std::vector<std::string>{"velocity"});
  CHECK(make_optimizer(cfg("adam", 0.1))->slot_names() == std::vector<std::string>{"m", "v"});
  CHECK_THROWS_WITH_AS(make_optimizer(cfg("adagrad", 0.1)), doctest::Contains("adagrad"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(make_optimizer(cfg("adam", -1.0)), doctest::Contains("learning rate"), std::invalid_argument);
  OptimizerConfig c;
  c.beta2 = 1.0;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("beta2"), std::invalid_argument);
  const OptimizerConfig keras;
  CHECK(keras.lr == 1e-3);
  CHECK(keras.beta1 == 0.9);
  CHECK(keras.beta2 == 0.999);
  CHECK(keras.eps == 1e-7);
}

TEST_CASE("the step count is bounded: set_steps refuses more than kMaxOptimizerSteps, step() stops there") {
  OneParam p;
  auto adam = make_optimizer(cfg("adam", 0.1));
  CHECK_THROWS_WITH_AS(adam->set_steps(INT64_MAX), doctest::Contains("optimizer step count 9223372036854775807 is outside"),
                       std::invalid_argument);
  CHECK_THROWS_AS(adam->set_steps(-1), std::invalid_argument);
  // One step below the limit still moves the weights; at the limit step() throws and changes nothing.
  adam->set_steps(kMaxOptimizerSteps - 1);
  p.step(*adam, 1.0f, -1.0f);
  CHECK(adam->steps() == kMaxOptimizerSteps);
  CHECK(p.w.data[0] < 1.0f);
  const auto before = p.w.data;
  CHECK_THROWS_AS(p.step(*adam, 1.0f, -1.0f), std::overflow_error);
  CHECK(p.w.data == before);
  CHECK(adam->steps() == kMaxOptimizerSteps);
}

TEST_CASE("the injected bug adam-no-bias-correction enters through make_optimizer, so --resume gets it too") {
  CHECK(dynamic_cast<bugs::AdamNoBiasCorrection*>(make_optimizer(cfg("adam", 0.1)).get()) == nullptr);
  {
    ScopedBug bug(Bug::AdamNoBiasCorrection);
    CHECK(dynamic_cast<bugs::AdamNoBiasCorrection*>(make_optimizer(cfg("adam", 0.1)).get()) != nullptr);
    CHECK(dynamic_cast<Sgd*>(make_optimizer(cfg("sgd", 0.1)).get()) != nullptr);  // only Adam has the mistake
  }
  CHECK(dynamic_cast<bugs::AdamNoBiasCorrection*>(make_optimizer(cfg("adam", 0.1)).get()) == nullptr);
}

// ---- AdamW: Adam with decoupled weight decay --------------------------------------------

TEST_CASE("AdamW: P -= lr (Mhat / (sqrt(Shat) + eps) + lambda P), two steps by hand, in double") {
  OneParam p;  // P = (1, -2), named dense1.W: a weight matrix, so it decays
  OptimizerConfig c = cfg("adamw", 0.1);
  c.weight_decay = 0.5;
  AdamW opt(c);
  // t = 1, G = (0.5, -1): Mhat = G, Shat = G^2, so the Adam term is G / (|G| + 1e-7) = (0.9999998, -0.9999999)
  // P -= 0.1 (Adam term + 0.5 P):  1 - 0.1 (0.9999998 + 0.5) = 0.85000002,  -2 - 0.1 (-0.9999999 - 1) = -1.80000001
  p.step(opt, 0.5f, -1.0f);
  check(p.w, 0.85000002, -1.80000001);
  // t = 2, G = (0.1, 2): the Adam term is (0.289474 / 0.360472, ...) = (0.803041, 0.533896) as in Adam's test;
  // P0 = 0.85 - 0.1 (0.803041 + 0.5 * 0.85) = 0.72719594
  p.step(opt, 0.1f, 2.0f);
  check(p.w, 0.72719594, -1.74661036);
  // The same two steps of the formula, computed in double here, from the same G and settings.
  double P[2] = {1.0, -2.0}, M[2] = {0, 0}, S[2] = {0, 0};
  const double G[2][2] = {{0.5, -1.0}, {0.1, 2.0}};
  for (int t = 1; t <= 2; ++t)
    for (int j = 0; j < 2; ++j) {
      const double g = static_cast<double>(static_cast<float>(G[t - 1][j]));
      M[j] = 0.9 * M[j] + 0.1 * g;
      S[j] = 0.999 * S[j] + 0.001 * g * g;
      const double mhat = M[j] / (1 - std::pow(0.9, t)), shat = S[j] / (1 - std::pow(0.999, t));
      P[j] -= 0.1 * (mhat / (std::sqrt(shat) + 1e-7) + 0.5 * P[j]);
    }
  check(p.w, P[0], P[1]);
  check(opt.slots()[0], 0.055, 0.11);  // M and S are Adam's: the decay never enters them
  check(opt.slots()[1], 0.00025975, 0.004999);
}

TEST_CASE("AdamW decays weight matrices only; biases and BatchNorm's gamma, beta get Adam's bits exactly") {
  Tensor<float> W(1, 2), b(1, 2), gamma(1, 2), beta(1, 2), gW(1, 2), gb(1, 2), ggamma(1, 2), gbeta(1, 2);
  for (Tensor<float>* t : {&W, &b, &gamma, &beta}) t->data = {1.0f, -2.0f};
  for (Tensor<float>* t : {&gW, &gb, &ggamma, &gbeta}) t->data = {0.5f, -1.0f};
  std::vector<Param<float>> params{{"dense1.W", &W, &gW}, {"dense1.b", &b, &gb}, {"bn1.gamma", &gamma, &ggamma},
                                   {"bn1.beta", &beta, &gbeta}};
  // The same tensors through plain Adam.
  Tensor<float> W2 = W, b2 = b, gamma2 = gamma, beta2 = beta;
  std::vector<Param<float>> plain{{"dense1.W", &W2, &gW}, {"dense1.b", &b2, &gb}, {"bn1.gamma", &gamma2, &ggamma},
                                  {"bn1.beta", &beta2, &gbeta}};
  OptimizerConfig c = cfg("adamw", 0.1);
  c.weight_decay = 0.5;
  AdamW adamw(c);
  Adam adam(cfg("adam", 0.1));
  for (int k = 0; k < 3; ++k) {
    adamw.step(params);
    adam.step(plain);
  }
  CHECK(b.data == b2.data);  // bit for bit
  CHECK(gamma.data == gamma2.data);
  CHECK(beta.data == beta2.data);
  CHECK(W.data[0] < W2.data[0]);  // the weights shrank further towards 0
  CHECK(W.data[1] > W2.data[1]);
}

TEST_CASE("AdamW with weight decay 0 is Adam to the bit; weight_decay is validated and described") {
  OneParam a, w;
  Adam adam(cfg("adam", 0.01));
  AdamW adamw(cfg("adamw", 0.01));
  for (int k = 0; k < 5; ++k) {
    a.step(adam, 0.3f * static_cast<float>(k) - 0.5f, 0.7f);
    w.step(adamw, 0.3f * static_cast<float>(k) - 0.5f, 0.7f);
  }
  CHECK(a.w.data == w.w.data);
  CHECK(dynamic_cast<AdamW*>(make_optimizer(cfg("adamw", 0.1)).get()) != nullptr);
  CHECK(make_optimizer(cfg("adamw", 0.1))->slot_names() == std::vector<std::string>{"m", "v"});
  OptimizerConfig c = cfg("adamw", 0.1);
  c.weight_decay = -0.1;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("weight decay"), std::invalid_argument);
  c.weight_decay = 0.01;
  CHECK(c.describe() == "adamw(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-07, weight_decay=0.01)");
  CHECK(cfg("adam", 0.1).describe() == "adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-07)");  // unchanged without it
}

TEST_CASE("AdamW at the step limit throws before its decay changes any weight") {
  OneParam p;
  OptimizerConfig c = cfg("adamw", 0.1);
  c.weight_decay = 0.5;
  AdamW opt(c);
  opt.set_steps(kMaxOptimizerSteps);
  const auto before = p.w.data;
  CHECK_THROWS_AS(p.step(opt, 1.0f, -1.0f), std::overflow_error);
  CHECK(p.w.data == before);
}
