#include "chainrule/fast/threads.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "chainrule/kernels.hpp"

namespace chainrule {

namespace fast {

void share_range(int n, int t, int parts, int& begin, int& end) {
  const int grains = (n + kGrain - 1) / kGrain, per = (grains + parts - 1) / parts;
  begin = std::min(n, t * per * kGrain);
  end = std::min(n, (t + 1) * per * kGrain);
}

namespace {
constexpr double kThreadMinValues = 16384;  // smaller passes run on one thread
}  // namespace

int pass_threads(std::size_t values, int n) {
  if (kernel_path() != KernelPath::Fast || static_cast<double>(values) < kThreadMinValues) return 1;
  return std::max(1, std::min(num_threads(), (n + kGrain - 1) / kGrain));
}

void zero(Tensor<float>& t) {
  const auto width = static_cast<std::size_t>(t.cols);
  float* x = t.data.data();
  for_shares(t.rows, static_cast<std::size_t>(t.rows) * width, [&](int r0, int r1) {
    std::fill(x + static_cast<std::size_t>(r0) * width, x + static_cast<std::size_t>(r1) * width, 0.0f);
  });
}

}  // namespace fast

// ---- Thread counts (declared in kernels.hpp) ------------------------------------
namespace {
int g_threads = 0;
}  // namespace

void set_num_threads(int threads) {
  if (threads < 0 || threads > kMaxThreads)  // the last guard: every caller checks its own option first
    throw std::invalid_argument("thread count " + std::to_string(threads) + " is outside 0.." +
                                std::to_string(kMaxThreads) + " (0 = automatic)");
  g_threads = threads;
#ifdef CHAINRULE_HAVE_OPENMP
  if (threads > 0) omp_set_num_threads(threads);
#endif
}

// 0 = automatic: one thread, unless OMP_NUM_THREADS asks for OpenMP's count
// (docs/performance.md, "Threads", has the measurements behind this default).
int automatic_threads() {
#ifdef CHAINRULE_HAVE_OPENMP
  static const int threads = std::getenv("OMP_NUM_THREADS") ? std::min(omp_get_max_threads(), kMaxThreads) : 1;
  return threads;
#else
  return 1;
#endif
}

int num_threads() {
#ifdef CHAINRULE_HAVE_OPENMP
  return g_threads > 0 ? g_threads : automatic_threads();
#else
  return 1;
#endif
}

}  // namespace chainrule
