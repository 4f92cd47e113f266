#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "chainrule/rng.hpp"

using chainrule::Rng;

TEST_CASE("rng: the same seed gives the same numbers, another seed other numbers") {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    CHECK(x == b.next_u64());
    CHECK(x != c.next_u64());
  }
}

TEST_CASE("rng: uniform is at least 0 and below 1, below(n) in range, normal has mean 0 and variance 1") {
  Rng r(1);
  double sum = 0, sum2 = 0;
  const int n = 20000;
  std::set<std::uint64_t> seen;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    CHECK(u >= 0.0);
    CHECK(u < 1.0);
    const auto k = r.below(10);
    CHECK(k < 10);
    seen.insert(k);
    const double z = r.normal();
    sum += z;
    sum2 += z * z;
  }
  CHECK(seen.size() == 10);
  CHECK(std::abs(sum / n) < 0.05);
  CHECK(std::abs(sum2 / n - 1.0) < 0.05);
}

TEST_CASE("rng: saving and restoring the state continues the same sequence") {
  Rng r(3);
  r.normal();  // leaves a spare normal behind
  const auto saved = r.state();
  const double x1 = r.normal(), x2 = r.uniform();
  Rng s(99);
  s.set_state(saved);
  CHECK(s.normal() == x1);
  CHECK(s.uniform() == x2);
}
