// End to end on the real MNIST files in data/mnist (tools/fetch_mnist.sh).
// Exits 77 (ctest: skipped) when the files are absent, unless CHAINRULE_REQUIRE_MNIST=1.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/data/idx.hpp"

using namespace chainrule;
using namespace chainrule::data;

namespace {

const std::string kDir = CHAINRULE_MNIST_DIR;

// Loaded once for all test cases.
const Mnist& mnist() {
  static const Mnist m = load_mnist(kDir);
  return m;
}

std::vector<int> first_labels(const ImageSet& set, std::size_t n) {
  return std::vector<int>(set.labels.begin(), set.labels.begin() + static_cast<long>(n));
}

}  // namespace

TEST_CASE("mnist: real MNIST has 60000 train and 10000 test images of 28x28") {
  CHECK(mnist().train.count == 60000);
  CHECK(mnist().test.count == 10000);
  CHECK(mnist().train.pixels.size() == 60000u * 784u);
  CHECK(mnist().test.pixels.size() == 10000u * 784u);
  CHECK(mnist().train.labels.size() == 60000u);
  CHECK(mnist().train.rows == 28);
  CHECK(mnist().train.cols == 28);
}

TEST_CASE("mnist: real MNIST's first ten labels are the well-known ones") {
  CHECK(first_labels(mnist().train, 10) == std::vector<int>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4});
  CHECK(first_labels(mnist().test, 10) == std::vector<int>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9});
}

TEST_CASE("mnist: real MNIST pixels have the usual mean 0.1307 after dividing by 255") {
  Tensor<float> X;
  std::vector<int> y;
  const std::vector<int> all = all_indices(mnist().train.count);
  make_batch(mnist().train, all, 0, all.size(), X, y);
  double sum = 0;
  for (float v : X.data) sum += v;
  CHECK(sum / static_cast<double>(X.size()) == doctest::Approx(0.1307).epsilon(0.001));
  int per_class[10] = {};
  for (int label : y) ++per_class[label];
  CHECK(per_class[1] == 6742);  // the most common digit in the training set
  CHECK(per_class[5] == 5421);  // the rarest
}

TEST_CASE("mnist: a .gz copy of a real MNIST file loads the same bytes") {
  const std::filesystem::path dir = std::filesystem::path(CHAINRULE_TEST_TMP) / "mnist-e2e";
  std::filesystem::create_directories(dir);
  const std::string raw = find_idx_file(kDir, "t10k-images", "idx3");
  const IdxArray expected = read_idx(raw);
  const std::string gz_path = (dir / "t10k-images.idx3-ubyte.gz").string();
  {
    std::FILE* in = std::fopen(raw.c_str(), "rb");
    REQUIRE(in != nullptr);
    gzFile out = gzopen(gz_path.c_str(), "wb1");
    REQUIRE(out != nullptr);
    char buf[1 << 16];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, in)) > 0;) REQUIRE(gzwrite(out, buf, static_cast<unsigned>(n)) > 0);
    std::fclose(in);
    REQUIRE(gzclose(out) == Z_OK);
  }
  const IdxArray gz = read_idx(gz_path);
  CHECK(gz.dims == expected.dims);
  CHECK(gz.values == expected.values);
}

TEST_CASE("mnist: SHA256SUMS written by fetch_mnist.sh lists the four files") {
  const std::vector<std::string> lines = read_checksums(kDir);
  if (lines.empty()) {
    MESSAGE("no SHA256SUMS in " << kDir << " (files placed by hand?); run tools/fetch_mnist.sh to write it");
    CHECK(!std::filesystem::exists(std::filesystem::path(kDir) / "SHA256SUMS"));
    return;
  }
  CHECK(lines.size() == 4);
  for (const std::string& line : lines) CHECK(line.size() > 66);  // 64 hex digits, two spaces, a name
}

int main(int argc, char** argv) {
  const char* require = std::getenv("CHAINRULE_REQUIRE_MNIST");
  const bool required = require != nullptr && std::string(require) == "1";
  try {
    for (const char* stem : {"train-images", "t10k-images"}) find_idx_file(kDir, stem, "idx3");
    for (const char* stem : {"train-labels", "t10k-labels"}) find_idx_file(kDir, stem, "idx1");
  } catch (const DataError& e) {
    std::printf("%s MNIST test: %s\n(run tools/fetch_mnist.sh to download MNIST into %s)\n",
                required ? "FAILED" : "SKIPPED", e.what(), kDir.c_str());
    return required ? 1 : 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
