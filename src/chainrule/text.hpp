// Readers for the short texts of options and settings ("conv:6:5:pad2", "step:7:0.1",
// "0.001"): each reads the whole text or fails, and the caller words the error, naming the
// option and what it expects.
#pragma once

#include <string>
#include <vector>

namespace chainrule {

// "a:b:" split at ':' -> {"a", "b", ""}: every part, an empty last one included.
std::vector<std::string> split(const std::string& text, char sep);

// "12" -> 12: digits only (no sign, no spaces), within [lo, hi]. False when it does not read.
bool read_int(const std::string& text, int lo, int hi, int& v);

// The whole text as a number, as std::stod reads it ("1e-3", "0.5"). False when it does not read.
bool read_double(const std::string& text, double& v);

}  // namespace chainrule
