// Asking the memory system for data ahead of time (docs/performance.md, "Round 2",
// "GCC dropped the prefetch"). A hint only: it changes no value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace chainrule::fast {

// Prefetches rows[0..count) of a table of `limit` rows of `width` bytes (MNIST's pixels:
// one 784-byte row per image), each thread the columns it will read (for_shares over the
// width, as make_batch converts them). Skips a row outside 0..limit-1.
void prefetch_rows(const std::uint8_t* table, int width, int limit, const int* rows, std::size_t count);

// One thread's part of it: columns j0..j1-1 of each row, every cache line they touch, all
// asked for before any is read. make_batch calls it right before it converts the same
// columns: a loop that only loads keeps far more misses in flight than the conversion,
// whose stores fill the core's buffers after about one image (docs/performance.md,
// "make_batch asks for its whole batch first").
void prefetch_columns(const std::uint8_t* table, int width, int limit, const int* rows, std::size_t count, int j0,
                      int j1);

}  // namespace chainrule::fast
