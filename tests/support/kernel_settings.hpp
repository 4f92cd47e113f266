// Restores the kernel settings a test changes (kernels.hpp): the thread count, the path, the
// instruction set, zero skipping, the direct convolution route and the AVX-512 tiles of X W1.
#pragma once

#include "chainrule/kernels.hpp"

namespace chainrule::testing {

struct KernelSettingsGuard {
  int threads = num_threads();
  KernelPath path = kernel_path();
  bool skip = skip_zeros();
  KernelIsa isa = kernel_isa();
  bool direct = direct_conv();
  XW1Tile x_w1 = x_w1_tile();
  ~KernelSettingsGuard() {
    set_num_threads(threads);
    set_kernel_path(path);
    set_skip_zeros(skip);
    set_kernel_isa(isa);
    set_direct_conv(direct);
    set_x_w1_tile(x_w1);
  }
};

}  // namespace chainrule::testing
