#include "chainrule/fast/prefetch.hpp"

#include "chainrule/fast/threads.hpp"

namespace chainrule::fast {

void prefetch_columns(const std::uint8_t* table, int width, int limit, const int* rows, std::size_t count, int j0,
                      int j1) {
  if (j0 >= j1) return;
  for (std::size_t i = 0; i < count; ++i) {
    const int r = rows[i];
    if (r < 0 || r >= limit) continue;
    const std::uint8_t* row = table + static_cast<std::size_t>(r) * static_cast<std::size_t>(width);
    // Every 64-byte line from the one holding column j0 to the one holding column j1 - 1.
    const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(row + j0) & ~std::uintptr_t{63};
    const std::uintptr_t last = reinterpret_cast<std::uintptr_t>(row + j1 - 1);
    for (std::uintptr_t line = first; line <= last; line += 64) __builtin_prefetch(reinterpret_cast<const void*>(line));
  }
  // Keeps GCC from dropping the prefetches as free of effects (docs/performance.md, "Round 2").
  __asm__ volatile("" ::: "memory");
}

void prefetch_rows(const std::uint8_t* table, int width, int limit, const int* rows, std::size_t count) {
  for_shares(width, count * static_cast<std::size_t>(width),
             [&](int j0, int j1) { prefetch_columns(table, width, limit, rows, count, j0, j1); });
}

}  // namespace chainrule::fast
