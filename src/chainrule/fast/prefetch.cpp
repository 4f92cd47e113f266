#include "chainrule/fast/prefetch.hpp"

#include "chainrule/fast/threads.hpp"

namespace chainrule::fast {

void prefetch_rows(const std::uint8_t* table, int width, int limit, const int* rows, std::size_t count) {
  for_shares(width, count * static_cast<std::size_t>(width), [&](int j0, int j1) {
    for (std::size_t i = 0; i < count; ++i) {
      const int r = rows[i];
      if (r < 0 || r >= limit) continue;
      const std::uint8_t* row = table + static_cast<std::size_t>(r) * static_cast<std::size_t>(width);
      for (int j = j0; j < j1; j += 64) __builtin_prefetch(row + j);  // one 64-byte line at a time
    }
    // Keeps GCC from dropping the prefetches as free of effects (docs/performance.md, "Round 2").
    __asm__ volatile("" ::: "memory");
  });
}

}  // namespace chainrule::fast
