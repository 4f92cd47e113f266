#include <doctest/doctest.h>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

TEST_CASE("model: make_mlp builds the 784-128-10 network with named parameters") {
  auto model = make_mlp<float>(MlpSpec{});
  CHECK(model.size() == 3);  // dense1, relu1, dense2
  const auto params = model.params();
  REQUIRE(params.size() == 4);
  CHECK(params[0].name == "dense1.W");
  CHECK(params[0].value->shape() == "(784, 128)");
  CHECK(params[3].name == "dense2.b");
  CHECK(model.parameter_count() == 784 * 128 + 128 + 128 * 10 + 10);
  CHECK(MlpSpec{}.architecture() == "784-128-10");
}

TEST_CASE("model: variants with dropout and batchnorm have the layers in order") {
  MlpSpec spec;
  spec.hidden = {512, 256};
  spec.dropout = 0.2;
  spec.batchnorm = true;
  auto model = make_mlp<float>(spec);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < model.size(); ++i) names.push_back(model.layer(i).name());
  CHECK(names == std::vector<std::string>{"dense1", "batchnorm1", "relu1", "dropout1", "dense2", "batchnorm2", "relu2",
                                          "dropout2", "dense3"});
  CHECK(spec.architecture() == "784-512-256-10+dropout0.2+batchnorm");
}

TEST_CASE("model: the same seed gives the same weights in float and in double") {
  auto f = make_mlp<float>(MlpSpec{});
  auto d = make_mlp<double>(MlpSpec{});
  auto fp = f.params();
  auto dp = d.params();
  for (std::size_t i = 0; i < fp.size(); ++i)
    for (std::size_t k = 0; k < fp[i].value->size(); k += 97)
      CHECK(fp[i].value->data[k] == static_cast<float>(dp[i].value->data[k]));
}

TEST_CASE("model: zero_grad is the one place gradients are reset; two backward passes double them") {
  MlpSpec spec;
  spec.inputs = 3;
  spec.hidden = {4};
  spec.classes = 2;
  auto model = make_mlp<double>(spec);
  Tensor<double> X(2, 3, 0.5), dZ;
  SoftmaxCrossEntropy<double> ce;
  model.zero_grad();
  ce.forward(model.forward(X, true), std::vector<int>{0, 1});
  ce.backward(dZ);
  model.backward(dZ);
  const auto once = model.params()[2].grad->data;  // dense2.W
  model.backward(dZ);
  const auto twice = model.params()[2].grad->data;
  for (std::size_t k = 0; k < once.size(); ++k) CHECK(twice[k] == doctest::Approx(2 * once[k]));
  model.zero_grad();
  for (double g : model.params()[2].grad->data) CHECK(g == 0.0);
}

TEST_CASE("model: 6-5-3 network checked entry by entry, and the 784-128-10 network with samples") {
  const auto reports = standard_gradchecks(5);
  int networks = 0;
  for (const auto& r : reports) {
    if (r.title.rfind("network", 0) != 0) continue;
    ++networks;
    INFO(r.title);
    CHECK(r.passed());
    for (const auto& row : r.rows) {
      INFO(row.name);
      CHECK(row.max_abs_analytic > 0);
      if (r.title.find("6-5-3") != std::string::npos) CHECK(row.checked + row.skipped == row.total);
      if (row.total <= 2000) CHECK(row.checked + row.skipped == row.total);
      else CHECK(row.checked + row.skipped >= 200);
    }
  }
  CHECK(networks == 2);
}

TEST_CASE("model: batchnorm and dropout networks pass the gradient check in training mode") {
  MlpSpec spec;
  spec.inputs = 5;
  spec.hidden = {6, 4};
  spec.classes = 3;
  spec.batchnorm = true;
  spec.dropout = 0.3;
  auto model = make_mlp<double>(spec);
  for (std::size_t i = 0; i < model.size(); ++i)
    if (auto* d = dynamic_cast<Dropout<double>*>(&model.layer(i))) d->freeze_mask(true);
  Rng rng(8);
  Tensor<double> X(6, 5);
  for (auto& x : X.data) x = rng.normal();
  const auto report = check_model("bn+dropout", model, X, {0, 1, 2, 0, 1, 2}, GradCheckOptions{});
  for (const auto& row : report.rows) {
    INFO(row.name << " " << row.max_rel_error << " " << row.note);
    if (row.name == "dense1.b" || row.name == "dense2.b") {
      // A bias right before BatchNorm has a zero gradient: BatchNorm subtracts the batch
      // mean, bias included. Backward gives rounding dust; the relative error means nothing.
      CHECK(row.max_abs_analytic < 1e-12);
    } else {
      CHECK(row.pass);
    }
  }
}

TEST_CASE("model: copy_state moves weights between float and double models") {
  auto f = make_mlp<float>(MlpSpec{});
  MlpSpec other;
  other.seed = 99;
  auto d = make_mlp<double>(other);
  copy_state(f, d);
  CHECK(static_cast<float>(d.params()[0].value->data[123]) == f.params()[0].value->data[123]);
  MlpSpec wider;
  wider.hidden = {64};
  auto w = make_mlp<double>(wider);
  CHECK_THROWS(copy_state(f, w));
}
