#include "chainrule/io/pgm.hpp"

#include <filesystem>
#include <fstream>

namespace chainrule::io {

namespace {

bool is_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Walks the bytes of one file: whitespace, comments and decimal numbers.
struct Scanner {
  const std::uint8_t* bytes;
  std::size_t size;
  const std::string& name;
  std::size_t pos = 0;

  [[noreturn]] void fail(const std::string& what) const {
    std::string msg = name;
    msg.append(": ").append(what);
    throw PgmError(msg);
  }

  // Skips whitespace and '#' comments (to the end of the line).
  void skip_space_and_comments() {
    while (pos < size) {
      if (bytes[pos] == '#') {
        while (pos < size && bytes[pos] != '\n' && bytes[pos] != '\r') ++pos;
      } else if (is_space(bytes[pos])) {
        ++pos;
      } else {
        break;
      }
    }
  }

  // A decimal number; `what` names it in errors ("the width", "sample 17"). Numbers above
  // `limit` are refused as soon as they pass it, so no digit string can overflow.
  long number(const std::string& what, long limit) {
    skip_space_and_comments();
    if (pos >= size) fail("truncated file: " + what + " is missing");
    if (bytes[pos] < '0' || bytes[pos] > '9')
      fail(what + " must be a decimal number, found '" + std::string(1, static_cast<char>(bytes[pos])) + "'");
    long v = 0;
    while (pos < size && bytes[pos] >= '0' && bytes[pos] <= '9') {
      v = v * 10 + (bytes[pos++] - '0');
      if (v > limit) fail(what + " is larger than " + std::to_string(limit));
    }
    if (pos < size && !is_space(bytes[pos]) && bytes[pos] != '#')
      fail(what + " must be followed by whitespace, found '" + std::string(1, static_cast<char>(bytes[pos])) + "'");
    return v;
  }
};

std::uint8_t scale(long v, long maxval) {
  if (maxval == 255) return static_cast<std::uint8_t>(v);
  return static_cast<std::uint8_t>((v * 255 + maxval / 2) / maxval);
}

}  // namespace

PgmImage parse_pgm(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  Scanner s{bytes, size, name};
  if (size < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '2')) {
    std::string msg = "not a PGM image: it must start with P5 (binary) or P2 (ASCII)";
    if (size >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '7')
      msg.append(", found P").append(1, static_cast<char>(bytes[1])).append(
          " (another Netpbm type); save it as greyscale PGM");
    s.fail(msg);
  }
  const bool binary = bytes[1] == '5';
  s.pos = 2;
  if (s.pos < size && !is_space(bytes[s.pos]) && bytes[s.pos] != '#') s.fail("not a PGM image: bad magic number");

  // Generous limits for the header numbers: large enough to report the real size of a photo,
  // small enough that nothing overflows. Only 28x28 is accepted, and it is checked before any
  // sample is read, so a huge declared size never allocates anything.
  constexpr long kSizeLimit = 1L << 30;
  const long width = s.number("the width", kSizeLimit);
  const long height = s.number("the height", kSizeLimit);
  const long maxval = s.number("maxval", 1L << 30);
  if (width == 0 || height == 0) s.fail("the image is " + std::to_string(width) + "x" + std::to_string(height) + ", it has no pixels");
  if (maxval == 0 || maxval > 65535)
    s.fail("maxval is " + std::to_string(maxval) + "; it must be 1..65535 (255 for 8-bit images)");
  if (width != kPgmSide || height != kPgmSide)
    s.fail("the image is " + std::to_string(width) + "x" + std::to_string(height) +
           " pixels; the model reads 28x28 images: resize to 28x28 (e.g. convert IN -resize 28x28! OUT.pgm)");

  PgmImage img;
  img.width = static_cast<int>(width);
  img.height = static_cast<int>(height);
  img.maxval = static_cast<int>(maxval);
  const std::size_t count = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  img.pixels.resize(count);
  if (binary) {
    // Exactly one whitespace byte separates maxval from the raster. A '#' right after maxval
    // is refused: netpbm's text makes the comment run through its newline with one more
    // whitespace byte after it, while libnetpbm starts the raster right after the newline,
    // so no reader can know where the pixels start (and they must never come from the comment).
    if (s.pos < size && bytes[s.pos] == '#')
      s.fail("a comment follows maxval directly, so where the pixels start is ambiguous; remove the comment, "
             "or move it before the width (e.g. P5 # comment <newline> 28 28 255)");
    if (s.pos >= size) s.fail("truncated file: no pixel data after the header");
    ++s.pos;
    const std::size_t per = maxval < 256 ? 1 : 2;
    const std::size_t have = size - s.pos;
    if (have < count * per)
      s.fail("truncated file: " + std::to_string(count * per) + " bytes of pixels expected for 28x28" +
             (per == 2 ? " with 16-bit samples" : "") + ", found " + std::to_string(have));
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint8_t* p = bytes + s.pos + k * per;
      const long v = per == 1 ? p[0] : (long{p[0]} << 8) | p[1];
      if (v > maxval)
        s.fail("pixel " + std::to_string(k) + " is " + std::to_string(v) + ", above maxval " + std::to_string(maxval));
      img.pixels[k] = scale(v, maxval);
    }
  } else {
    for (std::size_t k = 0; k < count; ++k) {
      const std::string what = "pixel " + std::to_string(k) + " of " + std::to_string(count);
      const long v = s.number(what, 1L << 30);
      if (v > maxval) s.fail(what + " is " + std::to_string(v) + ", above maxval " + std::to_string(maxval));
      img.pixels[k] = scale(v, maxval);
    }
  }
  return img;
}

PgmImage read_pgm(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    std::string msg = path;
    msg.append(std::filesystem::exists(path, ec) ? ": not a regular file" : ": no such PGM file");
    throw PgmError(msg);
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw PgmError(path + ": cannot read the PGM file: " + ec.message());
  if (size > kMaxPgmFileBytes)
    throw PgmError(path + ": " + std::to_string(size) + " bytes is too large for a 28x28 PGM image (limit 1 MiB); resize to 28x28");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PgmError(path + ": cannot open the PGM file (permission denied?)");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<std::size_t>(in.gcount()) != bytes.size()) throw PgmError(path + ": read error");
  return parse_pgm(bytes.data(), bytes.size(), path);
}

}  // namespace chainrule::io
