// chainrule gradcheck: numerically checks every hand-written backward pass.
//   chainrule gradcheck [--seed N]        the standard suite, then the activation and the convolution suites, every report printed
//   chainrule gradcheck --seeds 1-200     the suite on each seed, one line per seed, the worst margin
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/gradcheck.hpp"
#include "commands.hpp"

namespace chainrule::cli {

namespace {

// "A-B" or "A": a range of seeds, 1 <= A <= B <= 1000000.
std::pair<std::uint64_t, std::uint64_t> parse_seed_range(const std::string& text) {
  auto number = [&](const std::string& part) {
    std::size_t used = 0;
    unsigned long long v = 0;
    try {
      if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos) throw std::invalid_argument(part);
      v = std::stoull(part, &used);
    } catch (const std::exception&) {
      throw UsageError("--seeds '" + text + "': give a range of whole numbers such as 1-200");
    }
    if (v < 1 || v > 1000000) throw UsageError("--seeds '" + text + "': seeds go from 1 to 1000000");
    return static_cast<std::uint64_t>(v);
  };
  const auto dash = text.find('-');
  const std::uint64_t first = number(text.substr(0, dash));
  const std::uint64_t last = dash == std::string::npos ? first : number(text.substr(dash + 1));
  if (last < first) throw UsageError("--seeds '" + text + "': the range must not run backwards");
  return {first, last};
}

// The margin of a suite: the smallest safety / (error / noise) over its rows (>= 1 passes;
// 0 for a row that failed outright, e.g. an all-zero gradient), and where it is.
struct Closest {
  double ratio = std::numeric_limits<double>::infinity();
  std::string where;
};

Closest closest_call(const std::vector<GradCheckReport>& reports) {
  Closest c;
  for (const auto& r : reports)
    for (const auto& row : r.rows) {
      const double margin = !row.pass && row.ratio <= r.safety ? 0.0
                            : row.ratio > 0                    ? r.safety / row.ratio
                                                               : std::numeric_limits<double>::infinity();
      if (margin < c.ratio || c.where.empty()) {
        c.ratio = std::min(c.ratio, margin);
        c.where = r.title + ", " + row.name;
      }
    }
  return c;
}

std::string format_ratio(double r) {
  char buf[48];
  if (r == 0) return "0 (a row failed outright)";
  if (std::isinf(r)) return "inf";
  std::snprintf(buf, sizeof buf, r >= 1 ? "%.1fx" : "1/%.3gx", r >= 1 ? r : 1 / r);
  return buf;
}

// Prints every report of a suite, then "P of T <noun> passed" and, when all passed, the margin.
bool print_suite(const std::vector<GradCheckReport>& reports, const std::string& noun, bool color) {
  int passed = 0;
  for (const auto& r : reports) {
    print_report(std::cout, r, color);
    std::cout << "\n";
    passed += r.passed() ? 1 : 0;
  }
  const int total = static_cast<int>(reports.size());
  std::cout << passed << " of " << total << " " << noun << " passed";
  if (passed != total) std::cout << "; a FAIL row names the tensor whose backward pass disagrees with the numbers";
  std::cout << "\n";
  if (passed == total) {
    const Closest c = closest_call(reports);
    std::cout << "margin: 10 / (error / noise) = " << format_ratio(c.ratio) << " (" << c.where << ")\n";
  }
  return passed == total;
}

int sweep(std::uint64_t first, std::uint64_t last, bool verbose) {
  std::uint64_t passed = 0;
  Closest worst_pass, weakest_fail;  // worst margin over passing seeds; the failing seed closest to passing
  std::uint64_t worst_pass_seed = 0, weakest_fail_seed = 0;
  double weakest_fail_strength = std::numeric_limits<double>::infinity();  // error / limit of the clearest FAIL row
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    const auto reports = standard_gradchecks(seed);
    bool all = true;
    double strength = 0;  // the clearest FAIL of this seed: (error / noise) / safety over failing rows
    std::string strength_where;
    for (const auto& r : reports)
      for (const auto& row : r.rows)
        if (!row.pass) {
          all = false;
          const double s = row.ratio <= r.safety ? std::numeric_limits<double>::infinity() : row.ratio / r.safety;
          if (s > strength) {
            strength = s;
            strength_where = r.title + ", " + row.name;
          }
        }
    const Closest c = closest_call(reports);
    if (all) {
      ++passed;
      if (c.ratio < worst_pass.ratio || worst_pass_seed == 0) {
        worst_pass = c;
        worst_pass_seed = seed;
      }
    } else if (strength < weakest_fail_strength || weakest_fail_seed == 0) {
      weakest_fail_strength = strength;
      weakest_fail = {strength, strength_where};
      weakest_fail_seed = seed;
    }
    if (verbose)
      std::cout << "seed " << seed << ": " << (all ? "PASS" : "FAIL") << ", margin " << format_ratio(c.ratio) << " ("
                << c.where << ")\n";
  }
  const std::uint64_t total = last - first + 1;
  std::cout << "seeds " << first << "-" << last << ": " << passed << " of " << total << " passed every check\n";
  if (worst_pass_seed)
    std::cout << "  worst margin of a passing seed: 10 / (error / noise) = " << format_ratio(worst_pass.ratio) << " at seed "
              << worst_pass_seed << " (" << worst_pass.where << ")\n";
  if (weakest_fail_seed)
    std::cout << "  weakest failure: (error / noise) / 10 = " << format_ratio(weakest_fail.ratio) << " at seed "
              << weakest_fail_seed << " (" << weakest_fail.where << ")\n";
  return passed == total ? 0 : 1;
}

}  // namespace

Action add_gradcheck_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("gradcheck",
                                 "Check every layer's backward pass, every loss, the 784-128-10 network and LeNet-5 "
                                 "against centered finite differences in double precision");
  struct Options {
    std::uint64_t seed = 1;
    std::string seeds;
    bool verbose = false;
    std::string color = "auto";
    std::string bug;
  };
  auto opts = std::make_shared<Options>();
  auto* seed = cmd->add_option("--seed", opts->seed, "Seed for the random inputs, weights and upstream gradients")
                   ->capture_default_str();
  cmd->add_option("--seeds", opts->seeds, "Run the suite on a range of seeds, e.g. 1-200: one summary, the worst margin")
      ->excludes(seed);
  cmd->add_flag("--verbose", opts->verbose, "With --seeds: one line per seed");
  cmd->add_option("--color", opts->color, "Colour PASS/FAIL: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  add_bug_option(*cmd, opts->bug);

  return [cmd, opts]() -> int {
    if (!cmd->parsed()) return -1;
    activate_bug(opts->bug);
    if (!opts->seeds.empty()) {
      const auto [first, last] = parse_seed_range(opts->seeds);
      std::cout << "chainrule gradcheck: the standard suite on seeds " << first << "-" << last;
      if (active_bug() != Bug::None) std::cout << ", injected bug: " << bug_name(active_bug());
      std::cout << "\n";
      return sweep(first, last, opts->verbose);
    }
    const bool color = opts->color == "always" || (opts->color == "auto" && stdout_is_terminal());
    std::cout << "chainrule gradcheck: analytic gradients (backward) against centered differences\n"
              << "  relative error = |a - n| / max(1e-8, |a| + |n|, 1% of the tensor's largest |a|), in double\n"
              << "  noise = the error that rounding (eps |L| / h) and truncation (h^2 |L'''| / 6) explain\n";
    if (active_bug() != Bug::None) std::cout << "  injected bug: " << bug_name(active_bug()) << "\n";
    std::cout << "\n";
    // The standard suite (whose lines lessons and tests quote), then the activations other than
    // ReLU, then convolution and pooling, each with its own verdict and margin lines.
    bool all = print_suite(standard_gradchecks(opts->seed), "checks", color);
    std::cout << "\nthe hidden activations other than ReLU\n\n";
    all = print_suite(activation_gradchecks(opts->seed), "activation checks", color) && all;
    std::cout << "\nconvolution and pooling\n\n";
    all = print_suite(cnn_gradchecks(opts->seed, /*include_lenet5=*/true), "convolution and pooling checks", color) && all;
    return all ? 0 : 1;
  };
}

}  // namespace chainrule::cli
