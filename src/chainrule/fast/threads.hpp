// Splitting work between threads. Every threaded pass of a training step (building a batch,
// the products, zeroing, Adam) cuts its range the same way, so the same thread always
// touches the same values and keeps them in its own cache (docs/performance.md, "Step 4: threads").
#pragma once

#include <cstddef>

#ifdef CHAINRULE_HAVE_OPENMP
#include <omp.h>
#endif

#include "chainrule/tensor.hpp"

namespace chainrule::fast {

constexpr int kGrain = 16;  // shares are whole multiples of 16 values (64 bytes of floats)

// Part t of `parts` of [0, n): consecutive ranges of whole 16-value grains, as even as the
// grains allow. Splitting 784 in two gives [0, 400) and [400, 784).
void share_range(int n, int t, int parts, int& begin, int& end);

// How many threads a pass over `values` values, split over [0, n), runs on: 1 off the Fast
// path or when the pass is too small to pay for waking a thread, else num_threads().
int pass_threads(std::size_t values, int n);

// Runs work(t) for t in [0, parts), on up to `parts` OpenMP threads.
template <typename Work>
void run_parts(int parts, Work&& work) {
#ifdef CHAINRULE_HAVE_OPENMP
  if (parts > 1) {
#pragma omp parallel num_threads(parts)
    {  // OpenMP may grant fewer threads than asked: then a thread takes several parts
      for (int t = omp_get_thread_num(); t < parts; t += omp_get_num_threads()) work(t);
    }
    return;
  }
#endif
  for (int t = 0; t < parts; ++t) work(t);
}

// Calls part(begin, end) for the ranges share_range(n, t, parts) that cover [0, n), one
// per thread when `values` in all pay for threads. (A template over the callable rather
// than std::function, which may allocate: a training step allocates nothing.)
template <typename Part>
void for_shares(int n, std::size_t values, Part&& part) {
  const int parts = pass_threads(values, n);
  run_parts(parts, [&](int t) {
    int begin = 0, end = 0;
    share_range(n, t, parts, begin, end);
    part(begin, end);
  });
}

// t = 0, with the rows of t shared out between the threads like the products' rows (for
// dW1: the input features whose part of X^T dZ1 the same thread computes).
void zero(Tensor<float>& t);
inline void zero(Tensor<double>& t) { t.zero(); }

}  // namespace chainrule::fast
