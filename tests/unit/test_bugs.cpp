#include <doctest/doctest.h>

#include <set>
#include <stdexcept>

#include "chainrule/bugs.hpp"

using namespace chainrule;

TEST_CASE("bugs: every bug has a unique name that parses back to it") {
  std::set<std::string> names;
  for (const auto& b : all_bugs()) {
    CHECK(names.insert(b.name).second);
    CHECK(parse_bug(b.name) == b.bug);
    CHECK(std::string(bug_name(b.bug)) == b.name);
  }
  CHECK(names.size() == 14);
  CHECK(parse_bug("") == Bug::None);
}

TEST_CASE("bugs: an unknown name lists the valid ones") {
  CHECK_THROWS_WITH_AS(parse_bug("typo"), doctest::Contains("valid names: dense-no-bias-grad"), std::invalid_argument);
}

TEST_CASE("bugs: off by default; ScopedBug switches one on and restores") {
  CHECK(active_bug() == Bug::None);
  {
    ScopedBug b(Bug::LrTooHigh);
    CHECK(bug_active(Bug::LrTooHigh));
  }
  CHECK(active_bug() == Bug::None);
}
