// Writers for the CSV files that the gnuplot scripts in tools/plots/ read (docs/plots.md).
//
//   confusion.csv       written by `chainrule evaluate`   -> tools/plots/confusion.gp
//   misclassified.csv   written by `chainrule evaluate`   -> tools/plots/misclassified.gp
//   digits.csv          written by `chainrule export`     -> tools/plots/digits.gp
//   weights1.csv        written by `chainrule export`     -> tools/plots/weights.gp
//
// (history.csv and steps.csv are written by the trainer, src/chainrule/train/.)
//
// Every writer writes "<path>.tmp" and renames it to <path> when everything is on disk,
// so a plot never reads a half-written file. On failure it throws std::runtime_error
// naming the path, and no <path>.tmp is left behind.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/tensor.hpp"

namespace chainrule::io {

// Pixels per MNIST image (28 x 28) and the side of the image.
inline constexpr int kImageSide = 28;
inline constexpr int kImagePixels = kImageSide * kImageSide;

// confusion.csv: a C x C matrix of counts, counts[t][p] = how many samples of true class t
// were predicted as class p. Throws std::invalid_argument unless the matrix is square and
// non-empty with no negative counts.
//
//   true\pred,0,1,...,C-1
//   0,<counts[0][0]>,<counts[0][1]>,...
//   ...
void write_confusion_csv(const std::string& path, const std::vector<std::vector<long>>& counts);

// digits.csv: some images of a data set with their labels.
//   pixels  (count, 784) row-major, 0..255 (count = labels.size(); e.g. ImageSet::pixels)
//   labels  (count) the true class of every image, 0..9 (e.g. ImageSet::labels)
//   indices which images to write, in that order (each in [0, count))
//
//   index,label,p0,p1,...,p783          pixel (r, c) of the image is p<28*r + c>, 0..255
void write_digits_csv(const std::string& path, std::span<const std::uint8_t> pixels,
                      std::span<const std::uint8_t> labels, const std::vector<int>& indices);
// The first n images of a split (what `chainrule export` writes into digits.csv).
void write_digits_csv(const std::string& path, const data::ImageSet& set, int n);

// misclassified.csv: like digits.csv with the model's prediction after the label.
//   predicted  (count) the predicted class of every image
//
//   index,label,predicted,p0,p1,...,p783
void write_misclassified_csv(const std::string& path, std::span<const std::uint8_t> pixels,
                             std::span<const std::uint8_t> labels, const std::vector<int>& predicted,
                             const std::vector<int>& indices);
// The first max_count images of a split that the model got wrong (what `chainrule evaluate` writes).
void write_misclassified_csv(const std::string& path, const data::ImageSet& set, const std::vector<int>& predicted,
                             int max_count);

// The first max_count indices i with predicted[i] != labels[i].
std::vector<int> misclassified_indices(std::span<const std::uint8_t> labels, const std::vector<int>& predicted,
                                       int max_count);

// weights1.csv: the first dense layer's weights W1 (784, H), row-major, one row per input pixel.
// Column j is hidden unit j's 28 x 28 template. Throws ShapeError unless W1 has 784 rows.
//
//   h0,h1,...,h<H-1>
//   <W1(0,0)>,<W1(0,1)>,...             row k is input pixel k = 28*r + c
void write_weights_csv(const std::string& path, const Tensor<float>& W1);

}  // namespace chainrule::io
