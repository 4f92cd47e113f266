// chainrule_gradcheck_penalty FIRST LAST: penalty_gradchecks (weight decay's L2 term lambda/2 ||W||^2,
// alone and in a 6-5-3 network) on every seed FIRST..LAST; prints the worst margin, exits 1 on a failure.
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>

#include "chainrule/gradcheck.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: chainrule_gradcheck_penalty FIRST LAST\n";
    return 2;
  }
  const std::uint64_t first = std::strtoull(argv[1], nullptr, 10), last = std::strtoull(argv[2], nullptr, 10);
  std::size_t failed = 0, reports = 0;
  double worst = std::numeric_limits<double>::infinity();
  std::string worst_at;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    for (const auto& r : chainrule::penalty_gradchecks(seed)) {
      ++reports;
      if (!r.passed()) {
        ++failed;
        std::cout << "seed " << seed << ":\n";
        chainrule::print_report(std::cout, r);
      }
      if (r.margin() < worst) {
        worst = r.margin();
        worst_at = "seed " + std::to_string(seed) + ", " + r.title;
      }
    }
  }
  std::cout << "L2 penalty, seeds " << first << "-" << last << ": " << reports - failed << " of " << reports
            << " reports passed; worst margin " << worst << " (" << worst_at << ")\n";
  return failed == 0 ? 0 : 1;
}
