// libFuzzer target: parse_idx on arbitrary bytes must either return an array whose
// size matches its dims or throw DataError; a crash, a sanitizer report or any other
// exception is a bug. Seeds: tests/fuzz/corpus. Run: tools/fuzz.sh [SECONDS].
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "chainrule/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chainrule::data;
  try {
    const IdxArray a = parse_idx(data, size, "fuzz-input");
    std::size_t expected = 1;
    for (std::uint32_t d : a.dims) expected *= d;
    const bool sane = (a.magic == kLabelMagic && a.dims.size() == 1) || (a.magic == kImageMagic && a.dims.size() == 3);
    if (!sane || a.values.size() != expected) std::abort();  // parsed, but inconsistent
  } catch (const DataError&) {
    // Refusing malformed input with a DataError is the expected outcome.
  }
  return 0;
}
