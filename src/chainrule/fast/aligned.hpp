// Storage that starts on a 64-byte boundary, the size of a cache line, for tensors
// (tensor.hpp's Values). Threads share out a tensor in whole multiples of 16 floats
// (fast/threads.hpp, share_range), so with aligned storage two threads never write the
// same cache line (docs/performance.md, "Step 4: threads", "How the first split went wrong").
#pragma once

#include <cstddef>
#include <new>

// In namespace chainrule, not chainrule::fast: argument-dependent lookup then finds
// tensor.hpp's operator== for Values.
namespace chainrule {

template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlignment); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept { return true; }
};

}  // namespace chainrule
