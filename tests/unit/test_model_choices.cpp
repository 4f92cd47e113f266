// make_mlp's initialisation and BatchNorm choices (--init, --init-gain, --batchnorm before|after,
// --bn-momentum, --bn-eps).
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "chainrule/init.hpp"
#include "chainrule/layers/batchnorm.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/model.hpp"

using namespace chainrule;

namespace {
double sample_std(const Tensor<float>& W) {
  double sum = 0, sum2 = 0;
  for (float w : W.data) {
    sum += w;
    sum2 += double(w) * w;
  }
  const double n = static_cast<double>(W.size()), mean = sum / n;
  return std::sqrt(sum2 / n - mean * mean);
}
double largest(const Tensor<float>& W) {
  double m = 0;
  for (float w : W.data) m = std::max(m, double(std::abs(w)));
  return m;
}
}  // namespace

TEST_CASE("model: --init sets every dense layer's weights by its formula; auto is He then Glorot") {
  MlpSpec spec;
  spec.hidden = {256, 256};
  auto stds = [&](const std::string& init, double gain = 1.0) {
    spec.init = init;
    spec.init_gain = gain;
    auto model = make_mlp<float>(spec);
    return std::vector<double>{sample_std(model.get<Dense<float>>("dense1").W), sample_std(model.get<Dense<float>>("dense2").W),
                               sample_std(model.get<Dense<float>>("dense3").W)};
  };
  auto near = [](double a, double b) { return std::abs(a / b - 1) < 0.02; };
  const double glorot3 = std::sqrt(6.0 / (256 + 10)) / std::sqrt(3.0);  // std of U(-a, a) is a / sqrt(3)
  auto a = stds("auto");
  CHECK(near(a[0], std::sqrt(2.0 / 784)));
  CHECK(near(a[1], std::sqrt(2.0 / 256)));
  CHECK(near(a[2], glorot3));
  auto he = stds("he", 0.5);
  CHECK(near(he[0], 0.5 * std::sqrt(2.0 / 784)));
  CHECK(near(he[2], 0.5 * std::sqrt(2.0 / 256)));  // he applies to the output layer too
  auto gl = stds("glorot", 5.0 / 3);
  CHECK(near(gl[0], 5.0 / 3 * std::sqrt(6.0 / (784 + 256)) / std::sqrt(3.0)));
  auto le = stds("lecun");
  CHECK(near(le[1], std::sqrt(1.0 / 256)));
  auto no = stds("normal:0.01");
  CHECK(near(no[0], 0.01));
  CHECK(near(no[2], 0.01));
  spec.init = "uniform:0.2";
  spec.init_gain = 1;
  auto model = make_mlp<float>(spec);
  CHECK(largest(model.get<Dense<float>>("dense1").W) <= 0.2);
  CHECK(largest(model.get<Dense<float>>("dense1").W) > 0.199);
  CHECK(near(sample_std(model.get<Dense<float>>("dense3").W), 0.2 / std::sqrt(3.0)));
}

TEST_CASE("model: a bad --init or gain is refused with the forms it takes") {
  MlpSpec spec;
  for (const char* bad : {"kaiming", "normal", "normal:", "normal:-1", "normal:0", "uniform:x", "he:2", "normal:inf"}) {
    spec.init = bad;
    INFO(bad);
    CHECK_THROWS_AS(spec.check_init(), std::invalid_argument);
    CHECK_THROWS_AS(make_mlp<float>(spec), std::invalid_argument);
  }
  spec.init = "lecun";
  spec.init_gain = 2;
  CHECK_THROWS_WITH_AS(spec.check_init(), doctest::Contains("only to the he and glorot"), std::invalid_argument);
  spec.init = "he";
  spec.init_gain = 0;
  CHECK_THROWS_AS(spec.check_init(), std::invalid_argument);
  spec.init_gain = 2;
  CHECK_NOTHROW(spec.check_init());
}

TEST_CASE("model: --batchnorm after puts each BatchNorm after its activation, with the same tensors") {
  MlpSpec spec;
  spec.hidden = {512, 256};
  spec.dropout = 0.2;
  spec.batchnorm = true;
  spec.batchnorm_after = true;
  spec.activation = "tanh";
  auto model = make_mlp<float>(spec);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < model.size(); ++i) names.push_back(model.layer(i).name());
  CHECK(names == std::vector<std::string>{"dense1", "tanh1", "batchnorm1", "dropout1", "dense2", "tanh2", "batchnorm2",
                                          "dropout2", "dense3"});
  CHECK(spec.architecture() == "784-512-256-10+tanh+dropout0.2+batchnorm_after");
  spec.batchnorm_after = false;
  auto before = make_mlp<float>(spec);
  REQUIRE(before.params().size() == model.params().size());
  for (std::size_t k = 0; k < model.params().size(); ++k) {
    CHECK(before.params()[k].name == model.params()[k].name);
    CHECK(before.params()[k].value->data == model.params()[k].value->data);  // the same seeded weights
  }
}

TEST_CASE("model: --bn-momentum and --bn-eps reach every BatchNorm layer; the running mean moves by m") {
  MlpSpec spec;
  spec.inputs = 3;
  spec.hidden = {2, 2};
  spec.classes = 2;
  spec.batchnorm = true;
  spec.bn_momentum = 0.01;  // Keras's momentum 0.99
  spec.bn_eps = 1e-3;
  auto model = make_mlp<double>(spec);
  for (const char* name : {"batchnorm1", "batchnorm2"}) {
    auto& bn = model.get<BatchNorm1d<double>>(name);
    CHECK(bn.momentum() == 0.01);
    CHECK(bn.eps() == 1e-3);
  }
  // One batch through batchnorm1 alone: x = 1, 3 in feature 0 -> mu 2, biased var 1, unbiased 2.
  auto& bn = model.get<BatchNorm1d<double>>("batchnorm1");
  Tensor<double> X(2, 2), Y;
  X(0, 0) = 1;
  X(1, 0) = 3;
  X(0, 1) = X(1, 1) = 0;
  bn.forward(X, Y, true);
  CHECK(bn.running_mean.data[0] == doctest::Approx(0.01 * 2));
  CHECK(bn.running_var.data[0] == doctest::Approx(0.99 * 1 + 0.01 * 2));
  CHECK(Y(0, 0) == doctest::Approx(-1 / std::sqrt(1 + 1e-3)).epsilon(1e-12));  // (1 - 2) / sqrt(1 + eps)
  bn.forward(X, Y, false);  // inference: (x - running_mean) / sqrt(running_var + eps)
  CHECK(Y(1, 0) == doctest::Approx((3 - 0.02) / std::sqrt(1.01 + 1e-3)).epsilon(1e-12));
  spec.bn_momentum = 0;
  CHECK_THROWS_AS(spec.check_batchnorm(), std::invalid_argument);
  spec.bn_momentum = 1.5;
  CHECK_THROWS_AS(make_mlp<float>(spec), std::invalid_argument);
  spec.bn_momentum = 0.1;
  spec.bn_eps = 0;
  CHECK_THROWS_AS(spec.check_batchnorm(), std::invalid_argument);
  spec.bn_eps = 1e-5;
  CHECK(spec.batchnorm_default());
}
