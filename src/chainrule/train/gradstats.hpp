// steps.csv: per-step gradient statistics, written by `chainrule train --log-grads EVERY`
// (docs/formats.md; the plot scripts tools/plots/grad_*.gp read it by column name).
//
//   step,epoch,loss,
//   then for each parameter tensor P in model order (dense1.W, dense1.b, batchnorm1.gamma, ...):
//     P:grad_mean,P:grad_std,P:grad_norm,P:update_ratio
//   then for each ReLU layer R:  R:dead_fraction
//   then softmax_saturation
//
//   grad_mean, grad_std   mean and (population) standard deviation of the values of dL/dP
//   grad_norm             ||dL/dP||, the L2 norm over the whole tensor
//   update_ratio          ||P_after - P_before|| / ||P_after|| for this step's update (0 if P is all zero)
//   dead_fraction         ReLU<float>::dead_fraction(): units that were 0 for every sample of the batch
//   softmax_saturation    fraction of the batch whose largest probability is above 0.99
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chainrule/model.hpp"

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
  void before_update(const std::vector<Param<float>>& params);
  // Call after the update: computes the row and appends it (one write, flushed).
  void after_update(std::int64_t step, int epoch, double loss, const std::vector<Param<float>>& params,
                    Sequential<float>& model, const Tensor<float>& probs);

 private:
  void append_line();  // writes line_ as described above
  std::string path_;
  int fd_ = -1;              // steps.csv, opened for appending
  std::int64_t whole_ = 0;   // its size up to the last whole line
  WriteFunction write_;
  std::vector<Tensor<float>> before_;
  std::string line_;
};

// Fraction of rows of P (N, C) whose largest value is above 0.99.
double softmax_saturation(const Tensor<float>& P);

}  // namespace chainrule::train
