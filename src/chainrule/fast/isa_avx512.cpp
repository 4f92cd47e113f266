// The AVX-512 path of the fast kernels (fast/isa.hpp), 16 floats per instruction. This
// file is compiled with AVX-512 flags (CMakeLists.txt) and runs only on a CPU that has
// AVX-512F (isa_kernels() checks). Without those flags (a CPU family other than x86-64)
// it compiles to nothing and avx512_kernels() returns nullptr.
#include "chainrule/fast/isa.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>

#include "chainrule/fast/isa_plain.hpp"

namespace chainrule::fast {
namespace {

inline int clamp_int(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }
// The first `lanes` of 16 lanes (lanes in 0..16).
inline __mmask16 first_lanes(int lanes) { return lanes >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1u); }

// C tile (R x nc) (+)= A tile (R x kc) * packed B panel (kc x 16V), nc <= 16V.
// kList false: every k in [0, kc); true: the kc values ks[0..kc) of k, in increasing order.
template <int R, int V, bool kATrans, bool kList>
void micro_kernel(int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp, std::ptrdiff_t ldbp,
                  float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  __mmask16 mask[V];  // which of the 16 lanes of each vector are columns of C
  for (int v = 0; v < V; ++v) mask[v] = first_lanes(clamp_int(nc - 16 * v, 0, 16));
  __m512 acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v)
      acc[r][v] = load_c ? _mm512_maskz_loadu_ps(mask[v], c + r * ldc + 16 * v) : _mm512_setzero_ps();
  for (int q = 0; q < kc; ++q) {
    const std::ptrdiff_t k = kList ? ks[q] : q;
    const float* bk = bp + k * ldbp;  // row k of the panel
    __m512 b[V];
    for (int v = 0; v < V; ++v) b[v] = _mm512_loadu_ps(bk + 16 * v);
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(kATrans ? a[k * lda + r] : a[r * lda + k]);
      for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(av, b[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], acc[r][v]);
}

// The rows of a tile with V vectors per row, in pieces of at most kMaxRows (R x V
// accumulators and V values of B must fit the 32 zmm registers).
template <int V, bool kATrans, bool kList>
void rows_tile(int rows, int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp,
               std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  constexpr int kMaxRows = V <= 2 ? 8 : V == 4 ? 4 : 2;
  static_assert(kMaxRows * V + V <= 32, "a piece fits the zmm registers");
  for (int r0 = 0; r0 < rows; r0 += kMaxRows) {
    const float* ar = kATrans ? a + r0 : a + r0 * lda;
    float* cr = c + r0 * ldc;
    const int n = rows - r0 < kMaxRows ? rows - r0 : kMaxRows;
    switch (n) {
      case 1: micro_kernel<1, V, kATrans, kList>(kc, ks, ar, lda, bp, ldbp, cr, ldc, nc, load_c); break;
      case 2: micro_kernel<2, V, kATrans, kList>(kc, ks, ar, lda, bp, ldbp, cr, ldc, nc, load_c); break;
      default:
        if constexpr (kMaxRows >= 4) {
          switch (n) {
            case 3: micro_kernel<3, V, kATrans, kList>(kc, ks, ar, lda, bp, ldbp, cr, ldc, nc, load_c); break;
            case 4: micro_kernel<4, V, kATrans, kList>(kc, ks, ar, lda, bp, ldbp, cr, ldc, nc, load_c); break;
            default:
              if constexpr (kMaxRows >= 8) {
                switch (n) {
                  case 5: micro_kernel<5, V, kATrans, kList>(kc, ks, ar, lda, bp, ldbp, cr, ldc, nc, load_c); break;
                  case 6: micro_kernel<6, V, kATrans, kList>(kc, ks, ar, lda, bp, ldbp, cr, ldc, nc, load_c); break;
                  case 7: micro_kernel<7, V, kATrans, kList>(kc, ks, ar, lda, bp, ldbp, cr, ldc, nc, load_c); break;
                  default: micro_kernel<8, V, kATrans, kList>(kc, ks, ar, lda, bp, ldbp, cr, ldc, nc, load_c); break;
                }
              }
          }
        }
    }
  }
}
static_assert(kMR == 8, "rows_tile takes rows 1..8");

template <int V, bool kATrans, bool kList>
void tiles_of(int mr, int rows, int kc, const int* ks, const int* counts, const float* a, std::ptrdiff_t lda,
              const float* bp, std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  each_tile<kATrans, kList>(mr, rows, kc, ks, counts, a, lda, c, ldc,
                            [&](int n, int count, const int* list, const float* at, float* ct) {
                              rows_tile<V, kATrans, kList>(n, count, list, at, lda, bp, ldbp, ct, ldc, nc, load_c);
                            });
}

template <int V>
void width_tiles(bool a_trans, int mr, int rows, int kc, const int* ks, const int* counts, const float* a,
                 std::ptrdiff_t lda, const float* bp, std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc,
                 bool load_c) {
  if (a_trans && ks) return tiles_of<V, true, true>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  if (a_trans) return tiles_of<V, true, false>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  if (ks) return tiles_of<V, false, true>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  return tiles_of<V, false, false>(mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
}

void tiles(int nr, bool a_trans, int mr, int rows, int kc, const int* ks, const int* counts, const float* a,
           std::ptrdiff_t lda, const float* bp, std::ptrdiff_t ldbp, float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  switch (nr) {
    case 128: return width_tiles<8>(a_trans, mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
    case 64: return width_tiles<4>(a_trans, mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
    case 32: return width_tiles<2>(a_trans, mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
    default: return width_tiles<1>(a_trans, mr, rows, kc, ks, counts, a, lda, bp, ldbp, c, ldc, nc, load_c);
  }
}

// Two vectors, or one when N is small (N = 10 would waste 22 of 32 lanes).
int tile_cols(int N) { return N <= 16 ? 16 : 32; }

// Zero skipping's tiles. On a batch of MNIST images a k (a pixel) is needed by 29% of the
// tiles of 2 images, 39% of the tiles of 4 and 47% of the tiles of 8; in X^T dZ1, a k (an
// image) by 22%, 28% and 39% of the tiles of 2, 4 and 8 pixels. A product with at least 64
// columns takes tiles of 4 rows x 64 columns (16 accumulators, 4 vectors of B per k) over K
// blocks of 128, so that the packed panel (32 KiB) stays in the L1 cache: X W1 5% and
// X^T dZ1 17% faster than with tiles of 8 x 32 (docs/performance.md, "Smaller tiles for zero
// skipping"). Where a 512-bit FMA takes two halves (XW1Tile::Rows2x64: AMD Zen 4), the FMAs a
// taller tile adds cost twice as much against its loads, and X W1 takes tiles of 2 x 64: its
// forward pass 4-7% faster in training, each step's product alternating between the two
// shapes. X^T dZ1 keeps 4 x 64 there, as 2 x 64 was 2-12% slower in training
// (docs/performance.md, "A third machine: AMD Zen 4"). On Intel's AVX-512 cores
// (XW1Tile::Rows2x128) X W1 takes tiles of 2 x 128 over K blocks of 128: a panel of B is then
// 128 whole rows of W1, read where they lie, and the forward pass was 6-8% faster in training
// (docs/performance.md, "X W1 on Intel: tiles of 2 x 128").
TileShape skip_tile(bool a_trans, int N) {
  if (N < 64) return {kMR, tile_cols(N), kKC};
  if (!a_trans) {  // X W1 (kernels.hpp, x_w1_tile)
    const XW1Tile tile = x_w1_tile();
    if (tile == XW1Tile::Rows2x64) return {2, 64, 128};
    if (tile == XW1Tile::Rows2x128 && N >= 128) return {2, 128, 128};
  }
  return {4, 64, 128};
}

// The nn form of nonzero_bits for one tile of R rows (or `rows` of at most R): each 16 k, or-ed
// over the rows, give 16 bits of the tile's word, built in a register.
template <int R>
void tile_nonzero_words(const float* a, std::ptrdiff_t lda, int kc, std::uint64_t* words, int rows = R) {
  const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF);  // all bits but the sign: -0 is a zero too
  for (int q0 = 0; q0 < kc; q0 += 64) {
    std::uint64_t word = 0;
    for (int q = q0; q < imin(kc, q0 + 64); q += 16) {
      const __mmask16 in = first_lanes(kc - q);
      __m512i any = _mm512_maskz_loadu_epi32(in, a + q);
      #pragma GCC unroll 8
      for (int r = 1; r < R; ++r)
        if (r < rows) any = _mm512_or_si512(any, _mm512_maskz_loadu_epi32(in, a + r * lda + q));
      word |= std::uint64_t{_mm512_test_epi32_mask(any, magnitude)} << (q - q0);
    }
    words[q0 / 64] = word;
  }
}

void nonzero_bits(bool a_trans, const float* A, std::ptrdiff_t lda, int i0, int i1, int k0, int kc, int mr,
                  std::uint64_t* bits) {
  const int tiles = (i1 - i0 + mr - 1) / mr;
  for (int w = 0; w < tiles * kWords; ++w) bits[w] = 0;
  const __m512i magnitude = _mm512_set1_epi32(0x7FFFFFFF);  // all bits but the sign: -0 is a zero too
  if (a_trans && 16 % mr == 0) {  // A stored (K, M): row k0 + q holds the values of every tile at that k
    // Without a branch per tile, which a new batch of images would mispredict: first each
    // 16 values of a row give a 16-bit mask of their nonzero lanes, kept for 64 rows; then
    // one test per tile of mr lanes over 32 rows' masks at once gives 32 bits of its word.
    const int width = i1 - i0;
    alignas(64) std::uint16_t lanes[64 * 64];  // [vector v][row q - q0]: 64 vectors of 16 values
    for (int c0 = 0; c0 < width; c0 += 64 * 16) {
      const int vectors = (imin(width - c0, 64 * 16) + 15) / 16;
      for (int q0 = 0; q0 < kc; q0 += 64) {
        const int rows = imin(kc - q0, 64);
        const __mmask16 last = first_lanes(imin(width - c0, 64 * 16) - 16 * (vectors - 1));
        for (int q = 0; q < rows; ++q) {
          const float* row = A + (std::ptrdiff_t)(k0 + q0 + q) * lda + i0 + c0;
          for (int v = 0; v < vectors - 1; ++v)
            lanes[v * 64 + q] = _mm512_test_epi32_mask(_mm512_loadu_si512(row + 16 * v), magnitude);
          lanes[(vectors - 1) * 64 + q] =
              _mm512_test_epi32_mask(_mm512_maskz_loadu_epi32(last, row + 16 * (vectors - 1)), magnitude);
        }
        for (int q = rows; q < 64; ++q)
          for (int v = 0; v < vectors; ++v) lanes[v * 64 + q] = 0;
        for (int v = 0; v < vectors; ++v) {
          const __m512i low = _mm512_load_si512(lanes + v * 64), high = _mm512_load_si512(lanes + v * 64 + 32);
          for (int t = 0; t < 16 / mr && c0 + 16 * v + t * mr < width; ++t) {
            const __m512i tile = _mm512_set1_epi16(static_cast<short>(((1u << mr) - 1u) << (t * mr)));
            bits[(c0 + 16 * v + t * mr) / mr * kWords + q0 / 64] =
                _mm512_test_epi16_mask(low, tile) | std::uint64_t{_mm512_test_epi16_mask(high, tile)} << 32;
          }
        }
      }
    }
    return;
  }
  if (a_trans) return plain_nonzero_bits(a_trans, A, lda, i0, i1, k0, kc, mr, bits);
  for (int t = 0; t < tiles; ++t) {  // A stored (M, K): or the tile's rows together
    const float* a = A + (std::ptrdiff_t)(i0 + t * mr) * lda + k0;
    switch (clamp_int(i1 - i0 - t * mr, 0, mr)) {
      case 1: tile_nonzero_words<1>(a, lda, kc, bits + t * kWords); break;
      case 2: tile_nonzero_words<2>(a, lda, kc, bits + t * kWords); break;
      case 3: tile_nonzero_words<3>(a, lda, kc, bits + t * kWords); break;
      case 4: tile_nonzero_words<4>(a, lda, kc, bits + t * kWords); break;
      default: tile_nonzero_words<kMR>(a, lda, kc, bits + t * kWords, clamp_int(i1 - i0 - t * mr, 0, mr)); break;
    }
  }
}

// IsaKernels::list_from_bits, 16 bits at a time: the indices of a part's set bits are packed
// to the front of a vector (vpcompressd) and stored whole; the next part's overwrite the
// unused lanes. No branch depends on the bits.
int list_from_bits(const std::uint64_t* words, int kc, int* list) {
  int n = 0;
  __m512i q = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i sixteen = _mm512_set1_epi32(16);
  for (int q0 = 0; q0 < kc; q0 += 16, q = _mm512_add_epi32(q, sixteen)) {
    const auto part = static_cast<__mmask16>(words[q0 / 64] >> (q0 % 64));
    _mm512_storeu_si512(list + n, _mm512_maskz_compress_epi32(part, q));
    n += __builtin_popcount(part);
  }
  return n;
}

// The plain loop of Adam::step (optim.cpp) on 16 values at a time, rounding after the same
// operations: two fused multiply-adds, then correctly rounded divisions and square root.
// The last n % 16 values go through the same code with a lane mask.
// (Why not let the compiler vectorise the loop, and why the masked square root:
// docs/performance.md, "Notes from the code".)
// A division by a bias correction that is exactly 1 (c1 from step 165 on, when 0.9^t rounds
// away; both without the correction) gives its dividend back unchanged, and is left out: the
// same bits, and a quarter of the divisions and square roots fewer (docs/performance.md,
// "Adam without dividing by 1").
// skip_zero_moments: when every m of a vector is +0 or -0 and no s is NaN, each step
// lr (m / c1) / (sqrt(s / c2) + eps) is lr m itself, a zero of m's sign, because the
// denominator is at least eps (or +inf). The vector then needs no division and no square
// root, and gets the same bits. About 9% of the vectors in training 784-128-10 on MNIST:
// the rows of W1 for pixels that no image of the batches so far has lit, such as the border.
template <bool kDivC1, bool kDivC2>
void adam_loop(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k) {
  const __m512 b1 = _mm512_set1_ps(k.b1), b2 = _mm512_set1_ps(k.b2);
  const __m512 one_minus_b1 = _mm512_set1_ps(1.0f - k.b1), one_minus_b2 = _mm512_set1_ps(1.0f - k.b2);
  const __m512 lr = _mm512_set1_ps(k.lr), c1 = _mm512_set1_ps(k.c1), c2 = _mm512_set1_ps(k.c2);
  const __m512 eps = _mm512_set1_ps(k.eps);
  for (std::size_t j = 0; j < n; j += 16) {
    const std::size_t left = n - j;
    const __mmask16 lanes = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
    const __m512 gv = _mm512_maskz_loadu_ps(lanes, g + j);
    const __m512 mv = _mm512_fmadd_ps(b1, _mm512_maskz_loadu_ps(lanes, m + j), _mm512_mul_ps(one_minus_b1, gv));
    const __m512 sv = _mm512_fmadd_ps(b2, _mm512_maskz_loadu_ps(lanes, s + j),
                                      _mm512_mul_ps(_mm512_mul_ps(one_minus_b2, gv), gv));
    _mm512_mask_storeu_ps(m + j, lanes, mv);
    _mm512_mask_storeu_ps(s + j, lanes, sv);
    const __m512 wv = _mm512_maskz_loadu_ps(lanes, w + j);
    if ((_mm512_mask_cmp_ps_mask(lanes, mv, _mm512_setzero_ps(), _CMP_NEQ_UQ) |
         _mm512_mask_cmp_ps_mask(lanes, sv, sv, _CMP_UNORD_Q)) == 0) {  // (skip_zero_moments, above)
      _mm512_mask_storeu_ps(w + j, lanes, _mm512_sub_ps(wv, _mm512_mul_ps(lr, mv)));
      continue;
    }
    const __m512 m_hat = kDivC1 ? _mm512_div_ps(mv, c1) : mv;
    const __m512 s_hat = kDivC2 ? _mm512_div_ps(sv, c2) : sv;
    const __m512 step = _mm512_div_ps(_mm512_mul_ps(lr, m_hat), _mm512_add_ps(_mm512_maskz_sqrt_ps(lanes, s_hat), eps));
    _mm512_mask_storeu_ps(w + j, lanes, _mm512_sub_ps(wv, step));
  }
}

void adam(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k) {
  if (k.c1 != 1.0f) return adam_loop<true, true>(n, w, g, m, s, k);  // (c2 is 1 after c1 only)
  if (k.c2 != 1.0f) return adam_loop<false, true>(n, w, g, m, s, k);
  return adam_loop<false, false>(n, w, g, m, s, k);
}

// The direct convolution's loops (fast/isa_conv.hpp has them plainly, with the contract).
// conv_rows: a tile of R rows x 32 pixels (two vectors per row), R <= 6.
constexpr int kConvRows = 6, kConvCols = 32;
template <int R>
void conv_rows_tile(int K, const float* a, std::ptrdiff_t ar, std::ptrdiff_t ak, const float* b, const int* boff,
                    float* c, std::ptrdiff_t ldc) {
  __m512 acc[R][2];
  #pragma GCC unroll 32
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int k = 0; k < K; ++k) {
    const float* bk = b + boff[k];
    const __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps(bk + 16);
    #pragma GCC unroll 32
    for (int r = 0; r < R; ++r) {
      const __m512 w = _mm512_set1_ps(a[r * ar + k * ak]);
      acc[r][0] = _mm512_fmadd_ps(w, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(w, b1, acc[r][1]);
    }
  }
  #pragma GCC unroll 32
  for (int r = 0; r < R; ++r) {
    _mm512_storeu_ps(c + r * ldc, acc[r][0]);
    _mm512_storeu_ps(c + r * ldc + 16, acc[r][1]);
  }
}
void conv_rows(int rows, int K, const float* a, std::ptrdiff_t ar, std::ptrdiff_t ak, const float* b, const int* boff,
               float* c, std::ptrdiff_t ldc) {
  with_count<kConvRows>(rows, [=](auto r) { conv_rows_tile<decltype(r)::value>(K, a, ar, ak, b, boff, c, ldc); });
}

// conv_dw: KB accumulators of one vector each, 16 channels (zmm) or 8 (ymm), KB <= 26; the
// channels of one pixel loaded (ldo = 1) or gathered from dY as it lies (ldo apart).
// The two widths' instructions, for the one loop below:
struct Zmm {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V fma(float a, V b, V c) { return _mm512_fmadd_ps(_mm512_set1_ps(a), b, c); }
  static V channels(const float* g, int ldo, int lanes, bool gather) {  // g[o * ldo], 0 past `lanes`
    const __mmask16 mask = first_lanes(lanes);
    if (!gather) return _mm512_maskz_loadu_ps(mask, g);
    const __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32(ldo));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, index, g, 4);
  }
};
struct Ymm {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V fma(float a, V b, V c) { return _mm256_fmadd_ps(_mm256_set1_ps(a), b, c); }
  static V channels(const float* g, int ldo, int lanes, bool gather) {
    const __mmask8 mask = static_cast<__mmask8>(first_lanes(lanes));
    if (!gather) return _mm256_maskz_loadu_ps(mask, g);
    const __m256i index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(ldo));
    return _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), mask, index, g, 4);
  }
};
template <typename Vec, int KB, bool kGather>
void conv_dw_tile(int count, const int* list, const float* x, const int* roff, const int* xoff, const float* g, int ldq,
                  int ldo, int lanes, float* acc_out) {
  typename Vec::V acc[KB];
  int off[KB];
  #pragma GCC unroll 32
  for (int k = 0; k < KB; ++k) {
    acc[k] = Vec::load(acc_out + Vec::kLanes * k);
    off[k] = xoff[k];
  }
  for (int i = 0; i < count; ++i) {
    const int q = list[i];
    const float* xr = x + roff[q];
    const typename Vec::V gv = Vec::channels(g + (std::ptrdiff_t)q * ldq, ldo, lanes, kGather);
    #pragma GCC unroll 32
    for (int k = 0; k < KB; ++k) acc[k] = Vec::fma(xr[off[k]], gv, acc[k]);
  }
  #pragma GCC unroll 32
  for (int k = 0; k < KB; ++k) Vec::store(acc_out + Vec::kLanes * k, acc[k]);
}

int conv_dw_max(int) { return 26; }
void conv_dw(int no, int kb, int count, const int* list, const float* x, const int* roff, const int* xoff,
             const float* g, int ldq, int ldo, int lanes, float* acc) {
  with_count<26>(kb, [=](auto n) {
    constexpr int KB = decltype(n)::value;
    if (no == 8 && ldo == 1) return conv_dw_tile<Ymm, KB, false>(count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
    if (no == 8) return conv_dw_tile<Ymm, KB, true>(count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
    if (ldo == 1) return conv_dw_tile<Zmm, KB, false>(count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
    conv_dw_tile<Zmm, KB, true>(count, list, x, roff, xoff, g, ldq, ldo, lanes, acc);
  });
}

// conv_pixels: R pixels x 16 channels, one vector per pixel, R <= 12.
constexpr int kConvPixels = 12;
template <int R>
void conv_pixels_tile(int K, const float* x, const int* poff, const int* boff, const float* w, std::ptrdiff_t ldw,
                      float* c) {
  __m512 acc[R];
  const float* xr[R];
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    acc[r] = _mm512_setzero_ps();
    xr[r] = x + poff[r];
  }
  for (int k = 0; k < K; ++k) {
    const __m512 wk = _mm512_loadu_ps(w + k * ldw);
    const int off = boff[k];
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(xr[r][off]), wk, acc[r]);
  }
  #pragma GCC unroll 16
  for (int r = 0; r < R; ++r) _mm512_storeu_ps(c + 16 * r, acc[r]);
}
void conv_pixels(int rows, int K, const float* x, const int* poff, const int* boff, const float* w, std::ptrdiff_t ldw,
                 float* c) {
  with_count<kConvPixels>(rows, [=](auto r) { conv_pixels_tile<decltype(r)::value>(K, x, poff, boff, w, ldw, c); });
}

// max_pool_row: 16 windows at a time. The even and odd entries of 32 values of each row are
// taken apart (two permutes), then compared in the scalar loop's order with a strict >, which
// is false for a NaN as in C++.
void max_pool_row(const float* top, const float* bottom, int wo, int first, int width, float* y, int* argmax,
                  std::uint8_t* place) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const __m512i two_j = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int j = 0; j < wo; j += 16) {
    const int n = wo - j < 16 ? wo - j : 16;  // windows here
    const __mmask16 lanes = first_lanes(n);
    const __mmask16 lo = first_lanes(clamp_int(2 * n, 0, 16)), hi = first_lanes(clamp_int(2 * n - 16, 0, 16));
    const float* t = top + 2 * j;
    const float* b = bottom + 2 * j;
    const __m512 t0 = _mm512_maskz_loadu_ps(lo, t), t1 = _mm512_maskz_loadu_ps(hi, t + 16);
    const __m512 b0 = _mm512_maskz_loadu_ps(lo, b), b1 = _mm512_maskz_loadu_ps(hi, b + 16);
    const __m512 v[4] = {_mm512_permutex2var_ps(t0, even, t1), _mm512_permutex2var_ps(t0, odd, t1),
                         _mm512_permutex2var_ps(b0, even, b1), _mm512_permutex2var_ps(b0, odd, b1)};
    __m512 best = v[0];
    __m512i at = _mm512_setzero_si512();
    for (int k = 1; k < 4; ++k) {
      const __mmask16 larger = _mm512_cmp_ps_mask(v[k], best, _CMP_GT_OQ);
      best = _mm512_mask_mov_ps(best, larger, v[k]);
      at = _mm512_mask_mov_epi32(at, larger, _mm512_set1_epi32(k));
    }
    const __m512i column = _mm512_add_epi32(_mm512_set1_epi32(first + 2 * j), two_j);
    const __m512i below = _mm512_maskz_mov_epi32(_mm512_cmpge_epi32_mask(at, _mm512_set1_epi32(2)), _mm512_set1_epi32(width));
    const __m512i index = _mm512_add_epi32(column, _mm512_add_epi32(_mm512_and_si512(at, _mm512_set1_epi32(1)), below));
    _mm512_mask_storeu_ps(y + j, lanes, best);
    _mm512_mask_storeu_epi32(argmax + j, lanes, index);
    _mm512_mask_cvtepi32_storeu_epi8(place + j, lanes, at);
  }
}

const IsaKernels kAvx512{"avx512", tiles, nonzero_bits, fma_scale_pixels, adam, tile_cols, skip_tile, plain_pack, plain_count_bits,
                         list_from_bits, kConvCols, kConvRows, conv_rows, conv_dw_max, conv_dw, kConvPixels, conv_pixels, max_pool_row};

}  // namespace

const IsaKernels* avx512_kernels() { return &kAvx512; }

}  // namespace chainrule::fast

#else

namespace chainrule::fast {
const IsaKernels* avx512_kernels() { return nullptr; }
}  // namespace chainrule::fast

#endif
