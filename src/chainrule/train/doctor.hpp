// chainrule doctor's diagnosis: the Monitor's rules (rules.hpp) run over a finished or
// stopped run folder, read back by run_reader.hpp: steps.csv's logged steps stand in for the
// live probes, history.csv's epochs for the steps when there is no steps.csv. How to read
// its report: tutorials/11-debugging.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "chainrule/train/rules.hpp"

namespace chainrule::train {

// What the Monitor's rules make of a finished (or stopped) run folder.
struct RunDiagnosis {
  std::vector<Finding> findings;
  std::string summary;      // e.g. "51 logged steps from steps.csv, 1 epochs from history.csv"
  std::size_t points = 0;   // the losses the trend rules saw (logged steps, or epochs without steps.csv)
  std::size_t needed = 0;   // how many they need before they judge a trend
  std::string unit;         // "logged steps" or "epochs"
  std::string stop;         // history.csv's last stop cell: why the run ended (empty: it did not, or is running)
  int stop_epoch = 0;       // the epoch of that row
};
RunDiagnosis diagnose_run_folder(const std::string& run_dir);
// The same, findings only.
std::vector<Finding> diagnose_run(const std::string& run_dir, std::string* summary = nullptr);

}  // namespace chainrule::train
