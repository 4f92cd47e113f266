#include <doctest/doctest.h>

#include <cmath>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/bugs/layers.hpp"
#include "chainrule/bugs/losses.hpp"
#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/softmax.hpp"
#include "chainrule/loss.hpp"

using namespace chainrule;

TEST_CASE("softmax cross-entropy: value by hand, and gradient (P - Y)/N") {
  SoftmaxCrossEntropy<double> ce;
  Tensor<double> Z(2, 2), dZ;
  Z.data = {0, 0,              // P = (1/2, 1/2), label 0: -log(1/2)
            std::log(3.0), 0};  // P = (3/4, 1/4), label 1: -log(1/4)
  const double L = ce.forward(Z, std::vector<int>{0, 1});
  CHECK(L == doctest::Approx((std::log(2.0) + std::log(4.0)) / 2));
  ce.backward(dZ);
  CHECK(dZ(0, 0) == doctest::Approx((0.5 - 1) / 2));
  CHECK(dZ(0, 1) == doctest::Approx(0.5 / 2));
  CHECK(dZ(1, 0) == doctest::Approx(0.75 / 2));
  CHECK(dZ(1, 1) == doctest::Approx((0.25 - 1) / 2));
}

TEST_CASE("softmax cross-entropy: labels and one-hot targets give the same loss and gradient") {
  SoftmaxCrossEntropy<double> a, b;
  Tensor<double> Z(3, 4), dA, dB;
  for (std::size_t k = 0; k < Z.size(); ++k) Z.data[k] = std::sin(double(k));
  const std::vector<int> labels = {3, 0, 2};
  const auto Y = one_hot<double>(labels, 4);
  CHECK(a.forward(Z, labels) == doctest::Approx(b.forward(Z, Y)));
  a.backward(dA);
  b.backward(dB);
  CHECK(max_abs_diff(dA, dB) < 1e-15);
}

TEST_CASE("softmax cross-entropy: stable with huge logits (log-sum-exp)") {
  SoftmaxCrossEntropy<float> ce;
  Tensor<float> Z(1, 3);
  Z.data = {1000, 0, -1000};
  const float L = ce.forward(Z, std::vector<int>{0});
  CHECK(std::isfinite(L));
  CHECK(L == doctest::Approx(0.0));
  CHECK(ce.forward(Z, std::vector<int>{1}) == doctest::Approx(1000.0));
}

TEST_CASE("losses: a label outside 0..C-1 or a count mismatch is refused with a clear message") {
  SoftmaxCrossEntropy<float> ce;
  Tensor<float> Z(2, 10);
  CHECK_THROWS_WITH_AS(ce.forward(Z, std::vector<int>{0, 10}),
                       "softmax_cross_entropy: label 10 of sample 1 is outside 0..9 (labels are 0-based class indices)",
                       std::invalid_argument);
  CHECK_THROWS_AS(ce.forward(Z, std::vector<int>{0}), ShapeError);
}

TEST_CASE("losses: every loss passes the gradient check; fused and unfused agree") {
  const auto reports = standard_gradchecks(3, /*include_784=*/false);
  int loss_reports = 0;
  for (const auto& r : reports) {
    const bool is_loss = r.title.find("entropy") != std::string::npos || r.title.find("squared") != std::string::npos;
    if (!is_loss) continue;
    ++loss_reports;
    INFO(r.title);
    CHECK(r.passed());
    CHECK(r.max_rel_error() < 1e-7);
  }
  CHECK(loss_reports == 4);  // fused, on probabilities, MSE, fused against unfused
}

TEST_CASE("mean squared error: value and gradient by hand") {
  MeanSquaredError<double> mse;
  Tensor<double> Yhat(2, 1), Y(2, 1), dY;
  Yhat.data = {3, 1};
  Y.data = {1, 1};
  CHECK(mse.forward(Yhat, Y) == doctest::Approx(2.0));  // (4 + 0) / 2
  mse.backward(dY);
  CHECK(dY.data == std::vector<double>{2.0, 0.0});       // 2 (3 - 1) / 2
}

TEST_CASE("losses: the injected bugs change the gradient the way their names say") {
  SoftmaxCrossEntropy<double> ce;
  Tensor<double> Z(4, 3, 0.0), good, bad;
  const std::vector<int> labels = {0, 1, 2, 0};
  ce.forward(Z, labels);
  ce.backward(good);
  {
    bugs::SoftmaxCrossEntropyMistake<double> no_mean(/*forget_mean=*/true, /*flip_sign=*/false);
    no_mean.forward(Z, labels);
    no_mean.backward(bad);
    CHECK(bad.data[0] == doctest::Approx(4 * good.data[0]));
  }
  {
    bugs::SoftmaxCrossEntropyMistake<double> flipped(/*forget_mean=*/false, /*flip_sign=*/true);
    flipped.forward(Z, labels);
    flipped.backward(bad);
    CHECK(bad.data[0] == doctest::Approx(-good.data[0]));
  }
  {  // and the parts of the active bug build them
    ScopedBug bug(Bug::SoftmaxCeSign);
    auto from_parts = parts<double>().softmax_cross_entropy();
    from_parts->forward(Z, labels);
    from_parts->backward(bad);
    CHECK(bad.data[0] == doctest::Approx(-good.data[0]));
  }
}

TEST_CASE("one_hot puts a single 1 in each row at the label's column, and refuses labels outside 0..C-1") {
  const Tensor<float> Y = one_hot<float>(std::vector<int>{3, 0, 9}, 10);
  REQUIRE(Y.shape() == "(3, 10)");
  for (int i = 0; i < 3; ++i) {
    float sum = 0;
    for (int j = 0; j < 10; ++j) sum += Y(i, j);
    CHECK(sum == 1.0f);
  }
  CHECK(Y(0, 3) == 1.0f);
  CHECK(Y(1, 0) == 1.0f);
  CHECK(Y(2, 9) == 1.0f);
  CHECK_THROWS_WITH_AS(one_hot<float>(std::vector<int>{1, 10}, 10), doctest::Contains("label 10 of sample 1 is outside 0..9"),
                       std::invalid_argument);
  CHECK_THROWS_AS(one_hot<float>(std::vector<int>{-1}, 10), std::invalid_argument);
}
