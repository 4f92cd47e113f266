#include "chainrule/train/gradstats.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "chainrule/layers/relu.hpp"
#include "chainrule/io/history.hpp"

namespace chainrule::train {

std::string steps_csv_header(Sequential<float>& model) {
  std::string h = "step,epoch,loss";
  for (const auto& p : model.params())
    for (const char* s : {":grad_mean", ":grad_std", ":grad_norm", ":update_ratio"}) h += "," + p.name + s;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (dynamic_cast<const ReLU<float>*>(&model.layer(i))) h += "," + model.layer(i).name() + ":dead_fraction";
  h += ",softmax_saturation";
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
  std::snprintf(buf, sizeof buf, ",%.6g\n", s.softmax_saturation);
  line_ += buf;
  append_line();  // one whole line at a time
}

}  // namespace chainrule::train
