// Tests for src/chainrule/io/npy: the .npy files that `chainrule inspect` and `export` write.
#include <doctest/doctest.h>

#include "../../support/test_dir.hpp"
#include <sys/stat.h>

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "chainrule/io/npy.hpp"

namespace fs = std::filesystem;
using namespace chainrule;

namespace {

std::string tmp_dir(const std::string& name) { return chainrule::testing::fresh_dir("npy", name).string(); }

std::vector<std::uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("npy: the preamble of a (784, 128) float32 tensor is exactly NumPy's") {
  const std::string p = io::npy_preamble("<f4", {784, 128});
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (784, 128), }";
  dict.append(128 - 10 - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string expected("\x93NUMPY\x01\x00", 8);
  expected.push_back(static_cast<char>(dict.size()));  // 118 fits in the low byte
  expected.push_back('\0');
  expected.append(dict);
  CHECK(p.size() == 128);
  CHECK(p == expected);
}

TEST_CASE("npy: every preamble ends in a newline at a multiple of 64 bytes") {
  const std::vector<std::vector<std::size_t>> shapes = {{}, {1}, {10}, {8, 784}, {60000, 784}, {1, 10},
                                                        {123456789, 987654321}};
  for (const auto& shape : shapes)
    for (const char* descr : {"<f4", "<i4", "|u1"}) {
      const std::string p = io::npy_preamble(descr, shape);
      INFO("shape " << io::npy_shape_text(shape) << " " << descr);
      CHECK(p.size() % 64 == 0);
      CHECK(p.back() == '\n');
      const std::size_t header_len = static_cast<std::uint8_t>(p[8]) + 256u * static_cast<std::uint8_t>(p[9]);
      CHECK(header_len + 10 == p.size());
      CHECK(p.find(std::string("'shape': ") + io::npy_shape_text(shape) + ", }") != std::string::npos);
    }
  CHECK(io::npy_shape_text({}) == "()");
  CHECK(io::npy_shape_text({10}) == "(10,)");
  CHECK(io::npy_shape_text({784, 128}) == "(784, 128)");
}

TEST_CASE("npy: a float32 tensor round-trips bit for bit, little-endian") {
  const std::string path = tmp_dir("tensor") + "/W.npy";
  Tensor<float> W(3, 2);
  const std::vector<float> values = {1.0f, -2.5f, 0.1f, 3.4e38f, -0.0f, 1e-45f};
  W.data.assign(values.begin(), values.end());
  io::write_npy(path, W);
  CHECK_FALSE(fs::exists(path + ".tmp"));

  const auto bytes = file_bytes(path);
  REQUIRE(bytes.size() == 128 + 6 * 4);  // the dict needs 71 bytes: padded to 128
  // 1.0f is 0x3F800000: stored low byte first.
  CHECK(bytes[128] == 0x00);
  CHECK(bytes[129] == 0x00);
  CHECK(bytes[130] == 0x80);
  CHECK(bytes[131] == 0x3F);

  const io::NpyArray a = io::read_npy(path);
  CHECK(a.descr == "<f4");
  CHECK_FALSE(a.fortran_order);
  CHECK(a.shape == std::vector<std::size_t>{3, 2});
  const Tensor<float> back = a.tensor();
  CHECK(back.rows == 3);
  CHECK(back.cols == 2);
  for (std::size_t k = 0; k < values.size(); ++k) {
    INFO("value " << k);
    CHECK(std::bit_cast<std::uint32_t>(back.data[k]) == std::bit_cast<std::uint32_t>(values[k]));
  }
}

TEST_CASE("npy: int32 and uint8 labels and a scalar round-trip with their dtypes and shapes") {
  const std::string dir = tmp_dir("labels");
  const std::vector<std::int32_t> labels = {7, 2, 1, 0, -1, 2147483647};
  io::write_npy(dir + "/labels.npy", std::span<const std::int32_t>(labels));
  const io::NpyArray a = io::read_npy(dir + "/labels.npy");
  CHECK(a.descr == "<i4");
  CHECK(a.shape == std::vector<std::size_t>{6});
  CHECK(a.integers() == std::vector<std::int64_t>{7, 2, 1, 0, -1, 2147483647});

  const std::vector<std::uint8_t> bytes = {5, 0, 4, 255};
  io::write_npy(dir + "/u8.npy", std::span<const std::uint8_t>(bytes));
  const io::NpyArray b = io::read_npy(dir + "/u8.npy");
  CHECK(b.descr == "|u1");
  CHECK(b.shape == std::vector<std::size_t>{4});
  CHECK(b.integers() == std::vector<std::int64_t>{5, 0, 4, 255});
  CHECK(file_bytes(dir + "/u8.npy").size() == 128 + 4);

  io::write_npy_scalar(dir + "/L.npy", 2.302585f);
  const io::NpyArray c = io::read_npy(dir + "/L.npy");
  CHECK(c.descr == "<f4");
  CHECK(c.shape.empty());
  CHECK(c.count() == 1);
  CHECK(c.floats() == std::vector<float>{2.302585f});
  CHECK(file_bytes(dir + "/L.npy").size() == 128 + 4);

  const std::vector<std::int32_t> none;
  io::write_npy(dir + "/empty.npy", std::span<const std::int32_t>(none));
  CHECK(io::read_npy(dir + "/empty.npy").shape == std::vector<std::size_t>{0});
}

TEST_CASE("npy: the reader accepts a header written by NumPy itself (other key order, version 2.0)") {
  // What np.save writes for np.arange(3, dtype='<i8') in format 2.0 (4-byte header length).
  std::string dict = "{'fortran_order': False, 'descr': '<i8', 'shape': (3,), }";
  dict.append(128 - 12 - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string file("\x93NUMPY\x02\x00", 8);
  file.push_back(static_cast<char>(dict.size()));
  file.append(3, '\0');
  file.append(dict);
  for (char v = 0; v < 3; ++v) {
    file.push_back(v);
    file.append(7, '\0');
  }
  const auto bytes = bytes_of(file);
  const io::NpyArray a = io::parse_npy(bytes.data(), bytes.size(), "arange.npy");
  CHECK(a.descr == "<i8");
  CHECK(a.integers() == std::vector<std::int64_t>{0, 1, 2});
}

TEST_CASE("npy: malformed files are refused with the file's name") {
  auto refuse = [](const std::string& file, const std::string& fragment) {
    const auto bytes = bytes_of(file);
    INFO("expected a message containing: " << fragment);
    try {
      io::parse_npy(bytes.data(), bytes.size(), "bad.npy");
      FAIL("parse_npy accepted a malformed file");
    } catch (const io::NpyError& e) {
      const std::string msg = e.what();
      CHECK(msg.rfind("bad.npy: ", 0) == 0);
      CHECK(msg.find(fragment) != std::string::npos);
    }
  };
  const std::string good = io::npy_preamble("<f4", {2, 2}) + std::string(16, '\0');
  refuse("hello", "not a .npy file");
  refuse("\x93NUMPX" + good.substr(6), "not a .npy file");
  refuse(good.substr(0, 60), "truncated .npy file");
  refuse(good.substr(0, good.size() - 1), "(truncated)");
  refuse(good + "x", "the file has 17");
  std::string v9 = good;
  v9[6] = 9;
  refuse(v9, "version 9.0");
  refuse(io::npy_preamble(">f4", {2, 2}) + std::string(16, '\0'), "dtype '>f4'");
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  refuse(fortran, "fortran_order True");
  refuse(io::npy_preamble("<f4", {4294967296, 4294967296}), "2 GiB limit");
  std::string bad_shape = good;
  bad_shape.replace(bad_shape.find("(2, 2)"), 6, "(2, x)");
  refuse(bad_shape, "expected a dimension");
}

TEST_CASE("npy: a write into a missing folder names the path and leaves nothing behind") {
  const std::string dir = tmp_dir("missing") + "/no/such/folder";
  const std::string path = dir + "/W.npy";
  try {
    io::write_npy_scalar(path, 1.0f);
    FAIL("write_npy_scalar wrote into a missing folder");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK_THROWS_WITH_AS(io::read_npy(path), doctest::Contains(path.c_str()), io::NpyError);
}

TEST_CASE("npy: read_npy refuses a FIFO, naming it, instead of blocking on the open") {
  const std::string path = tmp_dir("npy-fifo") + "/x.npy";
  std::filesystem::remove(path);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(io::read_npy(path), doctest::Contains("a FIFO"), io::NpyError);
}
