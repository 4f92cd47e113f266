// The fast float products behind matmul, matmul_tn and matmul_nt (kernels.cpp calls
// fast::gemm on the Fast and OpenBLAS paths). docs/performance.md walks through each step
// with its measurements; tests/unit/test_kernels.cpp holds them to the reference loops.
#include "chainrule/fast/gemm.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "chainrule/fast/threads.hpp"
#include "chainrule/kernels.hpp"

namespace chainrule::fast {

// ---- Fast float path ----------------------------------------------------------
// How it works (docs/performance.md walks through each step with measurements):
//   1. C is cut into micro-tiles of kMR rows x nr columns (nr = 32, or 16 when N <= 16).
//      A micro-kernel keeps one tile in registers and runs the k loop: per k it loads
//      nr values of B and multiplies them by kMR broadcast values of A.
//   2. K is cut into blocks of at most kKC. For each block, an nr-column panel of B is
//      copied ("packed") into a small contiguous buffer that stays in the L1 cache
//      while every row tile of A streams past it; edge panels are padded with zeros.
//   3. A is read where it lies: for nn each tile reads kMR rows of A, for tn (A stored
//      transposed) the kMR values for one k are already next to each other.
//   4. A deep sum (K >= kSplitK, like the 784 pixels of X W1) is cut into two halves
//      where share_range(K, 0, 2) ends: C = (C + the first half's sum) + the second
//      half's sum, the second half summed into a scratch buffer. One thread computes the
//      halves one after the other, two threads one each.
//   5. Otherwise, with OpenMP, C is split into one band of rows per thread
//      (share_range(M, t, threads)), or of columns when C has too few rows.
//   6. Zero skipping, in the large nn and tn products: before a K block, a bit mask
//      records for each tile which k hold a nonzero A(i, k) in some row of the tile,
//      and the micro-kernel visits only those k (in X W1 and X^T dZ1, A is a batch of
//      images, mostly zeros: docs/performance.md, "Step 5"). A dense A is recognised
//      from a first look at one tile and runs as before.
// Every entry of C is computed the same way wherever its tile lies: start from 0 (or
// from C when accumulating, or from the previous K block), then one fused multiply-add
// per k in increasing k, and for a deep sum the one addition of the two halves. So the
// result is bit-identical for any thread count. A skipped k would have added
// fma(0, b, c) = c + 0 = c: the same value (only the sign of a zero c can differ, and
// an Inf or NaN in B's row k is not met, where the full loop would make 0 * Inf = NaN).
// Why those splits: docs/performance.md, "Notes from the code".
namespace {

constexpr int kMR = 8;                 // rows of A per micro-tile
constexpr int kNR = 32;                // widest micro-tile: two 16-float vectors of columns
constexpr int kKC = 256;               // longest K block: a packed panel is kKC * kNR floats (32 KiB)
constexpr double kThreadMinFma = 3e5;  // smaller products run on one thread (fork/join costs more)
constexpr int kSplitK = 512;           // sums over at least this many k are cut into two halves

bool g_skip_zeros = true;  // set_skip_zeros

// A(i, k) of the product: row-major (M, K) for nn and nt, stored (K, M) for tn.
template <bool kATrans>
inline float a_at(const float* a, std::ptrdiff_t lda, std::ptrdiff_t i, std::ptrdiff_t k) {
  return kATrans ? a[k * lda + i] : a[i * lda + k];
}

// Micro-tile width: two vectors, or one when N is small (N = 10 would waste 22 of 32 lanes).
// The portable kernel stays at full width (docs/performance.md, "Notes from the code").
int tile_cols(int N) {
#ifdef __AVX512F__
  return N <= 16 ? 16 : kNR;
#else
  (void)N;
  return kNR;
#endif
}

}  // namespace

namespace {

// Copies B(k0 .. k0+kc, j0 .. j0+nc) into bp as kc rows of nr floats, zero-padded.
// ldb: the distance between B's stored rows (N, or K for nt where B is stored (N, K)).
void pack_b(Form form, const float* B, std::ptrdiff_t ldb, int k0, int kc, int j0, int nc, int nr, float* bp) {
  if (form == Form::NT) {  // B stored (N, K): walk each stored row (one column of the panel)
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

#ifdef __AVX512F__
// C tile (R x nc) (+)= A tile (R x kc) * packed B panel (kc x 16V), nc <= 16V; AVX-512.
// kList false: every k in [0, kc); true: the kc values ks[0..kc) of k, in increasing order.
template <int R, int V, bool kATrans, bool kList>
void micro_kernel(int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp, float* c,
                  std::ptrdiff_t ldc, int nc, bool load_c) {
  __mmask16 mask[V];  // which of the 16 lanes of each vector are columns of C
  for (int v = 0; v < V; ++v) {
    const int lanes = std::clamp(nc - 16 * v, 0, 16);
    mask[v] = lanes == 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1u);
  }
  __m512 acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v)
      acc[r][v] = load_c ? _mm512_maskz_loadu_ps(mask[v], c + r * ldc + 16 * v) : _mm512_setzero_ps();
  for (int q = 0; q < kc; ++q) {
    const std::ptrdiff_t k = kList ? ks[q] : q;
    const float* bk = bp + k * (16 * V);  // row k of the packed panel
    __m512 b[V];
    for (int v = 0; v < V; ++v) b[v] = _mm512_load_ps(bk + 16 * v);
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a_at<kATrans>(a, lda, r, k));
      for (int v = 0; v < V; ++v) acc[r][v] = _mm512_fmadd_ps(av, b[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], acc[r][v]);
}
#else
// Portable micro-kernel: the same tile, written as plain loops the compiler vectorises.
template <int R, int V, bool kATrans, bool kList>
void micro_kernel(int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp, float* c,
                  std::ptrdiff_t ldc, int nc, bool load_c) {
  constexpr int NR = 16 * V;
  float acc[R][NR];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NR; ++j) acc[r][j] = (load_c && j < nc) ? c[r * ldc + j] : 0.0f;
  for (int q = 0; q < kc; ++q) {
    const std::ptrdiff_t k = kList ? ks[q] : q;
    const float* b = bp + k * NR;
    for (int r = 0; r < R; ++r) {
      const float av = a_at<kATrans>(a, lda, r, k);
      for (int j = 0; j < NR; ++j) acc[r][j] += av * b[j];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < nc; ++j) c[r * ldc + j] = acc[r][j];
}
#endif

template <int V, bool kATrans, bool kList>
void micro_tile(int rows, int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp, float* c,
                std::ptrdiff_t ldc, int nc, bool load_c) {
  switch (rows) {
    case 8: return micro_kernel<8, V, kATrans, kList>(kc, ks, a, lda, bp, c, ldc, nc, load_c);
    case 7: return micro_kernel<7, V, kATrans, kList>(kc, ks, a, lda, bp, c, ldc, nc, load_c);
    case 6: return micro_kernel<6, V, kATrans, kList>(kc, ks, a, lda, bp, c, ldc, nc, load_c);
    case 5: return micro_kernel<5, V, kATrans, kList>(kc, ks, a, lda, bp, c, ldc, nc, load_c);
    case 4: return micro_kernel<4, V, kATrans, kList>(kc, ks, a, lda, bp, c, ldc, nc, load_c);
    case 3: return micro_kernel<3, V, kATrans, kList>(kc, ks, a, lda, bp, c, ldc, nc, load_c);
    case 2: return micro_kernel<2, V, kATrans, kList>(kc, ks, a, lda, bp, c, ldc, nc, load_c);
    default: return micro_kernel<1, V, kATrans, kList>(kc, ks, a, lda, bp, c, ldc, nc, load_c);
  }
}

// One tile: the micro-kernel for its width (V vectors), A's layout, and every k or a list.
template <int V>
void micro_tile(bool a_trans, int rows, int kc, const int* ks, const float* a, std::ptrdiff_t lda, const float* bp,
                float* c, std::ptrdiff_t ldc, int nc, bool load_c) {
  if (a_trans && ks) return micro_tile<V, true, true>(rows, kc, ks, a, lda, bp, c, ldc, nc, load_c);
  if (a_trans) return micro_tile<V, true, false>(rows, kc, ks, a, lda, bp, c, ldc, nc, load_c);
  if (ks) return micro_tile<V, false, true>(rows, kc, ks, a, lda, bp, c, ldc, nc, load_c);
  return micro_tile<V, false, false>(rows, kc, ks, a, lda, bp, c, ldc, nc, load_c);
}
static_assert(kMR == 8, "micro_tile dispatches rows 1..8");

// The packing buffer: one per thread, allocated on first use, 64-byte aligned.
float* pack_buffer() {
  thread_local std::vector<float> storage;
  if (storage.empty()) storage.resize(kKC * kNR + 16);
  auto p = reinterpret_cast<std::uintptr_t>(storage.data());
  return storage.data() + ((64 - p % 64) % 64) / sizeof(float);
}

// A product C (M x N) = A B, A^T B or A B^T: A is M x K (stored K x M for tn), B is
// K x N (stored N x K for nt).
struct Product {
  Form form;
  int M, N, K;
  const float* A;
  const float* B;
};

// ---- Zero skipping -------------------------------------------------------------
// A k at which all kMR rows of a tile of A are zero adds 0 * B(k, j) to each of the
// tile's sums, which leaves them as they are: the micro-kernel can visit only the other
// k and compute the same values (the comment at "Fast float path"; the numbers:
// docs/performance.md, "Notes from the code").
constexpr int kWords = kKC / 64;  // a tile's bit mask over the k of one K block
static_assert(kKC % 64 == 0, "a K block fills whole 64-bit words");

// One bit per (tile, k): bits[t * kWords + q / 64] bit q % 64 is set when some row of
// tile t holds a nonzero A(i, k0 + q). The tiles are kMR rows each, from row i0 to i1.
void nonzero_bits(bool a_trans, const float* A, std::ptrdiff_t lda, int i0, int i1, int k0, int kc,
                  std::uint64_t* bits) {
  const int tiles = (i1 - i0 + kMR - 1) / kMR;
  std::fill(bits, bits + (std::size_t)tiles * kWords, std::uint64_t{0});
  if (a_trans) {  // A stored (K, M): row k0 + q holds the values of every tile at that k
    const int width = i1 - i0;
    for (int q = 0; q < kc; ++q) {
      const float* row = A + (std::ptrdiff_t)(k0 + q) * lda + i0;
      const std::uint64_t bit = std::uint64_t{1} << (q % 64);
#ifdef __AVX512F__
      for (int c = 0; c < width; c += 16) {  // two tiles per 16 values
        const int lanes = std::min(16, width - c);
        const __mmask16 in = lanes == 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1u);
        const __m512i values = _mm512_maskz_loadu_epi32(in, row + c);
        const __mmask16 nz = _mm512_test_epi32_mask(values, _mm512_set1_epi32(0x7FFFFFFF));  // not +-0
        const int t = c / kMR;
        if (nz & 0xFF) bits[t * kWords + q / 64] |= bit;
        if (nz >> 8) bits[(t + 1) * kWords + q / 64] |= bit;
      }
#else
      for (int t = 0; t < tiles; ++t) {
        std::uint32_t any = 0;
        for (int c = t * kMR; c < std::min(width, (t + 1) * kMR); ++c) any |= std::bit_cast<std::uint32_t>(row[c]);
        if (any << 1) bits[t * kWords + q / 64] |= bit;  // << 1 drops the sign: -0 is a zero too
      }
#endif
    }
    return;
  }
  for (int t = 0; t < tiles; ++t) {  // A stored (M, K): or the tile's rows together
    const float* a = A + (std::ptrdiff_t)(i0 + t * kMR) * lda + k0;
    const int rows = std::min(kMR, i1 - i0 - t * kMR);
    std::uint64_t* words = bits + t * kWords;
#ifdef __AVX512F__
    for (int q = 0; q < kc; q += 16) {
      const int lanes = std::min(16, kc - q);
      const __mmask16 in = lanes == 16 ? __mmask16(0xFFFF) : __mmask16((1u << lanes) - 1u);
      __m512i any = _mm512_maskz_loadu_epi32(in, a + q);
      for (int r = 1; r < rows; ++r) any = _mm512_or_si512(any, _mm512_maskz_loadu_epi32(in, a + r * lda + q));
      const __mmask16 nz = _mm512_test_epi32_mask(any, _mm512_set1_epi32(0x7FFFFFFF));
      words[q / 64] |= std::uint64_t{nz} << (q % 64);
    }
#else
    std::uint32_t any[kKC];
    for (int q = 0; q < kc; ++q) any[q] = std::bit_cast<std::uint32_t>(a[q]);
    for (int r = 1; r < rows; ++r)
      for (int q = 0; q < kc; ++q) any[q] |= std::bit_cast<std::uint32_t>(a[r * lda + q]);
    for (int q = 0; q < kc; ++q) words[q / 64] |= std::uint64_t{(any[q] << 1) != 0} << (q % 64);
#endif
  }
}

// The set bits of a tile's mask as a list of q, in increasing order; returns its length.
int list_from_bits(const std::uint64_t* words, int* list) {
  int n = 0;
  for (int w = 0; w < kWords; ++w)
    for (std::uint64_t b = words[w]; b != 0; b &= b - 1) list[n++] = 64 * w + std::countr_zero(b);
  return n;
}

// For each tile of rows [i0, i1): the k of [k0, k0 + kc) to visit (ks + t * kKC, counts[t]
// long). Returns {nullptr, nullptr} when A has too few zeros there to be worth skipping
// (more than 7/8 of the k needed): the micro-kernel then runs over every k.
// The storage is kept per thread and reused: a training step allocates nothing.
struct NonzeroKs {
  const int* ks;
  const int* counts;
};
NonzeroKs nonzero_ks(bool a_trans, const float* A, std::ptrdiff_t lda, int i0, int i1, int k0, int kc) {
  thread_local std::vector<std::uint64_t> bit_storage;
  thread_local Values<int> ks_storage;
  thread_local std::vector<int> count_storage;
  const auto tiles = (std::size_t)((i1 - i0 + kMR - 1) / kMR);
  if (bit_storage.size() < tiles * kWords) bit_storage.resize(tiles * kWords);
  std::uint64_t* bits = bit_storage.data();
  // A first look, to leave dense operands (a hidden layer's input, say) at the cost of a
  // glance: the first tile over every k (nn), or every tile at the first k (tn).
  std::size_t seen = 0, probe = 0;
  if (a_trans) {
    nonzero_bits(true, A, lda, i0, i1, k0, 1, bits);
    probe = tiles;
  } else {
    nonzero_bits(false, A, lda, i0, std::min(i1, i0 + kMR), k0, kc, bits);
    probe = (std::size_t)kc;
  }
  for (std::size_t w = 0; w < (a_trans ? tiles : 1) * kWords; ++w) seen += (std::size_t)std::popcount(bits[w]);
  if (8 * seen > 7 * probe) return {nullptr, nullptr};
  nonzero_bits(a_trans, A, lda, i0, i1, k0, kc, bits);
  std::size_t needed = 0;
  for (std::size_t w = 0; w < tiles * kWords; ++w) needed += (std::size_t)std::popcount(bit_storage[w]);
  if (8 * needed > 7 * tiles * (std::size_t)kc) return {nullptr, nullptr};
  if (ks_storage.size() < tiles * kKC) ks_storage.resize(tiles * kKC);
  if (count_storage.size() < tiles) count_storage.resize(tiles);
  for (std::size_t t = 0; t < tiles; ++t)
    count_storage[t] = list_from_bits(bit_storage.data() + t * kWords, ks_storage.data() + t * kKC);
  return {ks_storage.data(), count_storage.data()};
}

// Rows [i0, i1) and columns [j0, j1) of C (leading dimension N), summed over k in
// [k_begin, k_end) only: the whole sum, or one half of a deep one.
void gemm_block(const Product& p, int k_begin, int k_end, float* C, bool accumulate, int i0, int i1, int j0,
                int j1) {
  if (i0 >= i1 || j0 >= j1 || k_begin >= k_end) return;
  float* bp = pack_buffer();
  const int depth = k_end - k_begin;
  const int kblocks = (depth + kKC - 1) / kKC;
  const int kc_even = (depth + kblocks - 1) / kblocks;  // equal blocks; depend on the depth only
  const bool a_trans = p.form == Form::TN;
  const std::ptrdiff_t lda = a_trans ? p.M : p.K, ldb = p.form == Form::NT ? p.K : p.N;
  const int nr = tile_cols(p.N);
  // Zero skipping pays on the large products only (A = X in this network).
  const bool skip = g_skip_zeros && p.form != Form::NT && double(p.M) * p.N * p.K >= kThreadMinFma;
  for (int k0 = k_begin; k0 < k_end; k0 += kc_even) {
    const int kc = std::min(kc_even, k_end - k0);
    const bool load_c = accumulate || k0 > k_begin;
    const NonzeroKs nz = skip ? nonzero_ks(a_trans, p.A, lda, i0, i1, k0, kc) : NonzeroKs{nullptr, nullptr};
    for (int j = j0; j < j1; j += nr) {
      const int nc = std::min(nr, j1 - j);
      pack_b(p.form, p.B, ldb, k0, kc, j, nc, nr, bp);
      for (int i = i0; i < i1; i += kMR) {
        const int rows = std::min(kMR, i1 - i), t = (i - i0) / kMR;
        const int* ks = nz.ks ? nz.ks + (std::size_t)t * kKC : nullptr;  // nullptr: every k
        const int count = nz.ks ? nz.counts[t] : kc;
        float* c = C + (std::size_t)i * p.N + j;
        const float* a = a_trans ? p.A + (std::size_t)k0 * p.M + i : p.A + (std::size_t)i * p.K + k0;
        if (nr == kNR)
          micro_tile<2>(a_trans, rows, count, ks, a, lda, bp, c, p.N, nc, load_c);
        else
          micro_tile<1>(a_trans, rows, count, ks, a, lda, bp, c, p.N, nc, load_c);
      }
    }
  }
}

// The scratch buffer for the second half of a deep sum: one per calling thread, grown on
// first use and kept (a training step allocates nothing).
float* half_sum_buffer(std::size_t values) {
  thread_local Values<float> storage;
  if (storage.size() < values) storage.resize(values);
  return storage.data();
}



void fast_gemm(Form form, int M, int N, int K, const float* A, const float* B, float* C, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) std::fill(C, C + (std::size_t)M * N, 0.0f);
    return;
  }
  const Product p{form, M, N, K, A, B};
  int threads = num_threads();
  if (double(M) * N * K < kThreadMinFma) threads = 1;

  if (K >= kSplitK) {  // a deep sum: two halves, then one addition per entry of C
    int k_begin = 0, k_mid = 0;
    share_range(K, 0, 2, k_begin, k_mid);  // the first half is [0, k_mid)
    float* second = half_sum_buffer((std::size_t)M * N);
    const auto half = [&](int t) {
      if (t == 0) gemm_block(p, 0, k_mid, C, accumulate, 0, M, 0, N);
      if (t == 1) gemm_block(p, k_mid, K, second, false, 0, M, 0, N);
    };
    if (threads >= 2) {
      run_parts(2, half);
    } else {
      half(0);
      half(1);
    }
    const std::size_t n = (std::size_t)M * N;
    for (std::size_t q = 0; q < n; ++q) C[q] += second[q];
    return;
  }

  // Otherwise whole rows per thread (rows of dW1 = X^T dZ1 are input features, split
  // where X's columns are), or columns when there are too few rows to go round.
  const int tiles_m = (M + kMR - 1) / kMR;
  const bool by_rows = tiles_m >= 2 * threads;
  run_parts(threads, [&](int t) {
    int i0 = 0, i1 = M, j0 = 0, j1 = N;
    if (by_rows)
      share_range(M, t, threads, i0, i1);
    else
      share_range(N, t, threads, j0, j1);
    gemm_block(p, 0, K, C, accumulate, i0, i1, j0, j1);
  });
}

}  // namespace

// ---- The optional OpenBLAS path (built with -DCHAINRULE_BLAS=OpenBLAS) ------------
#ifdef CHAINRULE_HAVE_OPENBLAS
// Declared here rather than through <cblas.h>, whose location differs between systems.
extern "C" {
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
void openblas_set_num_threads(int threads);
}
#endif

void gemm(Form form, int M, int N, int K, const float* A, const float* B, float* C, bool accumulate) {
#ifdef CHAINRULE_HAVE_OPENBLAS
  if (kernel_path() == KernelPath::OpenBLAS) {
    static thread_local int blas_threads = 0;
    if (blas_threads != num_threads()) {
      blas_threads = num_threads();
      openblas_set_num_threads(blas_threads);
    }
    constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;  // the CBLAS enum values
    const int lda = form == Form::TN ? M : K, ldb = form == Form::NT ? K : N;
    cblas_sgemm(kRowMajor, form == Form::TN ? kTrans : kNoTrans, form == Form::NT ? kTrans : kNoTrans, M, N, K, 1.0f,
                A, lda, B, ldb, accumulate ? 1.0f : 0.0f, C, N);
    return;
  }
#endif
  fast_gemm(form, M, N, K, A, B, C, accumulate);
}

}  // namespace chainrule::fast

namespace chainrule {

void fast_gemm_nn(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate) {
  fast::fast_gemm(fast::Form::NN, M, N, K, A, B, C, accumulate);
}
void fast_gemm_tn(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate) {
  fast::fast_gemm(fast::Form::TN, M, N, K, A, B, C, accumulate);
}
void fast_gemm_nt(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate) {
  fast::fast_gemm(fast::Form::NT, M, N, K, A, B, C, accumulate);
}

void set_skip_zeros(bool on) { fast::g_skip_zeros = on; }
bool skip_zeros() { return fast::g_skip_zeros; }

}  // namespace chainrule
