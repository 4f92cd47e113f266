// Micro-benchmarks of the float matrix products at the shapes of the 784-128-10 network.
//
//   build/release/bench_kernels --benchmark_counters_tabular=true
//   build/release/bench_kernels --benchmark_filter='fast/nn' --benchmark_repetitions=30
//       --benchmark_min_time=0.02 --benchmark_report_aggregates_only=true   (one line)
//
// Each benchmark is named path/form/M/N/K/threads and reports GFLOP/s (2*M*N*K per call).
// Paths: ref (the plain loops), ikj (nn only: the plain loop in a better order), fast (the blocked SIMD kernels),
// dense (the same kernels with zero skipping off), openblas (only when built with -DCHAINRULE_BLAS=OpenBLAS).
// A is random (no zeros) unless the name ends in /mnist: then A is X, a batch of real MNIST
// images (the first M or K of the training set, from $CHAINRULE_MNIST or data/mnist; these
// are left out when the files are not there), whose zeros the fast path skips. GFLOP/s
// counts 2*M*N*K either way. The numbers in docs/performance.md come from this program.
#include "chainrule/data/idx.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/rng.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

using namespace chainrule;

enum class Form { NN, TN, NT };
enum class Path { Ref, LoopOrder, Fast, Dense, Blas };

struct Shape {
  const char* what;  // which step of training uses it
  Form form;
  int M, N, K;
};

// The products of one training step at batch size n, and the evaluation forward.
std::vector<Shape> network_shapes(int n) {
  return {
      {"Z1 = X W1", Form::NN, n, 128, 784},    {"dW1 = X^T dZ1", Form::TN, 784, 128, n},
      {"Z2 = H W2", Form::NN, n, 10, 128},     {"dW2 = H^T dZ2", Form::TN, 128, 10, n},
      {"dH = dZ2 W2^T", Form::NT, n, 128, 10},
  };
}

// The lesson between the reference loop and the fast kernel (docs/performance.md):
// the same nn product with the k loop moved outside the j loop, so the innermost loop
// walks rows of B and C with stride 1 and the compiler can vectorise it.
void loop_order_gemm_nn(int M, int N, int K, const float* A, const float* B, float* C) {
  for (int i = 0; i < M; ++i) {
    float* c = C + (std::size_t)i * N;
    for (int j = 0; j < N; ++j) c[j] = 0.0f;
    for (int k = 0; k < K; ++k) {
      const float a = A[(std::size_t)i * K + k];
      const float* b = B + (std::size_t)k * N;
      for (int j = 0; j < N; ++j) c[j] += a * b[j];
    }
  }
}

// Operands start on a 64-byte boundary, as a Tensor's values do (tensor.hpp, fast/aligned.hpp).
Values<float> random_floats(std::size_t count, std::uint64_t seed) {
  Rng rng(seed);
  Values<float> v(count);
  for (float& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

// The training images, when they can be read (for the /mnist benchmarks).
const data::ImageSet* mnist_train() {
  static const data::ImageSet* set = [] () -> const data::ImageSet* {
    const char* dir = std::getenv("CHAINRULE_MNIST");
    try {
      return new data::ImageSet(data::load_mnist_split(dir ? dir : "data/mnist", "train"));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_kernels: no /mnist benchmarks: %s\n", e.what());
      return nullptr;
    }
  }();
  return set;
}

// X (rows, 784): the first `rows` training images, pixel / 255 as make_batch builds them.
Values<float> mnist_batch(int rows) {
  const data::ImageSet& set = *mnist_train();
  Values<float> X((std::size_t)rows * 784);
  for (std::size_t q = 0; q < X.size(); ++q) X[q] = static_cast<float>(set.pixels[q]) / 255.0f;
  return X;
}

void run_product(benchmark::State& state, Path path, Form form, int M, int N, int K, int threads, bool mnist) {
  set_num_threads(threads);
  set_skip_zeros(path != Path::Dense);
  // Operand sizes: nn A (M,K) B (K,N); tn A (K,M) B (K,N); nt A (M,K) B (N,K).
  Values<float> A = mnist ? mnist_batch(form == Form::TN ? K : M) : random_floats((std::size_t)M * K, 1);
  Values<float> B = random_floats((std::size_t)K * N, 2);
  Values<float> C((std::size_t)M * N);
  Tensor<float> tA, tB, tC;
  if (path == Path::Blas) {
    set_kernel_path(KernelPath::OpenBLAS);
    tA.resize(form == Form::TN ? K : M, form == Form::TN ? M : K);
    tB.resize(form == Form::NT ? N : K, form == Form::NT ? K : N);
    tA.data.assign(A.begin(), A.end());
    tB.data.assign(B.begin(), B.end());
  }
  for (auto _ : state) {
    if (path == Path::Ref) {
      if (form == Form::NN) ref_gemm_nn(M, N, K, A.data(), B.data(), C.data(), false);
      if (form == Form::TN) ref_gemm_tn(M, N, K, A.data(), B.data(), C.data(), false);
      if (form == Form::NT) ref_gemm_nt(M, N, K, A.data(), B.data(), C.data(), false);
    } else if (path == Path::LoopOrder) {
      loop_order_gemm_nn(M, N, K, A.data(), B.data(), C.data());
    } else if (path == Path::Fast || path == Path::Dense) {
      if (form == Form::NN) fast_gemm_nn(M, N, K, A.data(), B.data(), C.data(), false);
      if (form == Form::TN) fast_gemm_tn(M, N, K, A.data(), B.data(), C.data(), false);
      if (form == Form::NT) fast_gemm_nt(M, N, K, A.data(), B.data(), C.data(), false);
    } else {
      if (form == Form::NN) matmul(tA, tB, tC);
      if (form == Form::TN) matmul_tn(tA, tB, tC);
      if (form == Form::NT) matmul_nt(tA, tB, tC);
    }
    benchmark::DoNotOptimize(C.data());
    benchmark::DoNotOptimize(tC.data.data());
    benchmark::ClobberMemory();
  }
  set_kernel_path(KernelPath::Fast);
  set_skip_zeros(true);
  const double flops = 2.0 * M * N * K;
  state.counters["GFLOPs"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

const char* path_name(Path p) {
  return p == Path::Ref         ? "ref"
         : p == Path::LoopOrder ? "ikj"
         : p == Path::Fast      ? "fast"
         : p == Path::Dense     ? "dense"
                                : "openblas";
}
const char* form_name(Form f) { return f == Form::NN ? "nn" : f == Form::TN ? "tn" : "nt"; }

double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
double max_of(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

void register_all() {
  std::vector<Path> paths = {Path::Ref, Path::LoopOrder, Path::Fast, Path::Dense};
#ifdef CHAINRULE_HAVE_OPENBLAS
  paths.push_back(Path::Blas);
#endif
  std::vector<Shape> shapes;
  for (int n : {128, 32})
    for (const Shape& s : network_shapes(n)) shapes.push_back(s);
  shapes.push_back({"eval Z1 = X W1", Form::NN, 1000, 128, 784});
  shapes.push_back({"square", Form::NN, 512, 512, 512});
  for (Path path : paths)
    for (const Shape& s : shapes)
      for (int threads : {1, 2})
        for (bool mnist : {false, true}) {
          const bool plain = path == Path::Ref || path == Path::LoopOrder;
          if (plain && threads > 1) continue;  // the plain loops are single-threaded
          if (plain && s.M * s.N >= 512 * 512) continue;
          if (path == Path::LoopOrder && s.form != Form::NN) continue;
          // A is X (N, 784) in Z1 = X W1 and dW1 = X^T dZ1: those have a /mnist twin.
          const bool a_is_x = (s.form == Form::NN && s.K == 784) || (s.form == Form::TN && s.M == 784);
          if (mnist && (!a_is_x || path == Path::LoopOrder || path == Path::Ref || !mnist_train())) continue;
          if (path == Path::Dense && !mnist) continue;  // on random A nothing is skipped
          std::string name = std::string(path_name(path)) + "/" +
                             form_name(s.form) + "/" + std::to_string(s.M) + "/" + std::to_string(s.N) + "/" +
                             std::to_string(s.K) + "/t" + std::to_string(threads) + (mnist ? "/mnist" : "");
          benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
            run_product(st, path, s.form, s.M, s.N, s.K, threads, mnist);
          })
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime()
              // On a shared machine the best of many repetitions shows what the code can do:
              // read the "min" row for time and the "max" row for GFLOP/s.
              ->ComputeStatistics("min", min_of)
              ->ComputeStatistics("max", max_of);
        }
}

// Adam's update over all 101,770 parameters of 784-128-10 as one tensor, one Adam::step per
// iteration: ref (the plain loop of optim.cpp, the Reference path) and fast (fast/adam.cpp,
// 16 values per instruction). Reports the values updated per second; each value reads w,
// g, m, s and writes w, m, s (28 bytes).
void register_adam() {
  constexpr int n = 784 * 128 + 128 + 128 * 10 + 10;
  for (bool fast : {false, true})
    benchmark::RegisterBenchmark(fast ? "fast/adam/101770" : "ref/adam/101770", [=](benchmark::State& st) {
      Tensor<float> W(1, n), G(1, n);
      W.data = random_floats(n, 1);
      G.data = random_floats(n, 2);
      const std::vector<Param<float>> params = {{"w", &W, &G}};
      Adam adam(OptimizerConfig{});
      set_kernel_path(fast ? KernelPath::Fast : KernelPath::Reference);
      for (auto _ : st) {
        adam.step(params);
        benchmark::DoNotOptimize(W.data.data());
        benchmark::ClobberMemory();
      }
      set_kernel_path(KernelPath::Fast);
      st.counters["Gvalues"] = benchmark::Counter(static_cast<double>(n) * static_cast<double>(st.iterations()) * 1e-9,
                                                  benchmark::Counter::kIsRate);
    })->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  register_adam();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
