// Adam's update on the Fast path: the vector loop of the path in use (fast/isa.hpp:
// isa_avx512.cpp 16 values at a time, isa_avx2.cpp 8, isa_portable.cpp the plain loop),
// shared out between the threads. Every path gives the bits of the plain loop in Adam::step
// (optim.cpp), which the Reference path runs.
#include "chainrule/fast/adam.hpp"

#include <cstddef>

#include "chainrule/fast/isa.hpp"
#include "chainrule/fast/threads.hpp"

namespace chainrule::fast {

// Thread t takes rows share_range(rows, t, threads): for W1 (784, 128) the input features
// whose part of dW1 the same thread computed.
void adam_update(int rows, int cols, float* w, const float* g, float* m, float* s, const AdamCoefficients& k) {
  const auto width = static_cast<std::size_t>(cols);
  const IsaKernels& isa = isa_kernels();
  for_shares(rows, static_cast<std::size_t>(rows) * width, [&](int r0, int r1) {
    [[maybe_unused]] const FlushSubnormalsToZero flush;  // MXCSR is per thread: set in each
    const std::size_t at = static_cast<std::size_t>(r0) * width;
    isa.adam(static_cast<std::size_t>(r1 - r0) * width, w + at, g + at, m + at, s + at, k);
  });
}

}  // namespace chainrule::fast
