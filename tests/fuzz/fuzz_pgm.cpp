// libFuzzer target: parse_pgm on arbitrary bytes must either return a 28x28 image of 784
// pixels or throw PgmError; a crash, a sanitizer report or any other exception is a bug.
// Seeds: tests/fuzz/corpus_pgm. Run: tools/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "chainrule/io/pgm.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chainrule::io;
  try {
    const PgmImage img = parse_pgm(data, size, "fuzz-input");
    const bool sane = img.width == kPgmSide && img.height == kPgmSide && img.maxval >= 1 && img.maxval <= 65535 &&
                      img.pixels.size() == static_cast<std::size_t>(kPgmSide * kPgmSide);
    if (!sane) std::abort();  // parsed, but inconsistent
  } catch (const PgmError&) {
    // Refusing malformed input with a PgmError is the expected outcome.
  }
  return 0;
}
