// The subcommands of the `chainrule` program. Each lives in its own cmd_*.cpp file
// and registers itself on the CLI11 app; main.cpp runs the one the user chose.
//
// Exit codes (docs/cli.md): 0 success; 1 a check failed or training stopped on a
// non-finite loss; 2 a bad option, value or data file (one line on stderr says which).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/io/checkpoint.hpp"

namespace chainrule::cli {

// Thrown for a bad option value or bad input; main prints the message and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a registered command runs once parsing succeeded; returns the exit code.
using Action = std::function<int()>;

Action add_gradcheck_command(CLI::App& app);
Action add_doctor_command(CLI::App& app);
Action add_train_command(CLI::App& app);     // cmd_train.cpp
Action add_evaluate_command(CLI::App& app);  // cmd_evaluate.cpp
Action add_predict_command(CLI::App& app);   // cmd_predict.cpp
Action add_export_command(CLI::App& app);    // cmd_export.cpp
Action add_inspect_command(CLI::App& app);   // cmd_inspect.cpp
Action add_summary_command(CLI::App& app);   // cmd_summary.cpp

// The architecture options train and summary share.
// "512,256" -> {512, 256}; throws UsageError naming the bad list (cmd_train.cpp).
std::vector<int> parse_hidden(const std::string& text);
// --batchnorm [before|after], --bn-momentum M, --bn-eps E (cmd_summary.cpp). --batchnorm's
// value goes to `where`; call set_batchnorm(where, spec) when --batchnorm was given.
void add_batchnorm_options(CLI::App& command, std::string& where, MlpSpec& spec);
void set_batchnorm(const std::string& where, MlpSpec& spec);  // throws UsageError on a bad value
// --init and --init-gain (cmd_summary.cpp).
void add_init_options(CLI::App& command, MlpSpec& spec);

// Adds --inject-bug NAME to a command (CHAINRULE_BUG=NAME works everywhere).
void add_bug_option(CLI::App& command, std::string& bug_name);
// Switches on the named bug (or the one in CHAINRULE_BUG); throws UsageError on an unknown name.
void activate_bug(const std::string& bug_name);

// --model: loads a checkpoint; a bad file is a UsageError naming --model. With
// need_images, a model whose input is not a 28x28 image is refused too.
io::LoadedModel load_model_option(const std::string& path, bool need_images);
// --data and --split: loads the "train" or "test" split and checks that --index lies in it.
data::ImageSet load_split_option(const std::string& dir, const std::string& split, int index);

// True when standard output is a terminal (for colours and progress bars).
bool stdout_is_terminal();

}  // namespace chainrule::cli
