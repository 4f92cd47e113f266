// The matrix products, written plainly: what matmul, matmul_tn and matmul_nt compute
// (kernels.hpp). On the Fast path the float products go to fast/gemm.cpp instead.
#include "chainrule/kernels.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "chainrule/fast/gemm.hpp"

namespace chainrule {

// ---- Reference loops: what the products mean, written plainly ----------------

// C[i][j] (+)= sum_k A[i][k] * B[k][j]
// Written row by row: row i of C is the sum over k of A[i][k] times row k of B. The
// same sum as the dot-product form, but every loop walks memory in order, which
// keeps the double-precision gradient checks (which always run these loops) fast.
template <typename T>
void ref_gemm_nn(int M, int N, int K, const T* A, const T* B, T* C, bool accumulate) {
  for (int i = 0; i < M; ++i) {
    T* c = C + (std::size_t)i * N;
    if (!accumulate)
      for (int j = 0; j < N; ++j) c[j] = 0;
    for (int k = 0; k < K; ++k) {
      const T a = A[(std::size_t)i * K + k];
      const T* b = B + (std::size_t)k * N;
      for (int j = 0; j < N; ++j) c[j] += a * b[j];
    }
  }
}

// C[i][j] (+)= sum_k A[k][i] * B[k][j]      (A is stored (K, M))
// Row by row again: row i of C is the sum over k of A[k][i] times row k of B.
template <typename T>
void ref_gemm_tn(int M, int N, int K, const T* A, const T* B, T* C, bool accumulate) {
  for (int i = 0; i < M; ++i) {
    T* c = C + (std::size_t)i * N;
    if (!accumulate)
      for (int j = 0; j < N; ++j) c[j] = 0;
    for (int k = 0; k < K; ++k) {
      const T a = A[(std::size_t)k * M + i];
      const T* b = B + (std::size_t)k * N;
      for (int j = 0; j < N; ++j) c[j] += a * b[j];
    }
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
  if constexpr (std::is_same_v<T, float>)
    if (kernel_path() != KernelPath::Reference)  // the same product, fast: fast/gemm.cpp
      return fast::gemm(fast::Form::NN, A.rows, B.cols, A.cols, A.data.data(), B.data.data(), C.data.data(), accumulate);
  ref_gemm_nn(A.rows, B.cols, A.cols, A.data.data(), B.data.data(), C.data.data(), accumulate);
}

template <typename T>
void matmul_tn(const Tensor<T>& A, const Tensor<T>& B, Tensor<T>& C, bool accumulate) {
  if (A.rows != B.rows)
    throw ShapeError("matmul A^T B: A is " + A.shape() + " and B is " + B.shape() + "; A and B must have the same number of rows");
  prepare_output("matmul A^T B", C, A.cols, B.cols, accumulate);
  if constexpr (std::is_same_v<T, float>)
    if (kernel_path() != KernelPath::Reference)  // the same product, fast: fast/gemm.cpp
      return fast::gemm(fast::Form::TN, A.cols, B.cols, A.rows, A.data.data(), B.data.data(), C.data.data(), accumulate);
  ref_gemm_tn(A.cols, B.cols, A.rows, A.data.data(), B.data.data(), C.data.data(), accumulate);
}

template <typename T>
void matmul_nt(const Tensor<T>& A, const Tensor<T>& B, Tensor<T>& C, bool accumulate) {
  if (A.cols != B.cols)
    throw ShapeError("matmul A B^T: A is " + A.shape() + " and B is " + B.shape() + "; A and B must have the same number of columns");
  prepare_output("matmul A B^T", C, A.rows, B.rows, accumulate);
  if constexpr (std::is_same_v<T, float>)
    if (kernel_path() != KernelPath::Reference)  // the same product, fast: fast/gemm.cpp
      return fast::gemm(fast::Form::NT, A.rows, B.rows, A.cols, A.data.data(), B.data.data(), C.data.data(), accumulate);
  ref_gemm_nt(A.rows, B.rows, A.cols, A.data.data(), B.data.data(), C.data.data(), accumulate);
}

template void matmul<float>(const Tensor<float>&, const Tensor<float>&, Tensor<float>&, bool);
template void matmul_tn<float>(const Tensor<float>&, const Tensor<float>&, Tensor<float>&, bool);
template void matmul_nt<float>(const Tensor<float>&, const Tensor<float>&, Tensor<float>&, bool);
template void matmul<double>(const Tensor<double>&, const Tensor<double>&, Tensor<double>&, bool);
template void matmul_tn<double>(const Tensor<double>&, const Tensor<double>&, Tensor<double>&, bool);
template void matmul_nt<double>(const Tensor<double>&, const Tensor<double>&, Tensor<double>&, bool);

// ---- Which path the float products take --------------------------------------------
namespace {
KernelPath g_path = KernelPath::Fast;
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

}  // namespace chainrule
