// activation_gradchecks (gradcheck.hpp): sigmoid, tanh and leaky ReLU, alone and in a 6-5-3 network.
// The sweep over seeds 1 to 200 is a ctest of its own (tests/gradcheck.cmake, "gradcheck: activations").
#include <doctest/doctest.h>

#include <sstream>

#include "chainrule/gradcheck.hpp"

using namespace chainrule;

TEST_CASE("gradcheck activations: every check passes (seeds 1 to 5), every entry checked") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const auto reports = activation_gradchecks(seed);
    REQUIRE(reports.size() == 7);
    for (const auto& r : reports) {
      INFO("seed " << seed << ": " << r.title);
      std::ostringstream table;
      print_report(table, r);
      INFO(table.str());
      CHECK(r.passed());
      for (const auto& row : r.rows) CHECK(row.checked == row.total);  // nothing sampled, no kink crossed
    }
  }
  const auto reports = activation_gradchecks(1);
  CHECK(reports[0].title == "sigmoid");
  CHECK(reports[1].title == "tanh");
  CHECK(reports[2].title == "leaky_relu (alpha 0.01)");
  CHECK(reports[4].title == "network 6-5-3 with sigmoid (every entry)");
}

TEST_CASE("gradcheck activations: the standard suite keeps its 11 reports") {
  CHECK(standard_gradchecks(1, /*include_784=*/true).size() == 11);
}

TEST_CASE("gradcheck activations: a slip in sigmoid's or tanh's backward fails") {
  // A Sigmoid whose backward uses sigma' = y instead of y (1 - y); a Tanh with 1 - y.
  struct BadSigmoid : Sigmoid<double> {
    using Sigmoid<double>::Sigmoid;
    void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
      dX->resize(dY.rows, dY.cols);
      for (std::size_t k = 0; k < dY.data.size(); ++k) dX->data[k] = dY.data[k] * Y_->data[k];
    }
  };
  struct BadTanh : Tanh<double> {
    using Tanh<double>::Tanh;
    void backward(const Tensor<double>& dY, Tensor<double>* dX) override {
      dX->resize(dY.rows, dY.cols);
      for (std::size_t k = 0; k < dY.data.size(); ++k) dX->data[k] = dY.data[k] * (1 - Y_->data[k]);
    }
  };
  Tensor<double> X(3, 4);
  for (std::size_t k = 0; k < X.data.size(); ++k) X.data[k] = 0.37 * static_cast<double>(k) - 2.0;
  BadSigmoid s("sigmoid");
  BadTanh t("tanh");
  CHECK_FALSE(check_layer(s, X, GradCheckOptions{}).passed());
  CHECK_FALSE(check_layer(t, X, GradCheckOptions{}).passed());
}
