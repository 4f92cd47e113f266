// The gradient statistics (train/step_stats.hpp): known values on a hand-made step, and the
// one source of both steps.csv's rows and the monitor's probes.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/train/gradstats.hpp"
#include "chainrule/train/probe.hpp"
#include "chainrule/train/step_stats.hpp"

using namespace chainrule;

TEST_CASE("step_stats: mean, std, norm, update ratio and largest change of a hand-made step") {
  Tensor<float> W(1, 4), dW(1, 4), b(1, 2), db(1, 2);
  W.data = {1, 2, 2, 4};
  dW.data = {1, -1, 3, 1};  // mean 1, std sqrt(12/4 - 1) = sqrt(2), norm sqrt(12)
  b.data = {0, 0};
  db.data = {0.5f, 0.5f};
  const std::vector<Param<float>> params = {{"d.W", &W, &dW}, {"d.b", &b, &db}};
  Sequential<float> model;  // no ReLU layers
  Tensor<float> probs(2, 2);
  probs.data = {0.995f, 0.005f, 0.6f, 0.4f};

  train::StepStatsMeter meter;
  meter.before_update(params);
  W.data = {1, 2, 2, 3.5f};  // the "update": one entry moves by -0.5; b stays 0
  const train::StepStats& s = meter.after_update(params, model, probs);
  REQUIRE(s.params.size() == 2);
  CHECK(s.params[0].grad_mean == 1.0);
  CHECK(s.params[0].grad_std == doctest::Approx(std::sqrt(2.0)));
  CHECK(s.params[0].grad_sq == 12.0);
  CHECK(s.params[0].grad_norm == doctest::Approx(std::sqrt(12.0)));
  CHECK(s.params[0].update_ratio == doctest::Approx(0.5 / std::sqrt(1 + 4 + 4 + 12.25)));
  CHECK(s.params[0].largest_change == 0.5);
  CHECK(s.params[1].update_ratio == 0.0);  // an all-zero tensor: 0, not a division by zero
  CHECK(s.grad_norm == doctest::Approx(std::sqrt(12.0 + 0.5)));
  CHECK(s.largest_change == 0.5);
  CHECK(s.dead_fractions.empty());
  CHECK(s.softmax_saturation == 0.5);
}

TEST_CASE("step_stats: steps.csv's row and the monitor's probe show the same numbers of a real step") {
  MlpSpec spec;
  spec.inputs = 16;
  spec.hidden = {8};
  spec.classes = 3;
  Sequential<float> model = make_mlp<float>(spec);
  const std::vector<Param<float>> params = model.params();
  auto optimizer = make_optimizer(OptimizerConfig{});
  Tensor<float> X(5, 16), dZ;
  for (std::size_t i = 0; i < X.data.size(); ++i) X.data[i] = static_cast<float>((i * 7) % 11) / 11.0f - 0.3f;
  const std::vector<int> labels = {0, 1, 2, 1, 0};
  SoftmaxCrossEntropy<float> loss_fn;

  std::filesystem::create_directories(CHAINRULE_TEST_TMP);
  const std::string path = (std::filesystem::path(CHAINRULE_TEST_TMP) / "step-stats-steps.csv").string();
  train::GradStatsLogger logger(path, model, 0);
  train::ProbeRecorder probe;
  train::StepStatsMeter meter;
  model.zero_grad();
  const double loss = loss_fn.forward(model.forward(X, true), labels);
  loss_fn.backward(dZ);
  model.backward(dZ);
  logger.before_update(params);
  probe.before_update(params);
  meter.before_update(params);
  optimizer->step(params);
  logger.after_update(1, 1, loss, params, model, loss_fn.probs());
  const train::Probe p = probe.after_update(1, params, model, loss_fn.probs());
  const train::StepStats& s = meter.after_update(params, model, loss_fn.probs());

  // The probe is made of the StepStats, bit for bit.
  CHECK(p.grad_norm == s.grad_norm);
  CHECK(probe.largest_change() == s.largest_change);
  CHECK(p.dead_fractions == s.dead_fractions);
  CHECK(p.softmax_saturation == s.softmax_saturation);
  double largest_w_ratio = 0;
  for (std::size_t i = 0; i < params.size(); ++i)
    if (params[i].name.ends_with(".W")) largest_w_ratio = std::max(largest_w_ratio, s.params[i].update_ratio);
  CHECK(p.weight_update_ratio == largest_w_ratio);

  // steps.csv's row is the same StepStats, printed with %.6g.
  std::ifstream in(path);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  std::vector<double> cells;
  std::stringstream cs(row);
  for (std::string cell; std::getline(cs, cell, ',');) cells.push_back(std::stod(cell));
  // ... then softmax_saturation, then act_std of relu1 and dz_std of dense1 and dense2 (test_gradstats_signals.cpp).
  REQUIRE(cells.size() == 3 + 4 * params.size() + s.dead_fractions.size() + 1 + 3);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const train::ParamStats& ps = s.params[i];
    INFO(params[i].name);
    CHECK(cells[3 + 4 * i + 0] == doctest::Approx(ps.grad_mean).epsilon(1e-5));
    CHECK(cells[3 + 4 * i + 1] == doctest::Approx(ps.grad_std).epsilon(1e-5));
    CHECK(cells[3 + 4 * i + 2] == doctest::Approx(ps.grad_norm).epsilon(1e-5));
    CHECK(cells[3 + 4 * i + 3] == doctest::Approx(ps.update_ratio).epsilon(1e-5));
  }
  CHECK(cells[3 + 4 * params.size()] == doctest::Approx(s.dead_fractions[0]).epsilon(1e-5));
  CHECK(cells[3 + 4 * params.size() + 1] == doctest::Approx(s.softmax_saturation).epsilon(1e-5));
}
