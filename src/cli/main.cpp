// The `chainrule` command: gradcheck, train, evaluate, predict, export, inspect, summary, doctor.
// Run `chainrule --help` or see docs/cli.md.
#include <unistd.h>

#ifdef CHAINRULE_TRAP_FPE
#include <cfenv>
#endif

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/data/idx.hpp"
#include "commands.hpp"

namespace chainrule::cli {

void add_bug_option(CLI::App& command, std::string& bug_name) {
  std::string names;
  for (const auto& b : all_bugs()) names += std::string(names.empty() ? "" : ", ") + b.name;
  command.add_option("--inject-bug", bug_name,
                     "Switch on one classic backprop bug to see how it is caught (docs/bugs.md): " + names);
}

void activate_bug(const std::string& bug_name) {
  std::string name = bug_name;
  if (name.empty())
    if (const char* env = std::getenv("CHAINRULE_BUG")) name = env;
  try {
    set_active_bug(parse_bug(name));
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--inject-bug / CHAINRULE_BUG: ") + e.what());
  }
}

io::LoadedModel load_model_option(const std::string& path, bool need_images) {
  io::LoadedModel loaded;
  try {
    loaded = io::load_model(path);
  } catch (const io::CheckpointError& e) {
    throw UsageError(std::string("--model: ") + e.what());
  }
  if (need_images && loaded.spec.inputs != 28 * 28)
    throw UsageError("--model: " + path + " expects " + std::to_string(loaded.spec.inputs) +
                     " inputs, not 28x28 images");
  return loaded;
}

data::ImageSet load_split_option(const std::string& dir, const std::string& split, int index) {
  data::ImageSet set;
  try {
    set = data::load_mnist_split(dir, split == "test" ? "t10k" : "train");
  } catch (const data::DataError& e) {
    throw UsageError(std::string("--data: ") + e.what());
  }
  if (index >= set.count)
    throw UsageError("--index " + std::to_string(index) + " is out of range: the " + split + " split has " +
                     std::to_string(set.count) + " images (0.." + std::to_string(set.count - 1) + ")");
  return set;
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) != 0; }

}  // namespace chainrule::cli

int main(int argc, char** argv) {
  using namespace chainrule::cli;
#ifdef CHAINRULE_TRAP_FPE
  // The debug preset stops at the first invalid operation, division by zero or overflow
  // (SIGFPE, so a debugger shows where the first NaN or inf is made), unless
  // CHAINRULE_TRAP_FPE=0 asks for the NaN guard's report instead.
  if (const char* trap = std::getenv("CHAINRULE_TRAP_FPE"); !trap || std::string(trap) != "0")
    feenableexcept(FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW);
#endif
  CLI::App app{"chainrule: backpropagation from scratch, one derivative at a time"};
  app.require_subcommand(1);
  std::vector<Action> actions;
  actions.push_back(add_gradcheck_command(app));
  actions.push_back(add_doctor_command(app));
  actions.push_back(add_train_command(app));
  actions.push_back(add_evaluate_command(app));
  actions.push_back(add_predict_command(app));
  actions.push_back(add_export_command(app));
  actions.push_back(add_inspect_command(app));
  actions.push_back(add_summary_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "chainrule: " << e.what() << "\n(run 'chainrule --help' or 'chainrule COMMAND --help')\n";
    return 2;
  }
  try {
    for (auto& action : actions) {
      const int code = action();
      if (code >= 0) return code;
    }
    return 2;
  } catch (const chainrule::data::DataError& e) {  // bad data file: one line, exit 2
    std::cerr << "chainrule: " << e.what() << "\n";
    return 2;
  } catch (const chainrule::io::CheckpointError& e) {  // bad checkpoint file: one line, exit 2
    std::cerr << "chainrule: " << e.what() << "\n";
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "chainrule: " << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "chainrule: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "chainrule: " << e.what() << "\n";
    return 1;
  }
}
