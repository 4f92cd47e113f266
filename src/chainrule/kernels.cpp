#include "chainrule/kernels.hpp"

#include <stdexcept>
#include <string>

#ifdef CHAINRULE_HAVE_OPENMP
#include <omp.h>
#endif

namespace chainrule {

// ---- Reference loops: what the products mean, written plainly ----------------

// C[i][j] (+)= sum_k A[i][k] * B[k][j]
template <typename T>
void ref_gemm_nn(int M, int N, int K, const T* A, const T* B, T* C, bool accumulate) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      T sum = 0;
      for (int k = 0; k < K; ++k) sum += A[(std::size_t)i * K + k] * B[(std::size_t)k * N + j];
      C[(std::size_t)i * N + j] = accumulate ? C[(std::size_t)i * N + j] + sum : sum;
    }
}

// C[i][j] (+)= sum_k A[k][i] * B[k][j]      (A is stored (K, M))
template <typename T>
void ref_gemm_tn(int M, int N, int K, const T* A, const T* B, T* C, bool accumulate) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      T sum = 0;
      for (int k = 0; k < K; ++k) sum += A[(std::size_t)k * M + i] * B[(std::size_t)k * N + j];
      C[(std::size_t)i * N + j] = accumulate ? C[(std::size_t)i * N + j] + sum : sum;
    }
}

// C[i][j] (+)= sum_k A[i][k] * B[j][k]      (B is stored (N, K))
template <typename T>
void ref_gemm_nt(int M, int N, int K, const T* A, const T* B, T* C, bool accumulate) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      T sum = 0;
      for (int k = 0; k < K; ++k) sum += A[(std::size_t)i * K + k] * B[(std::size_t)j * K + k];
      C[(std::size_t)i * N + j] = accumulate ? C[(std::size_t)i * N + j] + sum : sum;
    }
}

template void ref_gemm_nn<float>(int, int, int, const float*, const float*, float*, bool);
template void ref_gemm_tn<float>(int, int, int, const float*, const float*, float*, bool);
template void ref_gemm_nt<float>(int, int, int, const float*, const float*, float*, bool);
template void ref_gemm_nn<double>(int, int, int, const double*, const double*, double*, bool);
template void ref_gemm_tn<double>(int, int, int, const double*, const double*, double*, bool);
template void ref_gemm_nt<double>(int, int, int, const double*, const double*, double*, bool);

// ---- Fast float path ----------------------------------------------------------
// (Placeholder until the blocked SIMD kernels land: the reference loops.)
void fast_gemm_nn(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate) {
  ref_gemm_nn(M, N, K, A, B, C, accumulate);
}
void fast_gemm_tn(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate) {
  ref_gemm_tn(M, N, K, A, B, C, accumulate);
}
void fast_gemm_nt(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate) {
  ref_gemm_nt(M, N, K, A, B, C, accumulate);
}

// ---- Path and threads ----------------------------------------------------------
namespace {
KernelPath g_path = KernelPath::Fast;
int g_threads = 0;
}  // namespace

void set_kernel_path(KernelPath path) {
#ifndef CHAINRULE_HAVE_OPENBLAS
  if (path == KernelPath::OpenBLAS)
    throw std::invalid_argument("this chainrule was built without OpenBLAS; reconfigure with -DCHAINRULE_BLAS=OpenBLAS");
#endif
  g_path = path;
}
KernelPath kernel_path() { return g_path; }
const char* kernel_path_name(KernelPath path) {
  switch (path) {
    case KernelPath::Reference: return "reference";
    case KernelPath::Fast: return "fast";
    case KernelPath::OpenBLAS: return "openblas";
  }
  return "?";
}

void set_num_threads(int threads) {
  g_threads = threads;
#ifdef CHAINRULE_HAVE_OPENMP
  if (threads > 0) omp_set_num_threads(threads);
#endif
}
int num_threads() {
#ifdef CHAINRULE_HAVE_OPENMP
  return g_threads > 0 ? g_threads : omp_get_max_threads();
#else
  return 1;
#endif
}

// ---- Tensor-level products -----------------------------------------------------
namespace {
template <typename T>
void prepare_output(const char* op, Tensor<T>& C, int M, int N, bool accumulate) {
  if (accumulate)
    expect_shape(op, "C (accumulated into)", C, M, N);
  else
    C.resize(M, N);
}
}  // namespace

template <typename T>
void matmul(const Tensor<T>& A, const Tensor<T>& B, Tensor<T>& C, bool accumulate) {
  if (A.cols != B.rows)
    throw ShapeError("matmul A B: A is " + A.shape() + " and B is " + B.shape() + "; A's columns must equal B's rows");
  prepare_output("matmul A B", C, A.rows, B.cols, accumulate);
  if constexpr (std::is_same_v<T, float>) {
    if (g_path != KernelPath::Reference) return fast_gemm_nn(A.rows, B.cols, A.cols, A.data.data(), B.data.data(), C.data.data(), accumulate);
  }
  ref_gemm_nn(A.rows, B.cols, A.cols, A.data.data(), B.data.data(), C.data.data(), accumulate);
}

template <typename T>
void matmul_tn(const Tensor<T>& A, const Tensor<T>& B, Tensor<T>& C, bool accumulate) {
  if (A.rows != B.rows)
    throw ShapeError("matmul A^T B: A is " + A.shape() + " and B is " + B.shape() + "; A and B must have the same number of rows");
  prepare_output("matmul A^T B", C, A.cols, B.cols, accumulate);
  if constexpr (std::is_same_v<T, float>) {
    if (g_path != KernelPath::Reference) return fast_gemm_tn(A.cols, B.cols, A.rows, A.data.data(), B.data.data(), C.data.data(), accumulate);
  }
  ref_gemm_tn(A.cols, B.cols, A.rows, A.data.data(), B.data.data(), C.data.data(), accumulate);
}

template <typename T>
void matmul_nt(const Tensor<T>& A, const Tensor<T>& B, Tensor<T>& C, bool accumulate) {
  if (A.cols != B.cols)
    throw ShapeError("matmul A B^T: A is " + A.shape() + " and B is " + B.shape() + "; A and B must have the same number of columns");
  prepare_output("matmul A B^T", C, A.rows, B.rows, accumulate);
  if constexpr (std::is_same_v<T, float>) {
    if (g_path != KernelPath::Reference) return fast_gemm_nt(A.rows, B.rows, A.cols, A.data.data(), B.data.data(), C.data.data(), accumulate);
  }
  ref_gemm_nt(A.rows, B.rows, A.cols, A.data.data(), B.data.data(), C.data.data(), accumulate);
}

template void matmul<float>(const Tensor<float>&, const Tensor<float>&, Tensor<float>&, bool);
template void matmul_tn<float>(const Tensor<float>&, const Tensor<float>&, Tensor<float>&, bool);
template void matmul_nt<float>(const Tensor<float>&, const Tensor<float>&, Tensor<float>&, bool);
template void matmul<double>(const Tensor<double>&, const Tensor<double>&, Tensor<double>&, bool);
template void matmul_tn<double>(const Tensor<double>&, const Tensor<double>&, Tensor<double>&, bool);
template void matmul_nt<double>(const Tensor<double>&, const Tensor<double>&, Tensor<double>&, bool);

}  // namespace chainrule
