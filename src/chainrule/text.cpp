#include "chainrule/text.hpp"

#include <charconv>
#include <exception>
#include <sstream>

namespace chainrule {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::stringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.emplace_back();
  return parts;
}

bool read_int(const std::string& text, int lo, int hi, int& v) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && ptr == text.data() + text.size() && v >= lo && v <= hi;
}

bool read_double(const std::string& text, double& v) {
  std::size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used != 0 && used == text.size();
}

}  // namespace chainrule
