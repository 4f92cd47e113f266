// Tests for src/chainrule/kernels.cpp and fast/gemm.cpp: the fast float products against the reference loops.
//
// Tolerance. The fast and the reference kernels add the same K products in different
// groupings (the fast one uses fused multiply-adds), so they round differently. Each
// float sum of K terms is within gamma = (K + 1) * u * S of the exact value, where
// u = 2^-24 and S = |C0| + sum_k |a_ik * b_kj| (C0 is the old C when accumulating).
// So we require |fast - ref| <= 2 * (K + 1) * u * S per entry: a proven bound that
// cannot fail by bad luck, yet catches any wrong or missing term (those are of size S/K).
#include "chainrule/data/dataset.hpp"
#include "chainrule/fast/isa.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/rng.hpp"

#include <doctest/doctest.h>

#include "../support/kernel_settings.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

using namespace chainrule;
using chainrule::testing::KernelSettingsGuard;

namespace {

enum class Form { NN, TN, NT };

const char* form_name(Form f) { return f == Form::NN ? "nn" : f == Form::TN ? "tn" : "nt"; }

Values<float> random_floats(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  Values<float> v(count);
  for (float& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

// A(i, k) and B(k, j) of the product, whichever way the operands are stored.
float a_at(Form f, const Values<float>& A, int M, int K, int i, int k) {
  return f == Form::TN ? A[(std::size_t)k * M + i] : A[(std::size_t)i * K + k];
}
float b_at(Form f, const Values<float>& B, int N, int K, int k, int j) {
  return f == Form::NT ? B[(std::size_t)j * K + k] : B[(std::size_t)k * N + j];
}

void run_fast(Form f, int M, int N, int K, const float* A, const float* B, float* C, bool acc) {
  if (f == Form::NN) fast_gemm_nn(M, N, K, A, B, C, acc);
  if (f == Form::TN) fast_gemm_tn(M, N, K, A, B, C, acc);
  if (f == Form::NT) fast_gemm_nt(M, N, K, A, B, C, acc);
}
void run_ref(Form f, int M, int N, int K, const float* A, const float* B, float* C, bool acc) {
  if (f == Form::NN) ref_gemm_nn(M, N, K, A, B, C, acc);
  if (f == Form::TN) ref_gemm_tn(M, N, K, A, B, C, acc);
  if (f == Form::NT) ref_gemm_nt(M, N, K, A, B, C, acc);
}

// Sets each value of A to zero with probability `zeros` (half of them -0): a sparse operand
// like a batch of MNIST images, whose zeros the fast nn and tn products skip.
void sprinkle_zeros(Values<float>& A, double zeros, std::uint64_t seed) {
  Rng rng(seed);
  for (float& a : A)
    if (rng.uniform() < zeros) a = rng.uniform() < 0.5 ? 0.0f : -0.0f;
}

// Runs fast and reference on one random problem (with a fraction `zeros` of A zero);
// returns the number of entries outside the tolerance (reporting the first one) and
// checks the result is not trivially zero.
int compare_with_reference(Form f, int M, int N, int K, bool accumulate, std::uint64_t seed, double zeros = 0.0) {
  auto A = random_floats((std::size_t)M * K, seed);
  const auto B = random_floats((std::size_t)K * N, seed + 1);
  if (zeros > 0) sprinkle_zeros(A, zeros, seed + 3);
  const auto C0 = random_floats((std::size_t)M * N, seed + 2);
  Values<float> fast = C0, ref = C0;
  run_fast(f, M, N, K, A.data(), B.data(), fast.data(), accumulate);
  run_ref(f, M, N, K, A.data(), B.data(), ref.data(), accumulate);
  const double u = std::ldexp(1.0, -24);
  int bad = 0;
  double largest = 0;
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double S = accumulate ? std::fabs(C0[(std::size_t)i * N + j]) : 0.0;
      for (int k = 0; k < K; ++k) S += std::fabs((double)a_at(f, A, M, K, i, k) * b_at(f, B, N, K, k, j));
      const double tol = 2.0 * (K + 1) * u * S;
      const double diff = std::fabs((double)fast[(std::size_t)i * N + j] - ref[(std::size_t)i * N + j]);
      largest = std::max(largest, std::fabs((double)fast[(std::size_t)i * N + j]));
      if (!(diff <= tol)) {
        if (bad == 0)
          MESSAGE(form_name(f) << " M=" << M << " N=" << N << " K=" << K << " acc=" << accumulate << ": C(" << i
                               << ", " << j << ") fast " << fast[(std::size_t)i * N + j] << " ref "
                               << ref[(std::size_t)i * N + j] << " diff " << diff << " > tol " << tol);
        ++bad;
      }
    }
  if ((K > 0 && zeros < 0.5) || accumulate) CHECK(largest > 0.0);  // random inputs never give an all-zero C
  return bad;
}

// The same bits, value for value (== would take -0 for +0 and refuse NaN == NaN).
bool same_bits(const Values<float>& a, const Values<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("fast products match the reference loops on odd shapes, overwriting and accumulating") {
  const int small[] = {1, 2, 7, 15, 16, 17, 31, 33};
  const int depths[] = {1, 7, 16, 33};
  std::uint64_t seed = 1;
  for (Form f : {Form::NN, Form::TN, Form::NT})
    for (bool acc : {false, true})
      for (int M : small)
        for (int N : small)
          for (int K : depths) CHECK(compare_with_reference(f, M, N, K, acc, seed++) == 0);
}

TEST_CASE("fast products match the reference on larger shapes and across K blocks") {
  struct Case {
    int M, N, K;
  };
  // Tile edges (rows of 8, columns of 32) and K blocks of at most 256 all land mid-way.
  const Case cases[] = {{64, 64, 64},  {127, 129, 31},  {129, 127, 255}, {33, 17, 256},
                        {17, 33, 257}, {9, 65, 513},    {128, 10, 784},  {2, 129, 784},
                        {784, 33, 7},  {127, 128, 129}, {31, 784, 15}};
  std::uint64_t seed = 1000;
  for (Form f : {Form::NN, Form::TN, Form::NT})
    for (bool acc : {false, true})
      for (const Case& c : cases) CHECK(compare_with_reference(f, c.M, c.N, c.K, acc, seed++) == 0);
}

TEST_CASE("fast products match the reference at the network's shapes (batch 128 and 32)") {
  for (int n : {128, 32}) {
    CHECK(compare_with_reference(Form::NN, n, 128, 784, false, 1) == 0);  // Z1 = X W1
    CHECK(compare_with_reference(Form::TN, 784, 128, n, true, 2) == 0);   // dW1 += X^T dZ1
    CHECK(compare_with_reference(Form::NN, n, 10, 128, false, 3) == 0);   // Z2 = H W2
    CHECK(compare_with_reference(Form::TN, 128, 10, n, true, 4) == 0);    // dW2 += H^T dZ2
    CHECK(compare_with_reference(Form::NT, n, 128, 10, false, 5) == 0);   // dH = dZ2 W2^T
  }
}

TEST_CASE("fast products are bit-identical across repeated calls and thread counts") {
  KernelSettingsGuard guard;
  struct Case {
    Form f;
    int M, N, K;
  };
  // Big enough to be split between threads (the small ones run on one thread): a deep sum
  // cut in two halves (K >= 512), rows, columns when there are few rows, and odd edges.
  const Case cases[] = {{Form::NN, 128, 128, 784}, {Form::TN, 784, 128, 128}, {Form::NT, 129, 127, 100},
                        {Form::NN, 1000, 10, 128}, {Form::NN, 32, 128, 784},  {Form::TN, 128, 129, 600},
                        {Form::NT, 7, 900, 513},   {Form::NN, 9, 300, 200}};
  for (const Case& c : cases)
    for (bool acc : {false, true}) {
      const auto A = random_floats((std::size_t)c.M * c.K, 7), B = random_floats((std::size_t)c.K * c.N, 8);
      const auto C0 = random_floats((std::size_t)c.M * c.N, 9);
      Values<float> first = C0;
      set_num_threads(1);
      run_fast(c.f, c.M, c.N, c.K, A.data(), B.data(), first.data(), acc);
      for (int threads : {1, 2, 3, 1, 2}) {
        set_num_threads(threads);
        Values<float> again = C0;
        run_fast(c.f, c.M, c.N, c.K, A.data(), B.data(), again.data(), acc);
        INFO(form_name(c.f) << " M=" << c.M << " N=" << c.N << " K=" << c.K << " acc=" << acc << " threads=" << threads);
        CHECK(again == first);
      }
    }
}

TEST_CASE("instruction-set paths: each one this CPU has is built in, and a missing one is refused") {
  KernelSettingsGuard guard;
  CHECK(kernel_isa_available(KernelIsa::Portable));
#if defined(__x86_64__)
  __builtin_cpu_init();
  CHECK(kernel_isa_available(KernelIsa::Avx2) == (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")));
  CHECK(kernel_isa_available(KernelIsa::Avx512) == (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")));
#endif
  CHECK(std::string(kernel_isa_name(KernelIsa::Avx512)) == "avx512");
  CHECK(std::string(kernel_isa_name(KernelIsa::Avx2)) == "avx2");
  CHECK(std::string(kernel_isa_name(KernelIsa::Portable)) == "portable");
  for (KernelIsa isa : {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512}) {
    if (kernel_isa_available(isa)) {
      set_kernel_isa(isa);
      CHECK(kernel_isa() == isa);
      set_kernel_path(KernelPath::Fast);
      CHECK(kernel_description() == std::string("fast (") + kernel_isa_name(isa) + ")");
    } else {
      CHECK_THROWS_AS(set_kernel_isa(isa), std::invalid_argument);
    }
  }
  set_kernel_path(KernelPath::Reference);
  CHECK(kernel_description() == "reference");
}

// The AVX-512 path's zero-skipping tiles for X W1 follow set_x_w1_tile (kernels.hpp), so that
// the tests below run every shape on any CPU with AVX-512.
const XW1Tile kXW1Tiles[] = {XW1Tile::Rows4x64, XW1Tile::Rows2x64, XW1Tile::Rows2x128};

TEST_CASE("the AVX-512 path's zero-skipping tiles follow set_x_w1_tile") {
  if (!kernel_isa_available(KernelIsa::Avx512)) {
    MESSAGE("no AVX-512 here: skipped");
    return;
  }
  KernelSettingsGuard guard;
  set_kernel_isa(KernelIsa::Avx512);
  const int rows[] = {4, 2, 2}, cols[] = {64, 64, 128};
  for (int t = 0; t < 3; ++t) {
    CAPTURE(x_w1_tile_name(kXW1Tiles[t]));
    set_x_w1_tile(kXW1Tiles[t]);
    CHECK(x_w1_tile() == kXW1Tiles[t]);
    const fast::TileShape x_w1 = fast::isa_kernels().skip_tile(false, 128), xt_dz1 = fast::isa_kernels().skip_tile(true, 128);
    CHECK(x_w1.rows == rows[t]);
    CHECK(x_w1.cols == cols[t]);
    CHECK(xt_dz1.rows == 4);  // X^T dZ1 keeps 4 x 64 everywhere
    CHECK(xt_dz1.cols == 64);
    CHECK(x_w1.kc * x_w1.cols <= fast::kPanelFloats);  // a packed panel fits the buffer
    CHECK(xt_dz1.kc * xt_dz1.cols <= fast::kPanelFloats);
    const fast::TileShape narrower = fast::isa_kernels().skip_tile(false, 100);  // 64..127 columns
    CHECK(narrower.cols == 64);
    CHECK(narrower.rows == (kXW1Tiles[t] == XW1Tile::Rows2x64 ? 2 : 4));
    CHECK(fast::isa_kernels().skip_tile(false, 10).rows == fast::kMR);  // narrow products keep 8 rows
  }
  CHECK(std::string(x_w1_tile_name(XW1Tile::Rows2x128)) == "2x128");
}

TEST_CASE("instruction-set paths give the same bits: every product, sparse or dense, on 1 and 2 threads") {
  KernelSettingsGuard guard;
  struct Case {
    Form f;
    int M, N, K;
  };
  // The network's products (batch 128 and 32, hidden layer and output layer), a deep sum cut
  // in halves, column splits, and odd edges of every micro-tile width.
  const Case cases[] = {{Form::NN, 128, 128, 784}, {Form::TN, 784, 128, 128}, {Form::NT, 128, 128, 10},
                        {Form::NN, 128, 10, 128},  {Form::TN, 128, 10, 128},  {Form::NN, 32, 128, 784},
                        {Form::TN, 784, 128, 32},  {Form::NT, 129, 127, 100}, {Form::NN, 1000, 10, 128},
                        {Form::TN, 128, 129, 600}, {Form::NT, 7, 900, 513},   {Form::NN, 9, 300, 200},
                        {Form::NN, 5, 3, 7},       {Form::TN, 13, 17, 9},     {Form::NN, 11, 33, 1030}};
  std::vector<KernelIsa> isas;
  for (KernelIsa isa : {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512})
    if (kernel_isa_available(isa)) isas.push_back(isa);
  MESSAGE("instruction-set paths compared: " << isas.size());
  for (const Case& c : cases)
    for (bool acc : {false, true})
      for (double zeros : {0.0, 0.8}) {
        auto A = random_floats((std::size_t)c.M * c.K, 17);
        if (zeros > 0) sprinkle_zeros(A, zeros, 19);
        const auto B = random_floats((std::size_t)c.K * c.N, 18), C0 = random_floats((std::size_t)c.M * c.N, 20);
        set_kernel_isa(KernelIsa::Portable);
        set_num_threads(1);
        Values<float> portable = C0;
        run_fast(c.f, c.M, c.N, c.K, A.data(), B.data(), portable.data(), acc);
        for (KernelIsa isa : isas)
          for (XW1Tile tile : kXW1Tiles)  // AVX-512's three shapes for X W1 (set_x_w1_tile)
            for (int threads : {1, 2}) {
              if (tile != XW1Tile::Rows4x64 && isa != KernelIsa::Avx512) continue;
              set_kernel_isa(isa);
              set_x_w1_tile(tile);
              set_num_threads(threads);
              Values<float> other = C0;
              run_fast(c.f, c.M, c.N, c.K, A.data(), B.data(), other.data(), acc);
              INFO(form_name(c.f) << " M=" << c.M << " N=" << c.N << " K=" << c.K << " acc=" << acc << " zeros="
                                  << zeros << " kernels " << kernel_isa_name(isa) << " x_w1_tile=" << x_w1_tile_name(tile)
                                  << " threads=" << threads);
              CHECK(same_bits(other, portable));
            }
      }
}

// make_batch's x = pixel / 255 (data/dataset.cpp), which the Fast path runs in the loop of
// the path in use (fast/isa.hpp, scale_pixels). Every byte value, at every position of a
// vector and in a batch whose rows do not fill whole vectors, must give the division's bits,
// on every path and on Reference.
TEST_CASE("instruction-set paths: make_batch scales every byte value to pixel / 255, bit for bit") {
  KernelSettingsGuard guard;
  data::ImageSet set;
  set.rows = 5;
  set.cols = 7;  // 35 pixels per image: rows end mid-vector
  set.count = 40;
  set.pixels.resize((std::size_t)set.count * 35);
  for (std::size_t q = 0; q < set.pixels.size(); ++q) set.pixels[q] = (std::uint8_t)((q * 37 + q / 256) % 256);
  set.labels.assign((std::size_t)set.count, 0);
  std::vector<int> seen(256, 0);
  for (std::uint8_t v : set.pixels) seen[v] = 1;
  REQUIRE(std::count(seen.begin(), seen.end(), 1) == 256);  // every byte value occurs
  std::vector<int> order(static_cast<std::size_t>(set.count));
  for (int i = 0; i < set.count; ++i) order[(std::size_t)i] = (i * 7) % set.count;
  std::vector<std::pair<KernelPath, KernelIsa>> runs = {{KernelPath::Reference, KernelIsa::Portable}};
  for (KernelIsa isa : {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512})
    if (kernel_isa_available(isa)) runs.emplace_back(KernelPath::Fast, isa);
  for (const auto& [path, isa] : runs)
    for (int threads : {1, 2}) {
      set_kernel_path(path);
      set_kernel_isa(isa);
      set_num_threads(threads);
      Tensor<float> X;
      std::vector<int> labels;
      data::make_batch(set, order, 3, 40, X, labels);
      INFO(kernel_path_name(path) << " " << kernel_isa_name(isa) << " threads=" << threads);
      std::size_t wrong = 0;
      for (int i = 0; i < X.rows; ++i)
        for (int j = 0; j < X.cols; ++j) {
          const std::uint8_t v = set.pixels[(std::size_t)order[(std::size_t)(3 + i)] * 35 + (std::size_t)j];
          const float want = static_cast<float>(v) / 255.0f;
          const float got = X.row(i)[j];
          wrong += std::memcmp(&want, &got, sizeof want) != 0 ? 1 : 0;
        }
      CHECK(X.rows == 37);
      CHECK(wrong == 0);
    }
}

TEST_CASE("fast products with empty dimensions") {
  Values<float> A(12, 1.0f), B(12, 1.0f), C(9, 5.0f);
  fast_gemm_nn(3, 3, 0, A.data(), B.data(), C.data(), true);  // K = 0, accumulating: C unchanged
  CHECK(C == Values<float>(9, 5.0f));
  fast_gemm_tn(3, 3, 0, A.data(), B.data(), C.data(), false);  // K = 0, overwriting: C = 0
  CHECK(C == Values<float>(9, 0.0f));
  C.assign(9, 5.0f);
  fast_gemm_nt(0, 3, 4, A.data(), B.data(), C.data(), false);  // M = 0: nothing to write
  fast_gemm_nn(3, 0, 4, A.data(), B.data(), C.data(), false);  // N = 0: nothing to write
  CHECK(C == Values<float>(9, 5.0f));
}

// Zero skipping (fast/gemm.cpp): the large nn and tn products leave out each k at which a
// whole 8-row tile of A is zero. Shapes at or above the size where it starts (3e5
// multiply-adds), with tile and K-block edges mid-way, and deep sums cut in two halves.
struct SparseCase {
  Form f;
  int M, N, K;
};
const SparseCase kSparseCases[] = {{Form::NN, 128, 128, 784}, {Form::TN, 784, 128, 128}, {Form::NN, 32, 128, 784},
                                   {Form::TN, 784, 128, 32},  {Form::NN, 129, 33, 600},  {Form::NN, 7, 300, 513},
                                   {Form::TN, 785, 40, 77},   {Form::TN, 13, 129, 300},  {Form::NN, 300, 17, 257}};

TEST_CASE("zero skipping: sparse A matches the reference loops") {
  std::uint64_t seed = 5000;
  for (double zeros : {0.5, 0.8, 0.97})
    for (const SparseCase& c : kSparseCases)
      for (bool acc : {false, true}) CHECK(compare_with_reference(c.f, c.M, c.N, c.K, acc, seed++, zeros) == 0);
}

TEST_CASE("zero skipping gives the values of the full loop over k, on any thread count") {
  KernelSettingsGuard guard;
  for (const SparseCase& c : kSparseCases)
    for (double zeros : {0.0, 0.8, 1.0})  // dense (nothing to skip), sparse, all zero
      for (bool acc : {false, true}) {
        auto A = random_floats((std::size_t)c.M * c.K, 31);
        sprinkle_zeros(A, zeros, 32);
        const auto B = random_floats((std::size_t)c.K * c.N, 33), C0 = random_floats((std::size_t)c.M * c.N, 34);
        set_num_threads(1);
        set_skip_zeros(false);
        Values<float> full = C0;
        run_fast(c.f, c.M, c.N, c.K, A.data(), B.data(), full.data(), acc);
        set_skip_zeros(true);
        for (int threads : {1, 2, 3}) {
          set_num_threads(threads);
          Values<float> skipped = C0;
          run_fast(c.f, c.M, c.N, c.K, A.data(), B.data(), skipped.data(), acc);
          INFO(form_name(c.f) << " M=" << c.M << " N=" << c.N << " K=" << c.K << " zeros=" << zeros
                              << " acc=" << acc << " threads=" << threads);
          CHECK(skipped == full);  // equal values (a zero may differ in sign only)
        }
      }
}

// The bookkeeping behind zero skipping (fast/isa.hpp): nonzero_bits marks, per tile of mr
// rows and per k, whether some row of the tile is nonzero there; list_from_bits turns a
// tile's bits into its list of k. Each path's own form (branch-free, a vector at a time) must
// give what those definitions give, at every width and depth, with -0 a zero and NaN not,
// and list_from_bits must write no further than kListSpill past its list.
TEST_CASE("zero skipping's masks and lists: every path gives the definition's bits and lists") {
  using fast::kWords;
  std::vector<const fast::IsaKernels*> paths;  // the paths this CPU runs
  if (kernel_isa_available(KernelIsa::Portable)) paths.push_back(fast::portable_kernels());
  if (kernel_isa_available(KernelIsa::Avx2)) paths.push_back(fast::avx2_kernels());
  if (kernel_isa_available(KernelIsa::Avx512)) paths.push_back(fast::avx512_kernels());
  REQUIRE(!paths.empty());
  Rng rng(77);
  int cases = 0;
  for (bool a_trans : {false, true})
    for (int mr : {1, 2, 4, 8})
      for (int width : {1, 15, 16, 17, 100, 784, 1030})  // rows of A in [i0, i1)
        for (int kc : {1, 63, 64, 65, 128, 200, 256}) {
          // A holds rows i in [0, i0 + width) and k in [0, k0 + kc), stored (M, K) or (K, M).
          const int i0 = 3, k0 = 5, M = i0 + width, K = k0 + kc;
          const double zeros = rng.uniform() < 0.5 ? 0.9 : 0.5;
          Values<float> A((std::size_t)M * K);
          for (float& a : A) {
            const double u = rng.uniform();
            a = u < zeros / 2 ? 0.0f : u < zeros ? -0.0f : u < zeros + 0.01 ? NAN : static_cast<float>(rng.uniform(-1, 1));
          }
          const std::ptrdiff_t lda = a_trans ? M : K;
          const auto at = [&](int i, int k) { return a_trans ? A[(std::size_t)k * M + i] : A[(std::size_t)i * K + k]; };
          const int tiles = (width + mr - 1) / mr;
          std::vector<std::uint64_t> expected((std::size_t)tiles * kWords, 0);
          for (int t = 0; t < tiles; ++t)
            for (int q = 0; q < kc; ++q)
              for (int i = i0 + t * mr; i < std::min(i0 + width, i0 + (t + 1) * mr); ++i)
                if (at(i, k0 + q) != 0.0f || std::isnan(at(i, k0 + q)))
                  expected[(std::size_t)t * kWords + q / 64] |= std::uint64_t{1} << (q % 64);
          for (const fast::IsaKernels* path : paths) {
            const fast::IsaKernels& isa = *path;
            INFO("kernels " << isa.name << (a_trans ? " tn" : " nn") << " mr=" << mr << " width=" << width << " kc=" << kc);
            std::vector<std::uint64_t> bits((std::size_t)tiles * kWords, ~std::uint64_t{0});
            isa.nonzero_bits(a_trans, A.data(), lda, i0, i0 + width, k0, kc, mr, bits.data());
            CHECK(bits == expected);
            // The lists, one tile after another in storage of kc per tile, as gemm.cpp keeps them.
            const int sentinel = -12345;
            std::vector<int> lists((std::size_t)tiles * kc + fast::kListSpill, sentinel);
            bool lists_ok = true;
            for (int t = 0; t < tiles && lists_ok; ++t) {
              const int n = isa.list_from_bits(expected.data() + (std::size_t)t * kWords, kc, lists.data() + (std::size_t)t * kc);
              std::vector<int> want;
              for (int q = 0; q < kc; ++q)
                if (expected[(std::size_t)t * kWords + q / 64] >> (q % 64) & 1) want.push_back(q);
              lists_ok = n == (int)want.size() && std::equal(want.begin(), want.end(), lists.begin() + (std::ptrdiff_t)t * kc);
            }
            CHECK(lists_ok);
            CHECK(lists.back() == sentinel);  // nothing written past the room kListSpill gives
            ++cases;
          }
        }
  MESSAGE("mask and list cases checked: " << cases);
}

namespace {
std::size_t count_nans(const Values<float>& v) {
  std::size_t nans = 0;
  for (float x : v) nans += std::isnan(x) ? 1 : 0;
  return nans;
}
}  // namespace

TEST_CASE("zero skipping happens: a k where a tile of A is zero never meets B's row k") {
  KernelSettingsGuard guard;
  // One thread: each thread's part of C decides for itself whether its rows have zeros enough
  // to be worth skipping (a first look at one k), so with two parts one of them may rightly
  // run every k, and meet the infinite row. The values are the same either way for finite B.
  set_num_threads(1);
  // X W1 at batch 128 with pixel 300 zero in every image and W1's row 300 infinite: the
  // full loop makes every entry 0 * inf = NaN, the skipping one never reads that row.
  const int M = 128, N = 128, K = 784;
  auto A = random_floats((std::size_t)M * K, 41), B = random_floats((std::size_t)K * N, 42);
  sprinkle_zeros(A, 0.8, 43);
  for (int i = 0; i < M; ++i) A[(std::size_t)i * K + 300] = 0.0f;
  for (int j = 0; j < N; ++j) B[(std::size_t)300 * N + j] = INFINITY;
  Values<float> C((std::size_t)M * N);
  for (bool skip : {true, false}) {
    set_skip_zeros(skip);
    fast_gemm_nn(M, N, K, A.data(), B.data(), C.data(), false);
    INFO("skip zeros: " << skip);
    CHECK(count_nans(C) == (skip ? 0 : C.size()));
  }
  // And dW1 = X^T dZ1 with sample 5 all zero and dZ1's row 5 infinite.
  auto X = random_floats((std::size_t)M * K, 44), dZ = random_floats((std::size_t)M * N, 45);
  sprinkle_zeros(X, 0.8, 46);
  for (int k = 0; k < K; ++k) X[(std::size_t)5 * K + k] = 0.0f;
  for (int j = 0; j < N; ++j) dZ[(std::size_t)5 * N + j] = -INFINITY;
  Values<float> dW((std::size_t)K * N);
  for (bool skip : {true, false}) {
    set_skip_zeros(skip);
    fast_gemm_tn(K, N, M, X.data(), dZ.data(), dW.data(), false);
    INFO("skip zeros: " << skip);
    CHECK(count_nans(dW) == (skip ? 0 : dW.size()));
  }
}

TEST_CASE("fast products propagate NaN like the reference (a NaN of A is never skipped)") {
  // A small product, and X W1's shape with X 90% zeros (where zeros are skipped).
  for (auto [M, N, K] : {std::array{9, 33, 20}, std::array{128, 128, 784}}) {
    auto A = random_floats((std::size_t)M * K, 3), B = random_floats((std::size_t)K * N, 4);
    if (M == 128) sprinkle_zeros(A, 0.9, 5);
    for (int i = 0; i < 8; ++i) A[(std::size_t)i * K + 11] = 0.0f;  // column 11 of the first tile: zero
    A[(std::size_t)4 * K + 11] = std::nanf("");  // but for A(4, 11): row 4 of C becomes NaN, nothing else
    Values<float> C((std::size_t)M * N);
    fast_gemm_nn(M, N, K, A.data(), B.data(), C.data(), false);
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) CHECK(std::isnan(C[(std::size_t)i * N + j]) == (i == 4));
  }
}

TEST_CASE("Tensor products check shapes and name both operands") {
  Tensor<float> A(3, 4), B(5, 6), C;
  auto message_of = [](auto&& call) {
    try {
      call();
    } catch (const ShapeError& e) {
      return std::string(e.what());
    }
    return std::string("no ShapeError");
  };
  for (const std::string& msg : {message_of([&] { matmul(A, B, C); }), message_of([&] { matmul_tn(A, B, C); }),
                                 message_of([&] { matmul_nt(A, B, C); })}) {
    INFO(msg);
    CHECK(msg.find("(3, 4)") != std::string::npos);
    CHECK(msg.find("(5, 6)") != std::string::npos);
  }
  Tensor<float> B2(4, 6), wrong(2, 2);
  const std::string acc_msg = message_of([&] { matmul(A, B2, wrong, true); });
  INFO(acc_msg);
  CHECK(acc_msg.find("(2, 2)") != std::string::npos);  // accumulating needs C to be (3, 6) already
  CHECK(acc_msg.find("(3, 6)") != std::string::npos);
}

TEST_CASE("Tensor products: float takes the selected path, double the reference loops") {
  KernelSettingsGuard guard;
  Tensor<float> X(37, 50), W(50, 29);
  X.data = random_floats(X.size(), 11);
  W.data = random_floats(W.size(), 12);
  Tensor<float> fast, ref;
  set_kernel_path(KernelPath::Fast);
  matmul(X, W, fast);
  set_kernel_path(KernelPath::Reference);
  matmul(X, W, ref);
  REQUIRE(fast.same_shape(ref));
  CHECK(fast.rows == 37);
  CHECK(fast.cols == 29);
  CHECK(max_abs_diff(fast, ref) <= 3e-4f);  // |a|, |b| < 1 so S <= 50: the bound 2 * 51 * u * 50 = 3e-4

  Tensor<double> Xd = X.cast<double>(), Wd = W.cast<double>(), Yd;
  set_kernel_path(KernelPath::Fast);
  matmul(Xd, Wd, Yd);
  std::vector<double> expect((std::size_t)37 * 29);
  ref_gemm_nn(37, 29, 50, Xd.data.data(), Wd.data.data(), expect.data(), false);
  CHECK(Yd.data == expect);  // double always runs the reference loop, bit for bit

  CHECK(std::string(kernel_path_name(KernelPath::Fast)) == "fast");
  CHECK(std::string(kernel_path_name(KernelPath::Reference)) == "reference");
  CHECK(std::string(kernel_path_name(KernelPath::OpenBLAS)) == "openblas");
}

#ifdef CHAINRULE_HAVE_OPENBLAS
TEST_CASE("the OpenBLAS path matches the reference loops") {
  KernelSettingsGuard guard;
  Tensor<float> X(33, 70), W(70, 17), D(33, 17);
  X.data = random_floats(X.size(), 21);
  W.data = random_floats(W.size(), 22);
  D.data = random_floats(D.size(), 23);
  Tensor<float> blas_nn, ref_nn, blas_tn, ref_tn, blas_nt, ref_nt;
  for (KernelPath path : {KernelPath::OpenBLAS, KernelPath::Reference}) {
    set_kernel_path(path);
    const bool blas = path == KernelPath::OpenBLAS;
    matmul(X, W, blas ? blas_nn : ref_nn);     // (33, 17)
    matmul_tn(X, D, blas ? blas_tn : ref_tn);  // (70, 17)
    matmul_nt(D, W, blas ? blas_nt : ref_nt);  // (33, 70)
  }
  // |a|, |b| < 1: S <= 70 (nn), 33 (tn), 17 (nt); 2 * 71 * u * 70 = 6e-4 covers all three
  CHECK(max_abs_diff(blas_nn, ref_nn) <= 6e-4f);
  CHECK(max_abs_diff(blas_tn, ref_tn) <= 6e-4f);
  CHECK(max_abs_diff(blas_nt, ref_nt) <= 6e-4f);
  CHECK(blas_tn.rows == 70);
  CHECK(blas_nt.cols == 70);
}
#else
TEST_CASE("asking for OpenBLAS without it built in is an error") {
  KernelSettingsGuard guard;
  CHECK_THROWS_AS(set_kernel_path(KernelPath::OpenBLAS), std::invalid_argument);
  CHECK(kernel_path() == guard.path);
}
#endif
