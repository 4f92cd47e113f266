#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "chainrule/bugs/bugs.hpp"
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

TEST_CASE("gradcheck: the noise model adds rounding (2 eps |L| / h) and truncation, on the entry's scale") {
  const double eps = std::numeric_limits<double>::epsilon();
  CHECK(expected_noise(1.0, 1e-5, 0.0, 1.0) == doctest::Approx(2 * eps / 1e-5 + 64 * eps));
  CHECK(expected_noise(3.0, 1e-4, 1e-9, 0.5) == doctest::Approx((2 * eps * 3.0 / 1e-4 + 1e-9) / 0.5 + 64 * eps));
}

TEST_CASE("gradcheck: a sharply curved loss passes with its right gradient and fails a slip of 1e-5") {
  // L = exp(5 w) at w = 1 with a large step h = 1e-2: the plain centered difference is off by
  // h^2 L'''/6 = 4e-4 relative, yet Richardson's combination and the measured truncation judge it right.
  Tensor<double> w(1, 1, 1.0), grad(1, 1, 5 * std::exp(5.0));
  auto loss = [&] { return std::exp(5 * w.data[0]); };
  auto none = [](std::vector<std::uint8_t>&) {};
  GradCheckOptions o;
  o.h = 1e-2;
  const auto good = check_gradients("exp", "", loss, none, {{"w", &w, &grad}}, o);
  INFO(good.rows[0].max_rel_error << " noise " << good.rows[0].noise);
  CHECK(good.passed());
  CHECK(good.rows[0].max_rel_error < 1e-6);  // the plain difference alone would be off by 4e-4
  Tensor<double> slipped(1, 1, grad.data[0] * (1 + 1e-5));
  CHECK_FALSE(check_gradients("exp", "", loss, none, {{"w", &w, &slipped}}, o).passed());
}

TEST_CASE("gradcheck: an entry far below its tensor's largest is judged against 1% of that, not its own size") {
  // dL/dw0 = 1 and dL/dw1 = 1e-9: L's rounding noise (~eps / h = 2e-11) is 2% of the tiny entry,
  // which a purely relative check would call wrong. On the tensor's scale it is noise.
  Tensor<double> w(1, 2, 0.0), grad(1, 2, 0.0);
  grad.data = {1.0, 1e-9};
  auto loss = [&] { return 1.0 + w.data[0] + 1e-9 * w.data[1]; };
  auto none = [](std::vector<std::uint8_t>&) {};
  const auto report = check_gradients("tiny", "", loss, none, {{"w", &w, &grad}}, GradCheckOptions{});
  CHECK(report.passed());
  // ...and a wrong tiny entry is still wrong once it is a visible part of the tensor's scale.
  grad.data[1] = 0.05;
  CHECK_FALSE(check_gradients("tiny", "", loss, none, {{"w", &w, &grad}}, GradCheckOptions{}).passed());
}

TEST_CASE("gradcheck: seeds 12 and 57, whose small entries failed the old fixed threshold, pass") {
  for (std::uint64_t seed : {12, 57}) {
    INFO("seed " << seed);
    for (const auto& r : standard_gradchecks(seed)) {
      INFO(r.title);
      CHECK(r.passed());
    }
  }
}

TEST_CASE("gradcheck: the 6-5-3 network of the suite keeps every probe off the ReLU kink") {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    NetworkCase c = small_network_case(seed);
    const auto report = check_model("6-5-3", c.model, c.X, c.labels, GradCheckOptions{});
    for (const auto& row : report.rows) {
      INFO("seed " << seed << " " << row.name);
      CHECK(row.skipped == 0);
      CHECK(row.checked == row.total);
    }
  }
}
