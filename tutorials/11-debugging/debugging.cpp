// Tutorial 11: "my loss is not decreasing, why?". Classic bugs switched on one at a
// time with chainrule::ScopedBug (bugs.hpp): the ones in a backward pass fail the
// gradient-check suite; the ones in the training pipeline pass it, and show up in
// the training diagnostics (train/monitor.hpp) of a short run on real MNIST.
//
// Needs real MNIST in data/mnist (tools/fetch_mnist.sh), or the folder given as the
// first argument, for parts 2 and 3. Without it, it says so and exits 77, which ctest
// reports as skipped (exit 1 instead when CHAINRULE_REQUIRE_MNIST=1).
//
// One thread, so that every float sum runs in the same order at every run; the
// numbers are printed with few digits so that every build prints the same page.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>  // mkdtemp

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/data/idx.hpp"
#include "chainrule/gradcheck.hpp"
#include "chainrule/train/monitor.hpp"
#include "chainrule/train/trainer.hpp"
#include "../lesson_mnist.hpp"

namespace data = chainrule::data;
namespace train = chainrule::train;
using chainrule::Bug;

namespace {

// The finding ids of fit's "warning: <title> [<id>]" lines, in the order they were printed.
std::vector<std::string> warning_ids(const std::string& log) {
  std::vector<std::string> ids;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("warning:", 0) != 0) continue;
    const auto open = line.rfind('['), close = line.rfind(']');
    if (open != std::string::npos && close != std::string::npos && close > open)
      ids.push_back(line.substr(open + 1, close - open - 1));
  }
  return ids;
}

std::string joined(const std::vector<std::string>& items, const char* none) {
  if (items.empty()) return none;
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  // ---- 1. Backward-pass bugs: the gradient-check suite -----------------------------------------
  // standard_gradchecks without the 784-128-10 network (that is `chainrule gradcheck` minus
  // its slowest check): every layer, every loss, fused against unfused, a 6-5-3 network.
  std::printf("== 1. The gradient-check suite under each bug (10 checks; chainrule gradcheck runs 11)\n");
  for (Bug bug : {Bug::None, Bug::SoftmaxCeSign, Bug::MissingBatchMean, Bug::DenseNoBiasGrad, Bug::ReluMaskInverted,
                  Bug::DropoutMissingScale, Bug::ReluMaskFromOutput, Bug::LrTooHigh, Bug::LabelsMisaligned}) {
    const chainrule::ScopedBug scoped(bug);
    const auto reports = chainrule::standard_gradchecks(1, /*include_784=*/false);
    int passed = 0;
    for (const auto& r : reports) passed += r.passed() ? 1 : 0;
    std::printf("  %-24s %2d of %zu pass\n", bug == Bug::None ? "(no bug)" : chainrule::bug_name(bug), passed,
                reports.size());
    for (const auto& r : reports) {
      if (r.passed()) continue;
      std::string rows;
      for (const auto& row : r.rows) {
        if (row.pass) continue;
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s%s %.2f", rows.empty() ? "" : ", ", row.name.c_str(), row.max_rel_error);
        rows += buf;
      }
      std::printf("      FAIL %s: %s\n", r.title.c_str(), rows.c_str());
    }
  }

  const std::string dir = argc > 1 ? argv[1] : "data/mnist";
  std::optional<data::Mnist> loaded = lesson::load_mnist(dir, "Parts 2 and 3 of this lesson train on");
  if (!loaded) return lesson::missing_mnist_exit_code();
  data::Mnist& mnist = *loaded;

  // ---- 2. Pipeline bugs: what train::fit warns about -------------------------------------------
  // The run of docs/bugs.md: 8000 images, batch 32, one epoch (250 steps), a probe of the
  // gradients every 5 steps (--log-grads 5), validation on the first 1000 test images.
  train::TrainConfig config;
  config.data_dir = dir;
  config.epochs = 1;
  config.batch = 32;
  config.threads = 1;
  config.log_grads = 5;
  train::TrainData slice;
  slice.train = &mnist.train;
  slice.train_indices = data::all_indices(8000);
  slice.val = &mnist.test;
  slice.val_indices = data::all_indices(1000);
  slice.val_name = "the first 1000 test images";

  // How far a broken run gets is chaotic: its loss depends on rounding details (a debug build,
  // which rounds differently, prints other digits). Printed instead: whether it learns at all
  // (at least 50% validation accuracy), and whether its history is bit for bit that of the clean run.
  std::printf("== 2. train::fit for 250 steps under each pipeline bug: the warnings it prints\n");
  std::printf("  bug                      learns?  warnings (finding ids, in the order printed)\n");
  std::vector<train::HistoryRow> clean;
  for (Bug bug : {Bug::None, Bug::InputsNotNormalised, Bug::LabelsMisaligned, Bug::DeadInit, Bug::LrTooHigh,
                  Bug::GradsNotZeroed, Bug::AdamNoBiasCorrection, Bug::ReluMaskFromOutput}) {
    const chainrule::ScopedBug scoped(bug);
    std::ostringstream log;  // the progress lines hold timings; only the warnings are printed here
    const train::TrainResult result = train::fit(config, slice, log);
    const train::HistoryRow& row = result.history.back();
    if (bug == Bug::None) clean = result.history;
    const bool same_as_clean = bug != Bug::None && row.loss == clean.back().loss &&
                               row.accuracy == clean.back().accuracy && row.val_loss == clean.back().val_loss;
    std::printf("  %-24s %-7s  %s%s\n", bug == Bug::None ? "(no bug)" : chainrule::bug_name(bug),
                row.val_accuracy >= 0.5 ? "yes" : "no", joined(warning_ids(log.str()), "none").c_str(),
                same_as_clean ? " (loss and accuracy identical to the run without a bug)" : "");
  }

  // ---- 3. The same rules afterwards, from the run folder: chainrule doctor -----------------------
  std::printf("== 3. diagnose_run (chainrule doctor) on a run folder written under lr-too-high\n");
  std::string tmpl = (std::filesystem::temp_directory_path() / "chainrule-tutorial-11-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::printf("cannot create a temporary folder in %s\n", std::filesystem::temp_directory_path().c_str());
    return 1;
  }
  {
    const chainrule::ScopedBug scoped(Bug::LrTooHigh);
    config.run_dir = (std::filesystem::path(tmpl) / "run").string();
    std::ostringstream log;
    train::fit(config, slice, log);
    std::printf("  live warnings, in the order they appeared: %s\n", joined(warning_ids(log.str()), "none").c_str());
  }
  std::string summary;
  const std::vector<train::Finding> findings = train::diagnose_run(config.run_dir, &summary);
  std::printf("  doctor read %s\n", summary.c_str());
  int k = 0;
  for (const auto& f : findings) std::printf("  %d. [%s] first seen at step %lld\n", ++k, f.id.c_str(), static_cast<long long>(f.step));
  std::filesystem::remove_all(tmpl);
  return 0;
}
