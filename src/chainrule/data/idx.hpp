// Reading MNIST's IDX files (raw or .gz) with checks that name the file, the problem and the fix.
//
// IDX layout (big-endian): 4 magic bytes {0, 0, type, ndims}, then ndims uint32 sizes,
// then the values row-major. MNIST uses type 0x08 (unsigned byte):
//   labels  magic 0x00000801 (2049), dims (count),             values 0..9
//   images  magic 0x00000803 (2051), dims (count, rows, cols), values 0..255, 28x28
// Files: data/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte (tools/fetch_mnist.sh).
// Also found: the spelling train-images.idx3-ubyte, and either spelling with .gz.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace chainrule::data {

// Every problem with a data file. The message names the file, what was expected,
// what was found and what to do, e.g.
// "data/mnist/train-labels-idx1-ubyte: label 10 at index 3, expected 0..9. Re-download ..."
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr std::uint32_t kLabelMagic = 0x00000801;  // 2049: ubyte, 1 dim
constexpr std::uint32_t kImageMagic = 0x00000803;  // 2051: ubyte, 3 dims
// Largest payload accepted (values after the header); checked before allocating anything.
constexpr std::uint64_t kMaxPayloadBytes = std::uint64_t{1} << 30;  // 1 GiB

// One parsed IDX file.
struct IdxArray {
  std::uint32_t magic = 0;          // kLabelMagic or kImageMagic
  std::vector<std::uint32_t> dims;  // (count) or (count, rows, cols)
  std::vector<std::uint8_t> values; // product(dims) bytes, row-major
};

// Parses an IDX file held in memory (size bytes at bytes). `name` is used in error
// messages (normally the path). Checks the magic, the sizes against the length and
// the 1 GiB limit; throws DataError on any problem. Used by read_idx and the fuzzer.
IdxArray parse_idx(const std::uint8_t* bytes, std::size_t size, const std::string& name);

// Reads and parses one IDX file; a name ending in .gz is decompressed with zlib
// (the declared size is checked before the output buffer is allocated).
IdxArray read_idx(const std::string& path);

// The path of `stem` ("train-images", "t10k-labels", ...) in dir under any accepted
// spelling: <stem>-<kind>-ubyte, <stem>.<kind>-ubyte, or either + ".gz" (kind "idx3"
// or "idx1"). Throws DataError listing the names tried and how to fetch them.
std::string find_idx_file(const std::string& dir, const std::string& stem, const std::string& kind);

// One MNIST split: images kept as bytes, normalised only when a batch is built.
struct ImageSet {
  int count = 0, rows = 28, cols = 28;
  std::vector<std::uint8_t> pixels;  // (count, rows * cols), 0..255, row-major
  std::vector<std::uint8_t> labels;  // (count), 0..9
  std::string images_path, labels_path;
};

// Loads split "train" (60000) or "t10k" (10000) from dir, checking that the counts
// agree, that images are 28x28 and that labels are 0..9. A file of 0 images is refused
// (DataError naming it): a returned set always holds at least one image.
ImageSet load_mnist_split(const std::string& dir, const std::string& split);

struct Mnist {
  ImageSet train, test;  // train: 60000, test: 10000
};
Mnist load_mnist(const std::string& dir);

// The lines of dir/SHA256SUMS ("<hex>  <file name>") written by tools/fetch_mnist.sh,
// for a training run's config.txt; empty when the file is absent.
std::vector<std::string> read_checksums(const std::string& dir);

}  // namespace chainrule::data
