// Splitting work between threads. Every threaded pass of a training step (building a batch,
// the products, zeroing, Adam) cuts its range the same way, so the same thread always
// touches the same values and keeps them in its own cache (docs/performance.md, "Step 4: threads").
#pragma once

#include <cstddef>
#include <type_traits>

#include "chainrule/tensor.hpp"

namespace chainrule::fast {

constexpr int kGrain = 16;  // shares are whole multiples of 16 values (64 bytes of floats)

// Part t of `parts` of [0, n): consecutive ranges of whole 16-value grains, as even as the
// grains allow. Splitting 784 in two gives [0, 400) and [400, 784).
void share_range(int n, int t, int parts, int& begin, int& end);

// How many threads a pass over `values` values, split over [0, n), runs on: 1 off the Fast
// path or when the pass is too small to pay for waking a thread, else num_threads().
int pass_threads(std::size_t values, int n);

// Runs part(context, t) for t in [0, parts) on the calling thread and the threads of a
// persistent pool (fast/threads.cpp): thread t starts with part t, then takes any part no
// thread has started yet, so that a pool thread whose core is busy with another program is
// never waited for. Each part is run exactly once, whoever runs it: the values computed
// depend on `parts`, never on which thread ran what. Pool threads spin for a moment
// after a pass (the next one usually follows within microseconds), then sleep.
using PartFunction = void (*)(void* context, int part);
void run_parts_on_pool(int parts, PartFunction part, void* context);

// Runs work(t) for t in [0, parts), on the calling thread and up to parts - 1 pool threads.
template <typename Work>
void run_parts(int parts, Work&& work) {
  if (parts <= 1) {
    for (int t = 0; t < parts; ++t) work(t);
    return;
  }
  using W = std::remove_reference_t<Work>;
  run_parts_on_pool(
      parts, [](void* context, int t) { (*static_cast<W*>(context))(t); },
      const_cast<std::remove_const_t<W>*>(&work));
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
