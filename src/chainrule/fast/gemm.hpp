// The fast float products (fast/gemm.cpp): blocked AVX-512 micro-kernels, packing, zero
// skipping, and the optional OpenBLAS comparison path (docs/performance.md).
#pragma once

namespace chainrule::fast {

enum class Form { NN, TN, NT };  // C = A B, A^T B, A B^T

// C (M, N) (+)= the product, on the selected path: Fast (the blocked kernels, the same as
// fast_gemm_nn/tn/nt) or OpenBLAS (cblas_sgemm). A is (M, K), stored (K, M) for tn; B is
// (K, N), stored (N, K) for nt.
void gemm(Form form, int M, int N, int K, const float* A, const float* B, float* C, bool accumulate);

// Where a sum over K terms is cut in two: the first half is [0, middle), the second
// [middle, K), summed apart and added at the end (fast/gemm.cpp, "Fast float path", step 4).
// K when the sum is too short to be cut. fast/conv.cpp cuts its dW sums at the same place.
int deep_sum_middle(int K);

// Sizes the calling thread's packing and zero-skipping buffers (the thread pool's threads
// call it when they start: fast/threads.cpp).
void warm_thread_buffers();

}  // namespace chainrule::fast
