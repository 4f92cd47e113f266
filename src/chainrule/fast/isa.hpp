// The instruction-set paths of the fast kernels, chosen when the program runs
// (docs/performance.md, "One binary, three paths"). Each path is one file compiled with its
// own instruction-set flags, whatever the rest of the build uses:
//   isa_avx512.cpp    AVX-512F intrinsics              (-mavx512f -mavx512bw ...)
//   isa_avx2.cpp      AVX2 + FMA intrinsics            (-mavx2 -mfma, never AVX-512)
//   isa_portable.cpp  plain loops with std::fma        (the build's own flags)
// A path is a table of the three loops that differ by instruction set: a micro-tile of a
// product, the zero-skipping bit masks, and Adam's update. Everything around them (blocking,
// packing, threads) is the same code for every path (gemm.cpp, adam.cpp).
//
// Same bits on every path: each entry of C is one fused multiply-add per visited k, in
// increasing k, from the same start; Adam rounds after the same operations. Only the width of
// the vectors, and so the number of entries computed at once, differs. The micro-tiles of the
// zero-skipping products may differ between paths (skip_tile): a k left out is one where the
// tile's rows of A are all zero, whose multiply-add would have left the sum as it was, so the
// shape of a tile changes how much work is done, never a value.
#pragma once

#include <cstddef>
#include <cstdint>

#include "chainrule/kernels.hpp"

namespace chainrule::fast {

constexpr int kMR = 8;    // rows of A per micro-tile, at most (and the tiles of the dense products)
constexpr int kKC = 256;  // longest K block: a packed panel is kKC * nr floats
constexpr int kWords = kKC / 64;  // a tile's bit mask over the k of one K block
constexpr int kPanelFloats = kKC * 64;  // the packing buffer: kc * nr of every tile shape fits
static_assert(kKC % 64 == 0, "a K block fills whole 64-bit words");
constexpr int kListSpill = 16;  // IsaKernels::list_from_bits may write this far past a list

// The shape of a micro-tile: rows of C (and of A) x columns of C, over K blocks of at most kc.
struct TileShape {
  int rows;  // 1 .. kMR
  int cols;  // nr: 16, 32, 64 or 128 (the widths the path's tile takes)
  int kc;    // the longest K block; kc * cols <= kPanelFloats
};

struct IsaKernels {
  const char* name;  // "avx512", "avx2", "portable" (CHAINRULE_KERNELS takes the same names)
  // C (rows x nc) (+)= A (rows x the k visited) * a panel of B (kc rows of nr floats, ldbp
  // apart, zero-padded when packed), in tiles of mr rows (mr <= kMR), nc <= nr, nr one of the
  // widths skip_tile and tile_cols give. ks: tile t visits the counts[t] values of k at
  // ks + t * kc, increasing; nullptr: every tile visits every k in [0, kc). A(r, k) =
  // a[r * lda + k], or a[k * lda + r] when a_trans. load_c: start from C's values (else from 0).
  // One call per panel: the choice of loop is made once, not for every tile.
  void (*tiles)(int nr, bool a_trans, int mr, int rows, int kc, const int* ks, const int* counts, const float* a,
                std::ptrdiff_t lda, const float* bp, std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc,
                bool load_c);
  // One bit per (tile of mr rows in [i0, i1), k in [k0, k0 + kc)): bits[t * kWords + q / 64]
  // bit q % 64 is set when some row of tile t holds a nonzero A(i, k0 + q) (+0 and -0 are zeros).
  // mr is 1, 2, 4 or 8.
  void (*nonzero_bits)(bool a_trans, const float* A, std::ptrdiff_t lda, int i0, int i1, int k0, int kc, int mr,
                       std::uint64_t* bits);
  // x[j] = pixels[j] / 255.0f for j < n: make_batch's conversion (data/dataset.cpp), compiled
  // with each path's flags (the portable binary's own code divides 4 at a time, and its
  // make_batch took 22 instead of 14 µs per step). The portable path divides; AVX2 and
  // AVX-512 take the quotient's bits from a product and two FMAs (fma_scale_pixels,
  // isa_plain.hpp), which keeps the divider free for Adam.
  void (*scale_pixels)(const std::uint8_t* pixels, float* x, std::size_t n);
  // Adam's plain loop (optim.cpp) over n values.
  void (*adam)(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k);
  // The micro-tile width of a dense product (kMR rows) with N columns: 16 or 32.
  int (*tile_cols)(int N);
  // The micro-tile of a zero-skipping product (A^T B when a_trans, else A B) with N columns:
  // fewer rows than kMR leave out more k (a k is visited when one of the tile's rows is
  // nonzero there), at the price of fewer values of A per value of B loaded.
  TileShape (*skip_tile)(bool a_trans, int N);
  // Copies B(k0 .. k0+kc, j0 .. j0+nc) into bp as kc rows of nr floats, zero-padded; B is
  // stored (K, N) with rows ldb apart, or (N, K) when b_trans (the nt form).
  void (*pack)(bool b_trans, const float* B, std::ptrdiff_t ldb, int k0, int kc, int j0, int nc, int nr, float* bp);
  // The number of set bits in words[0..n).
  std::size_t (*count_bits)(const std::uint64_t* words, std::size_t n);
  // The set bits of one tile's words (bits q < kc; the others are zero) as a list of q, in
  // increasing order; returns its length. May write up to kListSpill values past the list's
  // end (whole vectors at a time): the storage must have that room.
  int (*list_from_bits)(const std::uint64_t* words, int kc, int* list);
  // The direct convolution's two loops (fast/isa_conv.hpp, used by fast/conv.cpp):
  // conv_rows: C (rows x conv_cols) = sum over k in [0, K) of a[r * ar + k * ak] * b[boff[k] + q],
  //   from 0, rows <= conv_rows_max, written to c[r * ldc + q] (every one of the conv_cols q).
  // conv_dw: acc (kb x no) += sum over q in list[0 .. count) of x[roff[q] + xoff[k]] * g(q, o),
  //   g(q, o) = g[q * ldq + o * ldo] for o < lanes, 0 for the other lanes (ldo = 1: no
  //   contiguous floats; else gathered, as from dY channel after channel); no = 8 or 16,
  //   kb <= conv_dw_max(no); acc[k * no + o] is read and written back.
  int conv_cols;
  int conv_rows_max;
  void (*conv_rows)(int rows, int K, const float* a, std::ptrdiff_t ar, std::ptrdiff_t ak, const float* b,
                    const int* boff, float* c, std::ptrdiff_t ldc);
  int (*conv_dw_max)(int no);
  void (*conv_dw)(int no, int kb, int count, const int* list, const float* x, const int* roff, const int* xoff,
                  const float* g, int ldq, int ldo, int lanes, float* acc);
  // conv_pixels: C (rows x 16) = sum over k in [0, K) of x[poff[r] + boff[k]] * w[k * ldw + o],
  //   from 0, rows <= conv_pixels_max, written to c[r * 16 + o]: 16 output channels of `rows`
  //   pixels at once (the forward of a layer whose channels come in sixteens).
  int conv_pixels_max;
  void (*conv_pixels)(int rows, int K, const float* x, const int* poff, const int* boff, const float* w,
                      std::ptrdiff_t ldw, float* c);
  // One row of 2 x 2 max-pooling windows at stride 2 (fast/pool.cpp): for j < wo, the window
  // of top[2j], top[2j + 1], bottom[2j], bottom[2j + 1], taken in that order with a strict >
  // (the first of equal maxima): y[j] = its max, place[j] = 0, 1, 2 or 3 for where it lies,
  // argmax[j] = first + 2j + place % 2 + (place / 2) * width.
  void (*max_pool_row)(const float* top, const float* bottom, int wo, int first, int width, float* y, int* argmax,
                       std::uint8_t* place);
};

// The paths compiled into this program; nullptr for one this build or CPU family cannot have
// (avx512 and avx2 on a CPU other than x86-64).
const IsaKernels* avx512_kernels();
const IsaKernels* avx2_kernels();
const IsaKernels* portable_kernels();

// The path in use: set_kernel_isa's, else CHAINRULE_KERNELS's, else the best this CPU runs.
const IsaKernels& isa_kernels();

}  // namespace chainrule::fast
