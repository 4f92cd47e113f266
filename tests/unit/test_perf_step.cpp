// Tests for the training-step optimisations (docs/performance.md, "Whole training step"):
// each fast path must give exactly what the readable path gives.
//   - fast_adam_update (AVX-512) against ref_adam_update (the plain loop): the same bits
//   - Adam::step against the formula of optim.hpp, one value at a time in double: close
//   - the one-pass softmax cross-entropy against softmax_rows + the unfused CrossEntropy
//   - Sequential's cached parameter list against the layers' own lists
//   - what --threads 0 means (kernels.hpp's automatic_threads)
//   - the passes split between threads (share_range, Adam, zeroing, building a batch) and
//     whole training steps of 784-128-10: the same bits for 1, 2 and 3 threads
// The allocation-free step is checked by tests/perf/test_step_alloc.cpp (its own program).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <utility>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/layers/softmax.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/rng.hpp"

using namespace chainrule;

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

}  // namespace

TEST_CASE("perf: fast_adam_update gives the same bits as ref_adam_update, for every length and tail") {
  for (std::size_t n : {0, 1, 7, 15, 16, 17, 31, 33, 128, 1280, 100352 + 5}) {
    for (int t : {1, 2, 10, 1000}) {
      for (bool corrected : {true, false}) {
        const AdamCoefficients k = coefficients(t, corrected);
        Values<float> w = random_floats(n, -0.5, 0.5, 1 + n), g = random_floats(n, -0.1, 0.1, 2 + n);
        Values<float> m = random_floats(n, -0.01, 0.01, 3 + n), s = random_floats(n, 0.0, 1e-4, 4 + n);
        if (n > 2) {
          g[0] = 0.0f;     // no gradient: only the decay of m and s moves w
          g[1] = 1e-30f;   // g^2 underflows
        }
        Values<float> w2 = w, m2 = m, s2 = s;
        ref_adam_update(n, w.data(), g.data(), m.data(), s.data(), k);
        fast_adam_update(n, w2.data(), g.data(), m2.data(), s2.data(), k);
        INFO("n = " << n << ", t = " << t << ", corrected = " << corrected);
        CHECK(w == w2);  // exact equality: the same rounding, value for value
        CHECK(m == m2);
        CHECK(s == s2);
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

TEST_CASE("perf: --threads 0 means one thread unless OMP_NUM_THREADS asks for more") {
  const int before = num_threads();
  set_num_threads(0);
  if (std::getenv("OMP_NUM_THREADS") == nullptr) CHECK(num_threads() == 1);
  CHECK(num_threads() == automatic_threads());
  set_num_threads(2);
  CHECK(num_threads() == 2);
  set_num_threads(before);
}

TEST_CASE("perf: share_range cuts 0..n into consecutive whole 16-value grains") {
  int a = -1, b = -1;
  share_range(784, 0, 2, a, b);
  CHECK(a == 0);
  CHECK(b == 400);  // 25 of the 49 grains: X's column 400 starts a 64-byte line
  share_range(784, 1, 2, a, b);
  CHECK(a == 400);
  CHECK(b == 784);
  for (int n : {0, 1, 15, 16, 17, 128, 784, 1000})
    for (int parts : {1, 2, 3, 5}) {
      CAPTURE(n);
      CAPTURE(parts);
      int next = 0;
      for (int t = 0; t < parts; ++t) {
        share_range(n, t, parts, a, b);
        CHECK(a == next);  // consecutive, no gap and no overlap
        CHECK(b >= a);
        CHECK((a % 16 == 0 || a == n));
        next = b;
      }
      CHECK(next == n);  // and together they cover [0, n)
    }
}

TEST_CASE("perf: Adam's update and zeroing give the same bits on 1, 2 and 3 threads") {
  const int before = num_threads();
  const AdamCoefficients k = coefficients(3, true);
  for (auto [rows, cols] : {std::pair{784, 128}, std::pair{1, 128}, std::pair{128, 10}, std::pair{300, 77}}) {
    const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
    const Values<float> g = random_floats(n, -0.1, 0.1, 2);
    Values<float> w = random_floats(n, -0.5, 0.5, 1), m = random_floats(n, -0.01, 0.01, 3), s = random_floats(n, 0.0, 1e-4, 4);
    ref_adam_update(n, w.data(), g.data(), m.data(), s.data(), k);  // the plain loop, one flat pass
    for (int threads : {1, 2, 3}) {
      CAPTURE(rows);
      CAPTURE(threads);
      set_num_threads(threads);
      Values<float> w2 = random_floats(n, -0.5, 0.5, 1), m2 = random_floats(n, -0.01, 0.01, 3),
                    s2 = random_floats(n, 0.0, 1e-4, 4);
      adam_update(rows, cols, w2.data(), g.data(), m2.data(), s2.data(), k);
      CHECK(w2 == w);
      CHECK(m2 == m);
      CHECK(s2 == s);
      Values<float> z = random_floats(n, 1.0, 2.0, 5);
      zero_fill(rows, cols, z.data());
      CHECK(std::count(z.begin(), z.end(), 0.0f) == static_cast<std::ptrdiff_t>(n));
    }
  }
  set_num_threads(before);
}

namespace {
// count images of 28x28 with seeded pixels and labels 0..9. Mostly 0, laid out as in
// MNIST: a border 4 pixels wide is 0, and inside it a third of the pixels are lit; 83% of
// all pixels are 0, so the products skip zeros (kernels.cpp) as they do on real images.
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
    data::prefetch_batch(set, order, (b + 1) * B, (b + 2) * B);  // past the end on the last batch: ignored
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

TEST_CASE("perf: make_batch builds the same X on 1, 2 and 3 threads; prefetch_batch skips what it cannot reach") {
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
  }
  set_num_threads(before);
}

TEST_CASE("perf: Adam's pass flushes subnormal moments to 0, moves no weight differently, and restores the mode") {
  // A weight whose gradient stayed 0 for hundreds of steps: m = 0.9^t m0 is subnormal.
  const float tiny = 1e-39f;
  REQUIRE(std::fpclassify(tiny) == FP_SUBNORMAL);
  const AdamCoefficients k = coefficients(900, true);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    const int rows = 300, cols = 128;  // big enough to be shared between threads
    const std::size_t n = static_cast<std::size_t>(rows) * cols;
    Values<float> w(n, 0.01f), g(n, 0.0f), m(n, tiny), s(n, tiny);
    adam_update(rows, cols, w.data(), g.data(), m.data(), s.data(), k);
    CHECK(std::count(m.begin(), m.end(), 0.0f) == static_cast<std::ptrdiff_t>(n));  // flushed
    CHECK(std::count(s.begin(), s.end(), 0.0f) == static_cast<std::ptrdiff_t>(n));
    CHECK(std::count(w.begin(), w.end(), 0.01f) == static_cast<std::ptrdiff_t>(n));  // as the exact update: unmoved

    // The exact update (the plain loop, outside Adam's pass) keeps the subnormals and lands
    // on the same weights.
    Values<float> w2(n, 0.01f), m2(n, tiny), s2(n, tiny);
    ref_adam_update(n, w2.data(), g.data(), m2.data(), s2.data(), k);
    CHECK(std::fpclassify(m2[0]) == FP_SUBNORMAL);
    CHECK(w2 == w);
  }
  // The mode is restored: float arithmetic outside Adam still underflows gradually.
  volatile float a = 1e-20f, b = 1e-20f;
  CHECK(std::fpclassify(a * b) == FP_SUBNORMAL);
  set_num_threads(1);
}
