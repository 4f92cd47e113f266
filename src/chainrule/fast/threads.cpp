#include "chainrule/fast/threads.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifdef CHAINRULE_HAVE_OPENMP
#include <omp.h>
#endif

#include "chainrule/fast/gemm.hpp"
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

// ---- The pool ---------------------------------------------------------------------
// One job at a time, posted by the thread that calls run_parts_on_pool (the "caller").
// state_ is odd while a job is open (2g + 1 for job g) and even between jobs. A pool thread
// that sees a new open job counts itself in (inside_), checks the job is still open, and
// only then reads it; the caller closes the job and waits for inside_ to drop to 0 before it
// writes the next one (both sides use sequentially consistent atomics, so one of them sees
// the other). Parts are claimed with an exchange on their flag: each runs exactly once.
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// How long a pool thread spins after a pass before it sleeps: a training step's passes
// follow each other within microseconds, and waking a sleeping thread costs tens of them.
constexpr auto kSpin = std::chrono::microseconds(100);

thread_local bool t_in_part = false;  // a part that itself asks for parts runs them itself

// When the caller had to wait long for a pool thread that had started a part (its core was
// taken by another program in the middle of it), the next kSoloPasses passes run on the
// caller alone, then the pool is tried again. The parts are the same either way, so the
// values are too.
constexpr auto kLongWait = std::chrono::microseconds(300);
constexpr int kSoloPasses = 2000;

class Pool {
 public:
  // false: the caller should run the parts itself (a recent pass waited too long).
  bool wanted() {
    if (solo_left_ == 0) return true;
    --solo_left_;
    return false;
  }

  void run(int parts, PartFunction part, void* context) {
    start_threads(parts - 1);
    while (inside_.load() != 0) cpu_relax();  // a pool thread still leaving the last job
    part_ = part;
    context_ = context;
    parts_ = parts;
    for (int t = 0; t < parts; ++t) taken_[t].store(false, std::memory_order_relaxed);
    remaining_.store(parts, std::memory_order_relaxed);
    const std::uint32_t open = state_.load() + 1;
    state_.store(open);
    if (sleeping_.load() > 0) state_.notify_all();
    const auto started = std::chrono::steady_clock::now();
    take_parts(0);
    if (remaining_.load(std::memory_order_acquire) != 0) {
      const auto own_done = std::chrono::steady_clock::now();
      for (int spins = 0; remaining_.load(std::memory_order_acquire) != 0; ++spins) {
        cpu_relax();  // a pool thread is still running its part
        if (spins % 1024 == 1023) sched_yield();  // it may be waiting for this core
      }
      const auto waited = std::chrono::steady_clock::now() - own_done;
      if (waited > kLongWait && waited > 2 * (own_done - started)) solo_left_ = kSoloPasses;
    }
    state_.store(open + 1);  // closed
  }

 private:
  // Thread `self` runs its own part first (the same data as last time, in its own cache),
  // then any part nobody has started.
  void take_parts(int self) {
    const int parts = parts_;
    const auto run_one = [&](int t) {
      if (taken_[t].exchange(true, std::memory_order_acq_rel)) return;
      t_in_part = true;
      part_(context_, t);
      t_in_part = false;
      remaining_.fetch_sub(1, std::memory_order_release);
    };
    if (self < parts) run_one(self);
    for (int t = 0; t < parts; ++t)
      if (t != self) run_one(t);
  }

  void start_threads(int wanted) {
    while (static_cast<int>(threads_.size()) < wanted) {
      const int self = static_cast<int>(threads_.size()) + 1;
      threads_.emplace_back([this, self] { work(self); });
      threads_.back().detach();  // lives as long as the program
    }
    // Wait until each new thread has sized its buffers: all of it happens in this first pass.
    while (ready_.load() < static_cast<int>(threads_.size())) std::this_thread::yield();
  }

  void work(int self) {
    warm_thread_buffers();  // sized now, so that a training step allocates nothing later
    std::uint32_t seen = state_.load();
    ready_.fetch_add(1);
    for (;;) {
      std::uint32_t s = state_.load();
      if (s == seen || s % 2 == 0) {  // no new job: spin a little, then sleep
        const auto until = std::chrono::steady_clock::now() + kSpin;
        for (int spins = 0; (s = state_.load()) == seen || s % 2 == 0; ++spins) {
          cpu_relax();
          if (spins % 64 == 63 && std::chrono::steady_clock::now() > until) {
            sleeping_.fetch_add(1);
            state_.wait(s);
            sleeping_.fetch_sub(1);
          }
        }
      }
      inside_.fetch_add(1);
      if (state_.load() == s) {  // still open: the job's fields are the ones posted with s
        seen = s;
        take_parts(self);
      }
      inside_.fetch_sub(1);
    }
  }

  std::atomic<std::uint32_t> state_{0};
  std::atomic<int> inside_{0}, sleeping_{0}, remaining_{0}, ready_{0};
  std::atomic<bool> taken_[kMaxThreads] = {};
  PartFunction part_ = nullptr;
  void* context_ = nullptr;
  int parts_ = 0;
  int solo_left_ = 0;  // passes left to run on the caller alone
  std::vector<std::thread> threads_;
};

}  // namespace

void run_parts_on_pool(int parts, PartFunction part, void* context) {
  if (parts <= 1 || t_in_part) {
    for (int t = 0; t < parts; ++t) part(context, t);
    return;
  }
  static Pool* pool = new Pool;  // never destroyed: its threads sleep until the program ends
  static std::atomic<bool> in_use{false};
  if (in_use.exchange(true, std::memory_order_acquire)) {  // another thread's job is running:
    for (int t = 0; t < parts; ++t) part(context, t);     // the pool takes one caller at a time
    return;
  }
  if (pool->wanted())
    pool->run(std::min(parts, kMaxThreads), part, context);
  else
    for (int t = 0; t < parts; ++t) part(context, t);
  in_use.store(false, std::memory_order_release);
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

// 0 = automatic: OMP_NUM_THREADS when set, else the physical cores that are idle when the
// program first asks (docs/performance.md, "Threads", has the measurements behind this).
namespace {

// The physical cores among the CPUs this process may run on (two hyperthreads of one core
// count once), from /sys; the CPU count when /sys does not tell.
int physical_cores() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return 1;
  std::set<std::pair<std::string, std::string>> cores;
  int allowed = 0;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &cpus)) continue;
    ++allowed;
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/";
    std::string package, core;
    std::ifstream(dir + "physical_package_id") >> package;
    std::ifstream(dir + "core_id") >> core;
    if (package.empty() || core.empty()) return std::max(1, CPU_COUNT(&cpus));
    cores.insert({package, core});
  }
  return std::max(1, std::min(allowed, static_cast<int>(cores.size())));
}

// The CPUs busy with other work, averaged over `window` (from /proc/stat's first line:
// user nice system idle iowait irq softirq steal ...); -1 when it cannot be read.
double busy_cpus(std::chrono::milliseconds window) {
  const auto read = [](double& busy, double& total) {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    stat >> cpu;
    double v[8] = {};
    for (double& x : v) stat >> x;
    if (!stat || cpu != "cpu") return false;
    total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    busy = total - v[3] - v[4];
    return true;
  };
  double b0 = 0, t0 = 0, b1 = 0, t1 = 0;
  if (!read(b0, t0)) return -1;
  std::this_thread::sleep_for(window);
  if (!read(b1, t1) || t1 <= t0) return -1;
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return (b1 - b0) / (t1 - t0) * static_cast<double>(online > 0 ? online : 1);
}

int idle_physical_cores() {
  const int cores = physical_cores();
  const double busy = busy_cpus(std::chrono::milliseconds(30));
  if (busy < 0) return 1;
  // A core counts as idle when less than half of it is taken (this process is mostly
  // waiting while it samples).
  const int idle = cores - static_cast<int>(busy + 0.5);
  return std::clamp(idle, 1, std::min(cores, kMaxThreads));
}

}  // namespace

int automatic_threads() {
  static const int threads = [] {
    if (const char* omp = std::getenv("OMP_NUM_THREADS"); omp != nullptr && *omp != '\0') {
      const int n = std::atoi(omp);
      if (n > 0) return std::min(n, kMaxThreads);
    }
    return idle_physical_cores();
  }();
  return threads;
}

int num_threads() { return g_threads > 0 ? g_threads : automatic_threads(); }

}  // namespace chainrule
