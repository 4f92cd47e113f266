// The two inner loops of the direct convolution (fast/conv.cpp), written plainly and compiled
// once per path: isa_avx512.cpp, isa_avx2.cpp and isa_portable.cpp each include this file and
// instantiate the loops with tile sizes that fit their registers (the anonymous namespace
// keeps the copies apart, as in isa_plain.hpp). The compiler vectorises the innermost loop of
// each, over NQ or NO contiguous floats; the tile sizes are template arguments so that the
// accumulators can live in registers.
//
// The tiles are kept out of line (noinline): inlined into with_count's chain, GCC 12 made the
// portable path's LeNet-5 step 12% slower (13.5-14.2 against 12.1-12.3 ms).
//
// Every sum is one fused multiply-add per term, in the order the caller lists the terms,
// from the start the caller gives: the order of the im2col products it replaces
// (fast/conv.cpp says which order that is).
#pragma once

#include <cstddef>

#include "chainrule/fast/isa.hpp"
#include "chainrule/fast/isa_plain.hpp"  // with_count

namespace chainrule::fast {
namespace {

// C (R x NQ) = sum over k in [0, K), in increasing k, of a(r, k) * b(k, q), from 0:
//   a(r, k) = a[r * ar + k * ak]   (one weight, broadcast)
//   b(k, q) = b[boff[k] + q]       (NQ contiguous floats: pixels of one image)
// C is written to c[r * ldc + q], all NQ columns.
template <int R, int NQ>
__attribute__((noinline)) void conv_rows_tile(int K, const float* a, std::ptrdiff_t ar, std::ptrdiff_t ak, const float* b, const int* boff,
                    float* c, std::ptrdiff_t ldc) {
  float acc[R][NQ];
  #pragma GCC unroll 32
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NQ; ++q) acc[r][q] = 0.0f;
  for (int k = 0; k < K; ++k) {
    const float* bk = b + boff[k];
    #pragma GCC unroll 32
    for (int r = 0; r < R; ++r) {
      const float w = a[r * ar + k * ak];
      for (int q = 0; q < NQ; ++q) acc[r][q] = __builtin_fmaf(w, bk[q], acc[r][q]);
    }
  }
  #pragma GCC unroll 32
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < NQ; ++q) c[r * ldc + q] = acc[r][q];
}

// rows of C in 1 .. RMax, dispatched to the tile of that height.
template <int RMax, int NQ>
void conv_rows_any(int rows, int K, const float* a, std::ptrdiff_t ar, std::ptrdiff_t ak, const float* b,
                   const int* boff, float* c, std::ptrdiff_t ldc) {
  with_count<RMax>(rows, [=](auto r) { conv_rows_tile<decltype(r)::value, NQ>(K, a, ar, ak, b, boff, c, ldc); });
}

// C (R x 16) = sum over k in [0, K), in increasing k, of x(r, k) * w(k, o), from 0:
//   x(r, k) = x[poff[r] + boff[k]]   (one pixel of the bordered image, broadcast)
//   w(k, o) = w[k * ldw + o]         (16 contiguous weights: W's row k)
// written to c[r * 16 + o].
template <int R>
__attribute__((noinline)) void conv_pixels_tile(int K, const float* x, const int* poff, const int* boff, const float* w, std::ptrdiff_t ldw,
                      float* c) {
  float acc[R][16];
  #pragma GCC unroll 32
  for (int r = 0; r < R; ++r)
    for (int o = 0; o < 16; ++o) acc[r][o] = 0.0f;
  for (int k = 0; k < K; ++k) {
    const float* wk = w + k * ldw;
    #pragma GCC unroll 32
    for (int r = 0; r < R; ++r) {
      const float xv = x[poff[r] + boff[k]];
      for (int o = 0; o < 16; ++o) acc[r][o] = __builtin_fmaf(xv, wk[o], acc[r][o]);
    }
  }
  #pragma GCC unroll 32
  for (int r = 0; r < R; ++r)
    for (int o = 0; o < 16; ++o) c[r * 16 + o] = acc[r][o];
}

template <int RMax>
void conv_pixels_any(int rows, int K, const float* x, const int* poff, const int* boff, const float* w,
                     std::ptrdiff_t ldw, float* c) {
  with_count<RMax>(rows, [=](auto r) { conv_pixels_tile<decltype(r)::value>(K, x, poff, boff, w, ldw, c); });
}

// acc (KB x NO) += sum over the pixels q = list[0], list[1], ... list[count - 1] (increasing)
// of x(q, k) * g(q, o):
//   x(q, k) = x[roff[q] + xoff[k]]   (one pixel of the bordered image, broadcast)
//   g(q, o) = g[q * ldq + o * ldo]   (dL/dY of channel o at pixel q; 0 for o >= lanes)
// acc is read from and written back to acc[k * NO + o]: each entry one chain over the list.
template <int KB, int NO>
__attribute__((noinline)) void conv_dw_tile(int count, const int* list, const float* x, const int* roff, const int* xoff, const float* g,
                  int ldq, int ldo, int lanes, float* acc_out) {
  float acc[KB][NO];
  #pragma GCC unroll 32
  for (int k = 0; k < KB; ++k)
    for (int o = 0; o < NO; ++o) acc[k][o] = acc_out[k * NO + o];
  for (int i = 0; i < count; ++i) {
    const int q = list[i];
    const float* xr = x + roff[q];
    float gr[NO];
    for (int o = 0; o < NO; ++o) gr[o] = o < lanes ? g[(std::ptrdiff_t)q * ldq + (std::ptrdiff_t)o * ldo] : 0.0f;
    #pragma GCC unroll 32
    for (int k = 0; k < KB; ++k) {
      const float xv = xr[xoff[k]];
      for (int o = 0; o < NO; ++o) acc[k][o] = __builtin_fmaf(xv, gr[o], acc[k][o]);
    }
  }
  #pragma GCC unroll 32
  for (int k = 0; k < KB; ++k)
    for (int o = 0; o < NO; ++o) acc_out[k * NO + o] = acc[k][o];
}

template <int KBMax, int NO>
void conv_dw_any(int kb, int count, const int* list, const float* x, const int* roff, const int* xoff,
                 const float* g, int ldq, int ldo, int lanes, float* acc) {
  with_count<KBMax>(kb, [=](auto n) {
    conv_dw_tile<decltype(n)::value, NO>(count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
  });
}

}  // namespace
}  // namespace chainrule::fast
