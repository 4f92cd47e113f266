// Sigmoid, Tanh and LeakyReLU (layers/sigmoid, tanh, leaky_relu): forward values computed by
// hand, backward from the saved output (sigmoid, tanh) or the input's side of the kink (leaky).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/leaky_relu.hpp"
#include "chainrule/layers/sigmoid.hpp"
#include "chainrule/layers/tanh.hpp"

using namespace chainrule;

namespace {
constexpr double eps = std::numeric_limits<double>::epsilon();
}

TEST_CASE("sigmoid: forward values by hand: sigma(0) = 1/2, sigma(ln 3) = 3/4, sigma(-ln 3) = 1/4, no overflow") {
  Sigmoid<double> sigmoid("sigmoid");
  Tensor<double> X(1, 6), Y;
  X.data = {0, std::log(3.0), -std::log(3.0), std::log(9.0), 800, -800};
  sigmoid.forward(X, Y, true);
  CHECK(Y.data[0] == 0.5);
  CHECK(std::abs(Y.data[1] - 0.75) <= 2 * eps);  // 1 / (1 + 1/3)
  CHECK(std::abs(Y.data[2] - 0.25) <= 2 * eps);  // (1/3) / (1 + 1/3)
  CHECK(std::abs(Y.data[3] - 0.9) <= 2 * eps);   // 1 / (1 + 1/9)
  CHECK(Y.data[4] == 1.0);                       // exp(-800) underflows to 0: 1 / 1
  CHECK(Y.data[5] == 0.0);                       // exp(-800) / (1 + exp(-800)): no inf / inf
  CHECK(std::isfinite(Y.data[5]));

  Sigmoid<float> f("sigmoid");
  Tensor<float> Xf(1, 2), Yf;
  Xf.data = {0.0f, -100.0f};
  f.forward(Xf, Yf, true);
  CHECK(Yf.data[0] == 0.5f);
  CHECK(Yf.data[1] >= 0.0f);
}

TEST_CASE("sigmoid: backward is dy * y (1 - y), from the saved output: 1/4 at 0, 3/16 at ln 3") {
  Sigmoid<double> sigmoid("sigmoid");
  Tensor<double> X(1, 3), Y, dY(1, 3), dX;
  X.data = {0, std::log(3.0), -std::log(3.0)};
  dY.data = {1, 2, -4};
  sigmoid.forward(X, Y, true);
  sigmoid.backward(dY, &dX);
  CHECK(dX.data[0] == 0.25);
  CHECK(std::abs(dX.data[1] - 2 * 0.1875) <= 4 * eps);   // 2 * (3/4)(1/4)
  CHECK(std::abs(dX.data[2] + 4 * 0.1875) <= 8 * eps);   // -4 * (1/4)(3/4)
  for (int k = 0; k < 3; ++k) CHECK(dX.data[k] == dY.data[k] * Y.data[k] * (1 - Y.data[k]));  // the formula, exactly
}

TEST_CASE("tanh: forward values by hand: tanh(0) = 0, tanh(0.5) and tanh(ln 2) = 3/5 to 1e-15, odd, no overflow") {
  Tanh<double> tanh("tanh");
  Tensor<double> X(1, 6), Y;
  X.data = {0, 0.5, -0.5, std::log(2.0), 400, -400};
  tanh.forward(X, Y, true);
  const double e = std::exp(1.0);  // tanh(1/2) = (e - 1) / (e + 1)
  CHECK(Y.data[0] == 0.0);
  CHECK(std::abs(Y.data[1] - (e - 1) / (e + 1)) <= 1e-15);
  CHECK(std::abs(Y.data[1] - 0.46211715726000974) <= 1e-15);
  CHECK(Y.data[2] == -Y.data[1]);
  CHECK(std::abs(Y.data[3] - 0.6) <= 1e-15);  // (2 - 1/2) / (2 + 1/2)
  CHECK(Y.data[4] == 1.0);
  CHECK(Y.data[5] == -1.0);
}

TEST_CASE("tanh: backward is dy * (1 - y^2), from the saved output: 1 at 0, 16/25 at ln 2") {
  Tanh<double> tanh("tanh");
  Tensor<double> X(1, 3), Y, dY(1, 3), dX;
  X.data = {0, std::log(2.0), 400};
  dY.data = {3, 1, 5};
  tanh.forward(X, Y, true);
  tanh.backward(dY, &dX);
  CHECK(dX.data[0] == 3.0);
  CHECK(std::abs(dX.data[1] - 0.64) <= 4 * eps);  // 1 - (3/5)^2
  CHECK(dX.data[2] == 0.0);                        // saturated: the gradient vanishes
  for (int k = 0; k < 3; ++k) CHECK(dX.data[k] == dY.data[k] * (1 - Y.data[k] * Y.data[k]));
}

TEST_CASE("sigmoid and tanh: backward reads the saved output Y, not the input X") {
  // Changing X after forward does not change dX: the derivative comes from Y alone.
  Sigmoid<double> sigmoid("sigmoid");
  Tanh<double> tanh("tanh");
  for (Layer<double>* layer : {static_cast<Layer<double>*>(&sigmoid), static_cast<Layer<double>*>(&tanh)}) {
    Tensor<double> X(1, 2), Y, dY(1, 2, 1.0), dX1, dX2;
    X.data = {0.3, -1.2};
    layer->forward(X, Y, true);
    layer->backward(dY, &dX1);
    X.data = {100, 100};
    layer->backward(dY, &dX2);
    CHECK(dX1.data == dX2.data);
  }
}

TEST_CASE("leaky_relu: forward values by hand: -2 -> -0.2 with alpha 0.1, 3 -> 3, 0 -> 0; default alpha 0.01") {
  LeakyReLU<double> leaky("leaky_relu", 0.1);
  Tensor<double> X(1, 4), Y;
  X.data = {-2, 0, 0.5, 3};
  leaky.forward(X, Y, true);
  CHECK(Y.data[0] == 0.1 * -2.0);
  CHECK(std::abs(Y.data[0] + 0.2) <= eps);
  CHECK(Y.data[1] == 0.0);
  CHECK(Y.data[2] == 0.5);
  CHECK(Y.data[3] == 3.0);

  LeakyReLU<float> byDefault("leaky_relu");
  CHECK(byDefault.alpha() == 0.01);
  Tensor<float> Xf(1, 1), Yf;
  Xf.data = {-100.0f};
  byDefault.forward(Xf, Yf, true);
  CHECK(Yf.data[0] == doctest::Approx(-1.0f));
}

TEST_CASE("leaky_relu: backward passes dy where x > 0 and alpha dy elsewhere (slope alpha at 0); kinks reported") {
  LeakyReLU<double> leaky("leaky_relu", 0.25);
  Tensor<double> X(1, 4), Y, dY(1, 4, 2.0), dX;
  X.data = {-2, 0, 0.5, 3};
  leaky.forward(X, Y, true);
  leaky.backward(dY, &dX);
  CHECK(dX.data == std::vector<double>{0.5, 0.5, 2, 2});
  std::vector<std::uint8_t> bits;
  leaky.kink_pattern(bits);
  CHECK(bits == std::vector<std::uint8_t>{0, 0, 1, 1});
}

TEST_CASE("leaky_relu: the gradient checker skips probes that cross its kink") {
  LeakyReLU<double> leaky("leaky_relu", 0.1);
  Tensor<double> X(3, 3);
  X.data = {-0.9, 0.4, 0.7, 0.2, -0.3, 1.1, -0.5, 0.8, -0.6};
  auto report = check_layer(leaky, X, GradCheckOptions{});
  CHECK(report.passed());
  CHECK(report.rows[0].skipped == 0);
  X.data[0] = 3e-6;  // within h = 1e-5 of the kink
  report = check_layer(leaky, X, GradCheckOptions{});
  CHECK(report.rows[0].skipped == 1);
  CHECK(report.passed());
}

TEST_CASE("sigmoid, tanh, leaky_relu: a dY of the wrong shape is refused, naming the layer") {
  Sigmoid<double> sigmoid("sigmoid1");
  Tanh<double> tanh("tanh2");
  LeakyReLU<double> leaky("leaky_relu3");
  for (Layer<double>* layer : {static_cast<Layer<double>*>(&sigmoid), static_cast<Layer<double>*>(&tanh),
                               static_cast<Layer<double>*>(&leaky)}) {
    Tensor<double> X(2, 3, 0.5), Y, dY(3, 2, 1.0), dX;
    layer->forward(X, Y, true);
    CHECK_THROWS_WITH_AS(layer->backward(dY, &dX), doctest::Contains((layer->name() + ".backward").c_str()), ShapeError);
  }
}
