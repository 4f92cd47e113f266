// Tests for the IDX reader: every malformed file must fail with a message naming the
// file, the problem and the fix; raw and .gz, and both name spellings, must load the same data.
#include <doctest/doctest.h>

#include "../../support/test_dir.hpp"
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/data/idx.hpp"

using namespace chainrule::data;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

// A fresh, empty folder under the build tree for one test.
std::string fresh_dir(const std::string& name) { return chainrule::testing::fresh_dir("idx", name).string(); }

void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX file: magic, big-endian dims, then the values.
Bytes idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims, const Bytes& values) {
  Bytes out;
  put_be32(out, magic);
  for (std::uint32_t d : dims) put_be32(out, d);
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

// count 28x28 images; image i is filled with value (i * 40 + pixel) % 256.
Bytes image_file(std::uint32_t count, std::uint32_t rows = 28, std::uint32_t cols = 28) {
  Bytes values(std::size_t{count} * rows * cols);
  const std::size_t n = std::size_t{rows} * cols;
  for (std::size_t k = 0; k < values.size(); ++k) values[k] = static_cast<std::uint8_t>((k / n * 40 + k % n) % 256);
  return idx_bytes(kImageMagic, {count, rows, cols}, values);
}

Bytes label_file(const Bytes& labels) {
  return idx_bytes(kLabelMagic, {static_cast<std::uint32_t>(labels.size())}, labels);
}

std::string write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Compresses bytes into a gzip file with zlib.
std::string write_gz(const std::string& path, const Bytes& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  REQUIRE(gz != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) > 0);
  REQUIRE(gzclose(gz) == Z_OK);
  return path;
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The DataError message thrown by f, or "" when f throws nothing (other exceptions escape).
template <typename F>
std::string data_error(F f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The error from parsing bytes in memory under the name "mem.idx".
std::string parse_error(const Bytes& bytes) {
  return data_error([&] { parse_idx(bytes.data(), bytes.size(), "mem.idx"); });
}

// Writes a train split (3 images, labels 7 0 9) into dir under the given file names.
void write_split(const std::string& dir, const std::string& images_name, const std::string& labels_name) {
  const Bytes images = image_file(3), labels = label_file({7, 0, 9});
  const auto write = [&](const std::string& name, const Bytes& b) {
    if (name.ends_with(".gz")) write_gz(dir + "/" + name, b);
    else write_file(dir + "/" + name, b);
  };
  write(images_name, images);
  write(labels_name, labels);
}

}  // namespace

TEST_CASE("idx: parse_idx reads a label file and an image file with their dims and values") {
  const Bytes labels = label_file({5, 0, 4});
  const IdxArray l = parse_idx(labels.data(), labels.size(), "labels");
  CHECK(l.magic == kLabelMagic);
  CHECK(l.dims == std::vector<std::uint32_t>{3});
  CHECK(l.values == Bytes{5, 0, 4});

  const Bytes images = idx_bytes(kImageMagic, {2, 1, 3}, {1, 2, 3, 250, 251, 252});
  const IdxArray im = parse_idx(images.data(), images.size(), "images");
  CHECK(im.magic == kImageMagic);
  CHECK(im.dims == std::vector<std::uint32_t>{2, 1, 3});
  CHECK(im.values == Bytes{1, 2, 3, 250, 251, 252});
}

TEST_CASE("idx: parse_idx accepts a file that declares zero items") {
  const Bytes empty_labels = label_file({});
  const IdxArray l = parse_idx(empty_labels.data(), empty_labels.size(), "labels");
  CHECK(l.dims == std::vector<std::uint32_t>{0});
  CHECK(l.values.empty());
}

TEST_CASE("idx: a bad magic number is refused, naming the file, the magic found and the expected ones") {
  const std::string msg = parse_error(idx_bytes(0x12345678, {1}, {0}));
  CHECK(has(msg, "mem.idx: bad magic number 0x12345678"));
  CHECK(has(msg, "expected 0x00000801 (labels) or 0x00000803 (images)"));
  CHECK(has(msg, "tools/fetch_mnist.sh"));
}

TEST_CASE("idx: a value type other than unsigned byte is refused") {
  const std::string msg = parse_error(idx_bytes(0x00000D01, {1}, {0, 0, 0, 0}));  // float, 1 dim
  CHECK(has(msg, "mem.idx: magic number 0x00000D01 declares value type 0x0000000D"));
  CHECK(has(msg, "expected 0x00000008 (unsigned byte)"));
}

TEST_CASE("idx: a number of dimensions other than 1 or 3 is refused") {
  const std::string two = parse_error(idx_bytes(0x00000802, {2, 2}, {1, 2, 3, 4}));
  CHECK(has(two, "mem.idx: magic number 0x00000802 declares 2 dimensions"));
  CHECK(has(two, "expected 1 (labels, 0x00000801) or 3 (images, 0x00000803)"));
  CHECK(has(parse_error(idx_bytes(0x00000800, {}, {})), "declares 0 dimensions"));
}

TEST_CASE("idx: a payload shorter than the header declares is reported as truncated") {
  const std::string msg = parse_error(idx_bytes(kLabelMagic, {10}, {1, 2, 3, 4, 5}));
  CHECK(has(msg, "mem.idx: the header declares sizes (10) = 10 bytes of values"));
  CHECK(has(msg, "only 5 bytes follow the 8-byte header"));
  CHECK(has(msg, "The file is truncated: re-download it with tools/fetch_mnist.sh"));

  const Bytes images = image_file(2);
  const std::string cut = parse_error(Bytes(images.begin(), images.end() - 1));
  CHECK(has(cut, "(2, 28, 28) = 1568 bytes of values, but only 1567 bytes follow the 16-byte header"));
}

TEST_CASE("idx: a header cut short, or shorter than four bytes, is reported as truncated") {
  const Bytes images = image_file(1);
  CHECK(has(parse_error(Bytes(images.begin(), images.begin() + 10)),
            "mem.idx: the header is cut short: 10 bytes, expected 16"));
  CHECK(has(parse_error(Bytes{0, 0, 8}), "mem.idx: the file is only 3 bytes, too short for an IDX header"));
}

TEST_CASE("idx: bytes after the declared payload are reported as trailing bytes") {
  const std::string msg = parse_error(idx_bytes(kLabelMagic, {2}, {1, 2, 3, 4, 5}));
  CHECK(has(msg, "mem.idx: the header declares sizes (2) = 2 bytes of values, but 3 more bytes follow them"));
  CHECK(has(msg, "(trailing bytes)"));
}

TEST_CASE("idx: declared sizes above 1 GiB or overflowing 64 bits are refused before reading the payload") {
  // Each buffer is only a header: the size limit must fire, not the truncation check.
  const std::string overflow = parse_error(idx_bytes(kImageMagic, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {}));
  CHECK(has(overflow, "mem.idx: the header declares sizes (4294967295, 4294967295, 4294967295)"));
  CHECK(has(overflow, "more than the 1 GiB limit"));

  const std::string just_over = parse_error(idx_bytes(kImageMagic, {1025, 1024, 1024}, {}));
  CHECK(has(just_over, "(1025, 1024, 1024), more than the 1 GiB limit"));
  const std::string labels = parse_error(idx_bytes(kLabelMagic, {(1u << 30) + 1}, {}));
  CHECK(has(labels, "(1073741825), more than the 1 GiB limit"));

  // Exactly 1 GiB is allowed by the limit, so this one is merely truncated.
  CHECK(has(parse_error(idx_bytes(kImageMagic, {1024, 1024, 1024}, {})), "The file is truncated"));
}

TEST_CASE("idx: gzip data in a file not named .gz is recognised and explained") {
  const std::string dir = fresh_dir("gzip-without-suffix");
  const std::string path = write_gz(dir + "/t10k-labels-idx1-ubyte", label_file({1, 2}));
  const std::string msg = data_error([&] { read_idx(path); });
  CHECK(has(msg, path + ": found gzip-compressed data, expected a raw IDX file"));
  CHECK(has(msg, "name ending in .gz"));
}

TEST_CASE("idx: an empty file is refused as empty") {
  const std::string dir = fresh_dir("empty");
  const std::string raw = write_file(dir + "/labels-idx1-ubyte", {});
  CHECK(has(data_error([&] { read_idx(raw); }), raw + ": the file is empty (0 bytes)"));
  const std::string gz = write_file(dir + "/labels-idx1-ubyte.gz", {});
  CHECK(has(data_error([&] { read_idx(gz); }), gz + ": the file is empty (0 bytes)"));
}

TEST_CASE("idx: a missing file, a directory and an unreadable file each get their own message") {
  const std::string dir = fresh_dir("not-a-file");
  const std::string missing = dir + "/train-labels-idx1-ubyte";
  const std::string msg = data_error([&] { read_idx(missing); });
  CHECK(has(msg, missing + ": file not found"));
  CHECK(has(msg, "Run tools/fetch_mnist.sh"));

  const std::string folder = dir + "/train-images-idx3-ubyte";
  fs::create_directory(folder);
  CHECK(has(data_error([&] { read_idx(folder); }), folder + ": is a directory, expected an IDX file"));

  const std::string locked = write_file(dir + "/t10k-labels-idx1-ubyte", label_file({3}));
  fs::permissions(locked, fs::perms::none);
  if (geteuid() != 0) {
    const std::string denied = data_error([&] { read_idx(locked); });
    CHECK(has(denied, locked + ": cannot be opened for reading (Permission denied)"));
    CHECK(has(denied, "chmod a+r"));
  } else {
    MESSAGE("running as root, which reads any file: checking the mode-000 file loads instead");
    CHECK(read_idx(locked).values == Bytes{3});
  }
  fs::permissions(locked, fs::perms::owner_all);
}

TEST_CASE("idx: a FIFO is refused as not a regular file instead of blocking") {
  const std::string dir = fresh_dir("fifo");
  const std::string fifo = dir + "/train-labels-idx1-ubyte";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(has(data_error([&] { read_idx(fifo); }), fifo + ": is not a regular file"));
}

TEST_CASE("idx: corrupt or cut gzip data is refused with the zlib reason") {
  const std::string dir = fresh_dir("bad-gzip");
  const std::string garbage = write_file(dir + "/garbage-idx1-ubyte.gz", Bytes{'n', 'o', 't', ' ', 'g', 'z', 'i', 'p'});
  const std::string msg = data_error([&] { read_idx(garbage); });
  CHECK(has(msg, garbage + ": is not valid gzip data (zlib: incorrect header check)"));

  const std::string whole = write_gz(dir + "/whole.gz", image_file(4));
  const Bytes gz = read_bytes(whole);
  const std::string cut = write_file(dir + "/cut-idx3-ubyte.gz", Bytes(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)));
  CHECK(has(data_error([&] { read_idx(cut); }), cut + ": the gzip data stops before its end"));

  Bytes flipped = gz;
  flipped[flipped.size() - 6] ^= 0xFF;  // the CRC-32 in the trailer
  const std::string bad_crc = write_file(dir + "/crc-idx3-ubyte.gz", flipped);
  CHECK(has(data_error([&] { read_idx(bad_crc); }), bad_crc + ": corrupt gzip data (zlib: incorrect data check)"));
}

TEST_CASE("idx: a flipped bit that makes a .gz inflate to more bytes is reported as corrupt, not as trailing bytes") {
  const std::string dir = fresh_dir("flipped-gzip");
  const Bytes raw = image_file(6);
  const Bytes gz = read_bytes(write_gz(dir + "/whole.gz", raw));
  // The first flip (from the middle on) after which the damaged stream inflates past the original size.
  const auto inflated = [](const Bytes& in) {
    z_stream zs{};
    inflateInit2(&zs, 15 + 16);
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(in.size());
    Bytes out(1 << 16);
    for (int rc = Z_OK; rc == Z_OK;) {
      zs.next_out = out.data();
      zs.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&zs, Z_NO_FLUSH);
    }
    const std::size_t total = zs.total_out;
    inflateEnd(&zs);
    return total;
  };
  Bytes bad;
  for (std::size_t pos = gz.size() / 2; bad.empty() && pos + 8 < gz.size(); ++pos)
    for (int bit = 0; bit < 8 && bad.empty(); ++bit) {
      Bytes b = gz;
      b[pos] ^= static_cast<std::uint8_t>(1u << bit);
      if (inflated(b) > raw.size()) bad = b;
    }
  REQUIRE_FALSE(bad.empty());
  const std::string path = write_file(dir + "/flipped-idx3-ubyte.gz", bad);
  const std::string msg = data_error([&] { read_idx(path); });
  CHECK(has(msg, path + ": corrupt gzip data (zlib: "));
  CHECK_FALSE(has(msg, "trailing"));

  // Real extra data after an intact stream is still called trailing bytes.
  Bytes longer = raw;
  longer.push_back(7);
  const std::string extra = write_gz(dir + "/extra-idx3-ubyte.gz", longer);
  CHECK(has(data_error([&] { read_idx(extra); }), "trailing bytes"));
}

TEST_CASE("idx: load_mnist_split refuses a file of 0 images, naming it") {
  const std::string dir = fresh_dir("zero-images");
  const std::string images = write_file(dir + "/t10k-images-idx3-ubyte", image_file(0));
  write_file(dir + "/t10k-labels-idx1-ubyte", label_file({}));
  CHECK(has(data_error([&] { load_mnist_split(dir, "t10k"); }), images + ": holds 0 images"));
  write_gz(dir + "/train-images-idx3-ubyte.gz", image_file(0));
  write_gz(dir + "/train-labels-idx1-ubyte.gz", label_file({}));
  CHECK(has(data_error([&] { load_mnist_split(dir, "train"); }), "train-images-idx3-ubyte.gz: holds 0 images"));
}

TEST_CASE("idx: gzip files get the same size checks as raw files") {
  const std::string dir = fresh_dir("gzip-sizes");
  const std::string trailing = write_gz(dir + "/trailing.gz", idx_bytes(kLabelMagic, {2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}));
  CHECK(has(data_error([&] { read_idx(trailing); }), trailing + ": the header declares sizes (2) = 2 bytes of values, but the data goes on"));

  Bytes long_trailing = image_file(1);
  long_trailing.push_back(0);
  const std::string long_path = write_gz(dir + "/long-trailing.gz", long_trailing);
  CHECK(has(data_error([&] { read_idx(long_path); }), long_path + ": the header declares sizes (1, 28, 28) = 784 bytes of values, but the data goes on"));

  const Bytes images = image_file(2);
  const std::string short_path = write_gz(dir + "/short.gz", Bytes(images.begin(), images.end() - 100));
  CHECK(has(data_error([&] { read_idx(short_path); }), short_path + ": the header declares sizes (2, 28, 28) = 1568 bytes of values, but only 1468 bytes follow"));

  const std::string huge = write_gz(dir + "/huge.gz", idx_bytes(kImageMagic, {60000, 60000, 60000}, {}));
  CHECK(has(data_error([&] { read_idx(huge); }), huge + ": the header declares sizes (60000, 60000, 60000), more than the 1 GiB limit"));

  const std::string bad_magic = write_gz(dir + "/magic.gz", idx_bytes(0x01020304, {1}, {0}));
  CHECK(has(data_error([&] { read_idx(bad_magic); }), bad_magic + ": bad magic number 0x01020304"));
}

TEST_CASE("idx: raw and .gz copies of a file load identical data") {
  const std::string dir = fresh_dir("raw-vs-gz");
  const Bytes images = image_file(5);
  const IdxArray raw = read_idx(write_file(dir + "/a-idx3-ubyte", images));
  const IdxArray gz = read_idx(write_gz(dir + "/a-idx3-ubyte.gz", images));
  CHECK(raw.magic == gz.magic);
  CHECK(raw.dims == gz.dims);
  CHECK(raw.values == gz.values);
  CHECK(raw.values.size() == 5 * 784);
  CHECK(raw.values == Bytes(images.begin() + 16, images.end()));

  // Two gzip members one after the other (what `cat a.gz b.gz` makes) read as one stream.
  const Bytes first(images.begin(), images.begin() + 1000), second(images.begin() + 1000, images.end());
  Bytes joined = read_bytes(write_gz(dir + "/first.gz", first));
  const Bytes tail = read_bytes(write_gz(dir + "/second.gz", second));
  joined.insert(joined.end(), tail.begin(), tail.end());
  CHECK(read_idx(write_file(dir + "/joined-idx3-ubyte.gz", joined)).values == raw.values);
}

TEST_CASE("idx: find_idx_file finds both name spellings, raw or .gz, and lists what it tried") {
  const std::string dir = fresh_dir("spellings");
  CHECK(has(data_error([&] { find_idx_file(dir + "/nowhere", "train-images", "idx3"); }),
            "MNIST folder not found: " + dir + "/nowhere. Run tools/fetch_mnist.sh"));
  const std::string msg = data_error([&] { find_idx_file(dir, "train-images", "idx3"); });
  CHECK(has(msg, dir + ": no train-images file, looked for train-images-idx3-ubyte, train-images.idx3-ubyte"));
  CHECK(has(msg, "Run tools/fetch_mnist.sh"));

  write_file(dir + "/train-images.idx3-ubyte.gz", image_file(1));
  CHECK(find_idx_file(dir, "train-images", "idx3") == dir + "/train-images.idx3-ubyte.gz");
  write_file(dir + "/train-images-idx3-ubyte.gz", image_file(1));
  CHECK(find_idx_file(dir, "train-images", "idx3") == dir + "/train-images-idx3-ubyte.gz");
  write_file(dir + "/train-images.idx3-ubyte", image_file(1));
  CHECK(find_idx_file(dir, "train-images", "idx3") == dir + "/train-images.idx3-ubyte");
  write_file(dir + "/train-images-idx3-ubyte", image_file(1));
  CHECK(find_idx_file(dir, "train-images", "idx3") == dir + "/train-images-idx3-ubyte");
}

TEST_CASE("idx: load_mnist_split gives the same set from either spelling, raw or .gz") {
  const std::string dash = fresh_dir("split-dash"), dot_gz = fresh_dir("split-dot-gz");
  write_split(dash, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
  write_split(dot_gz, "train-images.idx3-ubyte.gz", "train-labels.idx1-ubyte.gz");
  const ImageSet a = load_mnist_split(dash, "train"), b = load_mnist_split(dot_gz, "train");
  CHECK(a.count == 3);
  CHECK(a.rows == 28);
  CHECK(a.cols == 28);
  CHECK(a.pixels.size() == 3 * 784);
  CHECK(a.labels == Bytes{7, 0, 9});
  CHECK(a.pixels[784] == 40);  // image 1, pixel 0: (1 * 40 + 784) % 256
  CHECK(a.images_path == dash + "/train-images-idx3-ubyte");
  CHECK(b.labels_path == dot_gz + "/train-labels.idx1-ubyte.gz");
  CHECK(a.pixels == b.pixels);
  CHECK(a.labels == b.labels);
}

TEST_CASE("idx: load_mnist_split refuses mismatched counts, labels above 9, wrong image size and swapped files") {
  const std::string dir = fresh_dir("split-checks");
  const std::string images = write_file(dir + "/t10k-images-idx3-ubyte", image_file(3));
  const std::string labels = write_file(dir + "/t10k-labels-idx1-ubyte", label_file({1, 2}));
  const std::string count = data_error([&] { load_mnist_split(dir, "t10k"); });
  CHECK(has(count, labels + ": has 2 labels, but " + images + " has 3 images; the counts must agree"));

  write_file(labels, label_file({1, 2, 10}));
  const std::string ten = data_error([&] { load_mnist_split(dir, "t10k"); });
  CHECK(has(ten, labels + ": label 10 at index 2, expected 0..9"));
  CHECK(has(ten, "tools/fetch_mnist.sh"));

  write_file(labels, label_file({1, 2, 3}));
  write_file(images, image_file(3, 32, 32));
  CHECK(has(data_error([&] { load_mnist_split(dir, "t10k"); }), images + ": images are 32x32, expected 28x28"));

  write_file(images, label_file({1, 2, 3}));
  CHECK(has(data_error([&] { load_mnist_split(dir, "t10k"); }), images + ": holds labels (magic 0x00000801), expected images"));
  write_file(images, image_file(3));
  write_file(labels, image_file(3));
  CHECK(has(data_error([&] { load_mnist_split(dir, "t10k"); }), labels + ": holds images (magic 0x00000803), expected labels"));

  CHECK(has(data_error([&] { load_mnist_split(dir, "test"); }), "unknown split \"test\", expected \"train\" or \"t10k\""));
}

TEST_CASE("idx: read_checksums returns the SHA256SUMS lines, or nothing when the file is absent") {
  const std::string dir = fresh_dir("checksums");
  CHECK(read_checksums(dir).empty());
  std::ofstream(dir + "/SHA256SUMS") << "abc123  train-images-idx3-ubyte\n\ndef456  t10k-labels-idx1-ubyte\n";
  const std::vector<std::string> lines = read_checksums(dir);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "abc123  train-images-idx3-ubyte");
  CHECK(lines[1] == "def456  t10k-labels-idx1-ubyte");
}

TEST_CASE("idx: read_checksums skips a SHA256SUMS that is a FIFO instead of blocking on it") {
  const std::string dir = fresh_dir("checksums-fifo");
  REQUIRE(::mkfifo((dir + "/SHA256SUMS").c_str(), 0600) == 0);
  CHECK(read_checksums(dir).empty());  // returns at once: no writer will ever come
}
