// chainrule doctor RUN_DIR: reads a run's history.csv and steps.csv and names the
// likely causes of a stuck or diverging loss, with the evidence for each.
#include <iostream>

#include "chainrule/train/doctor.hpp"
#include "commands.hpp"

namespace chainrule::cli {

Action add_doctor_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("doctor",
                                 "Read a run folder (history.csv, steps.csv) and explain a loss that will not "
                                 "decrease or that diverges");
  auto run_dir = std::make_shared<std::string>();
  cmd->add_option("RUN_DIR", *run_dir, "The run folder written by chainrule train --out DIR (use --log-grads for steps.csv)")
      ->required();
  return [cmd, run_dir]() -> int {
    if (!cmd->parsed()) return -1;
    train::RunDiagnosis report;
    try {
      report = train::diagnose_run_folder(*run_dir);
    } catch (const std::runtime_error& e) {
      throw UsageError(e.what());
    }
    std::cout << "chainrule doctor: " << *run_dir << " (" << report.summary << ")\n";
    if (report.stop == "early_stopping")
      std::cout << "  the run stopped early after epoch " << report.stop_epoch
                << ": the monitored validation figure had stopped improving (--early-stopping)\n";
    else if (report.stop == "diverged")
      std::cout << "  the run stopped in the epoch after " << report.stop_epoch << ": the loss was not finite\n";
    const bool judged = report.points >= report.needed;
    if (!judged) {  // the trend rules have not run: do not claim that the loss falls
      if (report.points == 0)
        std::cout << "  nothing to judge yet: no " << (report.unit == "epochs" ? "epoch" : "logged step")
                  << " is recorded; let the run go on (doctor judges from " << report.needed << " " << report.unit
                  << " on)\n";
      else
        std::cout << "  too early to judge the trend: " << report.points << " " << report.unit << " recorded, doctor needs "
                  << report.needed << "\n";
      if (!report.findings.empty())
        std::cout << "  found already, most specific first:\n" << train::format_findings(report.findings);
      return 0;
    }
    if (report.findings.empty()) {
      std::cout << "  no problem found: the loss falls, the gradients are steady, the hidden units are alive\n";
      return 0;
    }
    std::cout << "  likely causes, most specific first:\n" << train::format_findings(report.findings);
    return 0;
  };
}

}  // namespace chainrule::cli
