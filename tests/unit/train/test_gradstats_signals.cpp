// steps.csv's signal columns (train/gradstats.hpp): A:act_std of each hidden activation's output and
// D:dz_std of the gradient at each dense layer's output, on a step worked out by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/layers/dense.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/train/gradstats.hpp"

using namespace chainrule;

namespace {
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
  return cells;
}
}  // namespace

TEST_CASE("gradstats: act_std and dz_std columns come last, in layer order, with the values of a hand-made step") {
  // 2-2-2 with W1 = I, b1 = 0, W2 = 0, b2 = 0; X = [[1, -1], [3, -2]], labels 0, 1.
  //   Z1 = X, H = relu(Z1) = [[1, 0], [3, 0]]: values 1, 0, 3, 0, mean 1, std sqrt(1.5)
  //   Z2 = 0, P = 0.5 everywhere, dZ2 = (P - Y) / N = [[-0.25, 0.25], [0.25, -0.25]]: std 0.25
  //   dH = dZ2 W2^T = 0, so dZ1 = 0: std 0 (nothing reaches dense1: a vanished gradient)
  MlpSpec spec;
  spec.inputs = 2;
  spec.hidden = {2};
  spec.classes = 2;
  Sequential<float> model = make_mlp<float>(spec);
  auto& d1 = model.get<Dense<float>>("dense1");
  auto& d2 = model.get<Dense<float>>("dense2");
  d1.W.data = {1, 0, 0, 1};
  d2.W.zero();
  Tensor<float> X(2, 2), dZ;
  X.data = {1, -1, 3, -2};
  SoftmaxCrossEntropy<float> loss_fn;
  const std::vector<Param<float>> params = model.params();
  auto optimizer = make_optimizer(OptimizerConfig{});

  std::filesystem::create_directories(CHAINRULE_TEST_TMP);
  const std::string path = (std::filesystem::path(CHAINRULE_TEST_TMP) / "gradstats-signals-steps.csv").string();
  train::GradStatsLogger logger(path, model, 0);
  model.zero_grad();
  const std::vector<int> labels = {0, 1};
  const double loss = loss_fn.forward(model.forward(X, true), labels);
  loss_fn.backward(dZ);
  model.backward(dZ);
  logger.before_update(params);
  optimizer->step(params);
  logger.after_update(1, 1, loss, params, model, loss_fn.probs());

  std::ifstream in(path);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  const auto names = split(header), cells = split(row);
  REQUIRE(names.size() == cells.size());
  REQUIRE(names.size() >= 4);
  const std::size_t n = names.size();
  CHECK(names[n - 4] == "softmax_saturation");
  CHECK(names[n - 3] == "relu1:act_std");
  CHECK(names[n - 2] == "dense1:dz_std");
  CHECK(names[n - 1] == "dense2:dz_std");
  CHECK(std::stod(cells[n - 3]) == doctest::Approx(std::sqrt(1.5)).epsilon(1e-5));
  CHECK(std::stod(cells[n - 2]) == 0.0);
  CHECK(std::stod(cells[n - 1]) == doctest::Approx(0.25).epsilon(1e-5));
  CHECK(train::steps_csv_header(model) == header);
}

TEST_CASE("gradstats: a deep sigmoid network names an act_std per activation and a dz_std per dense layer") {
  MlpSpec spec;
  spec.inputs = 4;
  spec.hidden = {3, 3, 3};
  spec.classes = 2;
  spec.activation = "sigmoid";
  spec.batchnorm = true;
  spec.batchnorm_after = true;
  Sequential<float> model = make_mlp<float>(spec);
  const std::string h = train::steps_csv_header(model);
  CHECK(h.ends_with(",softmax_saturation,sigmoid1:act_std,sigmoid2:act_std,sigmoid3:act_std,"
                    "dense1:dz_std,dense2:dz_std,dense3:dz_std,dense4:dz_std"));
}
