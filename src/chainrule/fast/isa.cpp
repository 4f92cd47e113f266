// Choosing the instruction-set path of the fast kernels when the program runs (fast/isa.hpp).
#include "chainrule/fast/isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace chainrule {

namespace {

const fast::IsaKernels* compiled(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::Avx512: return fast::avx512_kernels();
    case KernelIsa::Avx2: return fast::avx2_kernels();
    case KernelIsa::Portable: return fast::portable_kernels();
  }
  return nullptr;
}

#if defined(__x86_64__) || defined(__i386__)
// LZCNT, which not every compiler's __builtin_cpu_supports names (clang 14 does not): CPUID
// leaf 0x80000001, ECX bit 5.
bool has_lzcnt() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000001u, &a, &b, &c, &d) != 0 && (c & (1u << 5)) != 0;
}
#endif

// What the CPU can run. (The compiler's CPU check also asks the operating system whether
// it saves the vector registers on a context switch.)
bool cpu_runs(KernelIsa isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (isa) {
    // Every extension the path's file is compiled with (CMakeLists.txt), so that no
    // instruction the compiler chose can be missing.
    case KernelIsa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && cpu_runs(KernelIsa::Avx2);
    case KernelIsa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
             __builtin_cpu_supports("bmi2") && has_lzcnt() && __builtin_cpu_supports("popcnt");
    case KernelIsa::Portable: return true;
  }
  return false;
#else
  return isa == KernelIsa::Portable;
#endif
}

KernelIsa best_available() {
  for (KernelIsa isa : {KernelIsa::Avx512, KernelIsa::Avx2})
    if (kernel_isa_available(isa)) return isa;
  return KernelIsa::Portable;
}

// The environment's choice, read once: CHAINRULE_KERNELS=avx512|avx2|portable, or the best.
KernelIsa from_environment() {
  const char* value = std::getenv("CHAINRULE_KERNELS");
  if (value == nullptr || *value == '\0') return best_available();
  for (KernelIsa isa : {KernelIsa::Avx512, KernelIsa::Avx2, KernelIsa::Portable})
    if (std::string(value) == kernel_isa_name(isa)) {
      if (!kernel_isa_available(isa))
        throw std::invalid_argument(std::string("CHAINRULE_KERNELS=") + value + ": this CPU (or this build) cannot run the " +
                                    value + " kernels; unset CHAINRULE_KERNELS to use the best path, " +
                                    kernel_isa_name(best_available()));
      return isa;
    }
  throw std::invalid_argument(std::string("CHAINRULE_KERNELS=") + value +
                              " is not a kernel path: use avx512, avx2 or portable, or unset it for the best one");
}

bool g_isa_set = false;
KernelIsa g_isa = KernelIsa::Portable;

// The X W1 tile for this CPU (kernels.hpp, XW1Tile). AMD's family 19h with AVX-512 is Zen 4
// (its Zen 3 has none), whose FP units are 256 bits wide: a 512-bit FMA issues as two halves,
// one per cycle, where Zen 5 (family 1Ah) and Intel's AVX-512 cores issue two whole ones.
XW1Tile cpu_x_w1_tile() {
#if defined(__x86_64__) || defined(__i386__)
  if (!cpu_runs(KernelIsa::Avx512)) return XW1Tile::Rows4x64;
  if (__builtin_cpu_is("intel")) return XW1Tile::Rows2x128;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__builtin_cpu_is("amd") && __get_cpuid(1, &a, &b, &c, &d) != 0) {
    const unsigned base = (a >> 8) & 0xFu, family = base == 0xFu ? base + ((a >> 20) & 0xFFu) : base;
    if (family == 0x19u) return XW1Tile::Rows2x64;
  }
#endif
  return XW1Tile::Rows4x64;
}

int g_x_w1_tile_forced = -1;  // set_x_w1_tile: an XW1Tile; -1 = the CPU's

}  // namespace

bool kernel_isa_available(KernelIsa isa) { return compiled(isa) != nullptr && cpu_runs(isa); }

void set_kernel_isa(KernelIsa isa) {
  if (!kernel_isa_available(isa))
    throw std::invalid_argument(std::string("the ") + kernel_isa_name(isa) +
                                " kernels cannot run here (not built in, or this CPU lacks the instructions)");
  g_isa = isa;
  g_isa_set = true;
}

KernelIsa kernel_isa() {
  if (!g_isa_set) {
    static const KernelIsa chosen = from_environment();  // throws for a bad CHAINRULE_KERNELS
    g_isa = chosen;
    g_isa_set = true;
  }
  return g_isa;
}

const char* kernel_isa_name(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::Avx512: return "avx512";
    case KernelIsa::Avx2: return "avx2";
    case KernelIsa::Portable: return "portable";
  }
  return "?";
}

std::string kernel_description() {
  const KernelPath path = kernel_path();
  if (path != KernelPath::Fast) return kernel_path_name(path);
  return std::string(kernel_path_name(path)) + " (" + kernel_isa_name(kernel_isa()) + ")";
}

void set_x_w1_tile(XW1Tile tile) { g_x_w1_tile_forced = static_cast<int>(tile); }

// Read by every pool thread that runs part of a product: nothing is written here (the
// static is initialised once, safely), only set_x_w1_tile writes, between products.
XW1Tile x_w1_tile() {
  static const XW1Tile found = cpu_x_w1_tile();
  return g_x_w1_tile_forced < 0 ? found : static_cast<XW1Tile>(g_x_w1_tile_forced);
}

const char* x_w1_tile_name(XW1Tile tile) {
  switch (tile) {
    case XW1Tile::Rows4x64: return "4x64";
    case XW1Tile::Rows2x64: return "2x64";
    case XW1Tile::Rows2x128: return "2x128";
  }
  return "?";
}

namespace fast {
const IsaKernels& isa_kernels() { return *compiled(kernel_isa()); }
}  // namespace fast

}  // namespace chainrule
