// Tests for src/chainrule/optim: each optimizer against two steps worked out by hand.
#include <doctest/doctest.h>

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
