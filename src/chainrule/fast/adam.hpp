// Adam's update, vectorised for the path in use (fast/isa.hpp) and shared out between the threads:
// the fast copy of the plain loop in Adam::step (optim.cpp), which the Reference path runs.
// Both give the same bits (tests/unit/test_perf_step.cpp; docs/performance.md, "Round 2").
#pragma once

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>  // _mm_getcsr, _mm_setcsr
#endif

#include "chainrule/kernels.hpp"  // AdamCoefficients

namespace chainrule::fast {

// While it lives, this thread's float arithmetic flushes subnormal numbers to 0 (the FTZ
// and DAZ bits of MXCSR); the old mode comes back when it ends. Adam's pass runs under it,
// on both paths: its moments decay through the subnormals, which are slow on this CPU
// (docs/performance.md, "Round 2", "Adam met subnormal numbers").
class FlushSubnormalsToZero {
 public:
#if defined(__SSE__) || defined(__x86_64__)
  FlushSubnormalsToZero() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtz | kDaz); }
  ~FlushSubnormalsToZero() { _mm_setcsr(saved_); }
  FlushSubnormalsToZero(const FlushSubnormalsToZero&) = delete;
  FlushSubnormalsToZero& operator=(const FlushSubnormalsToZero&) = delete;

 private:
  static constexpr unsigned kFtz = 0x8000, kDaz = 0x0040;  // flush-to-zero, denormals-are-zero
  unsigned saved_;
#endif
};

// One Adam step over a (rows, cols) parameter w with gradient g and moments m, s: the rows
// shared out between the threads (share_range), each share under FlushSubnormalsToZero.
void adam_update(int rows, int cols, float* w, const float* g, float* m, float* s, const AdamCoefficients& k);

}  // namespace chainrule::fast
