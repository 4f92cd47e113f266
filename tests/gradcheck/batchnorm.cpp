// chainrule_gradcheck_batchnorm FIRST LAST: batchnorm_gradchecks (BatchNorm with eps 1e-3 and
// momentum 0.01 alone, and 6-5-3 networks with BatchNorm before and after the activation) on every
// seed FIRST..LAST: correct code passes every report, and with the batchnorm-missing-mean-term bug
// switched on every seed fails. Prints the worst margin; exits 1 on a wrong result.
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/gradcheck.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: chainrule_gradcheck_batchnorm FIRST LAST\n";
    return 2;
  }
  const std::uint64_t first = std::strtoull(argv[1], nullptr, 10), last = std::strtoull(argv[2], nullptr, 10);
  std::size_t failed = 0, reports = 0, missed = 0;
  double worst = std::numeric_limits<double>::infinity();
  std::string worst_at;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    for (const auto& r : chainrule::batchnorm_gradchecks(seed)) {
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
    chainrule::ScopedBug bug(chainrule::Bug::BatchnormMissingMeanTerm);
    for (const auto& r : chainrule::batchnorm_gradchecks(seed))
      if (r.passed()) {
        ++missed;
        std::cout << "MISSED: batchnorm-missing-mean-term passed '" << r.title << "' at seed " << seed << "\n";
      }
  }
  std::cout << "batchnorm choices, seeds " << first << "-" << last << ": " << reports - failed << " of " << reports
            << " reports passed; worst margin " << worst << " (" << worst_at << "); " << missed
            << " reports missed the batchnorm-missing-mean-term bug\n";
  return failed == 0 && missed == 0 ? 0 : 1;
}
