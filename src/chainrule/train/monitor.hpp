// Training diagnostics: the answers to "my loss is not decreasing, why?" (tutorials/11-debugging).
// One header for the four parts, each in its own unit:
//   rules.hpp        the Monitor: its rules turn a run's losses and probes into findings
//   probe.hpp        the live probe of gradients, updates and activations (chainrule train)
//   run_reader.hpp   reading a run folder back: history.csv, steps.csv, config.txt, diagnostics.txt
//   doctor.hpp       the rules over a run folder (chainrule doctor)
// The gradient statistics behind both the probes and steps.csv: step_stats.hpp.
// docs/bugs.md lists the classic bugs and the finding each one produces.
#pragma once

#include "chainrule/train/doctor.hpp"
#include "chainrule/train/probe.hpp"
#include "chainrule/train/rules.hpp"
#include "chainrule/train/run_reader.hpp"
