// Turning an ImageSet into training batches: index lists, seeded shuffles, a holdout
// split, and batches of flattened images X (N, D) with D = rows * cols = 784.
//
// Pixels stay uint8 in memory; make_batch divides by 255 (values in [0, 1]) while it copies.
// A typical epoch:
//   shuffle(order, rng);
//   for (std::size_t b = 0; b < num_batches(order.size(), batch); ++b)
//     make_batch(set, order, b * batch, std::min(order.size(), (b + 1) * batch), X, y);
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/tensor.hpp"

namespace chainrule::data {

// Copies samples indices[begin..end) of `set` into X (N, D) and labels (N), N = end - begin.
// Each pixel becomes pixel / 255, in [0, 1].
// Reuses the memory of X and labels when they are big enough (no allocation).
// Asks for the pixels' cache lines before it reads them, 128 images ahead (dataset.cpp).
// Throws std::out_of_range for a bad range or index.
void make_batch(const ImageSet& set, const std::vector<int>& indices, std::size_t begin, std::size_t end,
                Tensor<float>& X, std::vector<int>& labels);

// Asks the memory system for the pixels of samples indices[begin..end) (the next batch)
// while this step computes; each thread asks for the pixel columns it will convert.
// A hint only: changes no value, skips bad indices (make_batch reports them). The work is
// fast/prefetch.cpp's. train::fit no longer calls it, as make_batch's own prefetch does
// better (docs/performance.md, "make_batch asks for its whole batch first"); bench_train's
// --prefetch 1 does, to measure it on another machine.
void prefetch_batch(const ImageSet& set, const std::vector<int>& indices, std::size_t begin, std::size_t end);

// 0, 1, ..., count - 1: every sample, in order (e.g. the whole test set).
std::vector<int> all_indices(int count);

// A holdout split of 0..count-1: disjoint, together complete, each sorted.
struct Split {
  std::vector<int> train;  // count - val.size() indices
  std::vector<int> val;    // round(count * fraction) indices, chosen by a seeded shuffle
};
// fraction must be in [0, 1) and leave at least one training sample; else std::invalid_argument.
Split split_holdout(int count, double fraction, std::uint64_t seed);

// Fisher-Yates shuffle in place with rng.below(i + 1): the same seed gives the same order.
void shuffle(std::vector<int>& indices, Rng& rng);

// Batches per epoch, counting the last partial batch: ceil(n / batch). batch must be > 0.
std::size_t num_batches(std::size_t n, std::size_t batch);

}  // namespace chainrule::data
