// steps.csv: the log of per-step gradient statistics, written by `chainrule train --log-grads
// EVERY` (docs/formats.md; the plot scripts tools/plots/grad_*.gp read it by column name, and
// tutorials/11-debugging reads the plots). The numbers come from step_stats.hpp.
//
//   step,epoch,loss,
//   then for each parameter tensor P in model order (dense1.W, dense1.b, batchnorm1.gamma, ...):
//     P:grad_mean,P:grad_std,P:grad_norm,P:update_ratio
//   then for each ReLU layer R:  R:dead_fraction
//   then softmax_saturation
//   then for each hidden activation layer A (relu1, sigmoid1, ...):  A:act_std
//   then for each dense layer D (dense1, ..., the output layer):     D:dz_std
//
//   grad_mean, grad_std, grad_norm, update_ratio, dead_fraction, softmax_saturation:
//   the fields of the same names in StepStats (step_stats.hpp), printed with %.6g
//   act_std: the standard deviation of every value of A's output H (N, H) in this step's
//            forward pass: near 0 the signal has died out, growing layer by layer it explodes
//   dz_std:  the standard deviation of every value of dL/dZ (N, H), the gradient at D's output
//            in this step's backward pass: shrinking towards dense1 is a vanishing gradient
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chainrule/model.hpp"
#include "chainrule/train/step_stats.hpp"

namespace chainrule::train {

// The header line (without newline) for a model.
std::string steps_csv_header(Sequential<float>& model);

class GradStatsLogger {
 public:
  // Starts steps.csv at path with its header; when resuming, keeps the rows with
  // step <= resume_step from an existing file (rewritten atomically) and appends after them.
  GradStatsLogger(const std::string& path, Sequential<float>& model, std::int64_t resume_step);
  ~GradStatsLogger();
  GradStatsLogger(const GradStatsLogger&) = delete;
  GradStatsLogger& operator=(const GradStatsLogger&) = delete;

  // steps.csv grows by whole lines only (docs/formats.md): each row is one write() of the
  // whole line, and when a write fails or comes up short (a full disk) the file is cut
  // back to its last whole line before the error is thrown. Tests put a failing write here.
  using WriteFunction = long (*)(int fd, const void* data, std::size_t size);
  void set_write_function(WriteFunction write) { write_ = write; }
  // fsync steps.csv (the trainer calls it before each checkpoint).
  void sync();

  // Call just before the optimizer step: keeps a copy of every parameter (allocated once).
  void before_update(const std::vector<Param<float>>& params) { meter_.before_update(params); }
  // Call after the update: measures the step, formats the row and appends it (one write).
  void after_update(std::int64_t step, int epoch, double loss, const std::vector<Param<float>>& params,
                    Sequential<float>& model, const Tensor<float>& probs);

 private:
  void append_line();  // writes line_ as described above
  std::string path_;
  int fd_ = -1;              // steps.csv, opened for appending
  std::int64_t whole_ = 0;   // its size up to the last whole line
  WriteFunction write_;
  StepStatsMeter meter_;  // the numbers of each row
  std::string line_;      // the row being written (its capacity is kept)
};

}  // namespace chainrule::train
