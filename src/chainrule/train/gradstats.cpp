#include "chainrule/train/gradstats.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "chainrule/layers/relu.hpp"
#include "chainrule/io/history.hpp"

namespace chainrule::train {

namespace {
bool is_activation(const Layer<float>& layer) {  // a hidden layer's output: relu1, sigmoid1, tanh1, leaky_relu1, ...
  const std::string_view kind = layer.kind();
  return kind == "relu" || kind == "sigmoid" || kind == "tanh" || kind == "leaky_relu";
}
bool is_dense(const Layer<float>& layer) { return std::string_view(layer.kind()) == "dense"; }

// The population standard deviation of every value of A, summed in double.
double tensor_std(const Tensor<float>& A) {
  if (A.data.empty()) return 0.0;
  double sum = 0, sumsq = 0;
  for (float a : A.data) {
    sum += a;
    sumsq += static_cast<double>(a) * a;
  }
  const double n = static_cast<double>(A.data.size()), mean = sum / n;
  return std::sqrt(std::max(0.0, sumsq / n - mean * mean));
}
}  // namespace

std::string steps_csv_header(Sequential<float>& model) {
  std::string h = "step,epoch,loss";
  for (const auto& p : model.params())
    for (const char* s : {":grad_mean", ":grad_std", ":grad_norm", ":update_ratio"}) h += "," + p.name + s;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (dynamic_cast<const ReLU<float>*>(&model.layer(i))) h += "," + model.layer(i).name() + ":dead_fraction";
  h += ",softmax_saturation";
  for (std::size_t i = 0; i < model.size(); ++i)
    if (is_activation(model.layer(i))) h += "," + model.layer(i).name() + ":act_std";
  for (std::size_t i = 0; i < model.size(); ++i)
    if (is_dense(model.layer(i))) h += "," + model.layer(i).name() + ":dz_std";
  return h;
}

namespace {
long posix_write(int fd, const void* data, std::size_t size) { return static_cast<long>(::write(fd, data, size)); }
}  // namespace

GradStatsLogger::GradStatsLogger(const std::string& path, Sequential<float>& model, std::int64_t resume_step)
    : path_(path), write_(posix_write) {
  const std::string header = steps_csv_header(model);
  std::string text = header + "\n";
  if (resume_step > 0 && std::filesystem::exists(path)) {
    io::require_regular_file(path, "steps.csv");  // a FIFO would block the read below
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    if (line == header)
      while (std::getline(in, line)) {
        // Keep the rows the checkpoint's run had written (whole lines); drop any written after it.
        long long step = 0;
        if (!in.eof() && std::sscanf(line.c_str(), "%lld,", &step) == 1 && step <= resume_step) text += line + "\n";
      }
  }
  io::write_file_atomically(path, text);
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("cannot open '" + path + "' for appending: " + std::strerror(errno));
  whole_ = static_cast<std::int64_t>(text.size());
}

GradStatsLogger::~GradStatsLogger() {
  if (fd_ >= 0) ::close(fd_);
}

void GradStatsLogger::sync() {
  if (fd_ >= 0 && ::fsync(fd_) != 0 && errno != EINVAL)
    throw std::runtime_error("cannot sync '" + path_ + "': " + std::strerror(errno));
}

void GradStatsLogger::append_line() {
  std::size_t done = 0;
  while (done < line_.size()) {
    const long n = write_(fd_, line_.data() + done, line_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      const bool cut = ::ftruncate(fd_, static_cast<off_t>(whole_)) == 0;  // back to the last whole line
      throw std::runtime_error("write error on '" + path_ + "': " + std::strerror(err) +
                               (cut ? "; it ends at its last whole line" : "; its last line may be cut short"));
    }
    done += static_cast<std::size_t>(n);
  }
  whole_ += static_cast<std::int64_t>(line_.size());
}

void GradStatsLogger::after_update(std::int64_t step, int epoch, double loss, const std::vector<Param<float>>& params,
                                   Sequential<float>& model, const Tensor<float>& probs) {
  const StepStats& s = meter_.after_update(params, model, probs);
  char buf[64];
  line_.clear();
  std::snprintf(buf, sizeof buf, "%lld,%d,%.6g", static_cast<long long>(step), epoch, loss);
  line_ += buf;
  for (const ParamStats& p : s.params) {
    std::snprintf(buf, sizeof buf, ",%.6g,%.6g,%.6g,%.6g", p.grad_mean, p.grad_std, p.grad_norm, p.update_ratio);
    line_ += buf;
  }
  for (double dead : s.dead_fractions) {
    std::snprintf(buf, sizeof buf, ",%.6g", dead);
    line_ += buf;
  }
  std::snprintf(buf, sizeof buf, ",%.6g", s.softmax_saturation);
  line_ += buf;
  // The signals of this step's batch: each hidden activation's output H_k (from the forward
  // pass) and the gradient dL/dZ_k at each dense layer's output (from the backward pass).
  for (std::size_t i = 0; i < model.size(); ++i)
    if (is_activation(model.layer(i))) {
      std::snprintf(buf, sizeof buf, ",%.6g", tensor_std(model.output(i)));
      line_ += buf;
    }
  for (std::size_t i = 0; i < model.size(); ++i)
    if (is_dense(model.layer(i))) {
      std::snprintf(buf, sizeof buf, ",%.6g", tensor_std(model.output_grad(i)));
      line_ += buf;
    }
  line_ += '\n';
  append_line();  // one whole line at a time
}

}  // namespace chainrule::train
