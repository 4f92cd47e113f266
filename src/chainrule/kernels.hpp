// Matrix products: the only place in chainrule where speed tricks live.
//
// The three products a dense layer needs (docs/architecture.md):
//   forward   Y  = X  W      matmul     (N, D) x (D, H)   -> (N, H)
//   backward  dW = X^T dY    matmul_tn  (N, D)^T x (N, H) -> (D, H)
//   backward  dX = dY W^T    matmul_nt  (N, H) x (D, H)^T -> (N, D)
//
// Each has a readable reference loop (ref_gemm_*) and a fast float path
// (fast_gemm_*). Tests compare the two on many shapes; double precision (used by
// the gradient checks) always runs the reference loop.
//
// The one elementwise pass that costs as much as a product lives here too: Adam's
// update (ref_adam_update / fast_adam_update, bit-identical; docs/performance.md).
#pragma once

#include <cstddef>
#include <type_traits>

#include "chainrule/tensor.hpp"

namespace chainrule {

// ---- Tensor-level products (shape-checked) -----------------------------------
// With accumulate = false, C is resized and overwritten; with true, the product is added to C.
template <typename T>
void matmul(const Tensor<T>& A, const Tensor<T>& B, Tensor<T>& C, bool accumulate = false);     // C = A B
template <typename T>
void matmul_tn(const Tensor<T>& A, const Tensor<T>& B, Tensor<T>& C, bool accumulate = false);  // C = A^T B
template <typename T>
void matmul_nt(const Tensor<T>& A, const Tensor<T>& B, Tensor<T>& C, bool accumulate = false);  // C = A B^T

// ---- Raw kernels, row-major, C is (M, N) --------------------------------------
// nn: A (M, K), B (K, N).   tn: A (K, M), B (K, N).   nt: A (M, K), B (N, K).
template <typename T>
void ref_gemm_nn(int M, int N, int K, const T* A, const T* B, T* C, bool accumulate);
template <typename T>
void ref_gemm_tn(int M, int N, int K, const T* A, const T* B, T* C, bool accumulate);
template <typename T>
void ref_gemm_nt(int M, int N, int K, const T* A, const T* B, T* C, bool accumulate);

void fast_gemm_nn(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate);
void fast_gemm_tn(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate);
void fast_gemm_nt(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate);

// ---- Adam's update, one pass over n values (optim.hpp has the formula) -----------
//   m = b1 m + (1 - b1) g
//   s = b2 s + (1 - b2) g^2
//   w -= lr (m / c1) / (sqrt(s / c2) + eps)      c1 = 1 - b1^t, c2 = 1 - b2^t
// ref_ is the plain loop; fast_ does 16 values per instruction (AVX-512) and gives the
// same bits: both round after the same operations (two fused multiply-adds, written
// out as std::fma, and correctly rounded division and square root).
struct AdamCoefficients {
  float lr, b1, b2, c1, c2, eps;
};
void ref_adam_update(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k);
void fast_adam_update(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k);
void adam_update(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k);  // the selected path

// ---- Splitting work between threads (kernels.cpp, "Why those splits") -------------
// Part t of `parts` of [0, n): consecutive whole multiples of 16 values. Every pass that
// uses threads splits the same way, so the same thread always touches the same values.
void share_range(int n, int t, int parts, int& begin, int& end);

// Adam's update, and zeroing, over a (rows, cols) parameter, rows shared out between the
// threads. Each value is computed as in the one-thread pass: the same bits.
void adam_update(int rows, int cols, float* w, const float* g, float* m, float* s, const AdamCoefficients& k);
void zero_fill(int rows, int cols, float* x);

// Calls fill(c0, c1) for column ranges share_range(cols, t, parts) that cover [0, cols),
// one per thread when the work (values in all) pays for threads; building a batch uses it
// so that each thread writes the columns of X that it reads in X W1 and X^T dZ1.
// (A template over the callable, rather than std::function, which may allocate memory
// for the lambda's captures on every call: a training step allocates nothing.)
void for_column_shares(int cols, std::size_t values, void (*fill)(void* context, int c0, int c1), void* context);
template <typename Fill>
void for_column_shares(int cols, std::size_t values, Fill&& fill) {
  for_column_shares(
      cols, values, [](void* f, int c0, int c1) { (*static_cast<std::remove_reference_t<Fill>*>(f))(c0, c1); },
      const_cast<void*>(static_cast<const void*>(&fill)));
}

// ---- Which path float products take, and with how many threads ---------------
enum class KernelPath { Reference, Fast, OpenBLAS };
// Reference also runs the reference Adam loop.
void set_kernel_path(KernelPath path);  // OpenBLAS only when built with -DCHAINRULE_BLAS=OpenBLAS
KernelPath kernel_path();
const char* kernel_path_name(KernelPath path);

// Zero skipping in the fast nn and tn products (on by default): a k at which a whole
// tile of A is zero adds nothing to that tile's sums and is not visited. The values of C
// are the same either way (kernels.cpp, "Zero skipping"); off measures what it saves.
void set_skip_zeros(bool on);
bool skip_zeros();

// 0 = automatic: 1 thread, or OpenMP's count when OMP_NUM_THREADS is set (on a busy machine
// two threads that spin-wait are far slower than one: docs/performance.md, "Threads").
// The products give the same bits for every thread count. At most kMaxThreads: libgomp
// crashes or aborts on tens of thousands, and 2 * threads must not overflow an int.
// set_num_threads throws std::invalid_argument for a count outside 0..kMaxThreads, and the
// automatic count (OMP_NUM_THREADS) is held to kMaxThreads too.
constexpr int kMaxThreads = 256;
void set_num_threads(int threads);
int num_threads();       // the count in use
int automatic_threads();  // what 0 means here

}  // namespace chainrule
