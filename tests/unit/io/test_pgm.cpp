// Tests for src/chainrule/io/pgm: the 28x28 images `chainrule predict --pgm FILE` reads.
#include <doctest/doctest.h>

#include "../../support/test_dir.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/io/pgm.hpp"

namespace fs = std::filesystem;
using namespace chainrule;

namespace {

std::string tmp_dir(const std::string& name) { return chainrule::testing::fresh_dir("pgm", name).string(); }

io::PgmImage parse(const std::string& file) {
  const std::vector<std::uint8_t> bytes(file.begin(), file.end());
  return io::parse_pgm(bytes.data(), bytes.size(), "digit.pgm");
}

// A 28x28 binary P5 file whose pixel k is k % 256 (8-bit) after `header`.
std::string p5(const std::string& header = "P5\n28 28\n255\n") {
  std::string file = header;
  for (int k = 0; k < 784; ++k) file.push_back(static_cast<char>(k % 256));
  return file;
}

// Expects parse to throw a PgmError whose message starts with the name and contains fragment.
void refuse(const std::string& file, const std::string& fragment) {
  INFO("expected a message containing: " << fragment);
  try {
    parse(file);
    FAIL("parse_pgm accepted a malformed file");
  } catch (const io::PgmError& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK(msg.rfind("digit.pgm: ", 0) == 0);
    CHECK(msg.find(fragment) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("pgm: a binary P5 28x28 image with maxval 255 is read as is") {
  const io::PgmImage img = parse(p5());
  CHECK(img.width == 28);
  CHECK(img.height == 28);
  CHECK(img.maxval == 255);
  REQUIRE(img.pixels.size() == 784);
  for (int k = 0; k < 784; k += 37) CHECK(img.pixels[static_cast<std::size_t>(k)] == k % 256);
}

TEST_CASE("pgm: comments and any whitespace between the header fields are allowed") {
  const io::PgmImage img = parse(p5("P5 # a digit\n# drawn by hand\n28\t28 # size\r\n255\n"));
  REQUIRE(img.pixels.size() == 784);
  CHECK(img.pixels[1] == 1);
  CHECK(img.pixels[783] == 783 % 256);
}

TEST_CASE("pgm: an ASCII P2 image, with another maxval scaled to 0..255") {
  std::string file = "P2\n# maxval 15\n28 28\n15\n";
  for (int k = 0; k < 784; ++k) file += std::to_string(k % 16) + (k % 28 == 27 ? "\n" : " ");
  const io::PgmImage img = parse(file);
  CHECK(img.maxval == 15);
  CHECK(img.pixels[0] == 0);
  CHECK(img.pixels[1] == 17);    // 1 * 255 / 15
  CHECK(img.pixels[8] == 136);   // 8 * 255 / 15
  CHECK(img.pixels[15] == 255);  // maxval -> 255
}

TEST_CASE("pgm: 16-bit P5 samples are big-endian and scaled to 0..255") {
  std::string file = "P5 28 28 65535\n";
  for (int k = 0; k < 784; ++k) {
    const int v = k == 0 ? 65535 : k == 1 ? 32768 : k == 2 ? 256 : 0;
    file.push_back(static_cast<char>(v >> 8));
    file.push_back(static_cast<char>(v & 0xFF));
  }
  const io::PgmImage img = parse(file);
  CHECK(img.pixels[0] == 255);
  CHECK(img.pixels[1] == 128);  // 32768 * 255 / 65535 = 127.5 -> rounds to 128
  CHECK(img.pixels[2] == 1);
  CHECK(img.pixels[3] == 0);
}

TEST_CASE("pgm: a wrong size is refused with the fix: resize to 28x28") {
  refuse(p5("P5\n32 32\n255\n"), "the image is 32x32 pixels");
  refuse(p5("P5\n28 27\n255\n"), "resize to 28x28");
  refuse(p5("P5\n0 28\n255\n"), "it has no pixels");
}

TEST_CASE("pgm: a huge declared size is refused before anything is allocated") {
  refuse("P5\n100000 100000\n255\n", "the image is 100000x100000 pixels");
  refuse("P5\n99999999999999999999999 28\n255\n", "the width is larger than");
  refuse("P2 28 999999999999999999999999999999999999 255\n", "the height is larger than");
}

TEST_CASE("pgm: a bad magic is refused") {
  refuse("", "not a PGM image");
  refuse("P", "not a PGM image");
  refuse("GIF89a", "must start with P5 (binary) or P2 (ASCII)");
  refuse(p5("P6\n28 28\n255\n"), "found P6 (another Netpbm type)");
  refuse(p5("P55\n28 28\n255\n"), "bad magic number");
}

TEST_CASE("pgm: maxval 0 or above 65535 is refused") {
  refuse(p5("P5\n28 28\n0\n"), "maxval is 0; it must be 1..65535");
  refuse(p5("P5\n28 28\n65536\n"), "maxval is 65536");
  refuse(p5("P5\n28 28\n-1\n"), "maxval must be a decimal number");
}

TEST_CASE("pgm: truncated files and bad samples are refused") {
  refuse("P5\n28 28\n", "truncated file: maxval is missing");
  refuse("P5\n28", "the height is missing");
  refuse("P5\n28 28\n255", "no pixel data");
  refuse(p5().substr(0, 13 + 700), "784 bytes of pixels expected for 28x28, found 700");
  refuse("P5\n28 28\n1000\n" + std::string(784, '\0'), "1568 bytes of pixels expected for 28x28 with 16-bit samples");
  refuse("P2\n28 28\n255\n1 2 3\n", "truncated file: pixel 3 of 784 is missing");
  refuse("P2\n28 28\n255\n1 2 x\n", "pixel 2 of 784 must be a decimal number, found 'x'");
  refuse("P2\n28 28\n15\n1 2 16\n", "pixel 2 of 784 is 16, above maxval 15");
  refuse("P2\n28 28\n255\n1 2 3x\n", "must be followed by whitespace");
  std::string over = "P5 28 28 100\n" + std::string(784, '\0');
  over[13 + 5] = static_cast<char>(101);
  refuse(over, "pixel 5 is 101, above maxval 100");
}

TEST_CASE("pgm: read_pgm names a missing, oversized or malformed file") {
  const std::string dir = tmp_dir("files");
  const std::string missing = dir + "/none.pgm: no such PGM file";
  CHECK_THROWS_WITH_AS(io::read_pgm(dir + "/none.pgm"), doctest::Contains(missing.c_str()), io::PgmError);
  CHECK_THROWS_WITH_AS(io::read_pgm(dir), doctest::Contains("not a regular file"), io::PgmError);
  {
    std::ofstream big(dir + "/big.pgm", std::ios::binary);
    big << std::string(io::kMaxPgmFileBytes + 1, ' ');
  }
  CHECK_THROWS_WITH_AS(io::read_pgm(dir + "/big.pgm"), doctest::Contains("too large for a 28x28 PGM image"),
                       io::PgmError);
  {
    std::ofstream good(dir + "/good.pgm", std::ios::binary);
    good << p5();
  }
  CHECK(io::read_pgm(dir + "/good.pgm").pixels[100] == 100);
  // It is a DataError, so the command line exits with code 2.
  CHECK_THROWS_AS(io::read_pgm(dir + "/big.pgm"), data::DataError);
}

TEST_CASE("pgm: in P5 a comment right after maxval is refused, so no pixel is read from inside it") {
  // "255#x\n": the raster would start inside the comment, or after it, depending on the reader.
  refuse(p5("P5\n28 28\n255#x\n"), "a comment follows maxval directly");
  refuse(p5("P5 28 28 255# made by hand\n\n"), "move it before the width");
  // One whitespace byte after maxval, then the raster: a first pixel of 35 ('#') is a pixel.
  std::string file = "P5 28 28 255\n#";
  file.append(783, '\0');
  CHECK(parse(file).pixels[0] == 35);
  // In P2 the samples are text, and a comment after maxval is skipped like any other.
  std::string ascii = "P2\n28 28\n255# x 9 9 9\n";
  for (int k = 0; k < 784; ++k) ascii += std::to_string(k % 7) + " ";
  const io::PgmImage img = parse(ascii);
  CHECK(img.pixels[0] == 0);
  CHECK(img.pixels[1] == 1);
}
