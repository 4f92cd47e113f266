// Tests for src/chainrule/penalty: the L2 term lambda/2 ||W||^2, its gradient lambda W, worked out
// by hand, on the weight matrices only; and its gradient check (gradcheck.hpp: penalty_gradchecks).
#include <doctest/doctest.h>

#include <vector>

#include "chainrule/gradcheck.hpp"
#include "chainrule/penalty.hpp"

using namespace chainrule;

TEST_CASE("weight_decay_applies: weight matrices (.W) only, not biases nor BatchNorm's gamma and beta") {
  CHECK(weight_decay_applies("dense1.W"));
  CHECK(weight_decay_applies("conv1.W"));
  CHECK_FALSE(weight_decay_applies("dense1.b"));
  CHECK_FALSE(weight_decay_applies("bn1.gamma"));
  CHECK_FALSE(weight_decay_applies("bn1.beta"));
  CHECK_FALSE(weight_decay_applies("W"));
}

TEST_CASE("L2Penalty: forward lambda/2 ||W||^2 and backward += lambda W, by hand") {
  Tensor<float> W1(2, 2), b1(1, 2), W2(1, 1), g1(2, 2), gb(1, 2), g2(1, 1);
  W1.data = {1, 2, 3, -1};  // ||W1||^2 = 1 + 4 + 9 + 1 = 15
  b1.data = {5, 5};         // a bias: not in the penalty
  W2.data = {0.5f};         // ||W2||^2 = 0.25
  g1.data = {1, 1, 1, 1};
  gb.data = {1, 1};
  g2.data = {0};
  const std::vector<Param<float>> params{{"dense1.W", &W1, &g1}, {"dense1.b", &b1, &gb}, {"dense2.W", &W2, &g2}};
  const L2Penalty<float> penalty(0.2);
  CHECK(penalty.forward(params) == doctest::Approx(0.1 * 15.25));  // 0.2 / 2 * (15 + 0.25) = 1.525
  penalty.backward(params);  // adds 0.2 W to what backward wrote
  const double expected[4] = {1.2, 1.4, 1.6, 0.8};
  for (int k = 0; k < 4; ++k) CHECK(g1.data[k] == doctest::Approx(expected[k]).epsilon(1e-6));
  CHECK(gb.data == std::vector<float>{1, 1});  // untouched
  CHECK(g2.data[0] == doctest::Approx(0.1).epsilon(1e-6));
  CHECK(L2Penalty<float>(0).forward(params) == 0);
}

TEST_CASE("penalty_gradchecks: the penalty alone and in the 6-5-3 network pass on seeds 1 to 20") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const auto reports = penalty_gradchecks(seed);
    REQUIRE(reports.size() == 2);
    for (const auto& r : reports) {
      CAPTURE(seed);
      CAPTURE(r.title);
      CHECK(r.passed());
    }
  }
  const auto reports = penalty_gradchecks(1);
  CHECK(reports[0].rows.size() == 2);  // dense1.W, dense2.W (the bias beside them is not a row)
  CHECK(reports[1].rows.size() == 5);  // X, dense1.W, dense1.b, dense2.W, dense2.b
}

TEST_CASE("the checker fails a penalty gradient that forgot the 1/2 (2 lambda W)") {
  Tensor<double> W(3, 2), wrong(3, 2);
  W.data = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5};
  const std::vector<Param<double>> params{{"dense1.W", &W, &wrong}};
  const L2Penalty<double> penalty(0.1);
  for (std::size_t k = 0; k < W.size(); ++k) wrong.data[k] = 2 * 0.1 * W.data[k];
  const auto report = check_gradients("penalty", "", [&] { return penalty.forward(params); },
                                      [](std::vector<std::uint8_t>&) {}, {{"dense1.W", &W, &wrong}}, GradCheckOptions{});
  CHECK_FALSE(report.passed());
}
