// One run per folder. A RunFolder is held for as long as a run writes into its folder:
//
//   RunFolder folder(dir)         creates dir if needed and takes its lock: run.lock, flock'ed,
//                                 holding this process's PID. A second run on the same folder
//                                 is refused at once, with the PID of the one that holds it.
//   folder.check(resume, over)    refuses a folder that already holds a run (history.csv,
//                                 config.txt, checkpoints, ...), unless this run resumes from a
//                                 checkpoint in that very folder, or `overwrite` is set.
//   folder.prepare(over, log)     just before the first write: removes the *.tmp files a killed
//                                 run left behind and, under `overwrite`, the earlier run's files;
//                                 one line on `log` says what was removed.
//
// The destructor releases the lock and removes run.lock (and the folder itself when this
// RunFolder created it and nothing was written into it). Errors are RunFolderError
// (std::invalid_argument: the command line exits 2) naming the folder and the way out.
#pragma once

#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace chainrule::train {

class RunFolderError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The files a run leaves in its folder (train's, and evaluate's tables of that run's model).
const std::vector<std::string>& run_file_names();

class RunFolder {
 public:
  RunFolder() = default;
  explicit RunFolder(const std::string& dir);
  ~RunFolder();
  RunFolder(RunFolder&& other) noexcept;
  RunFolder& operator=(RunFolder&& other) noexcept;
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  void check(const std::string& resume, bool overwrite) const;
  void prepare(bool overwrite, std::ostream& log) const;

  bool held() const { return fd_ >= 0; }
  const std::string& dir() const { return dir_; }

 private:
  void release() noexcept;
  std::string dir_;
  int fd_ = -1;
  bool created_ = false;  // this RunFolder made the folder
};

}  // namespace chainrule::train
