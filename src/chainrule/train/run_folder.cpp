#include "chainrule/train/run_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace chainrule::train {

namespace fs = std::filesystem;

namespace {

const char* kLockName = "run.lock";

// The PID written into a lock file by the process holding it ("" when unknown).
std::string holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid.push_back(buf[i]);
  return pid;
}

bool same_folder(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::equivalent(a.empty() ? "." : a, b.empty() ? "." : b, ec);
}

}  // namespace

const std::vector<std::string>& run_file_names() {
  static const std::vector<std::string> names = {"config.txt", "history.csv",   "steps.csv",        "diagnostics.txt",
                                                 "last.ckpt",  "best.ckpt",     "confusion.csv",    "misclassified.csv"};
  return names;
}

RunFolder::RunFolder(const std::string& dir) : dir_(dir) {
  const std::string where = "run folder '" + dir + "'";
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st) && !fs::is_directory(st))
    throw RunFolderError(where + " exists and is not a folder; give a new or existing folder");
  if (!fs::exists(st)) {
    created_ = fs::create_directories(dir, ec);
    if (ec) throw RunFolderError(where + ": cannot create it: " + ec.message() + "; give a folder you can write to");
  }
  const std::string lock = (fs::path(dir) / kLockName).string();
  // Open, lock, then check that the path still names the file we locked: a run that
  // finishes removes its run.lock, and a waiting open may still hold the removed one.
  for (int attempt = 0; attempt < 10; ++attempt) {
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) {
      const int err = errno;
      release();
      throw RunFolderError(where + ": cannot write into it (" + std::strerror(err) + "); give a folder you can write to");
    }
    struct stat mine {};
    if (::fstat(fd, &mine) != 0 || !S_ISREG(mine.st_mode)) {
      ::close(fd);
      release();
      throw RunFolderError(where + ": " + kLockName + " is not a regular file; remove it");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const std::string pid = holder_pid(fd);
      ::close(fd);
      release();
      throw RunFolderError(where + " is in use by another run (" + (pid.empty() ? "its PID is unknown" : "PID " + pid) +
                           ", which holds " + lock + "); wait for it to finish, or give another --out or --name");
    }
    struct stat now {};
    if (::stat(lock.c_str(), &now) == 0 && now.st_ino == mine.st_ino && now.st_dev == mine.st_dev) {
      fd_ = fd;
      const std::string text = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        const int err = errno;
        release();
        throw RunFolderError(where + ": cannot write " + lock + " (" + std::strerror(err) + ")");
      }
      return;
    }
    ::close(fd);  // locked a run.lock that its holder had just removed: try again
  }
  release();
  throw RunFolderError(where + ": could not take " + lock + "; another run is starting and stopping there");
}

void RunFolder::check(const std::string& resume, bool overwrite) const {
  const fs::path dir(dir_);
  const bool resuming_here = !resume.empty() && same_folder(fs::path(resume).parent_path(), dir);
  if (resuming_here) {
    if (overwrite)
      throw RunFolderError("--overwrite would delete the run that --resume " + resume +
                           " continues; drop --overwrite to continue it, or give another --out or --name");
    return;
  }
  if (overwrite) return;
  std::string found;
  for (const auto& name : run_file_names()) {
    std::error_code ec;
    if (fs::exists(dir / name, ec)) found += (found.empty() ? "" : ", ") + name;
  }
  if (!found.empty())
    throw RunFolderError("run folder '" + dir_ + "' already holds a run (" + found +
                         "); continue it with --resume " + (dir / "last.ckpt").string() +
                         ", give another --out or --name, or pass --overwrite to delete that run first");
}

void RunFolder::prepare(bool overwrite, std::ostream& log) const {
  const fs::path dir(dir_);
  std::string stale, cleared;
  for (const auto& name : run_file_names()) {
    std::error_code ec;
    if (fs::remove(dir / (name + ".tmp"), ec)) stale += (stale.empty() ? "" : ", ") + name + ".tmp";
    if (overwrite && fs::remove(dir / name, ec)) cleared += (cleared.empty() ? "" : ", ") + name;
  }
  if (!stale.empty())
    log << "note: removed " << stale << " from " << dir_ << "/, left by a run stopped while writing\n";
  if (!cleared.empty()) log << "--overwrite: removed the earlier run's " << cleared << " from " << dir_ << "/\n";
}

RunFolder::RunFolder(RunFolder&& other) noexcept
    : dir_(std::move(other.dir_)), fd_(other.fd_), created_(other.created_) {
  other.fd_ = -1;
  other.created_ = false;
}

RunFolder& RunFolder::operator=(RunFolder&& other) noexcept {
  if (this != &other) {
    release();
    dir_ = std::move(other.dir_);
    fd_ = other.fd_;
    created_ = other.created_;
    other.fd_ = -1;
    other.created_ = false;
  }
  return *this;
}

RunFolder::~RunFolder() { release(); }

void RunFolder::release() noexcept {
  std::error_code ec;
  if (fd_ >= 0) {
    fs::remove(fs::path(dir_) / kLockName, ec);  // while still locked: nobody else holds this file
    ::close(fd_);
    fd_ = -1;
  }
  if (created_) fs::remove(dir_, ec);  // removes the folder only when empty (nothing was written)
  created_ = false;
}

}  // namespace chainrule::train
