// chainrule_gradcheck_suite SUITE FIRST LAST: one of the checks kept out of the standard suite
// (whose printed counts the tutorials quote), on every seed FIRST..LAST:
//   activations  sigmoid, tanh, leaky ReLU (activation_gradchecks)
//   penalty      weight decay's L2 term lambda/2 ||W||^2, alone and in a 6-5-3 network (penalty_gradchecks)
//   batchnorm    BatchNorm with eps 1e-3 and momentum 0.01 alone, and 6-5-3 networks with BatchNorm
//                before and after the activation (batchnorm_gradchecks); with the
//                batchnorm-missing-mean-term bug switched on, every report must fail too
// Correct code passes every report. Prints the failures and the worst margin; exits 1 on a wrong result.
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/gradcheck.hpp"

namespace {

struct Suite {
  const char* name;
  const char* title;  // as the summary line names it
  std::vector<chainrule::GradCheckReport> (*checks)(std::uint64_t seed);
  chainrule::Bug must_fail;  // a bug every report must catch, or Bug::None
};

const Suite kSuites[] = {
    {"activations", "activations", chainrule::activation_gradchecks, chainrule::Bug::None},
    {"penalty", "L2 penalty", chainrule::penalty_gradchecks, chainrule::Bug::None},
    {"batchnorm", "batchnorm choices", chainrule::batchnorm_gradchecks, chainrule::Bug::BatchnormMissingMeanTerm},
};

}  // namespace

int main(int argc, char** argv) {
  const Suite* suite = nullptr;
  if (argc == 4)
    for (const Suite& s : kSuites)
      if (std::string(argv[1]) == s.name) suite = &s;
  if (!suite) {
    std::cerr << "usage: chainrule_gradcheck_suite activations|penalty|batchnorm FIRST LAST\n";
    return 2;
  }
  const std::uint64_t first = std::strtoull(argv[2], nullptr, 10), last = std::strtoull(argv[3], nullptr, 10);
  std::size_t failed = 0, reports = 0, missed = 0;
  double worst = std::numeric_limits<double>::infinity();
  std::string worst_at;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    for (const auto& r : suite->checks(seed)) {
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
    if (suite->must_fail == chainrule::Bug::None) continue;
    chainrule::ScopedBug bug(suite->must_fail);
    for (const auto& r : suite->checks(seed))
      if (r.passed()) {
        ++missed;
        std::cout << "MISSED: " << chainrule::bug_name(suite->must_fail) << " passed '" << r.title << "' at seed "
                  << seed << "\n";
      }
  }
  std::cout << suite->title << ", seeds " << first << "-" << last << ": " << reports - failed << " of " << reports
            << " reports passed; worst margin " << worst << " (" << worst_at << ")";
  if (suite->must_fail != chainrule::Bug::None)
    std::cout << "; " << missed << " reports missed the " << chainrule::bug_name(suite->must_fail) << " bug";
  std::cout << "\n";
  return failed == 0 && missed == 0 ? 0 : 1;
}
