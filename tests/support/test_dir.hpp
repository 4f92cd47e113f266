// Test helpers shared by the unit tests: a fresh folder under the build's test-tmp, and a
// file written with given text.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace chainrule::testing {

// CHAINRULE_TEST_TMP/group/name, emptied and created anew.
inline std::filesystem::path fresh_dir(const std::string& group, const std::string& name) {
  const auto dir = std::filesystem::path(CHAINRULE_TEST_TMP) / group / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace chainrule::testing
