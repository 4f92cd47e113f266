// The AVX2 + FMA path of the fast kernels (fast/isa.hpp), 8 floats per instruction: for
// the CPUs without AVX-512 (most laptops: Intel's consumer CPUs since the 12th generation,
// AMD's before Zen 4). Compiled with -mavx2 -mfma and never AVX-512 (CMakeLists.txt), it
// runs only on a CPU with AVX2 and FMA (isa_kernels() checks). Without those flags (a CPU
// family other than x86-64) it compiles to nothing and avx2_kernels() returns nullptr.
#include "chainrule/fast/isa.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "chainrule/fast/isa_plain.hpp"

namespace chainrule::fast {
namespace {

// The first n lanes of 8 (all bits set), for the masked loads and stores at C's right edge.
inline __m256i first_lanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// C block (R x nc) (+)= A rows (R x kc) * 16 columns of the packed panel (kc rows, bstride
// floats apart), R <= 6, nc <= 16. Sixteen ymm registers hold 2R accumulators, the two
// vectors of B's row k and A(r, k) broadcast: 6 x 16 is the largest block that fits.
// kList false: every k in [0, kc); true: the kc values ks[0..kc) of k, in increasing order.
template <int R, bool kATrans, bool kList>
void block_rx16(int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp, std::ptrdiff_t bstride, float* c,
                std::ptrdiff_t ldc, int nc, bool load_c) {
  const bool full = nc >= 16;
  const __m256i mask0 = first_lanes(nc), mask1 = first_lanes(nc - 8);
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    if (!load_c) {
      acc[r][0] = _mm256_setzero_ps();
      acc[r][1] = _mm256_setzero_ps();
    } else if (full) {
      acc[r][0] = _mm256_loadu_ps(cr);
      acc[r][1] = _mm256_loadu_ps(cr + 8);
    } else {
      acc[r][0] = _mm256_maskload_ps(cr, mask0);
      acc[r][1] = _mm256_maskload_ps(cr + 8, mask1);
    }
  }
  for (int q = 0; q < kc; ++q) {
    const std::ptrdiff_t k = kList ? ks[q] : q;
    const float* bk = bp + k * bstride;  // row k of the packed panel, from this block's column
    const __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(kATrans ? a + k * lda + r : a + r * lda + k);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    if (full) {
      _mm256_storeu_ps(cr, acc[r][0]);
      _mm256_storeu_ps(cr + 8, acc[r][1]);
    } else {
      _mm256_maskstore_ps(cr, mask0, acc[r][0]);
      _mm256_maskstore_ps(cr + 8, mask1, acc[r][1]);
    }
  }
}

// An 8-row tile as two blocks of 4 rows. Blocks of 6 + 2 rows (12 accumulators, which hide
// the FMA's latency better) measured slower on MNIST batches: the 2-row block pays the walk
// over the k list and B's loads again for a third of the work (docs/performance.md,
// "The AVX2 path").
constexpr int kBlockRows = 4;
static_assert(kBlockRows >= 1 && kBlockRows <= 6, "a block fits the 16 ymm registers");

template <bool kATrans, bool kList>
void block(int rows, int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp, std::ptrdiff_t bstride,
           float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  switch (rows) {
    case 6: return block_rx16<6, kATrans, kList>(kc, ks, a, lda, bp, bstride, c, ldc, nc, load_c);
    case 5: return block_rx16<5, kATrans, kList>(kc, ks, a, lda, bp, bstride, c, ldc, nc, load_c);
    case 4: return block_rx16<4, kATrans, kList>(kc, ks, a, lda, bp, bstride, c, ldc, nc, load_c);
    case 3: return block_rx16<3, kATrans, kList>(kc, ks, a, lda, bp, bstride, c, ldc, nc, load_c);
    case 2: return block_rx16<2, kATrans, kList>(kc, ks, a, lda, bp, bstride, c, ldc, nc, load_c);
    default: return block_rx16<1, kATrans, kList>(kc, ks, a, lda, bp, bstride, c, ldc, nc, load_c);
  }
}

// A micro-tile of up to 8 rows x nr columns as blocks of up to kBlockRows rows x 16
// columns, each over the tile's whole list of k (the k where some row of the 8 is nonzero):
// every entry of C gets the same multiply-adds, in the same order, as on the AVX-512 path.
template <bool kATrans, bool kList>
void rows_tile(int rows, int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp,
               std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  for (int r0 = 0; r0 < rows; r0 += kBlockRows) {
    const float* ar = kATrans ? a + r0 : a + r0 * lda;
    for (int j = 0; j < nc; j += 16)
      block<kATrans, kList>(imin(kBlockRows, rows - r0), kc, ks, ar, lda, bp + j, ldbp, c + r0 * ldc + j, ldc,
                            imin(16, nc - j), load_c);
  }
}

template <bool kATrans, bool kList>
void tiles_of(int mr, int rows, int kc, const int* ks, const int* counts, const float* a, std::ptrdiff_t lda,
              const float* bp, std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  each_tile<kATrans, kList>(mr, rows, kc, ks, counts, a, lda, c, ldc,
                            [&](int n, int count, const int* list, const float* at, float* ct) {
                              rows_tile<kATrans, kList>(n, count, list, at, lda, bp, ldbp, ct, ldc, nc, load_c);
                            });
}

void tiles(int, bool a_trans, int mr, int rows, int kc, const int* ks, const int* counts, const float* a,
           std::ptrdiff_t lda, const float* bp, std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  if (a_trans && ks) return tiles_of<true, true>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  if (a_trans) return tiles_of<true, false>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  if (ks) return tiles_of<false, true>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  return tiles_of<false, false>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
}

int tile_cols(int N) { return N <= 16 ? 16 : 32; }

// Zero skipping's tiles: 4 rows instead of 8 when the product has at least 64 columns, run as
// the same blocks of 4 x 16, so that each block walks a shorter list of k (a k is needed by
// 39% of the tiles of 4 MNIST images against 47% of the tiles of 8, and by 28% of the tiles
// of 4 pixels against 39%): X W1 7% and X^T dZ1 17% faster (docs/performance.md, "Smaller
// tiles for zero skipping").
TileShape skip_tile(bool, int N) {
  if (N < 64) return {kMR, tile_cols(N), kKC};
  return {4, 32, kKC};
}

// IsaKernels::nonzero_bits, 8 values at a time (an unordered compare: a NaN is nonzero, -0
// is zero), with no branch that a new batch of images would mispredict.
// - nn (A stored (M, K)): the tile's rows are or-ed together, and each 8 k give a byte of the
//   tile's word.
// - tn (A stored (K, M), a tile's mr values at one k side by side): first each 8 values of a
//   row give a byte of their nonzero lanes, kept for 64 rows; then one test per tile over 32
//   rows' bytes at once gives 32 bits of its word.
inline __m256 load_values(const float* x, int n) {
  return n >= 8 ? _mm256_loadu_ps(x) : _mm256_maskload_ps(x, first_lanes(n));
}
inline unsigned nonzero_lanes(__m256 v) {
  return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ)));
}

void nonzero_bits(bool a_trans, const float* A, std::ptrdiff_t lda, int i0, int i1, int k0, int kc, int mr,
                  std::uint64_t* bits) {
  if (mr > 8 || 8 % mr != 0) return plain_nonzero_bits(a_trans, A, lda, i0, i1, k0, kc, mr, bits);
  const int tiles = (i1 - i0 + mr - 1) / mr, width = i1 - i0;
  for (int w = 0; w < tiles * kWords; ++w) bits[w] = 0;
  if (!a_trans) {
    for (int t = 0; t < tiles; ++t) {
      const float* a = A + (std::ptrdiff_t)(i0 + t * mr) * lda + k0;
      const int rows = imin(mr, width - t * mr);
      std::uint64_t* words = bits + t * kWords;
      for (int q = 0; q < kc; q += 8) {
        __m256 any = load_values(a + q, kc - q);
        for (int r = 1; r < rows; ++r) any = _mm256_or_ps(any, load_values(a + r * lda + q, kc - q));
        words[q / 64] |= std::uint64_t{nonzero_lanes(any)} << (q % 64);
      }
    }
    return;
  }
  alignas(32) std::uint8_t lanes[128 * 64];  // [vector v][row q - q0]: 128 vectors of 8 values
  const __m256i zero = _mm256_setzero_si256();
  for (int c0 = 0; c0 < width; c0 += 128 * 8) {
    const int vectors = (imin(width - c0, 128 * 8) + 7) / 8;
    for (int q0 = 0; q0 < kc; q0 += 64) {
      const int rows = imin(kc - q0, 64);
      for (int q = 0; q < 64; ++q) {
        const float* row = A + (std::ptrdiff_t)(k0 + q0 + q) * lda + i0 + c0;
        for (int v = 0; v < vectors; ++v)
          lanes[v * 64 + q] = q < rows ? static_cast<std::uint8_t>(nonzero_lanes(load_values(row + 8 * v, width - c0 - 8 * v))) : 0;
      }
      for (int v = 0; v < vectors; ++v) {
        const __m256i low = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes + v * 64));
        const __m256i high = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes + v * 64 + 32));
        for (int t = 0; t < 8 / mr && c0 + 8 * v + t * mr < width; ++t) {
          const __m256i tile = _mm256_set1_epi8(static_cast<char>(((1u << mr) - 1u) << (t * mr)));
          // A byte whose tile lanes are all zero compares equal to 0: its bit is cleared.
          const auto lo = ~static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(low, tile), zero)));
          const auto hi = ~static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(high, tile), zero)));
          bits[(c0 + 8 * v + t * mr) / mr * kWords + q0 / 64] = lo | std::uint64_t{hi} << 32;
        }
      }
    }
  }
}

// IsaKernels::list_from_bits, 8 bits at a time: a table gives the positions of each byte's set
// bits packed to the front; they are widened, offset and stored as a whole vector, and the
// next part's overwrite the unused lanes. No branch depends on the bits.
struct ListTable {
  std::uint8_t at[256][8];
};
constexpr ListTable make_list_table() {
  ListTable table{};
  for (int part = 0; part < 256; ++part) {
    int n = 0;
    for (int b = 0; b < 8; ++b)
      if (part >> b & 1) table.at[part][n++] = static_cast<std::uint8_t>(b);
  }
  return table;
}
constexpr ListTable kListTable = make_list_table();

int list_from_bits(const std::uint64_t* words, int kc, int* list) {
  int n = 0;
  for (int q0 = 0; q0 < kc; q0 += 8) {
    const auto part = static_cast<unsigned>(words[q0 / 64] >> (q0 % 64)) & 0xFFu;
    const __m256i at = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(kListTable.at[part])));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(list + n), _mm256_add_epi32(at, _mm256_set1_epi32(q0)));
    n += __builtin_popcount(part);
  }
  return n;
}

// Adam's plain loop (Adam::step, optim.cpp) on 8 values at a time, rounding after the same
// operations as the AVX-512 path. The last n % 8 values are loaded and stored under a lane
// mask; the lanes outside it hold zeros, whose square root and divisions raise nothing.
// A division by a bias correction of exactly 1 is left out, as on the AVX-512 path.
template <bool kDivC1, bool kDivC2>
void adam_loop(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k) {
  const __m256 b1 = _mm256_set1_ps(k.b1), b2 = _mm256_set1_ps(k.b2);
  const __m256 one_minus_b1 = _mm256_set1_ps(1.0f - k.b1), one_minus_b2 = _mm256_set1_ps(1.0f - k.b2);
  const __m256 lr = _mm256_set1_ps(k.lr), c1 = _mm256_set1_ps(k.c1), c2 = _mm256_set1_ps(k.c2);
  const __m256 eps = _mm256_set1_ps(k.eps);
  const auto one = [&](const __m256 gv, const __m256 m0, const __m256 s0, const __m256 w0, __m256& m1, __m256& s1,
                       __m256& w1) {
    m1 = _mm256_fmadd_ps(b1, m0, _mm256_mul_ps(one_minus_b1, gv));
    s1 = _mm256_fmadd_ps(b2, s0, _mm256_mul_ps(_mm256_mul_ps(one_minus_b2, gv), gv));
    // Every m +0 or -0 and no s NaN: the step is lr m, with the same bits (isa_avx512.cpp,
    // skip_zero_moments), without the divisions and the square root.
    if (_mm256_movemask_ps(_mm256_or_ps(_mm256_cmp_ps(m1, _mm256_setzero_ps(), _CMP_NEQ_UQ),
                                        _mm256_cmp_ps(s1, s1, _CMP_UNORD_Q))) == 0) {
      w1 = _mm256_sub_ps(w0, _mm256_mul_ps(lr, m1));
      return;
    }
    const __m256 m_hat = kDivC1 ? _mm256_div_ps(m1, c1) : m1;
    const __m256 s_hat = kDivC2 ? _mm256_div_ps(s1, c2) : s1;
    const __m256 step = _mm256_div_ps(_mm256_mul_ps(lr, m_hat), _mm256_add_ps(_mm256_sqrt_ps(s_hat), eps));
    w1 = _mm256_sub_ps(w0, step);
  };
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 mv, sv, wv;
    one(_mm256_loadu_ps(g + j), _mm256_loadu_ps(m + j), _mm256_loadu_ps(s + j), _mm256_loadu_ps(w + j), mv, sv, wv);
    _mm256_storeu_ps(m + j, mv);
    _mm256_storeu_ps(s + j, sv);
    _mm256_storeu_ps(w + j, wv);
  }
  if (j < n) {
    const __m256i lanes = first_lanes(static_cast<int>(n - j));
    __m256 mv, sv, wv;
    one(_mm256_maskload_ps(g + j, lanes), _mm256_maskload_ps(m + j, lanes), _mm256_maskload_ps(s + j, lanes),
        _mm256_maskload_ps(w + j, lanes), mv, sv, wv);
    _mm256_maskstore_ps(m + j, lanes, mv);
    _mm256_maskstore_ps(s + j, lanes, sv);
    _mm256_maskstore_ps(w + j, lanes, wv);
  }
}

void adam(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k) {
  if (k.c1 != 1.0f) return adam_loop<true, true>(n, w, g, m, s, k);  // (c2 is 1 after c1 only)
  if (k.c2 != 1.0f) return adam_loop<false, true>(n, w, g, m, s, k);
  return adam_loop<false, false>(n, w, g, m, s, k);
}

// The direct convolution's loops (fast/isa_conv.hpp has them plainly, with the contract).
// conv_rows: a tile of R rows x 16 pixels (two vectors per row), R <= 5: 10 accumulators,
// the two vectors of b and one broadcast weight in the 16 ymm registers.
constexpr int kConvRows = 5, kConvCols = 16;
template <int R>
void conv_rows_tile(int K, const float* a, std::ptrdiff_t ar, std::ptrdiff_t ak, const float* b, const int* boff,
                    float* c, std::ptrdiff_t ldc) {
  __m256 acc[R][2];
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int k = 0; k < K; ++k) {
    const float* bk = b + boff[k];
    const __m256 b0 = _mm256_loadu_ps(bk), b1 = _mm256_loadu_ps(bk + 8);
    #pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 w = _mm256_broadcast_ss(a + r * ar + k * ak);
      acc[r][0] = _mm256_fmadd_ps(w, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(w, b1, acc[r][1]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}
void conv_rows(int rows, int K, const float* a, std::ptrdiff_t ar, std::ptrdiff_t ak, const float* b, const int* boff,
               float* c, std::ptrdiff_t ldc) {
  with_count<kConvRows>(rows, [=](auto r) { conv_rows_tile<decltype(r)::value>(K, a, ar, ak, b, boff, c, ldc); });
}

// conv_dw: KB x V accumulator vectors (V = 1: 8 channels, KB <= 12; V = 2: 16 channels,
// KB <= 6); the channels of a pixel loaded (ldo = 1) or gathered from dY as it lies.
template <int KB, int V, bool kGather>
void conv_dw_tile(int count, const int* list, const float* x, const int* roff, const int* xoff, const float* g, int ldq,
                  int ldo, int lanes, float* acc_out) {
  __m256 acc[KB][V];
  int off[KB];
  #pragma GCC unroll 16
  for (int k = 0; k < KB; ++k) {
    for (int v = 0; v < V; ++v) acc[k][v] = _mm256_loadu_ps(acc_out + (k * V + v) * 8);
    off[k] = xoff[k];
  }
  __m256i index[V], mask[V];
  for (int v = 0; v < V; ++v) {
    index[v] = _mm256_mullo_epi32(_mm256_setr_epi32(8 * v, 8 * v + 1, 8 * v + 2, 8 * v + 3, 8 * v + 4, 8 * v + 5, 8 * v + 6, 8 * v + 7),
                                  _mm256_set1_epi32(ldo));
    mask[v] = first_lanes(lanes - 8 * v);
  }
  for (int i = 0; i < count; ++i) {
    const int q = list[i];
    const float* xr = x + roff[q];
    const float* gq = g + (std::ptrdiff_t)q * ldq;
    __m256 gv[V];
    for (int v = 0; v < V; ++v)
      gv[v] = kGather ? _mm256_mask_i32gather_ps(_mm256_setzero_ps(), gq, index[v], _mm256_castsi256_ps(mask[v]), 4)
                      : _mm256_maskload_ps(gq + 8 * v, mask[v]);
    #pragma GCC unroll 16
    for (int k = 0; k < KB; ++k) {
      const __m256 xv = _mm256_broadcast_ss(xr + off[k]);
      for (int v = 0; v < V; ++v) acc[k][v] = _mm256_fmadd_ps(xv, gv[v], acc[k][v]);
    }
  }
  #pragma GCC unroll 16
  for (int k = 0; k < KB; ++k)
    for (int v = 0; v < V; ++v) _mm256_storeu_ps(acc_out + (k * V + v) * 8, acc[k][v]);
}

template <int KBMax, int V>
void conv_dw_kb(int kb, int count, const int* list, const float* x, const int* roff, const int* xoff, const float* g,
                int ldq, int ldo, int lanes, float* acc) {
  with_count<KBMax>(kb, [=](auto n) {
    if (ldo == 1) return conv_dw_tile<decltype(n)::value, V, false>(count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
    conv_dw_tile<decltype(n)::value, V, true>(count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
  });
}
int conv_dw_max(int no) { return no == 8 ? 12 : 6; }
void conv_dw(int no, int kb, int count, const int* list, const float* x, const int* roff, const int* xoff,
             const float* g, int ldq, int ldo, int lanes, float* acc) {
  if (no == 8) return conv_dw_kb<12, 1>(kb, count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
  conv_dw_kb<6, 2>(kb, count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
}

// conv_pixels: R pixels x 16 channels, two vectors per pixel, R <= 6.
constexpr int kConvPixels = 6;
template <int R>
void conv_pixels_tile(int K, const float* x, const int* poff, const int* boff, const float* w, std::ptrdiff_t ldw,
                      float* c) {
  __m256 acc[R][2];
  const float* xr[R];
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    xr[r] = x + poff[r];
  }
  for (int k = 0; k < K; ++k) {
    const __m256 w0 = _mm256_loadu_ps(w + k * ldw), w1 = _mm256_loadu_ps(w + k * ldw + 8);
    const int off = boff[k];
    #pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 xv = _mm256_broadcast_ss(xr[r] + off);
      acc[r][0] = _mm256_fmadd_ps(xv, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(xv, w1, acc[r][1]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + 16 * r, acc[r][0]);
    _mm256_storeu_ps(c + 16 * r + 8, acc[r][1]);
  }
}
void conv_pixels(int rows, int K, const float* x, const int* poff, const int* boff, const float* w, std::ptrdiff_t ldw,
                 float* c) {
  with_count<kConvPixels>(rows, [=](auto r) { conv_pixels_tile<decltype(r)::value>(K, x, poff, boff, w, ldw, c); });
}

// max_pool_row: 8 windows at a time, as the AVX-512 path's 16: the even and odd entries of
// 16 values of each row taken apart, then compared in the scalar loop's order with a strict >.
void max_pool_row(const float* top, const float* bottom, int wo, int first, int width, float* y, int* argmax,
                  std::uint8_t* place) {
  const __m256i two_j = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  for (int j = 0; j < wo; j += 8) {
    const int n = wo - j < 8 ? wo - j : 8;  // windows here
    const __m256i lanes = first_lanes(n), lo = first_lanes(2 * n), hi = first_lanes(2 * n - 8);
    const float* t = top + 2 * j;
    const float* b = bottom + 2 * j;
    const __m256 t0 = _mm256_maskload_ps(t, lo), t1 = _mm256_maskload_ps(t + 8, hi);
    const __m256 b0 = _mm256_maskload_ps(b, lo), b1 = _mm256_maskload_ps(b + 8, hi);
    // shuffle picks entries 0, 2 (or 1, 3) of each 128-bit half of both; permute4x64 puts
    // the four halves back in order
    const __m256 v[4] = {
        _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, 0x88)), 0xD8)),
        _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(t0, t1, 0xDD)), 0xD8)),
        _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0x88)), 0xD8)),
        _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(b0, b1, 0xDD)), 0xD8))};
    __m256 best = v[0];
    __m256i at = _mm256_setzero_si256();
    for (int k = 1; k < 4; ++k) {
      const __m256 larger = _mm256_cmp_ps(v[k], best, _CMP_GT_OQ);
      best = _mm256_blendv_ps(best, v[k], larger);
      at = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(at), _mm256_castsi256_ps(_mm256_set1_epi32(k)), larger));
    }
    const __m256i below = _mm256_and_si256(_mm256_cmpgt_epi32(at, _mm256_set1_epi32(1)), _mm256_set1_epi32(width));
    const __m256i index = _mm256_add_epi32(_mm256_add_epi32(_mm256_set1_epi32(first + 2 * j), two_j),
                                           _mm256_add_epi32(_mm256_and_si256(at, _mm256_set1_epi32(1)), below));
    _mm256_maskstore_ps(y + j, lanes, best);
    _mm256_maskstore_epi32(argmax + j, lanes, index);
    alignas(32) int places[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(places), at);
    for (int q = 0; q < n; ++q) place[j + q] = static_cast<std::uint8_t>(places[q]);
  }
}

const IsaKernels kAvx2{"avx2", tiles, nonzero_bits, fma_scale_pixels, adam, tile_cols, skip_tile, plain_pack, plain_count_bits,
                       list_from_bits, kConvCols, kConvRows, conv_rows, conv_dw_max, conv_dw, kConvPixels, conv_pixels, max_pool_row};

}  // namespace

const IsaKernels* avx2_kernels() { return &kAvx2; }

}  // namespace chainrule::fast

#else

namespace chainrule::fast {
const IsaKernels* avx2_kernels() { return nullptr; }
}  // namespace chainrule::fast

#endif
