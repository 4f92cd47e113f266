// Reading a 28x28 greyscale PGM image for `chainrule predict --pgm FILE`.
//
// PGM (Netpbm greymap), two variants:
//   P5 (binary)  "P5" width height maxval, then ONE whitespace byte, then width*height samples:
//                1 byte each when maxval < 256, else 2 bytes, most significant first
//   P2 (ASCII)   "P2" width height maxval, then width*height decimal samples separated by whitespace
// Fields are separated by whitespace; '#' starts a comment that runs to the end of the line.
// In P5 a comment directly after maxval ("255#x") is refused: readers disagree on where
// the raster then starts.
// maxval is 1..65535; samples run 0..maxval and are scaled to 0..255 (rounded) when maxval != 255.
//
// MNIST digits are WHITE (255) on a BLACK (0) background; a drawing in black ink on white paper
// must be inverted first (predict --invert does it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "chainrule/data/idx.hpp"

namespace chainrule::io {

// A PGM file that cannot be used. The message names the file, the problem and the fix.
// It is a DataError, so the command line exits with code 2.
class PgmError : public data::DataError {
 public:
  using data::DataError::DataError;
};

inline constexpr int kPgmSide = 28;                            // the only size accepted
inline constexpr std::size_t kMaxPgmFileBytes = 1u << 20;      // 1 MiB: a 28x28 file is far smaller

struct PgmImage {
  int width = kPgmSide, height = kPgmSide;
  int maxval = 255;                  // as declared in the file
  std::vector<std::uint8_t> pixels;  // (height * width), row-major, scaled to 0..255
};

// Parses a PGM held in memory; `name` (normally the path) appears in every error message.
// Throws PgmError for a bad magic, a missing or bad number, maxval 0 or > 65535, a size other
// than 28x28 (before reading any sample), a sample above maxval or a truncated raster.
PgmImage parse_pgm(const std::uint8_t* bytes, std::size_t size, const std::string& name);

// Reads and parses a PGM file (refused without reading it when larger than kMaxPgmFileBytes).
PgmImage read_pgm(const std::string& path);

}  // namespace chainrule::io
