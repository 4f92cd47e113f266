#include "chainrule/io/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace chainrule::io {

namespace fs = std::filesystem;

void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot sync a folder (EINVAL): the rename is then as durable as they allow.
  if (rc != 0 && err != EINVAL) throw std::runtime_error("cannot sync '" + path + "': " + std::strerror(err));
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& body) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](std::string what) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    what.append(" (while writing '").append(path).append("')");
    throw std::runtime_error(what);
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot open '" + tmp + "' for writing");
    body(out);
    out.flush();
    if (!out) fail("write error on '" + tmp + "' (disk full?)");
  }
  try {
    sync_path(tmp);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail("cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  sync_path(dir.string());
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

std::uintmax_t require_regular_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw std::runtime_error(what + " '" + path + "' does not exist");
  if (!fs::is_regular_file(st)) {
    const char* kind = fs::is_directory(st) ? "a folder"
                       : fs::is_fifo(st)    ? "a FIFO (named pipe)"
                       : fs::is_character_file(st) || fs::is_block_file(st) ? "a device"
                       : fs::is_socket(st) ? "a socket"
                                           : "not a plain file";
    throw std::runtime_error(what + " '" + path + "' is " + kind + ", not a regular file; give the path of a file");
  }
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) throw std::runtime_error("cannot read the size of " + what + " '" + path + "': " + ec.message());
  return size;
}

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

}  // namespace chainrule::io
