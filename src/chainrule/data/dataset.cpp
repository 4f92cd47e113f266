#include "chainrule/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "chainrule/fast/isa.hpp"
#include "chainrule/fast/prefetch.hpp"
#include "chainrule/fast/threads.hpp"
#include "chainrule/kernels.hpp"

namespace chainrule::data {

namespace {
// x[j] = pixels[j] / 255, for j < count. The Fast path runs the same loop compiled for the
// vectors of the path in use (fast/isa.hpp, scale_pixels).
void to_floats(const std::uint8_t* __restrict pixels, float* __restrict x, int count) {
  if (kernel_path() != KernelPath::Reference)
    return fast::isa_kernels().scale_pixels(pixels, x, static_cast<std::size_t>(count));
  for (int j = 0; j < count; ++j) x[j] = static_cast<float>(pixels[j]) / 255.0f;
}
}  // namespace

void make_batch(const ImageSet& set, const std::vector<int>& indices, std::size_t begin, std::size_t end,
                Tensor<float>& X, std::vector<int>& labels) {
  if (begin > end || end > indices.size())
    throw std::out_of_range("make_batch: range [" + std::to_string(begin) + ", " + std::to_string(end) +
                            ") does not fit " + std::to_string(indices.size()) + " indices");
  const int N = static_cast<int>(end - begin);
  const int D = set.rows * set.cols;
  X.resize(N, D);  // keeps the allocation when it is big enough
  labels.resize(static_cast<std::size_t>(N));
  const int* rows = indices.data() + begin;  // rows[i]: the sample of row i
  for (int i = 0; i < N; ++i) {
    const int s = rows[i];
    if (s < 0 || s >= set.count)
      throw std::out_of_range("make_batch: sample index " + std::to_string(s) + " is outside 0.." +
                              std::to_string(set.count - 1));
    labels[static_cast<std::size_t>(i)] = set.labels[static_cast<std::size_t>(s)];
  }
  // Row i of X is sample rows[i]'s pixels, scaled to [0, 1]. With several
  // threads each converts its share of the pixel columns (fast/threads.hpp).
  // Each first asks for the cache lines of its pixels in the first kAhead rows, then, before
  // converting row i, for those of row i + kAhead (fast/prefetch.hpp): a batch of 128 is asked
  // for all at once, a batch of 1000 is never more than 128 rows (100 KB of pixels) ahead.
  constexpr int kAhead = 128;
  fast::for_shares(D, static_cast<std::size_t>(N) * static_cast<std::size_t>(D), [&](int j0, int j1) {
    fast::prefetch_columns(set.pixels.data(), D, set.count, rows, static_cast<std::size_t>(std::min(N, kAhead)), j0, j1);
    for (int i = 0; i < N; ++i) {
      if (i + kAhead < N) fast::prefetch_columns(set.pixels.data(), D, set.count, rows + i + kAhead, 1, j0, j1);
      const std::uint8_t* pixels = set.pixels.data() + static_cast<std::size_t>(rows[i]) * static_cast<std::size_t>(D);
      to_floats(pixels + j0, X.row(i) + j0, j1 - j0);
    }
  });
}

void prefetch_batch(const ImageSet& set, const std::vector<int>& indices, std::size_t begin, std::size_t end) {
  end = std::min(end, indices.size());
  if (begin >= end) return;
  fast::prefetch_rows(set.pixels.data(), set.rows * set.cols, set.count, indices.data() + begin, end - begin);
}

std::vector<int> all_indices(int count) {
  std::vector<int> indices(static_cast<std::size_t>(std::max(count, 0)));
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<int>(i);
  return indices;
}

Split split_holdout(int count, double fraction, std::uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    throw std::invalid_argument("split_holdout: fraction " + std::to_string(fraction) +
                                " must be in [0, 1), e.g. 0.1 to hold out 10% of the training set");
  if (count < 0) throw std::invalid_argument("split_holdout: negative count " + std::to_string(count));
  const auto val_count = static_cast<std::size_t>(std::llround(count * fraction));
  if (count > 0 && val_count >= static_cast<std::size_t>(count))
    throw std::invalid_argument("split_holdout: fraction " + std::to_string(fraction) + " of " +
                                std::to_string(count) + " samples leaves none for training");
  std::vector<int> order = all_indices(count);
  Rng rng(seed);
  shuffle(order, rng);
  Split split;
  split.val.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(val_count));
  split.train.assign(order.begin() + static_cast<std::ptrdiff_t>(val_count), order.end());
  std::sort(split.val.begin(), split.val.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

void shuffle(std::vector<int>& indices, Rng& rng) {
  for (std::size_t i = indices.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.below(i));  // uniform in [0, i)
    std::swap(indices[i - 1], indices[j]);
  }
}

std::size_t num_batches(std::size_t n, std::size_t batch) {
  if (batch == 0) throw std::invalid_argument("num_batches: batch size must be > 0");
  return (n + batch - 1) / batch;
}

}  // namespace chainrule::data
