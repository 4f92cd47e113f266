#include "chainrule/fast/adam.hpp"

#include <cmath>
#include <cstddef>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "chainrule/fast/threads.hpp"

namespace chainrule::fast {

namespace {
// The plain loop of Adam::step (optim.cpp) on 16 values at a time, rounding after the same
// operations: two fused multiply-adds, then correctly rounded divisions and square root.
// The last n % 16 values go through the same code with a lane mask.
// (Why not let the compiler vectorise the loop, and why the masked square root:
// docs/performance.md, "Notes from the code".)
void adam_values(std::size_t n, float* w, const float* g, float* m, float* s, const AdamCoefficients& k) {
#ifdef __AVX512F__
  const __m512 b1 = _mm512_set1_ps(k.b1), b2 = _mm512_set1_ps(k.b2);
  const __m512 one_minus_b1 = _mm512_set1_ps(1.0f - k.b1), one_minus_b2 = _mm512_set1_ps(1.0f - k.b2);
  const __m512 lr = _mm512_set1_ps(k.lr), c1 = _mm512_set1_ps(k.c1), c2 = _mm512_set1_ps(k.c2);
  const __m512 eps = _mm512_set1_ps(k.eps);
  for (std::size_t j = 0; j < n; j += 16) {
    const std::size_t left = n - j;
    const __mmask16 lanes = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
    const __m512 gv = _mm512_maskz_loadu_ps(lanes, g + j);
    const __m512 mv = _mm512_fmadd_ps(b1, _mm512_maskz_loadu_ps(lanes, m + j), _mm512_mul_ps(one_minus_b1, gv));
    const __m512 sv = _mm512_fmadd_ps(b2, _mm512_maskz_loadu_ps(lanes, s + j),
                                      _mm512_mul_ps(_mm512_mul_ps(one_minus_b2, gv), gv));
    const __m512 step = _mm512_div_ps(_mm512_mul_ps(lr, _mm512_div_ps(mv, c1)),
                                      _mm512_add_ps(_mm512_maskz_sqrt_ps(lanes, _mm512_div_ps(sv, c2)), eps));
    _mm512_mask_storeu_ps(m + j, lanes, mv);
    _mm512_mask_storeu_ps(s + j, lanes, sv);
    _mm512_mask_storeu_ps(w + j, lanes, _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, w + j), step));
  }
#else  // the portable build: the plain loop, as in Adam::step
  const float one_minus_b1 = 1.0f - k.b1, one_minus_b2 = 1.0f - k.b2;
  for (std::size_t j = 0; j < n; ++j) {
    m[j] = std::fma(k.b1, m[j], one_minus_b1 * g[j]);
    s[j] = std::fma(k.b2, s[j], one_minus_b2 * g[j] * g[j]);
    w[j] -= k.lr * (m[j] / k.c1) / (std::sqrt(s[j] / k.c2) + k.eps);
  }
#endif
}
}  // namespace

// Thread t takes rows share_range(rows, t, threads): for W1 (784, 128) the input features
// whose part of dW1 the same thread computed.
void adam_update(int rows, int cols, float* w, const float* g, float* m, float* s, const AdamCoefficients& k) {
  const auto width = static_cast<std::size_t>(cols);
  for_shares(rows, static_cast<std::size_t>(rows) * width, [&](int r0, int r1) {
    [[maybe_unused]] const FlushSubnormalsToZero flush;  // MXCSR is per thread: set in each
    const std::size_t at = static_cast<std::size_t>(r0) * width;
    adam_values(static_cast<std::size_t>(r1 - r0) * width, w + at, g + at, m + at, s + at, k);
  });
}

}  // namespace chainrule::fast
