// Loops written plainly, shared by the paths that have no hand-written form of them
// (isa_portable.cpp, and isa_avx2.cpp for the zero-skipping masks). Each file that includes
// this gets its own copy, compiled with its own instruction-set flags (the anonymous
// namespace keeps the copies apart: docs/performance.md, "One binary, three paths").
// Only builtins here, no std:: templates: the linker keeps one copy of a template for the
// whole program, which could be the one compiled for AVX-512.
#pragma once

#include <cstddef>
#include <cstdint>

#include "chainrule/fast/isa.hpp"

namespace chainrule::fast {
namespace {

inline int imin(int a, int b) { return a < b ? a : b; }

// with_count<Max>(n, tile) calls tile(Count<R>{}) with R = n, or Max when n > Max (and 1 when
// n < 1): a count known only when the program runs picks the loop whose size is fixed when
// it compiles (the direct convolution's rows, pixels and dW accumulators per tile). The loop
// reads its size as decltype(r)::value.
template <int N>
struct Count {
  static constexpr int value = N;
};
template <int Max, class Tile>
inline void with_count(int n, Tile&& tile) {
  if constexpr (Max > 1) {
    if (n < Max) return with_count<Max - 1>(n, tile);
  }
  tile(Count<Max>{});
}

inline std::uint32_t float_bits(float x) {
  std::uint32_t u;
  __builtin_memcpy(&u, &x, sizeof u);
  return u;
}

// IsaKernels::tiles' loop over the tiles of mr rows in [0, rows): tile(rows of the tile, its
// count of k, its list or nullptr, its A, its C) for each, the list and count from ks and
// counts when kList, else every k of [0, kc).
template <bool kATrans, bool kList, class Tile>
inline void each_tile(int mr, int rows, int kc, const int* ks, const int* counts, const float* a, std::ptrdiff_t lda,
                      float* c, std::ptrdiff_t ldc, Tile tile) {
  for (int i = 0, t = 0; i < rows; i += mr, ++t)
    tile(imin(mr, rows - i), kList ? counts[t] : kc, kList ? ks + (std::ptrdiff_t)t * kc : nullptr,
         kATrans ? a + i : a + i * lda, c + i * ldc);
}

// IsaKernels::nonzero_bits, plainly: or the values of a tile together, drop the sign bit
// (-0 is a zero too), and set the bit of each k where something is left.
[[maybe_unused]] void plain_nonzero_bits(bool a_trans, const float* A, std::ptrdiff_t lda, int i0, int i1, int k0,
                                         int kc, int mr, std::uint64_t* bits) {
  const int tiles = (i1 - i0 + mr - 1) / mr;
  for (int w = 0; w < tiles * kWords; ++w) bits[w] = 0;
  if (a_trans) {  // A stored (K, M): row k0 + q holds the values of every tile at that k
    const int width = i1 - i0;
    for (int q = 0; q < kc; ++q) {
      const float* row = A + (std::ptrdiff_t)(k0 + q) * lda + i0;
      const std::uint64_t bit = std::uint64_t{1} << (q % 64);
      for (int t = 0; t < tiles; ++t) {
        std::uint32_t any = 0;
        for (int c = t * mr; c < imin(width, (t + 1) * mr); ++c) any |= float_bits(row[c]);
        if (any << 1) bits[t * kWords + q / 64] |= bit;
      }
    }
    return;
  }
  for (int t = 0; t < tiles; ++t) {  // A stored (M, K): or the tile's rows together
    const float* a = A + (std::ptrdiff_t)(i0 + t * mr) * lda + k0;
    const int rows = imin(mr, i1 - i0 - t * mr);
    std::uint64_t* words = bits + t * kWords;
    std::uint32_t any[kKC];
    for (int q = 0; q < kc; ++q) any[q] = float_bits(a[q]);
    for (int r = 1; r < rows; ++r)
      for (int q = 0; q < kc; ++q) any[q] |= float_bits(a[r * lda + q]);
    for (int q = 0; q < kc; ++q) words[q / 64] |= std::uint64_t{(any[q] << 1) != 0} << (q % 64);
  }
}

// IsaKernels::pack: copies a panel of B into the packing buffer, zero-padded to nr columns.
[[maybe_unused]] void plain_pack(bool b_trans, const float* B, std::ptrdiff_t ldb, int k0, int kc, int j0, int nc,
                                 int nr, float* bp) {
  if (b_trans) {  // B stored (N, K): walk each stored row (one column of the panel)
    for (int k = 0; k < kc; ++k)
      for (int j = nc; j < nr; ++j) bp[k * nr + j] = 0.0f;
    for (int j = 0; j < nc; ++j) {
      const float* src = B + (j0 + j) * ldb + k0;
      for (int k = 0; k < kc; ++k) bp[k * nr + j] = src[k];
    }
    return;
  }
  for (int k = 0; k < kc; ++k) {  // B stored (K, N): copy a row piece at a time
    const float* src = B + (k0 + k) * ldb + j0;
    float* dst = bp + k * nr;
    for (int j = 0; j < nc; ++j) dst[j] = src[j];
    for (int j = nc; j < nr; ++j) dst[j] = 0.0f;
  }
}

[[maybe_unused]] std::size_t plain_count_bits(const std::uint64_t* words, std::size_t n) {
  std::size_t count = 0;
  for (std::size_t w = 0; w < n; ++w) count += static_cast<std::size_t>(__builtin_popcountll(words[w]));
  return count;
}

[[maybe_unused]] int plain_list_from_bits(const std::uint64_t* words, int kc, int* list) {
  int n = 0;
  for (int w = 0; w < (kc + 63) / 64; ++w)
    for (std::uint64_t b = words[w]; b != 0; b &= b - 1) list[n++] = 64 * w + __builtin_ctzll(b);
  return n;
}

// IsaKernels::scale_pixels: the division itself, which GCC vectorises with the file's flags.
[[maybe_unused]] void plain_scale_pixels(const std::uint8_t* pixels, float* x, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) x[j] = static_cast<float>(pixels[j]) / 255.0f;
}

// The same quotients without the divider, for the paths with fused multiply-adds. q = p * (1/255)
// is one unit in the last place off for 126 of the 256 byte values; r = p - 255 q is exact (an
// FMA), and q + r (1/255) rounds to the correctly rounded quotient for all 256 (the test
// "instruction-set paths: make_batch scales every byte value ..." checks every byte on every
// path). A division of 16 floats holds the divider for about 9 cycles on an Intel Xeon of the
// Sapphire Rapids class, so make_batch's 6,272 per batch would hold it for 21 us there, and
// Adam needs it (docs/performance.md, "A second machine: an Intel Xeon").
[[maybe_unused]] void fma_scale_pixels(const std::uint8_t* pixels, float* x, std::size_t n) {
  constexpr float inv = 1.0f / 255.0f;
  for (std::size_t j = 0; j < n; ++j) {
    const float p = static_cast<float>(pixels[j]);
    const float q = p * inv;
    x[j] = __builtin_fmaf(__builtin_fmaf(-q, 255.0f, p), inv, q);
  }
}

// Adam's plain loop (Adam::step in optim.cpp), value for value: two fused multiply-adds,
// then correctly rounded divisions and square root.
[[maybe_unused]] void plain_adam(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k) {
  const float one_minus_b1 = 1.0f - k.b1, one_minus_b2 = 1.0f - k.b2;
  for (std::size_t j = 0; j < n; ++j) {
    m[j] = __builtin_fmaf(k.b1, m[j], one_minus_b1 * g[j]);
    s[j] = __builtin_fmaf(k.b2, s[j], one_minus_b2 * g[j] * g[j]);
    w[j] -= k.lr * (m[j] / k.c1) / (__builtin_sqrtf(s[j] / k.c2) + k.eps);
  }
}


// IsaKernels::max_pool_row, plainly: the window's four values in MaxPool2d::forward's order.
[[maybe_unused]] void plain_max_pool_row(const float* top, const float* bottom, int wo, int first, int width, float* y,
                                         int* argmax, std::uint8_t* place) {
  for (int j = 0; j < wo; ++j) {
    const float v[4] = {top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]};
    float best = v[0];
    int at = 0;
    for (int t = 1; t < 4; ++t) {
      const bool larger = v[t] > best;
      best = larger ? v[t] : best;
      at = larger ? t : at;
    }
    y[j] = best;
    argmax[j] = first + 2 * j + at % 2 + at / 2 * width;
    place[j] = static_cast<std::uint8_t>(at);
  }
}

}  // namespace
}  // namespace chainrule::fast
