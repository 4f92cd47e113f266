// The Monitor's rules (train/rules.hpp) on made-up losses and probes: each rule fires on the
// numbers of its bug, and a healthy run raises nothing.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "chainrule/train/rules.hpp"

using namespace chainrule::train;

namespace {
bool has(const std::vector<Finding>& f, const std::string& id) {
  for (const auto& x : f)
    if (x.id == id) return true;
  return false;
}

// A run of `steps` steps whose loss follows loss(step) and whose probes (every 5 steps)
// follow probe(step).
template <typename Loss, typename ProbeFn>
std::vector<Finding> simulate(int steps, Loss loss, ProbeFn probe) {
  Monitor m(MonitorSettings{});
  for (int s = 1; s <= steps; ++s) {
    m.on_step(s, loss(s));
    if (s == 1 || s % 5 == 0) m.on_probe(probe(s));
  }
  return m.findings();
}

Probe healthy_probe(int s) {
  Probe p;
  p.step = s;
  p.grad_norm = 2.0 / (1 + 0.01 * s);
  p.weight_update_ratio = 0.003;
  p.dead_fractions = {0.05};
  p.softmax_saturation = 0.2;
  return p;
}
}  // namespace

TEST_CASE("monitor: a healthy run raises nothing") {
  const auto f = simulate(400, [](int s) { return 2.3 * std::exp(-s / 100.0) + 0.1; }, healthy_probe);
  CHECK(f.empty());
}

TEST_CASE("monitor: a first loss far above ln(C) is flagged (unnormalised inputs)") {
  const auto f = simulate(50, [](int s) { return s == 1 ? 80.0 : 2.0; }, healthy_probe);
  CHECK(has(f, "initial-loss-high"));
  CHECK(f.front().id == "initial-loss-high");
}

TEST_CASE("monitor: dead ReLUs and a flat loss (dead initialisation)") {
  const auto f = simulate(300, [](int) { return 2.3026; }, [](int s) {
    Probe p = healthy_probe(s);
    p.dead_fractions = {1.0};
    p.grad_norm = 0.01;
    return p;
  });
  CHECK(has(f, "dead-relus"));
  CHECK(has(f, "loss-not-decreasing"));
  CHECK_FALSE(has(f, "chance-level"));  // the units are dead: that, not the labels, is the cause
  CHECK(f.front().id == "dead-relus");
}

TEST_CASE("monitor: a loss stuck at ln(10) with live units points at the labels") {
  const auto f = simulate(300, [](int s) { return 2.31 + 0.01 * std::sin(s); }, healthy_probe);
  CHECK(has(f, "chance-level"));
  CHECK(has(f, "loss-not-decreasing"));
}

TEST_CASE("monitor: growing gradient norms (gradients never zeroed)") {
  const auto f = simulate(300, [](int s) { return 1.0 + 0.002 * s; }, [](int s) {
    Probe p = healthy_probe(s);
    p.grad_norm = 1.0 + s;  // grows with every step, as a running sum does
    return p;
  });
  CHECK(has(f, "gradients-growing"));
  CHECK(f.front().id == "gradients-growing");
}

TEST_CASE("monitor: large updates twice running (learning rate too high); one large step is not enough") {
  auto big = [](int s) {
    Probe p = healthy_probe(s);
    p.weight_update_ratio = 0.2;
    return p;
  };
  CHECK(has(simulate(30, [](int) { return 2.0; }, big), "updates-too-large"));
  const auto once = simulate(30, [](int) { return 2.0; }, [](int s) {
    Probe p = healthy_probe(s);
    if (s == 10) p.weight_update_ratio = 0.2;
    return p;
  });
  CHECK_FALSE(has(once, "updates-too-large"));
}

TEST_CASE("monitor: a rising or non-finite loss is diverging") {
  CHECK(has(simulate(100, [](int s) { return 2.0 + 0.1 * s; }, healthy_probe), "loss-diverging"));
  Monitor m(MonitorSettings{});
  m.on_step(1, 2.3);
  m.on_step(2, std::nan(""));
  CHECK(has(m.findings(), "loss-diverging"));
}

TEST_CASE("monitor: Adam's first step larger than lr means no bias correction") {
  Monitor m(MonitorSettings{});
  m.on_adam_first_step(1.0);
  CHECK(m.findings().empty());
  m.on_adam_first_step(3.16);
  CHECK(has(m.findings(), "adam-first-step"));
  CHECK(m.take_new_findings().size() == 1);
  CHECK(m.take_new_findings().empty());  // each finding is reported once
}

