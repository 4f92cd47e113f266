#include "chainrule/io/plotdata.hpp"

#include "chainrule/io/files.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <system_error>

namespace chainrule::io {

namespace {

// Writes <path>.tmp with `body`, then renames it to <path>. Throws std::runtime_error naming
// the path if any step fails, after removing the temporary file.
void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& body) {
  write_file_atomically(path, body);
}

// The shortest decimal text that reads back as the same float; independent of the locale.
void put_float(std::ostream& out, float value) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  out.write(buf, result.ptr - buf);
}

// Checks the arguments shared by the digits and misclassified writers.
void check_digits(const char* op, std::span<const std::uint8_t> pixels, std::span<const std::uint8_t> labels,
                  const std::vector<int>* predicted, const std::vector<int>& indices) {
  const std::size_t count = labels.size();
  if (pixels.size() != count * kImagePixels)
    throw std::invalid_argument(std::string(op) + ": " + std::to_string(pixels.size()) + " pixels for " +
                                std::to_string(count) + " labels; must be " + std::to_string(count) + " x 784");
  if (predicted != nullptr && predicted->size() != count)
    throw std::invalid_argument(std::string(op) + ": " + std::to_string(count) + " labels but " +
                                std::to_string(predicted->size()) + " predictions");
  for (const int i : indices)
    if (i < 0 || static_cast<std::size_t>(i) >= count)
      throw std::invalid_argument(std::string(op) + ": index " + std::to_string(i) + " is outside [0, " +
                                  std::to_string(count) + ")");
}

// One writer for digits.csv and misclassified.csv: predicted == nullptr leaves out that column.
void write_images(const std::string& path, std::span<const std::uint8_t> pixels, std::span<const std::uint8_t> labels,
                  const std::vector<int>* predicted, const std::vector<int>& indices) {
  write_atomically(path, [&](std::ostream& out) {
    out << (predicted != nullptr ? "index,label,predicted" : "index,label");
    for (int k = 0; k < kImagePixels; ++k) out << ",p" << k;
    out << '\n';
    for (const int i : indices) {
      const auto ui = static_cast<std::size_t>(i);
      out << i << ',' << static_cast<int>(labels[ui]);
      if (predicted != nullptr) out << ',' << (*predicted)[ui];
      const std::uint8_t* image = pixels.data() + ui * kImagePixels;  // (784)
      for (int k = 0; k < kImagePixels; ++k) out << ',' << static_cast<int>(image[k]);
      out << '\n';
    }
  });
}

// Throws std::invalid_argument unless set holds 28x28 images with one label each.
void check_image_set(const char* op, const data::ImageSet& set) {
  if (set.rows != kImageSide || set.cols != kImageSide)
    throw std::invalid_argument(std::string(op) + ": images are " + std::to_string(set.rows) + "x" +
                                std::to_string(set.cols) + " but must be 28x28");
  if (set.labels.size() != static_cast<std::size_t>(set.count))
    throw std::invalid_argument(std::string(op) + ": " + std::to_string(set.count) + " images but " +
                                std::to_string(set.labels.size()) + " labels");
}

}  // namespace

void write_confusion_csv(const std::string& path, const std::vector<std::vector<long>>& counts) {
  const std::size_t C = counts.size();
  if (C == 0) throw std::invalid_argument("write_confusion_csv: the matrix is empty");
  for (std::size_t t = 0; t < C; ++t) {
    if (counts[t].size() != C)
      throw std::invalid_argument("write_confusion_csv: row " + std::to_string(t) + " has " +
                                  std::to_string(counts[t].size()) + " columns but must have " + std::to_string(C));
    for (const long n : counts[t])
      if (n < 0) throw std::invalid_argument("write_confusion_csv: negative count in row " + std::to_string(t));
  }
  write_atomically(path, [&](std::ostream& out) {
    out << "true\\pred";
    for (std::size_t p = 0; p < C; ++p) out << ',' << p;
    out << '\n';
    for (std::size_t t = 0; t < C; ++t) {
      out << t;
      for (const long n : counts[t]) out << ',' << n;
      out << '\n';
    }
  });
}

void write_digits_csv(const std::string& path, std::span<const std::uint8_t> pixels,
                      std::span<const std::uint8_t> labels, const std::vector<int>& indices) {
  check_digits("write_digits_csv", pixels, labels, nullptr, indices);
  write_images(path, pixels, labels, nullptr, indices);
}

void write_digits_csv(const std::string& path, const data::ImageSet& set, int n) {
  check_image_set("write_digits_csv", set);
  std::vector<int> first;
  for (int i = 0; i < n && i < set.count; ++i) first.push_back(i);
  write_digits_csv(path, set.pixels, set.labels, first);
}

void write_misclassified_csv(const std::string& path, std::span<const std::uint8_t> pixels,
                             std::span<const std::uint8_t> labels, const std::vector<int>& predicted,
                             const std::vector<int>& indices) {
  check_digits("write_misclassified_csv", pixels, labels, &predicted, indices);
  write_images(path, pixels, labels, &predicted, indices);
}

void write_misclassified_csv(const std::string& path, const data::ImageSet& set, const std::vector<int>& predicted,
                             int max_count) {
  check_image_set("write_misclassified_csv", set);
  write_misclassified_csv(path, set.pixels, set.labels, predicted,
                          misclassified_indices(set.labels, predicted, max_count));
}

std::vector<int> misclassified_indices(std::span<const std::uint8_t> labels, const std::vector<int>& predicted,
                                       int max_count) {
  if (predicted.size() != labels.size())
    throw std::invalid_argument("misclassified_indices: " + std::to_string(labels.size()) + " labels but " +
                                std::to_string(predicted.size()) + " predictions");
  std::vector<int> wrong;
  for (std::size_t i = 0; i < labels.size() && static_cast<int>(wrong.size()) < max_count; ++i)
    if (predicted[i] != static_cast<int>(labels[i])) wrong.push_back(static_cast<int>(i));
  return wrong;
}

void write_weights_csv(const std::string& path, const Tensor<float>& W1) {
  expect_shape("write_weights_csv", "W1", W1, kImagePixels, -1);
  write_atomically(path, [&](std::ostream& out) {
    for (int j = 0; j < W1.cols; ++j) out << (j == 0 ? "h" : ",h") << j;
    out << '\n';
    for (int k = 0; k < W1.rows; ++k) {
      const float* w = W1.row(k);  // (H) the weights from input pixel k to every hidden unit
      for (int j = 0; j < W1.cols; ++j) {
        if (j > 0) out << ',';
        put_float(out, w[j]);
      }
      out << '\n';
    }
  });
}

}  // namespace chainrule::io
