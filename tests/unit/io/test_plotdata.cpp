// Tests for src/chainrule/io/plotdata: the CSV files that tools/plots/*.gp read.
#include <doctest/doctest.h>

#include "../../support/test_dir.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "chainrule/io/plotdata.hpp"

namespace fs = std::filesystem;
using namespace chainrule;

namespace {

// A fresh folder under the build's test-tmp for one test case.
std::string tmp_dir(const std::string& name) { return chainrule::testing::fresh_dir("plotdata", name).string(); }

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
  return cells;
}

}  // namespace

TEST_CASE("write_confusion_csv writes a header and one row per true class") {
  const std::string path = tmp_dir("confusion") + "/confusion.csv";
  const std::vector<std::vector<long>> counts = {{5, 1, 0}, {2, 7, 1}, {0, 0, 9}};
  io::write_confusion_csv(path, counts);

  const auto lines = read_lines(path);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "true\\pred,0,1,2");
  CHECK(lines[1] == "0,5,1,0");
  CHECK(lines[2] == "1,2,7,1");
  CHECK(lines[3] == "2,0,0,9");
  CHECK_FALSE(fs::exists(path + ".tmp"));
}

TEST_CASE("write_confusion_csv rejects a matrix that is not square, empty or negative") {
  const std::string path = tmp_dir("confusion_bad") + "/confusion.csv";
  CHECK_THROWS_AS(io::write_confusion_csv(path, {{1, 2}, {3}}), std::invalid_argument);
  CHECK_THROWS_AS(io::write_confusion_csv(path, {}), std::invalid_argument);
  CHECK_THROWS_AS(io::write_confusion_csv(path, {{1, -1}, {0, 1}}), std::invalid_argument);
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("write_digits_csv writes the chosen images with index, label and 784 pixels") {
  const std::string path = tmp_dir("digits") + "/digits.csv";
  // Three images; image i has every pixel equal to 10*i, except pixel (r=1, c=2) = 255.
  std::vector<std::uint8_t> pixels(3 * io::kImagePixels);
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < io::kImagePixels; ++k)
      pixels[static_cast<std::size_t>(i * io::kImagePixels + k)] = static_cast<std::uint8_t>(10 * i);
  pixels[2 * io::kImagePixels + 28 * 1 + 2] = 255;
  const std::vector<std::uint8_t> labels = {7, 2, 1};

  io::write_digits_csv(path, pixels, labels, {2, 0});

  const auto lines = read_lines(path);
  REQUIRE(lines.size() == 3);
  const auto header = split(lines[0]);
  REQUIRE(header.size() == 2 + 784);
  CHECK(header[0] == "index");
  CHECK(header[1] == "label");
  CHECK(header[2] == "p0");
  CHECK(header[785] == "p783");

  const auto first = split(lines[1]);
  REQUIRE(first.size() == 786);
  CHECK(first[0] == "2");
  CHECK(first[1] == "1");
  CHECK(first[2] == "20");
  CHECK(first[2 + 30] == "255");  // p30 = pixel (1, 2)
  const auto second = split(lines[2]);
  REQUIRE(second.size() == 786);
  CHECK(second[0] == "0");
  CHECK(second[1] == "7");
  CHECK(second[785] == "0");
}

TEST_CASE("write_misclassified_csv adds the predicted label and misclassified_indices picks wrong ones") {
  const std::string path = tmp_dir("misclassified") + "/misclassified.csv";
  std::vector<std::uint8_t> pixels(4 * io::kImagePixels, 0);
  pixels[3 * io::kImagePixels + 783] = 99;
  const std::vector<std::uint8_t> labels = {3, 5, 8, 9};
  const std::vector<int> predicted = {3, 6, 8, 4};

  const auto wrong = io::misclassified_indices(labels, predicted, 10);
  CHECK(wrong == std::vector<int>{1, 3});
  CHECK(io::misclassified_indices(labels, predicted, 1) == std::vector<int>{1});

  io::write_misclassified_csv(path, pixels, labels, predicted, wrong);
  const auto lines = read_lines(path);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("index,label,predicted,p0,p1,", 0) == 0);
  CHECK(split(lines[0]).size() == 3 + 784);
  const auto row = split(lines[2]);
  REQUIRE(row.size() == 787);
  CHECK(row[0] == "3");
  CHECK(row[1] == "9");
  CHECK(row[2] == "4");
  CHECK(row[786] == "99");
}

TEST_CASE("digit writers reject an index outside the data set, too few pixels or mismatched predictions") {
  const std::string path = tmp_dir("digits_bad") + "/digits.csv";
  std::vector<std::uint8_t> pixels(2 * io::kImagePixels, 0);
  const std::vector<std::uint8_t> labels = {1, 2};
  CHECK_THROWS_AS(io::write_digits_csv(path, pixels, labels, {2}), std::invalid_argument);
  CHECK_THROWS_AS(io::write_digits_csv(path, pixels, labels, {-1}), std::invalid_argument);
  CHECK_THROWS_AS(io::write_misclassified_csv(path, pixels, labels, {1}, {0}), std::invalid_argument);
  const std::vector<std::uint8_t> short_pixels(io::kImagePixels, 0);  // one image for two labels
  CHECK_THROWS_AS(io::write_digits_csv(path, short_pixels, labels, {0}), std::invalid_argument);
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("the ImageSet writers take the first n images and the first wrong ones") {
  const std::string dir = tmp_dir("imageset");
  data::ImageSet set;
  set.count = 5;
  set.labels = {0, 1, 2, 3, 4};
  set.pixels.assign(5 * io::kImagePixels, 0);
  for (int i = 0; i < 5; ++i) set.pixels[static_cast<std::size_t>(i * io::kImagePixels)] = static_cast<std::uint8_t>(i + 1);

  io::write_digits_csv(dir + "/digits.csv", set, 3);
  auto lines = read_lines(dir + "/digits.csv");
  REQUIRE(lines.size() == 4);
  CHECK(split(lines[3])[0] == "2");
  CHECK(split(lines[3])[2] == "3");

  io::write_digits_csv(dir + "/all.csv", set, 100);  // n larger than the set: every image
  CHECK(read_lines(dir + "/all.csv").size() == 6);

  io::write_misclassified_csv(dir + "/misclassified.csv", set, {0, 7, 2, 7, 7}, 2);
  lines = read_lines(dir + "/misclassified.csv");
  REQUIRE(lines.size() == 3);
  CHECK(lines[1].rfind("1,1,7,2,", 0) == 0);
  CHECK(lines[2].rfind("3,3,7,4,", 0) == 0);

  set.rows = 14;
  CHECK_THROWS_AS(io::write_digits_csv(dir + "/bad.csv", set, 1), std::invalid_argument);
}

TEST_CASE("write_weights_csv writes W1 (784, H) row by row and reads back exactly") {
  const std::string path = tmp_dir("weights") + "/weights1.csv";
  Tensor<float> W1(784, 3);
  for (int k = 0; k < 784; ++k)
    for (int j = 0; j < 3; ++j) W1(k, j) = 0.001f * static_cast<float>(k - 400) * static_cast<float>(j + 1) / 7.0f;

  io::write_weights_csv(path, W1);

  const auto lines = read_lines(path);
  REQUIRE(lines.size() == 785);
  CHECK(lines[0] == "h0,h1,h2");
  for (int k : {0, 1, 400, 783}) {
    const auto cells = split(lines[static_cast<std::size_t>(k) + 1]);
    REQUIRE(cells.size() == 3);
    for (int j = 0; j < 3; ++j) CHECK(std::stof(cells[static_cast<std::size_t>(j)]) == W1(k, j));
  }
}

TEST_CASE("write_weights_csv rejects a W1 without 784 rows") {
  const std::string path = tmp_dir("weights_bad") + "/weights1.csv";
  CHECK_THROWS_AS(io::write_weights_csv(path, Tensor<float>(10, 128)), ShapeError);
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("plotdata writers throw a runtime_error naming the path when it cannot be written") {
  const std::string path = tmp_dir("unwritable") + "/no-such-folder/confusion.csv";
  try {
    io::write_confusion_csv(path, {{1}});
    FAIL("expected std::runtime_error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(path + ".tmp"));
}

TEST_CASE("plotdata writers replace an existing file") {
  const std::string path = tmp_dir("replace") + "/confusion.csv";
  io::write_confusion_csv(path, {{1, 2}, {3, 4}});
  io::write_confusion_csv(path, {{9}});
  const auto lines = read_lines(path);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1] == "0,9");
}
