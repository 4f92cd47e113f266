#include "chainrule/io/files.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace chainrule::io {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& body) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](std::string what) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
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
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_file_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

}  // namespace chainrule::io
