#include <doctest/doctest.h>

#include <sstream>

#include "chainrule/bugs.hpp"
#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/dense.hpp"

using namespace chainrule;

TEST_CASE("gradcheck: one relative-error formula with a floor") {
  CHECK(relative_error(1.0, 1.0, 1e-8) == 0.0);
  CHECK(relative_error(1.0, -1.0, 1e-8) == doctest::Approx(1.0));
  CHECK(relative_error(1e-12, 0.0, 1e-8) == doctest::Approx(1e-4));  // the floor keeps tiny values tame
}

TEST_CASE("gradcheck: the whole standard suite passes") {
  const auto reports = standard_gradchecks(1);
  CHECK(reports.size() == 11);
  for (const auto& r : reports) {
    INFO(r.title);
    CHECK(r.passed());
  }
}

TEST_CASE("gradcheck: an all-zero analytic gradient never passes") {
  double w = 2.0;
  Tensor<double> value(1, 1, w), zero(1, 1, 0.0);
  auto loss = [&] { return value.data[0] * 0.0; };  // truly zero gradient: still no PASS
  auto report = check_gradients("zeros", "", loss, [](std::vector<std::uint8_t>&) {}, {{"w", &value, &zero}}, {});
  CHECK_FALSE(report.passed());
  CHECK(report.rows[0].note.find("all zeros") != std::string::npos);
}

TEST_CASE("gradcheck: each classic bug in a backward pass makes the suite fail") {
  // Each of these breaks a gradient; the suite must notice every one of them.
  for (Bug bug : {Bug::DenseNoBiasGrad, Bug::DenseTransposedWeightGrad, Bug::MissingBatchMean, Bug::SoftmaxCeSign,
                  Bug::ReluMaskInverted, Bug::DropoutMissingScale, Bug::BatchnormMissingMeanTerm}) {
    ScopedBug scoped(bug);
    const auto reports = standard_gradchecks(1, /*include_784=*/false);
    int failed = 0;
    for (const auto& r : reports) failed += r.passed() ? 0 : 1;
    INFO(bug_name(bug));
    CHECK(failed > 0);
  }
}

TEST_CASE("gradcheck: relu-mask-from-output is harmless (y > 0 exactly when x > 0)") {
  ScopedBug scoped(Bug::ReluMaskFromOutput);
  for (const auto& r : standard_gradchecks(1, /*include_784=*/false)) {
    INFO(r.title);
    CHECK(r.passed());
  }
}

TEST_CASE("gradcheck: the report prints one row per tensor with PASS or FAIL") {
  Dense<double> d("dense", 3, 2);
  d.W.data = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6};
  Tensor<double> X(2, 3, 0.7);
  std::ostringstream out;
  print_report(out, check_layer(d, X, GradCheckOptions{}), false);
  const std::string text = out.str();
  CHECK(text.find("dense.W") != std::string::npos);
  CHECK(text.find("(3, 2)") != std::string::npos);
  CHECK(text.find("PASS") != std::string::npos);
  CHECK(text.find("FAIL") == std::string::npos);
}
