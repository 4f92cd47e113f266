// Checks that an IDX header declaring a huge size is refused before its payload is
// allocated: this program records the largest operator new while the parser runs
// (tests/support/counting_new.hpp; a separate program, because replacing operator new
// affects the whole program).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "../support/counting_new.hpp"

using namespace chainrule::data;

namespace {

std::vector<std::uint8_t> header(std::uint32_t magic, const std::vector<std::uint32_t>& dims) {
  std::vector<std::uint8_t> out;
  auto put = [&](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
  };
  put(magic);
  for (std::uint32_t d : dims) put(d);
  return out;
}

// Runs f, expecting a DataError; returns the largest allocation made meanwhile.
template <typename F>
std::size_t largest_allocation_until_error(F f) {
  counting_new::largest = 0;
  CHECK_THROWS_AS(f(), DataError);
  return counting_new::largest;
}

}  // namespace

TEST_CASE("idx: a header declaring more than 1 GiB is refused without allocating the payload") {
  for (const auto& dims : std::vector<std::vector<std::uint32_t>>{
           {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {1025, 1024, 1024}, {60000, 60000, 60000}}) {
    const std::vector<std::uint8_t> bytes = header(kImageMagic, dims);
    const std::size_t largest = largest_allocation_until_error([&] { parse_idx(bytes.data(), bytes.size(), "huge"); });
    CHECK(largest < 4096);  // only the error message
  }
}

TEST_CASE("idx: a .gz file whose header declares more than 1 GiB is refused without allocating the payload") {
  const std::filesystem::path dir = std::filesystem::path(CHAINRULE_TEST_TMP) / "idx-alloc";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "huge-idx3-ubyte.gz").string();
  const std::vector<std::uint8_t> bytes = header(kImageMagic, {50000, 50000, 50000});
  gzFile gz = gzopen(path.c_str(), "wb");
  REQUIRE(gz != nullptr);
  REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) > 0);
  REQUIRE(gzclose(gz) == Z_OK);
  const std::size_t largest = largest_allocation_until_error([&] { read_idx(path); });
  CHECK(largest < 4096);  // the compressed file and the messages, nothing the size of the payload
}

TEST_CASE("idx: a small .gz declaring more than gzip data of its size can hold is refused without allocating") {
  // (20000, 28, 28) = 15.7 MB declared in a file of about 150 bytes: deflate packs at most 1032:1.
  const std::filesystem::path dir = std::filesystem::path(CHAINRULE_TEST_TMP) / "idx-alloc";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "bomb-idx3-ubyte.gz").string();
  std::vector<std::uint8_t> bytes = header(kImageMagic, {20000, 28, 28});
  bytes.resize(bytes.size() + 100000, 0);  // some real data, so the stream does not end at the header
  gzFile gz = gzopen(path.c_str(), "wb");
  REQUIRE(gz != nullptr);
  REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) > 0);
  REQUIRE(gzclose(gz) == Z_OK);
  counting_new::largest = 0;
  CHECK_THROWS_WITH_AS(read_idx(path), doctest::Contains("bytes of gzip data can hold"), DataError);
  CHECK(counting_new::largest < 1000000);
}

TEST_CASE("idx: the allocation counter sees a real payload allocation") {
  // Guards the two tests above: the counter must notice a large allocation.
  const std::vector<std::uint8_t> bytes = [] {
    std::vector<std::uint8_t> b = header(kLabelMagic, {100000});
    b.resize(b.size() + 100000, 1);
    return b;
  }();
  counting_new::largest = 0;
  const IdxArray labels = parse_idx(bytes.data(), bytes.size(), "labels");
  CHECK(labels.values.size() == 100000);
  CHECK(counting_new::largest >= 100000);
}
