// Tests for the training-step optimisations (docs/performance.md, "Whole training step"):
// each fast path must give exactly what the readable path gives.
//   - Adam::step on the Fast path (fast/adam.cpp, AVX-512, threads) against the plain loop
//     that the Reference path runs (optim.cpp): the same bits
//   - Adam::step against the formula of optim.hpp, one value at a time in double: close
//   - the one-pass softmax cross-entropy against softmax_rows + the unfused CrossEntropy
//   - Sequential's cached parameter list against the layers' own lists
//   - what --threads 0 means (kernels.hpp's automatic_threads)
//   - the passes split between threads (share_range, Adam, zeroing, building a batch) and
//     whole training steps of 784-128-10: the same bits for 1, 2 and 3 threads
// The allocation-free step is checked by tests/perf/test_step_alloc.cpp (its own program).
#include <doctest/doctest.h>

#include "../support/kernel_settings.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/fast/adam.hpp"
#include "chainrule/fast/prefetch.hpp"
#include "chainrule/fast/threads.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/layers/softmax.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;
using chainrule::testing::KernelSettingsGuard;

namespace {

Values<float> random_floats(std::size_t count, double lo, double hi, std::uint64_t seed) {
  Rng rng(seed);
  Values<float> v(count);
  for (float& x : v) x = static_cast<float>(rng.uniform(lo, hi));
  return v;
}

// Adam's coefficients at step t (c = 1: without bias correction).
AdamCoefficients coefficients(int t, bool corrected) {
  AdamCoefficients k{};
  k.lr = 1e-3f;
  k.b1 = 0.9f;
  k.b2 = 0.999f;
  k.eps = 1e-7f;
  k.c1 = corrected ? static_cast<float>(1.0 - std::pow(0.9, t)) : 1.0f;
  k.c2 = corrected ? static_cast<float>(1.0 - std::pow(0.999, t)) : 1.0f;
  return k;
}

// Adam without the bias correction (c1 = c2 = 1), as the adam-no-bias-correction bug runs it.
class UncorrectedAdam : public Adam {
 public:
  using Adam::Adam;

 protected:
  AdamCoefficients coefficients() const override {
    AdamCoefficients k = Adam::coefficients();
    k.c1 = k.c2 = 1.0f;
    return k;
  }
};

// The instruction-set paths of the fast kernels that this program and CPU can run
// (fast/isa.hpp), the portable one first.
std::vector<KernelIsa> available_isas() {
  std::vector<KernelIsa> isas;
  for (KernelIsa isa : {KernelIsa::Portable, KernelIsa::Avx2, KernelIsa::Avx512})
    if (kernel_isa_available(isa)) isas.push_back(isa);
  return isas;
}

// Uses one path while it lives, then the one before.
struct IsaGuard {
  KernelIsa before = kernel_isa();
  explicit IsaGuard(KernelIsa isa) { set_kernel_isa(isa); }
  ~IsaGuard() { set_kernel_isa(before); }
  IsaGuard(const IsaGuard&) = delete;
  IsaGuard& operator=(const IsaGuard&) = delete;
};

// The same bits, value for value (== would take -0 for +0).
template <typename A, typename B>
bool same_bits(const A& a, const B& b) {
  return a.size() == b.size() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// The values of a parameter and Adam's moments before or after a step.
struct AdamState {
  Values<float> w, m, s;
};

// Step t of Adam (or UncorrectedAdam) on a (rows, cols) parameter from state `before`, with
// gradient g, on `path` and `threads` threads.
AdamState adam_step(KernelPath path, int threads, int rows, int cols, const AdamState& before, const Values<float>& g,
                    int t, bool corrected) {
  const KernelPath path_before = kernel_path();
  const int threads_before = num_threads();
  set_kernel_path(path);
  set_num_threads(threads);
  Tensor<float> W(rows, cols), G(rows, cols);
  W.data = before.w;
  G.data = g;
  const std::vector<Param<float>> params = {{"w", &W, &G}};
  std::unique_ptr<Adam> adam = corrected ? std::make_unique<Adam>(OptimizerConfig{})
                                         : std::make_unique<UncorrectedAdam>(OptimizerConfig{});
  adam->init_slots(params);
  adam->slots()[0].data = before.m;
  adam->slots()[1].data = before.s;
  adam->set_steps(t - 1);
  adam->step(params);
  AdamState after{W.data, adam->slots()[0].data, adam->slots()[1].data};
  set_kernel_path(path_before);
  set_num_threads(threads_before);
  return after;
}

// Seeded values of w, g, m and s for n values, with the cases that matter for the bits: no
// gradient, a g whose square underflows, and subnormal moments (m decays through the
// subnormals for a weight whose gradient stays 0).
std::pair<AdamState, Values<float>> adam_inputs(std::size_t n) {
  AdamState st{random_floats(n, -0.5, 0.5, 1 + n), random_floats(n, -0.01, 0.01, 3 + n), random_floats(n, 0.0, 1e-4, 4 + n)};
  Values<float> g = random_floats(n, -0.1, 0.1, 2 + n);
  const float subnormals[] = {1e-39f, -3e-40f, 1.4e-45f, 1e-38f};
  for (std::size_t j = 0; j < n; ++j) {
    if (j % 7 == 0) g[j] = 0.0f;  // no gradient: only the decay of m and s moves w
    if (j % 11 == 1) g[j] = 1e-30f;  // g^2 underflows
    if (j % 5 == 2) st.m[j] = subnormals[j % 4];
    if (j % 9 == 3) st.s[j] = std::abs(subnormals[(j + 1) % 4]);
  }
  // Runs of 32 values whose m is +0 or -0 and whose gradient is 0 or -0 (weights that no image
  // has reached yet): the vector paths skip their divisions (isa_avx512.cpp,
  // skip_zero_moments) and must still give the same bits, for w = -0, for s = +inf, and for a
  // NaN s, which makes the step NaN.
  const float inf = std::numeric_limits<float>::infinity();
  for (std::size_t j = 0; j < n; ++j)
    if (j / 32 % 3 == 1) {
      g[j] = j % 2 ? -0.0f : 0.0f;
      st.m[j] = j % 4 == 1 ? -0.0f : 0.0f;
      if (j % 13 == 0) st.w[j] = -0.0f;
      if (j % 17 == 5) st.s[j] = inf;
    }
  if (n > 200) st.s[136] = std::numeric_limits<float>::quiet_NaN();  // in the run 128..159
  return {st, g};
}

}  // namespace

TEST_CASE("perf: Adam::step gives the same bits on the Fast path, on every instruction-set path, as the plain loop of the Reference path") {
  // (1, n): every length and tail of the 16-value vectors; larger shapes: shared between threads.
  for (auto [rows, cols] : {std::pair{1, 0}, std::pair{1, 1}, std::pair{1, 7}, std::pair{1, 15}, std::pair{1, 16},
                            std::pair{1, 17}, std::pair{1, 31}, std::pair{1, 33}, std::pair{1, 128}, std::pair{1, 1280},
                            std::pair{1, 100352 + 5}, std::pair{784, 128}, std::pair{128, 10}, std::pair{300, 77}}) {
    const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    const auto [before, g] = adam_inputs(n);
    // From step 165 on c1 = 1 - 0.9^t rounds to 1, and from step 17,400 on (17,000 below is before, 20,000 after) so does c2: the
    // vector paths then leave those divisions out (isa_avx512.cpp, adam).
    for (int t : {1, 2, 10, 164, 165, 1000, 17000, 20000}) {
      for (bool corrected : {true, false}) {
        const AdamState plain = adam_step(KernelPath::Reference, 1, rows, cols, before, g, t, corrected);
        for (KernelIsa isa : available_isas()) {  // every instruction-set path this CPU runs
          const IsaGuard use(isa);
          for (int threads : {1, 2, 3}) {
            INFO("(" << rows << ", " << cols << "), t = " << t << ", corrected = " << corrected << ", threads = " << threads
                     << ", kernels " << kernel_isa_name(isa));
            const AdamState fast = adam_step(KernelPath::Fast, threads, rows, cols, before, g, t, corrected);
            CHECK(same_bits(fast.w, plain.w));  // exact equality: the same rounding, value for value
            CHECK(same_bits(fast.m, plain.m));
            CHECK(same_bits(fast.s, plain.s));
            if (rows == 1 && threads > 1) break;  // one row: one thread whatever the count
          }
        }
      }
    }
  }
}

TEST_CASE("perf: Adam::step follows optim.hpp's formula (checked in double), on the fast and the reference path") {
  for (KernelPath path : {KernelPath::Fast, KernelPath::Reference}) {
    set_kernel_path(path);
    Tensor<float> W(7, 5), dW(7, 5), b(1, 5), db(1, 5);
    W.data = random_floats(35, -0.5, 0.5, 11);
    b.data = random_floats(5, -0.5, 0.5, 12);
    const std::vector<Param<float>> params = {{"dense1.W", &W, &dW}, {"dense1.b", &b, &db}};
    OptimizerConfig config;
    Adam adam(config);
    std::vector<double> w(W.data.begin(), W.data.end()), m(35, 0.0), s(35, 0.0);
    for (int t = 1; t <= 3; ++t) {
      dW.data = random_floats(35, -0.1, 0.1, 20 + static_cast<std::uint64_t>(t));
      db.data = random_floats(5, -0.1, 0.1, 30 + static_cast<std::uint64_t>(t));
      adam.step(params);
      for (std::size_t j = 0; j < 35; ++j) {
        const double g = dW.data[j];
        m[j] = 0.9 * m[j] + 0.1 * g;
        s[j] = 0.999 * s[j] + 0.001 * g * g;
        w[j] -= 1e-3 * (m[j] / (1 - std::pow(0.9, t))) / (std::sqrt(s[j] / (1 - std::pow(0.999, t))) + 1e-7);
        CHECK(std::abs(W.data[j] - w[j]) < 1e-6);  // float rounding of values near 0.5
      }
    }
  }
  set_kernel_path(KernelPath::Fast);
}

TEST_CASE("perf: the one-pass softmax cross-entropy equals softmax_rows and the unfused CrossEntropy") {
  const int N = 37, C = 10;
  Tensor<float> Z(N, C);
  Z.data = random_floats(static_cast<std::size_t>(N * C), -8.0, 8.0, 7);
  Z(3, 4) = 80.0f;  // a dominant logit: P near 1, exp of the others underflows towards 0
  std::vector<int> labels(N);
  for (int i = 0; i < N; ++i) labels[static_cast<std::size_t>(i)] = (i * 7) % C;

  SoftmaxCrossEntropy<float> fused;
  const float loss = fused.forward(Z, labels);
  Tensor<float> P;
  softmax_rows(Z, P);
  CHECK(fused.probs().data == P.data);  // the same exponentials, sums and divisions: the same bits

  // The loss is -log P[i][y_i] through log-sum-exp; the unfused path takes log of P.
  CrossEntropy<float> unfused;
  const float loss_unfused = unfused.forward(P, labels);
  CHECK(loss == doctest::Approx(loss_unfused).epsilon(1e-5));
  CHECK(loss > 0.0f);

  // dZ = (P - Y) / N, entry by entry.
  Tensor<float> dZ;
  fused.backward(dZ);
  for (int i = 0; i < N; ++i)
    for (int k = 0; k < C; ++k) {
      const float expected = (P(i, k) - (k == labels[static_cast<std::size_t>(i)] ? 1.0f : 0.0f)) * (1.0f / N);
      CHECK(dZ(i, k) == expected);
    }
}

TEST_CASE("perf: the model's cached parameter list is the layers' lists, and zero_grad clears every gradient") {
  MlpSpec spec;
  spec.inputs = 12;
  spec.hidden = {6, 5};
  spec.batchnorm = true;
  Sequential<float> model = make_mlp<float>(spec);
  std::vector<Param<float>> expected;
  for (std::size_t i = 0; i < model.size(); ++i)
    for (const auto& p : model.layer(i).params()) expected.push_back(p);
  const std::vector<Param<float>> cached = model.params();
  REQUIRE(cached.size() == expected.size());
  REQUIRE(cached.size() == 10);  // 3 dense (W, b) + 2 batchnorm (gamma, beta)
  for (std::size_t k = 0; k < cached.size(); ++k) {
    CHECK(cached[k].name == expected[k].name);
    CHECK(cached[k].value == expected[k].value);
    CHECK(cached[k].grad == expected[k].grad);
  }
  for (const auto& p : cached) p.grad->fill(1.0f);
  model.zero_grad();
  for (const auto& p : cached)
    for (float g : p.grad->data) CHECK(g == 0.0f);

  // A moved model keeps a valid list: the layers live on the heap, the list moves with them.
  Sequential<float> moved = std::move(model);
  const auto after = moved.params();
  CHECK(after[0].value == cached[0].value);
  CHECK(moved.parameter_count() == 12 * 6 + 6 + 2 * 6 + 6 * 5 + 5 + 2 * 5 + 5 * 10 + 10);
}

TEST_CASE("perf: --threads 0 means the idle physical cores (at least 1), or OMP_NUM_THREADS") {
  const int before = num_threads();
  set_num_threads(0);
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    CHECK(num_threads() >= 1);
    CHECK(num_threads() <= std::max(1L, cpus));
  }
  CHECK(num_threads() == automatic_threads());
  set_num_threads(2);
  CHECK(num_threads() == 2);
  set_num_threads(before);
}

TEST_CASE("perf: share_range cuts 0..n into consecutive whole 16-value grains") {
  int a = -1, b = -1;
  fast::share_range(784, 0, 2, a, b);
  CHECK(a == 0);
  CHECK(b == 400);  // 25 of the 49 grains: X's column 400 starts a 64-byte line
  fast::share_range(784, 1, 2, a, b);
  CHECK(a == 400);
  CHECK(b == 784);
  for (int n : {0, 1, 15, 16, 17, 128, 784, 1000})
    for (int parts : {1, 2, 3, 5}) {
      CAPTURE(n);
      CAPTURE(parts);
      int next = 0;
      for (int t = 0; t < parts; ++t) {
        fast::share_range(n, t, parts, a, b);
        CHECK(a == next);  // consecutive, no gap and no overlap
        CHECK(b >= a);
        CHECK((a % 16 == 0 || a == n));
        next = b;
      }
      CHECK(next == n);  // and together they cover [0, n)
    }
}

TEST_CASE("perf: zeroing clears every value on 1, 2 and 3 threads") {
  const int before = num_threads();
  for (auto [rows, cols] : {std::pair{784, 128}, std::pair{1, 128}, std::pair{128, 10}, std::pair{300, 77}}) {
    const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    for (int threads : {1, 2, 3}) {
      CAPTURE(rows);
      CAPTURE(threads);
      set_num_threads(threads);
      Tensor<float> z(rows, cols);
      z.data = random_floats(n, 1.0, 2.0, 5);
      fast::zero(z);
      CHECK(std::count(z.data.begin(), z.data.end(), 0.0f) == static_cast<std::ptrdiff_t>(n));
    }
  }
  set_num_threads(before);
}

namespace {
// count images of 28x28 with seeded pixels and labels 0..9. Mostly 0, laid out as in
// MNIST: a border 4 pixels wide is 0, and inside it a third of the pixels are lit; 83% of
// all pixels are 0, so the products skip zeros (fast/gemm.cpp) as they do on real images.
data::ImageSet random_images(int count) {
  data::ImageSet set;
  set.count = count;
  set.pixels.resize(static_cast<std::size_t>(count) * 784);
  set.labels.resize(static_cast<std::size_t>(count));
  Rng rng(9);
  for (std::size_t q = 0; q < set.pixels.size(); ++q) {
    const std::size_t row = q % 784 / 28, col = q % 28;
    const bool inside = row >= 4 && row < 24 && col >= 4 && col < 24;
    set.pixels[q] = inside && rng.below(3) == 0 ? static_cast<std::uint8_t>(1 + rng.below(255)) : 0;
  }
  for (int i = 0; i < count; ++i) set.labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(rng.below(10));
  return set;
}

// Trains 784-128-10 with Adam for `steps` steps of batch `batch` on `threads` threads.
Sequential<float> train_steps(const data::ImageSet& set, int threads, int steps, int batch) {
  set_num_threads(threads);
  Sequential<float> model = make_mlp<float>(MlpSpec{});
  const auto params = model.params();
  auto optimizer = make_optimizer(OptimizerConfig{});
  SoftmaxCrossEntropy<float> loss;
  Tensor<float> X, dZ;
  std::vector<int> labels;
  std::vector<int> order = data::all_indices(set.count);
  Rng rng(3);
  data::shuffle(order, rng);
  const std::size_t B = static_cast<std::size_t>(batch);
  for (int step = 0; step < steps; ++step) {
    const std::size_t b = static_cast<std::size_t>(step) % (order.size() / B);
    data::make_batch(set, order, b * B, (b + 1) * B, X, labels);
    model.zero_grad();
    loss.forward(model.forward(X, true), labels);
    loss.backward(dZ);
    model.backward(dZ);
    optimizer->step(params);
  }
  return model;
}

// Every weight and gradient of the two models holds equal values.
void check_same_params(Sequential<float>& one, Sequential<float>& other) {
  const auto a = one.params(), b = other.params();
  REQUIRE(a.size() == b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    CAPTURE(a[k].name);
    CHECK(a[k].value->data == b[k].value->data);
    CHECK(a[k].grad->data == b[k].grad->data);
  }
}
}  // namespace

TEST_CASE("perf: whole training steps of 784-128-10 give the same bits on 1, 2 and 3 threads") {
  // Every pass that threads use is in this step: building the batch by pixel columns, the
  // split sum over 784 pixels in X W1, the rows of dW1 = X^T dZ1, zeroing and Adam by rows.
  const int before = num_threads();
  const data::ImageSet set = random_images(4 * 128);
  for (int batch : {128, 32}) {
    CAPTURE(batch);
    Sequential<float> one = train_steps(set, 1, 6, batch);
    for (int threads : {2, 3}) {
      CAPTURE(threads);
      Sequential<float> many = train_steps(set, threads, 6, batch);
      check_same_params(one, many);
    }
  }
  set_num_threads(before);
}

TEST_CASE("perf: whole training steps give the same bits on every instruction-set path (avx512, avx2, portable)") {
  // The products (zero skipping included) and Adam run on the path's own loops; everything
  // else is common code. Compared bit for bit with the portable path's run.
  const int threads_before = num_threads();
  const data::ImageSet set = random_images(4 * 128);
  const std::vector<KernelIsa> isas = available_isas();
  REQUIRE(isas.front() == KernelIsa::Portable);
  for (int batch : {128, 32}) {
    for (int threads : {1, 2}) {
      CAPTURE(batch);
      CAPTURE(threads);
      Sequential<float> portable = [&] {
        const IsaGuard use(KernelIsa::Portable);
        return train_steps(set, threads, 6, batch);
      }();
      for (std::size_t q = 1; q < isas.size(); ++q)
        for (XW1Tile tile : {XW1Tile::Rows4x64, XW1Tile::Rows2x64, XW1Tile::Rows2x128}) {  // (set_x_w1_tile)
          if (tile != XW1Tile::Rows4x64 && isas[q] != KernelIsa::Avx512) continue;
          INFO("kernels " << kernel_isa_name(isas[q]) << ", X W1 tiles " << x_w1_tile_name(tile));
          const KernelSettingsGuard settings;  // puts the path and the tile shape back
          set_kernel_isa(isas[q]);
          set_x_w1_tile(tile);
          Sequential<float> other = train_steps(set, threads, 6, batch);
          const auto a = portable.params(), b = other.params();
          REQUIRE(a.size() == b.size());
          for (std::size_t k = 0; k < a.size(); ++k) {
            CAPTURE(a[k].name);
            CHECK(same_bits(a[k].value->data, b[k].value->data));
            CHECK(same_bits(a[k].grad->data, b[k].grad->data));
          }
        }
    }
  }
  set_num_threads(threads_before);
}

TEST_CASE("perf: whole training steps give the same weights with zero skipping on and off") {
  const int threads_before = num_threads();
  const bool skip_before = skip_zeros();
  const data::ImageSet set = random_images(4 * 128);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    set_skip_zeros(false);
    Sequential<float> full = train_steps(set, threads, 6, 128);
    set_skip_zeros(true);
    Sequential<float> skipping = train_steps(set, threads, 6, 128);
    check_same_params(full, skipping);  // equal values (a zero may differ in sign only)
  }
  set_skip_zeros(skip_before);
  set_num_threads(threads_before);
}

TEST_CASE("perf: make_batch builds the same X on 1, 2 and 3 threads; the prefetches skip what they cannot reach") {
  const int before = num_threads();
  const data::ImageSet set = random_images(300);
  std::vector<int> order = data::all_indices(300);
  Rng rng(4);
  data::shuffle(order, rng);
  Tensor<float> first, X;
  std::vector<int> y1, y;
  set_num_threads(1);
  data::make_batch(set, order, 10, 138, first, y1);
  for (int threads : {2, 3}) {
    set_num_threads(threads);
    data::make_batch(set, order, 10, 138, X, y);
    CHECK(X.data == std::vector<float>(first.data.begin(), first.data.end()));
    CHECK(y == y1);
    std::vector<int> bad = {0, -5, 299, 300, 1 << 30};
    data::prefetch_batch(set, bad, 0, bad.size());       // bad indices: skipped
    data::prefetch_batch(set, order, 290, 1000);           // past the end: cut to the list
    data::prefetch_batch(set, order, 500, 400);            // empty
    fast::prefetch_columns(set.pixels.data(), 784, set.count, bad.data(), bad.size(), 0, 784);  // skipped
    fast::prefetch_columns(set.pixels.data(), 784, set.count, order.data(), order.size(), 5, 5);  // no columns
  }
  // 290 rows: make_batch asks for the first 128 rows' pixels at once, then one row ahead
  // at each row it converts. Every value is the pixel / 255, on 1, 2 and 3 threads.
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    set_num_threads(threads);
    data::make_batch(set, order, 5, 295, X, y);
    REQUIRE(X.rows == 290);
    std::size_t wrong = 0;
    for (int i = 0; i < 290; ++i)
      for (int j = 0; j < 784; ++j) {
        const std::uint8_t p = set.pixels[static_cast<std::size_t>(order[static_cast<std::size_t>(5 + i)]) * 784 + j];
        wrong += X.row(i)[j] != static_cast<float>(p) / 255.0f;
      }
    CHECK(wrong == 0);
  }
  set_num_threads(before);
}

TEST_CASE("perf: Adam's pass flushes subnormal moments to 0, moves no weight differently, and restores the mode") {
  // A weight whose gradient stayed 0 for hundreds of steps: m = 0.9^t m0 is subnormal.
  const float tiny = 1e-39f;
  REQUIRE(std::fpclassify(tiny) == FP_SUBNORMAL);
  const AdamCoefficients k = coefficients(900, true);
  const int rows = 300, cols = 128;  // big enough to be shared between threads
  const std::size_t n = static_cast<std::size_t>(rows) * cols;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    Values<float> w(n, 0.01f), g(n, 0.0f), m(n, tiny), s(n, tiny);
    fast::adam_update(rows, cols, w.data(), g.data(), m.data(), s.data(), k);
    CHECK(std::count(m.begin(), m.end(), 0.0f) == static_cast<std::ptrdiff_t>(n));  // flushed
    CHECK(std::count(s.begin(), s.end(), 0.0f) == static_cast<std::ptrdiff_t>(n));
    CHECK(std::count(w.begin(), w.end(), 0.01f) == static_cast<std::ptrdiff_t>(n));  // as the exact update: unmoved

    // The exact update (Adam's plain loop, outside Adam's pass) keeps the subnormals and
    // lands on the same weights.
    Values<float> w2(n, 0.01f), m2(n, tiny), s2(n, tiny);
    for (std::size_t j = 0; j < n; ++j) {
      m2[j] = std::fma(k.b1, m2[j], (1.0f - k.b1) * g[j]);
      s2[j] = std::fma(k.b2, s2[j], (1.0f - k.b2) * g[j] * g[j]);
      w2[j] -= k.lr * (m2[j] / k.c1) / (std::sqrt(s2[j] / k.c2) + k.eps);
    }
    CHECK(std::fpclassify(m2[0]) == FP_SUBNORMAL);
    CHECK(w2 == w);
  }
  // The Reference path's plain loop runs under the same flush (so both paths keep today's bits).
  const AdamState before{Values<float>(n, 0.01f), Values<float>(n, tiny), Values<float>(n, tiny)};
  const AdamState plain = adam_step(KernelPath::Reference, 1, rows, cols, before, Values<float>(n, 0.0f), 900, true);
  CHECK(std::count(plain.m.begin(), plain.m.end(), 0.0f) == static_cast<std::ptrdiff_t>(n));
  // The mode is restored: float arithmetic outside Adam still underflows gradually.
  volatile float a = 1e-20f, b = 1e-20f;
  CHECK(std::fpclassify(a * b) == FP_SUBNORMAL);
  set_num_threads(1);
}
