// The gradient checker keeps its teeth, on every seed of a range:
//   1. a relative slip of 1e-6 in any one entry of any tensor of the 6-5-3 network fails,
//      for every entry whose |a| is at least 1% of its tensor's largest;
//   2. every gradient bug of the bug zoo fails the standard suite;
//   3. the harmless control (relu-mask-from-output) and the correct code pass;
//   4. a wrong weight-decay gradient fails: 2 lambda W (the 1/2 of lambda/2 ||W||^2 forgotten),
//      lambda W / 2, and a network whose backward leaves the penalty's lambda W out.
// Prints the weakest catch of each kind ((error / noise) / 10, > 1 means caught) and exits 1 on any miss.
//
//   chainrule_gradcheck_teeth FIRST LAST      e.g. 1 200 (ctest) or 1 1000 (tools/gradcheck_seeds.sh)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/gradcheck.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/penalty.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

namespace {

struct Weakest {
  double ratio = std::numeric_limits<double>::infinity();  // (error / noise) / 10 of the weakest catch
  std::string where;
  void note(double r, const std::string& w) {
    if (r < ratio) {
      ratio = r;
      where = w;
    }
  }
};

// Slips one analytic entry at a time by a relative 1e-6 (both signs); each must FAIL.
int check_slips(std::uint64_t seed, Weakest& weakest, long& slips) {
  NetworkCase net = small_network_case(seed);
  SoftmaxCrossEntropy<double> ce;
  Tensor<double> dZ;
  net.model.zero_grad();
  ce.forward(net.model.forward(net.X, true), net.labels);
  ce.backward(dZ);
  net.model.backward(dZ, true);
  std::vector<std::pair<std::string, std::pair<Tensor<double>*, Tensor<double>>>> tensors;
  tensors.push_back({"X", {&net.X, net.model.input_grad()}});
  for (auto& p : net.model.params()) tensors.push_back({p.name, {p.value, *p.grad}});

  auto loss = [&] { return ce.forward(net.model.forward(net.X, true), net.labels); };
  auto kinks = [&](std::vector<std::uint8_t>& bits) { net.model.kink_pattern(bits); };
  GradCheckOptions options;  // the suite's network options
  options.h = 1e-4;
  options.seed = seed;
  int missed = 0;
  for (auto& [name, t] : tensors) {
    const Tensor<double>& analytic = t.second;
    double largest = 0;
    for (double a : analytic.data) largest = std::max(largest, std::abs(a));
    for (std::size_t k = 0; k < analytic.size(); ++k) {
      if (std::abs(analytic.data[k]) < 0.01 * largest) continue;
      for (double sign : {+1.0, -1.0}) {
        Tensor<double> slipped = analytic;
        slipped.data[k] *= 1 + sign * 1e-6;
        const auto report = check_gradients("slip", "", loss, kinks, {{name, t.first, &slipped}}, options);
        const auto& row = report.rows.at(0);
        ++slips;
        const std::string where = "seed " + std::to_string(seed) + ", " + name + "[" + std::to_string(k) + "]";
        if (row.pass) {
          std::printf("MISSED: a 1e-6 slip in %s passed (max rel error %.2e, error / noise %.2g)\n", where.c_str(),
                      row.max_rel_error, row.ratio);
          ++missed;
        }
        weakest.note(row.ratio / report.safety, where);
      }
    }
  }
  return missed;
}

// Wrong gradients of the L2 penalty R = lambda/2 ||W||^2; each must FAIL.
int check_penalty(std::uint64_t seed, Weakest& weakest, long& wrongs) {
  int missed = 0;
  GradCheckOptions options;
  options.seed = seed;
  const double lambda = 0.1;
  NetworkCase net = small_network_case(seed);
  const std::vector<Param<double>> params = net.model.params();
  const L2Penalty<double> penalty(lambda);
  auto report = [&](const std::string& what, const GradCheckReport& r) {
    ++wrongs;
    double strength = 0;
    for (const auto& row : r.rows)
      if (!row.pass) strength = std::max(strength, row.ratio > r.safety ? row.ratio / r.safety : std::numeric_limits<double>::infinity());
    const std::string where = what + " at seed " + std::to_string(seed);
    if (strength == 0) {
      std::printf("MISSED: %s passed\n", where.c_str());
      ++missed;
    }
    weakest.note(strength, where);
  };
  for (double k : {2.0, 0.5}) {  // the penalty alone, on dense1.W, with k lambda W
    Tensor<double>& W = *params[0].value;
    Tensor<double> wrong = W;
    for (auto& w : wrong.data) w *= k * lambda;
    report("penalty gradient " + std::string(k == 2.0 ? "2 lambda W" : "lambda W / 2"),
           check_gradients("penalty", "", [&] { return penalty.forward({params[0]}); }, [](std::vector<std::uint8_t>&) {},
                           {{"dense1.W", &W, &wrong}}, options));
  }
  {  // the network with the penalty in its loss but not in its backward
    SoftmaxCrossEntropy<double> ce;
    Tensor<double> dZ;
    net.model.zero_grad();
    ce.forward(net.model.forward(net.X, true), net.labels);
    ce.backward(dZ);
    net.model.backward(dZ, true);
    std::vector<CheckedTensor> tensors;
    for (const auto& p : params) tensors.push_back({p.name, p.value, p.grad});
    options.h = 1e-4;
    report("network without the penalty's backward",
           check_gradients("network", "", [&] { return ce.forward(net.model.forward(net.X, true), net.labels) + penalty.forward(params); },
                           [&](std::vector<std::uint8_t>& bits) { net.model.kink_pattern(bits); }, tensors, options));
  }
  return missed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FIRST LAST (a range of seeds, e.g. 1 200)\n", argv[0]);
    return 2;
  }
  const std::uint64_t first = std::strtoull(argv[1], nullptr, 10), last = std::strtoull(argv[2], nullptr, 10);
  if (first < 1 || last < first) {
    std::fprintf(stderr, "%s: give FIRST >= 1 and LAST >= FIRST\n", argv[0]);
    return 2;
  }
  int missed = 0;
  long slips = 0;
  Weakest slip_weakest, bug_weakest, penalty_weakest;
  long penalty_wrongs = 0;
  double pass_margin = std::numeric_limits<double>::infinity();
  std::string pass_where;
  std::vector<Bug> gradient_bugs;
  for (const auto& b : all_bugs())
    if (std::string(b.where) == "gradient" && b.bug != Bug::ReluMaskFromOutput) gradient_bugs.push_back(b.bug);

  for (std::uint64_t seed = first; seed <= last; ++seed) {
    missed += check_slips(seed, slip_weakest, slips);
    missed += check_penalty(seed, penalty_weakest, penalty_wrongs);
    for (Bug bug : gradient_bugs) {  // every gradient bug fails the suite (the small checks suffice)
      ScopedBug scoped(bug);
      double strength = 0;  // the clearest failing row of this seed
      for (const auto& r : standard_gradchecks(seed, /*include_784=*/false))
        for (const auto& row : r.rows)
          if (!row.pass)
            strength = std::max(strength, row.ratio > r.safety ? row.ratio / r.safety
                                                               : std::numeric_limits<double>::infinity());
      if (strength == 0) {
        std::printf("MISSED: %s passed every check at seed %llu\n", bug_name(bug), static_cast<unsigned long long>(seed));
        ++missed;
      }
      bug_weakest.note(strength, std::string(bug_name(bug)) + " at seed " + std::to_string(seed));
    }
    for (Bug bug : {Bug::None, Bug::ReluMaskFromOutput}) {  // correct code and the harmless control pass
      ScopedBug scoped(bug);
      for (const auto& r : standard_gradchecks(seed, false)) {
        if (!r.passed()) {
          std::printf("WRONG FAIL: %s with %s at seed %llu\n", r.title.c_str(), bug == Bug::None ? "correct code" : bug_name(bug),
                      static_cast<unsigned long long>(seed));
          ++missed;
        }
        if (r.margin() < pass_margin) {
          pass_margin = r.margin();
          pass_where = r.title + " at seed " + std::to_string(seed);
        }
      }
    }
  }
  std::printf("seeds %llu-%llu: %ld single-entry slips of 1e-6, %zu gradient bugs, correct code and relu-mask-from-output\n",
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(last), slips, gradient_bugs.size());
  std::printf("  weakest slip caught:   (error / noise) / 10 = %.1f (%s)\n", slip_weakest.ratio, slip_weakest.where.c_str());
  std::printf("  weakest bug caught:    (error / noise) / 10 = %.3g (%s)\n", bug_weakest.ratio, bug_weakest.where.c_str());
  std::printf("  weakest wrong penalty: (error / noise) / 10 = %.3g (%s), of %ld\n", penalty_weakest.ratio,
              penalty_weakest.where.c_str(), penalty_wrongs);
  std::printf("  closest correct pass:  10 / (error / noise) = %.1f (%s)\n", pass_margin, pass_where.c_str());
  std::printf("%s\n", missed == 0 ? "every slip and every bug caught, every correct check passed" : "MISSES above");
  return missed == 0 ? 0 : 1;
}
