// The fast float products behind matmul, matmul_tn and matmul_nt (kernels.cpp calls
// fast::gemm on the Fast and OpenBLAS paths). The loops that differ by instruction set (the
// micro-kernels, the zero masks) are in isa_avx512.cpp, isa_avx2.cpp and isa_portable.cpp,
// chosen when the program runs (fast/isa.hpp); this file is the same for all of them. docs/performance.md walks through each step
// with its measurements; tests/unit/test_kernels.cpp holds them to the reference loops.
#include "chainrule/fast/gemm.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "chainrule/fast/isa.hpp"
#include "chainrule/fast/threads.hpp"
#include "chainrule/kernels.hpp"

namespace chainrule::fast {

// ---- Fast float path ----------------------------------------------------------
// How it works (docs/performance.md walks through each step with measurements):
//   1. C is cut into micro-tiles of kMR rows x nr columns (nr = 32, or 16 when N <= 16).
//      A micro-kernel keeps one tile in registers and runs the k loop: per k it loads
//      nr values of B and multiplies them by kMR broadcast values of A (on AVX2, with half
//      as many registers, a tile is done as four blocks of 4 rows x 16 columns).
//   2. K is cut into blocks of at most kKC. For each block, an nr-column panel of B is
//      copied ("packed") into a small contiguous buffer that stays in the L1 cache
//      while every row tile of A streams past it; edge panels are padded with zeros.
//      Except in A B when B has at most two panels' columns (W1 in X W1: 128 columns, two
//      panels of 64): a full panel is then read where it lies, its rows 512 bytes apart,
//      which spread over the L1 cache's sets well enough, and the copy is saved (X W1 on
//      AVX-512: 65 -> 60 µs per step). Wider rows would fall on too few sets.
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
//      images, mostly zeros: docs/performance.md, "Step 5"). Those products take the
//      path's own tile shape (IsaKernels::skip_tile: 4 rows on AVX-512 and AVX2, 2 for
//      X W1 where x_w1_tile says so (Zen 4, Intel), since fewer rows leave out more k). A dense A is recognised
//      from a first look at one tile and runs as before.
// Every entry of C is computed the same way wherever its tile lies: start from 0 (or
// from C when accumulating, or from the previous K block), then one fused multiply-add
// per k in increasing k, and for a deep sum the one addition of the two halves. So the
// result is bit-identical for any thread count. A skipped k would have added
// fma(0, b, c) = c + 0 = c: the same value (only the sign of a zero c can differ, and
// an Inf or NaN in B's row k is not met, where the full loop would make 0 * Inf = NaN).
// Why those splits: docs/performance.md, "Notes from the code".
namespace {

constexpr double kThreadMinFma = 3e5;  // smaller products run on one thread (fork/join costs more)
constexpr int kSplitK = 512;           // sums over at least this many k are cut into two halves
constexpr int kChunkRows = 1024;       // rows of A per zero-skipping pass (a multiple of every tile's rows)
static_assert(kChunkRows % kMR == 0, "a chunk holds whole micro-tiles");

bool g_skip_zeros = true;  // set_skip_zeros

// IsaKernels::pack (fast/isa.hpp) copies a panel of B into the packing buffer: compiled for
// each path, like the other loops over many values.

// The packing buffer: one per thread, allocated on first use, 64-byte aligned.
float* pack_buffer() {
  thread_local std::vector<float> storage;
  if (storage.empty()) storage.resize(kPanelFloats + 16);
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
// A k at which all rows of a tile of A are zero adds 0 * B(k, j) to each of the tile's
// sums, which leaves them as they are: the micro-kernel can visit only the other k and
// compute the same values (the comment at "Fast float path"; the numbers:
// docs/performance.md, "Smaller tiles for zero skipping").
// IsaKernels::nonzero_bits (fast/isa.hpp) records, for each tile of mr rows, one bit per k
// of a K block.

// For each tile of mr rows in [i0, i1): the k of [k0, k0 + kc) to visit (ks + t * kc,
// counts[t] long). Returns {nullptr, nullptr} when A has too few zeros there to be worth
// skipping (more than 7/8 of the k needed): the micro-kernel then runs over every k.
// The storage is kept per thread and reused: a training step allocates nothing.
struct NonzeroKs {
  const int* ks;
  const int* counts;
};
thread_local std::vector<std::uint64_t> bit_storage;
thread_local Values<int> ks_storage;
thread_local std::vector<int> count_storage;

// The most tiles a pass over kChunkRows rows can have (tiles of one row), and the most k
// they list in all (each at most one K block of kKC), with room for list_from_bits to write
// whole vectors past the last list.
constexpr std::size_t kMostTiles = kChunkRows;
constexpr std::size_t kMostListed = (std::size_t)kChunkRows * kKC + kListSpill;

// Sizes this thread's zero-skipping storage for the largest pass.
void size_nonzero_storage() {
  if (bit_storage.size() < kMostTiles * kWords) bit_storage.resize(kMostTiles * kWords);
  if (ks_storage.size() < kMostListed) ks_storage.resize(kMostListed);
  if (count_storage.size() < kMostTiles) count_storage.resize(kMostTiles);
}

NonzeroKs nonzero_ks(const IsaKernels& isa, bool a_trans, const float* A, std::ptrdiff_t lda, int i0, int i1, int k0,
                     int kc, int mr) {
  const auto tiles = (std::size_t)((i1 - i0 + mr - 1) / mr);
  size_nonzero_storage();
  std::uint64_t* bits = bit_storage.data();
  // A first look, to leave dense operands (a hidden layer's input, say) at the cost of a
  // glance: the first tile over every k (nn), or every tile at the first k (tn).
  std::size_t seen = 0, probe = 0;
  if (a_trans) {
    isa.nonzero_bits(true, A, lda, i0, i1, k0, 1, mr, bits);
    probe = tiles;
  } else {
    isa.nonzero_bits(false, A, lda, i0, std::min(i1, i0 + mr), k0, kc, mr, bits);
    probe = (std::size_t)kc;
  }
  seen = isa.count_bits(bits, (a_trans ? tiles : 1) * kWords);
  if (8 * seen > 7 * probe) return {nullptr, nullptr};
  isa.nonzero_bits(a_trans, A, lda, i0, i1, k0, kc, mr, bits);
  const std::size_t needed = isa.count_bits(bits, tiles * kWords);
  if (8 * needed > 7 * tiles * (std::size_t)kc) return {nullptr, nullptr};
  for (std::size_t t = 0; t < tiles; ++t)
    count_storage[t] = isa.list_from_bits(bits + t * kWords, kc, ks_storage.data() + t * kc);
  return {ks_storage.data(), count_storage.data()};
}

// Rows [i0, i1) and columns [j0, j1) of C (leading dimension N), summed over k in
// [k_begin, k_end) only: the whole sum, or one half of a deep one.
void gemm_block(const IsaKernels& isa, const Product& p, int k_begin, int k_end, float* C, bool accumulate, int i0, int i1, int j0,
                int j1) {
  if (i0 >= i1 || j0 >= j1 || k_begin >= k_end) return;
  float* bp = pack_buffer();
  const bool a_trans = p.form == Form::TN;
  // Zero skipping pays on the large products only (A = X in this network).
  const bool skip = g_skip_zeros && p.form != Form::NT && double(p.M) * p.N * p.K >= kThreadMinFma;
  const TileShape shape = skip ? isa.skip_tile(a_trans, p.N) : TileShape{kMR, isa.tile_cols(p.N), kKC};
  const int mr = shape.rows, nr = shape.cols;
  const int depth = k_end - k_begin;
  const int kblocks = (depth + shape.kc - 1) / shape.kc;
  const int kc_even = (depth + kblocks - 1) / kblocks;  // equal blocks; depend on the depth only
  const std::ptrdiff_t lda = a_trans ? p.M : p.K, ldb = p.form == Form::NT ? p.K : p.N;
  for (int k0 = k_begin; k0 < k_end; k0 += kc_even) {
    const int kc = std::min(kc_even, k_end - k0);
    const bool load_c = accumulate || k0 > k_begin;
    // Rows in chunks of at most kChunkRows, so that the zero-skipping lists fit the storage
    // every pool thread sized when it started (a convolution's im2col has 100352 rows per
    // batch): whichever thread runs a part, a training step allocates nothing. Each entry of
    // C still sums its k in the same order.
    for (int r0 = i0; r0 < i1; r0 += kChunkRows) {
      const int r1 = std::min(i1, r0 + kChunkRows);
      const NonzeroKs nz = skip ? nonzero_ks(isa, a_trans, p.A, lda, r0, r1, k0, kc, mr) : NonzeroKs{nullptr, nullptr};
      for (int j = j0; j < j1; j += nr) {
        const int nc = std::min(nr, j1 - j);
        // A full panel of a narrow B stored (K, N), such as W1 in X W1, is read where it lies
        // (step 2's exception, above), else it is packed.
        const bool direct = p.form == Form::NN && nc == nr && ldb <= 2 * nr;
        const float* panel = direct ? p.B + (std::size_t)k0 * ldb + j : bp;
        if (!direct) isa.pack(p.form == Form::NT, p.B, ldb, k0, kc, j, nc, nr, bp);
        const float* a = a_trans ? p.A + (std::size_t)k0 * p.M + r0 : p.A + (std::size_t)r0 * p.K + k0;
        isa.tiles(nr, a_trans, mr, r1 - r0, kc, nz.ks, nz.counts, a, lda, panel, direct ? ldb : nr,
                  C + (std::size_t)r0 * p.N + j, p.N, nc, load_c);
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



}  // namespace

int deep_sum_middle(int K) {
  if (K < kSplitK) return K;
  int k_begin = 0, k_mid = 0;
  share_range(K, 0, 2, k_begin, k_mid);
  return k_mid;
}

// A pool thread may run any part of a product, the first time long after the first step:
// its buffers are sized when it starts, for the kChunkRows rows gemm_block takes at a time,
// so that a training step allocates nothing later.
void warm_thread_buffers() {
  pack_buffer();
  size_nonzero_storage();
}

namespace {

void fast_gemm(Form form, int M, int N, int K, const float* A, const float* B, float* C, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) std::fill(C, C + (std::size_t)M * N, 0.0f);
    return;
  }
  const Product p{form, M, N, K, A, B};
  const IsaKernels& isa = isa_kernels();
  int threads = num_threads();
  if (double(M) * N * K < kThreadMinFma) threads = 1;

  if (const int k_mid = deep_sum_middle(K); k_mid < K) {  // a deep sum: two halves, then one addition per entry of C
    float* second = half_sum_buffer((std::size_t)M * N);
    const auto half = [&](int t) {
      if (t == 0) gemm_block(isa, p, 0, k_mid, C, accumulate, 0, M, 0, N);
      if (t == 1) gemm_block(isa, p, k_mid, K, second, false, 0, M, 0, N);
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
    gemm_block(isa, p, 0, K, C, accumulate, i0, i1, j0, j1);
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
