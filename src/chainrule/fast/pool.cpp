// MaxPool2d's forward for 2 x 2 windows at stride 2 on the Fast path (kernels.hpp,
// fast_max_pool2_forward), a row of windows at a time through the path's max_pool_row
// (fast/isa.hpp). Comparisons and selections only: the maxima, the argmax columns and the
// places are those of MaxPool2d::forward's loop, which the tests compare it with.
#include <cstddef>
#include <cstdint>

#include "chainrule/fast/isa.hpp"
#include "chainrule/fast/threads.hpp"
#include "chainrule/kernels.hpp"

namespace chainrule {

bool fast_max_pool2_takes(int kernel, int stride) {
  return direct_conv() && kernel_path() == KernelPath::Fast && kernel == 2 && stride == 2;
}

void fast_max_pool2_forward(int N, int C, int H, int W, const float* X, float* Y, int* argmax, std::uint8_t* place) {
  const fast::IsaKernels& isa = fast::isa_kernels();
  const int Ho = (H - 2) / 2 + 1, Wo = (W - 2) / 2 + 1;
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < Ho; ++i) {
        const int first = (c * H + 2 * i) * W;  // the window row's first column in X's row n
        const float* top = X + (std::size_t)n * C * H * W + first;
        const std::size_t w = ((std::size_t)n * C + c) * Ho * Wo + (std::size_t)i * Wo;  // its first window
        isa.max_pool_row(top, top + W, Wo, first, W, Y + w, argmax + w, place + w);
      }
}

}  // namespace chainrule
