// cnn_gradchecks (gradcheck.hpp): the checks of Conv2d, MaxPool2d and AvgPool2d, on seeds 1 to 200.
#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <sstream>

#include "chainrule/gradcheck.hpp"

using namespace chainrule;

TEST_CASE("gradcheck cnn: every conv and pooling check passes on seeds 1 to 200, ties skipped") {
  double worst = std::numeric_limits<double>::infinity();
  std::string worst_at;
  std::size_t tie_skips = 0, reports = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    for (const auto& r : cnn_gradchecks(seed)) {
      INFO("seed " << seed << ": " << r.title);
      if (!r.passed()) {
        std::ostringstream table;
        print_report(table, r);
        FAIL_CHECK(table.str());
      }
      if (r.margin() < worst) {
        worst = r.margin();
        worst_at = "seed " + std::to_string(seed) + ", " + r.title;
      }
      if (r.title.rfind("maxpool2d", 0) == 0) {
        CHECK(r.rows[0].skipped > 0);  // every other window holds a tie
        tie_skips += r.rows[0].skipped;
      }
      ++reports;
    }
  }
  MESSAGE(reports << " reports; worst margin " << worst << " (" << worst_at << "); " << tie_skips
                  << " max-pooling probes skipped on ties");
  CHECK(worst > 1);
}

TEST_CASE("gradcheck cnn: LeNet-5 on sampled entries passes (seed 1)") {
  const auto reports = cnn_gradchecks(1, /*include_lenet5=*/true);
  REQUIRE(reports.back().title == "network LeNet-5");
  for (const auto& r : reports) {
    INFO(r.title);
    CHECK(r.passed());
  }
  std::size_t rows = 0;
  for (const auto& row : reports.back().rows) rows += row.checked > 0;
  CHECK(rows == 11);  // X and the ten parameters of conv1, conv2, dense1..3
}
