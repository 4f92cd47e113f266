// The portable path of the fast kernels (fast/isa.hpp): plain loops, compiled with the
// build's own flags, that the compiler vectorises as far as they allow. Every multiply-add
// is written as a fused one (__builtin_fmaf, std::fma), as the AVX2 and AVX-512 paths do
// it, so that this path gives their bits on any CPU (on one without FMA, at the price of
// fma in software).
#include "chainrule/fast/isa.hpp"
#include "chainrule/fast/isa_conv.hpp"
#include "chainrule/fast/isa_plain.hpp"

namespace chainrule::fast {
namespace {

// C tile (R x nc) (+)= A tile (R x kc) * packed B panel (kc x NR), nc <= NR.
// kList false: every k in [0, kc); true: the kc values ks[0..kc) of k, in increasing order.
template <int R, int NR, bool kATrans, bool kList>
void micro_kernel(int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp, std::ptrdiff_t ldbp,
                  float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  float acc[R][NR];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NR; ++j) acc[r][j] = (load_c && j < nc) ? c[r * ldc + j] : 0.0f;
  for (int q = 0; q < kc; ++q) {
    const std::ptrdiff_t k = kList ? ks[q] : q;
    const float* b = bp + k * ldbp;
    for (int r = 0; r < R; ++r) {
      const float av = kATrans ? a[k * lda + r] : a[r * lda + k];
      for (int j = 0; j < NR; ++j) acc[r][j] = __builtin_fmaf(av, b[j], acc[r][j]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < nc; ++j) c[r * ldc + j] = acc[r][j];
}

template <int NR, bool kATrans, bool kList>
void rows_tile(int rows, int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp,
               std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  switch (rows) {
    case 8: return micro_kernel<8, NR, kATrans, kList>(kc, ks, a, lda, bp, ldbp, c, ldc, nc, load_c);
    case 7: return micro_kernel<7, NR, kATrans, kList>(kc, ks, a, lda, bp, ldbp, c, ldc, nc, load_c);
    case 6: return micro_kernel<6, NR, kATrans, kList>(kc, ks, a, lda, bp, ldbp, c, ldc, nc, load_c);
    case 5: return micro_kernel<5, NR, kATrans, kList>(kc, ks, a, lda, bp, ldbp, c, ldc, nc, load_c);
    case 4: return micro_kernel<4, NR, kATrans, kList>(kc, ks, a, lda, bp, ldbp, c, ldc, nc, load_c);
    case 3: return micro_kernel<3, NR, kATrans, kList>(kc, ks, a, lda, bp, ldbp, c, ldc, nc, load_c);
    case 2: return micro_kernel<2, NR, kATrans, kList>(kc, ks, a, lda, bp, ldbp, c, ldc, nc, load_c);
    default: return micro_kernel<1, NR, kATrans, kList>(kc, ks, a, lda, bp, ldbp, c, ldc, nc, load_c);
  }
}
static_assert(kMR == 8, "rows_tile dispatches rows 1..8");

template <bool kATrans, bool kList>
void tiles_of(int mr, int rows, int kc, const int* ks, const int* counts, const float* a, std::ptrdiff_t lda,
              const float* bp, std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  each_tile<kATrans, kList>(mr, rows, kc, ks, counts, a, lda, c, ldc,
                            [&](int n, int count, const int* list, const float* at, float* ct) {
                              rows_tile<32, kATrans, kList>(n, count, list, at, lda, bp, ldbp, ct, ldc, nc, load_c);
                            });
}

void tiles(int nr, bool a_trans, int mr, int rows, int kc, const int* ks, const int* counts, const float* a,
           std::ptrdiff_t lda, const float* bp, std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  (void)nr;  // always 32 here (tile_cols)
  if (a_trans && ks) return tiles_of<true, true>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  if (a_trans) return tiles_of<true, false>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  if (ks) return tiles_of<false, true>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  return tiles_of<false, false>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
}

// The portable kernel stays 32 columns wide: its 16-wide form measured 4 times slower with
// GCC 12 (docs/performance.md, "Notes from the code").
int tile_cols(int) { return 32; }

// The zero-skipping products keep the dense products' tiles of 8 rows here: wider tiles or
// fewer rows gain little without vector registers to hold them.
TileShape skip_tile(bool, int N) { return {kMR, tile_cols(N), kKC}; }

// The direct convolution's tiles (fast/isa_conv.hpp): 3 rows x 32 pixels; dW blocks of
// 12 x 8 or 6 x 16 accumulators.
constexpr int kConvRows = 3, kConvCols = 32;
void conv_rows(int rows, int K, const float* a, std::ptrdiff_t ar, std::ptrdiff_t ak, const float* b, const int* boff,
               float* c, std::ptrdiff_t ldc) {
  conv_rows_any<kConvRows, kConvCols>(rows, K, a, ar, ak, b, boff, c, ldc);
}
int conv_dw_max(int no) { return no == 8 ? 12 : 6; }
void conv_dw(int no, int kb, int count, const int* list, const float* x, const int* roff, const int* xoff,
             const float* g, int ldq, int ldo, int lanes, float* acc) {
  if (no == 8) return conv_dw_any<12, 8>(kb, count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
  conv_dw_any<6, 16>(kb, count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
}

constexpr int kConvPixels = 4;
void conv_pixels(int rows, int K, const float* x, const int* poff, const int* boff, const float* w, std::ptrdiff_t ldw,
                 float* c) {
  conv_pixels_any<kConvPixels>(rows, K, x, poff, boff, w, ldw, c);
}

const IsaKernels kPortable{"portable", tiles, plain_nonzero_bits, plain_scale_pixels, plain_adam, tile_cols, skip_tile,
                           plain_pack, plain_count_bits, plain_list_from_bits, kConvCols, kConvRows, conv_rows, conv_dw_max, conv_dw, kConvPixels, conv_pixels, plain_max_pool_row};

}  // namespace

const IsaKernels* portable_kernels() { return &kPortable; }

}  // namespace chainrule::fast
