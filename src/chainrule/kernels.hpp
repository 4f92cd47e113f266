// Matrix products (tutorials/02-forward-pass, 05-output-layer), and the switches that
// choose how they run. Where the code lives:
//   kernels.cpp         the readable reference loops (ref_gemm_*) and matmul, matmul_tn,
//                       matmul_nt, which layers call
//   fast/               the speed tricks, quarantined (docs/performance.md explains them):
//     gemm.cpp            blocking, packing, zero skipping, splitting, OpenBLAS
//     isa.hpp/.cpp        the instruction-set paths, chosen at run time: isa_avx512.cpp,
//                         isa_avx2.cpp, isa_portable.cpp (micro-kernels, zero masks, Adam)
//     threads.hpp/.cpp    splitting work between threads (share_range, for_shares, ...)
//     adam.hpp/.cpp       Adam's update, vectorised (the plain loop is in optim.cpp)
//     conv.cpp            Conv2d's sums without the patch matrix (stride 1), pool.cpp max
//                         pooling's 2 x 2 forward, several windows at once
//     aligned.hpp         64-byte aligned storage for tensors
//     prefetch.hpp/.cpp   asking for a batch's pixels before make_batch reads them
//
// The three products a dense layer needs (docs/architecture.md):
//   forward   Y  = X  W      matmul     (N, D) x (D, H)   -> (N, H)
//   backward  dW = X^T dY    matmul_tn  (N, D)^T x (N, H) -> (D, H)
//   backward  dX = dY W^T    matmul_nt  (N, H) x (D, H)^T -> (N, D)
// Each has a reference loop and a fast float path (fast_gemm_*). Tests compare the two on
// many shapes; double precision (used by the gradient checks) always runs the reference loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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

// The fast float path (fast/gemm.cpp).
void fast_gemm_nn(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate);
void fast_gemm_tn(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate);
void fast_gemm_nt(int M, int N, int K, const float* A, const float* B, float* C, bool accumulate);

// ---- Conv2d's products without the patch matrix (fast/conv.cpp) ----------------
// On the Fast path a stride-1 convolution skips im2col: each sum reads its terms from a
// zero-bordered copy of the image, in the order, and with the roundings, of Conv2d's im2col
// products, so the values are the same to the last bit (docs/performance.md, "Convolution
// without the patch matrix"). Layouts as in layers/conv2d.hpp: X (N, Cin*H*W), W (Cin*k*k,
// Cout), b (1, Cout), Y (N, Cout*Ho*Wo).
struct ConvGeometry {
  int channels, height, width;  // of the input images
  int out_channels, kernel, padding;
};
// Whether the direct route takes this convolution: the Fast path, stride 1, sums short
// enough that the products would not cut them in two (Cin*k*k and Cout under 512), and the
// route switched on (set_direct_conv: on by default; off runs im2col and the products, to
// compare the two or to measure what the direct route saves).
bool fast_conv_takes(const ConvGeometry& g, int stride);
void set_direct_conv(bool on);
bool direct_conv();
// Y = the convolution + b. `bordered` receives the bordered images, for fast_conv_backward.
void fast_conv_forward(const ConvGeometry& g, int N, const float* X, const float* W, const float* b, float* Y,
                       Tensor<float>& bordered);
// dW += the correlation of X with dY, db += dY summed, and dX (unless nullptr) = the full
// convolution of dY with the flipped kernel; `bordered` as fast_conv_forward left it.
void fast_conv_backward(const ConvGeometry& g, int N, const Tensor<float>& bordered, const float* dY, const float* W,
                        float* dW, float* db, float* dX);

// MaxPool2d's forward for 2 x 2 windows at stride 2 (LeNet-5's pooling) on the Fast path
// (fast/pool.cpp): the same maxima, argmax columns and places (u * 2 + v) as the layer's loop,
// 16 or 8 windows at a time. Taken when the direct convolution is switched on too.
bool fast_max_pool2_takes(int kernel, int stride);
void fast_max_pool2_forward(int N, int C, int H, int W, const float* X, float* Y, int* argmax, std::uint8_t* place);

// ---- The numbers of one Adam step (optim.hpp has the formula) --------------------
//   m = b1 m + (1 - b1) g
//   s = b2 s + (1 - b2) g^2
//   w -= lr (m / c1) / (sqrt(s / c2) + eps)      c1 = 1 - b1^t, c2 = 1 - b2^t
struct AdamCoefficients {
  float lr, b1, b2, c1, c2, eps;
};

// ---- Which path float products take, and with how many threads ---------------
enum class KernelPath { Reference, Fast, OpenBLAS };
// Reference also runs Adam's plain loop (optim.cpp) and keeps every pass on one thread.
void set_kernel_path(KernelPath path);  // OpenBLAS only when built with -DCHAINRULE_BLAS=OpenBLAS
KernelPath kernel_path();
const char* kernel_path_name(KernelPath path);

// ---- Which instruction set the Fast path runs on (fast/isa.hpp) ----------------
// One program carries every path its CPU family can have, and picks one when it first
// needs it: CHAINRULE_KERNELS=avx512|avx2|portable if set, else the best this CPU runs.
// Every path gives the same bits (docs/performance.md, "One binary, three paths").
enum class KernelIsa { Portable, Avx2, Avx512 };
bool kernel_isa_available(KernelIsa isa);  // compiled in, and this CPU has the instructions
// Throws std::invalid_argument for a path that is not available.
void set_kernel_isa(KernelIsa isa);
// The path in use. The first call reads CHAINRULE_KERNELS and throws std::invalid_argument,
// naming the variable and its values, when it holds anything else or a path not available.
KernelIsa kernel_isa();
const char* kernel_isa_name(KernelIsa isa);  // "avx512", "avx2", "portable"
// kernel_path_name, and on the Fast path the instruction set too: "fast (avx2)".
std::string kernel_description();

// Zero skipping in the fast nn and tn products (on by default): a k at which a whole
// tile of A is zero adds nothing to that tile's sums and is not visited. The values of C
// are the same either way (docs/performance.md, "Step 5"); off measures what it saves.
void set_skip_zeros(bool on);
bool skip_zeros();

// The AVX-512 path's zero-skipping tiles for X W1 (an nn product of at least 64 columns; 2 x 128
// needs 128, and narrower products take 4 x 64 there), chosen for the CPU from CPUID when first
// asked:
//   Rows4x64   4 rows x 64 columns (AMD Zen 5, and any CPU not named below);
//   Rows2x64   2 x 64 where each 512-bit fused multiply-add runs as two 256-bit halves (AMD
//              Zen 4), so the extra multiply-adds of a taller tile cost twice as much
//              (docs/performance.md, "A third machine: AMD Zen 4");
//   Rows2x128  2 x 128 on Intel's AVX-512 cores, where a tile of 2 images visits a quarter
//              fewer pixels and its 8 vectors of B per pixel are a whole row of W1
//              (docs/performance.md, "X W1 on Intel: tiles of 2 x 128").
// The values of C are the same for every shape; the tests run all three. Set it between
// products, not during one.
enum class XW1Tile { Rows4x64, Rows2x64, Rows2x128 };
void set_x_w1_tile(XW1Tile tile);
XW1Tile x_w1_tile();
const char* x_w1_tile_name(XW1Tile tile);  // "4x64", "2x64", "2x128"

// 0 = automatic: OMP_NUM_THREADS when set, else the physical cores that are idle when first
// asked (sampled over 30 ms from /proc/stat; at least 1). The threads are a persistent pool
// that spins briefly after a pass, then sleeps; a pool thread whose core is taken by another
// program is not waited for, the others take its part (docs/performance.md, "Threads").
// The products give the same bits for every thread count. At most kMaxThreads
// (docs/performance.md, "Notes from the code"). set_num_threads throws
// std::invalid_argument for a count outside 0..kMaxThreads, and the automatic count
// (OMP_NUM_THREADS) is held to kMaxThreads too.
constexpr int kMaxThreads = 256;
void set_num_threads(int threads);
int num_threads();       // the count in use
int automatic_threads();  // what 0 means here

}  // namespace chainrule
