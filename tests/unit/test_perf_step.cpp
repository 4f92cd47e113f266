// Tests for the training-step optimisations (docs/performance.md, "Whole training step"):
// each fast path must give exactly what the readable path gives.
//   - fast_adam_update (AVX-512) against ref_adam_update (the plain loop): the same bits
//   - Adam::step against the formula of optim.hpp, one value at a time in double: close
//   - the one-pass softmax cross-entropy against softmax_rows + the unfused CrossEntropy
//   - Sequential's cached parameter list against the layers' own lists
//   - what --threads 0 means (kernels.hpp's automatic_threads)
// The allocation-free step is checked by tests/perf/test_step_alloc.cpp (its own program).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

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
