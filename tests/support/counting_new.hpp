// Replaces the global operator new and delete of one test program with versions that
// count: how many allocations were made, and the largest one. Include it in exactly one
// source file of a program of its own (replacing operator new affects the whole program).
//
// Both forms are counted: plain new (std::vector, std::string, ...) and aligned new, which
// tensors use (tensor.hpp, CacheLineAllocator). malloc and free stand behind all of them.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace counting_new {
inline std::size_t allocations = 0;  // operator new calls since the last reset
inline std::size_t largest = 0;      // the largest single request since the last reset

inline void* allocate(std::size_t n, std::size_t alignment) {
  ++allocations;
  if (n > largest) largest = n;
  if (n == 0) n = 1;
  // aligned_alloc wants a size that is a multiple of the alignment.
  void* p = alignment <= alignof(std::max_align_t) ? std::malloc(n)
                                                    : std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace counting_new

// malloc/free stand behind both, so GCC's new/free pairing warning does not apply here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) { return counting_new::allocate(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return counting_new::allocate(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
