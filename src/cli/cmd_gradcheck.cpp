// chainrule gradcheck: numerically checks every hand-written backward pass.
#include <iostream>

#include "chainrule/bugs.hpp"
#include "chainrule/gradcheck.hpp"
#include "commands.hpp"

namespace chainrule::cli {

Action add_gradcheck_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("gradcheck",
                                 "Check every layer's backward pass, every loss, and the 784-128-10 network "
                                 "against centered finite differences in double precision");
  struct Options {
    std::uint64_t seed = 1;
    std::string color = "auto";
    std::string bug;
  };
  auto opts = std::make_shared<Options>();
  cmd->add_option("--seed", opts->seed, "Seed for the random inputs, weights and upstream gradients")->capture_default_str();
  cmd->add_option("--color", opts->color, "Colour PASS/FAIL: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  add_bug_option(*cmd, opts->bug);

  return [cmd, opts]() -> int {
    if (!cmd->parsed()) return -1;
    activate_bug(opts->bug);
    const bool color = opts->color == "always" || (opts->color == "auto" && stdout_is_terminal());
    std::cout << "chainrule gradcheck: analytic gradients (backward) against centered differences\n"
              << "  relative error = |a - n| / max(1e-8, |a| + |n|), in double precision\n";
    if (active_bug() != Bug::None) std::cout << "  injected bug: " << bug_name(active_bug()) << "\n";
    std::cout << "\n";
    const auto reports = standard_gradchecks(opts->seed);
    int passed = 0;
    for (const auto& r : reports) {
      print_report(std::cout, r, color);
      std::cout << "\n";
      passed += r.passed() ? 1 : 0;
    }
    const int total = static_cast<int>(reports.size());
    std::cout << passed << " of " << total << " checks passed";
    if (passed != total) std::cout << "; a FAIL row names the tensor whose backward pass disagrees with the numbers";
    std::cout << "\n";
    return passed == total ? 0 : 1;
  };
}

}  // namespace chainrule::cli
