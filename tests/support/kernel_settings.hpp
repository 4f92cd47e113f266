// Restores the kernel settings a test changes (kernels.hpp): the thread count, the path, the
// instruction set, zero skipping and the direct convolution route.
#pragma once

#include "chainrule/kernels.hpp"

namespace chainrule::testing {

struct KernelSettingsGuard {
  int threads = num_threads();
  KernelPath path = kernel_path();
  bool skip = skip_zeros();
  KernelIsa isa = kernel_isa();
  bool direct = direct_conv();
  bool half_width = half_width_fma();
  ~KernelSettingsGuard() {
    set_num_threads(threads);
    set_kernel_path(path);
    set_skip_zeros(skip);
    set_kernel_isa(isa);
    set_direct_conv(direct);
    set_half_width_fma(half_width);
  }
};

}  // namespace chainrule::testing
