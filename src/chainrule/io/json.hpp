// The two pieces of JSON the commands print by hand: strings and numbers. JSON has no NaN
// or infinity, so a non-finite number is written as null, and the output stays valid JSON.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

namespace chainrule::io {

// A JSON string literal: quotes, backslashes and control characters escaped.
inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out.append(buf);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// x with 6 decimals ("%.6f"), or null when x is NaN or infinite.
inline std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", x);
  return buf;
}

}  // namespace chainrule::io
