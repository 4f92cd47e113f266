// Tests for batching: seeded shuffles, the holdout split and make_batch (one_hot: test_loss.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/bugs/pipeline.hpp"
#include "chainrule/data/dataset.hpp"

using namespace chainrule;
using namespace chainrule::data;

namespace {

// count images of 28x28; pixel j of image i is (i + j) % 256; label i is i % 10.
ImageSet toy_set(int count) {
  ImageSet set;
  set.count = count;
  set.pixels.resize(static_cast<std::size_t>(count) * 784);
  set.labels.resize(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    for (int j = 0; j < 784; ++j) set.pixels[static_cast<std::size_t>(i) * 784 + j] = static_cast<std::uint8_t>((i + j) % 256);
    set.labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i % 10);
  }
  return set;
}

bool is_permutation_of_range(std::vector<int> v, int n) {
  std::sort(v.begin(), v.end());
  return v == all_indices(n);
}

}  // namespace

TEST_CASE("dataset: all_indices lists 0..count-1 in order") {
  CHECK(all_indices(4) == std::vector<int>{0, 1, 2, 3});
  CHECK(all_indices(0).empty());
}

TEST_CASE("dataset: shuffle is a permutation and the same seed gives the same order") {
  std::vector<int> a = all_indices(1000), b = all_indices(1000), c = all_indices(1000);
  Rng ra(7), rb(7), rc(8);
  shuffle(a, ra);
  shuffle(b, rb);
  shuffle(c, rc);
  CHECK(is_permutation_of_range(a, 1000));
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a != all_indices(1000));

  // Successive epochs from one generator give different orders.
  std::vector<int> next = a;
  shuffle(next, ra);
  CHECK(next != a);
  CHECK(is_permutation_of_range(next, 1000));
}

TEST_CASE("dataset: shuffle moves every element to every position about equally often") {
  // 3 elements, 6000 shuffles: each of the 9 (value, position) pairs expects 2000.
  int counts[3][3] = {};
  Rng rng(1);
  for (int t = 0; t < 6000; ++t) {
    std::vector<int> v = {0, 1, 2};
    shuffle(v, rng);
    for (int pos = 0; pos < 3; ++pos) ++counts[v[static_cast<std::size_t>(pos)]][pos];
  }
  for (auto& row : counts)
    for (int n : row) CHECK(std::abs(n - 2000) < 150);  // about 4.5 standard deviations
}

TEST_CASE("dataset: shuffle leaves empty and one-element lists alone") {
  Rng rng(3);
  std::vector<int> empty, one = {42};
  shuffle(empty, rng);
  shuffle(one, rng);
  CHECK(empty.empty());
  CHECK(one == std::vector<int>{42});
}

TEST_CASE("dataset: split_holdout gives disjoint, complete, sorted train and val sets of the right sizes") {
  const Split s = split_holdout(1000, 0.1, 42);
  CHECK(s.val.size() == 100);
  CHECK(s.train.size() == 900);
  CHECK(std::is_sorted(s.val.begin(), s.val.end()));
  CHECK(std::is_sorted(s.train.begin(), s.train.end()));
  std::vector<int> both;
  std::set_union(s.train.begin(), s.train.end(), s.val.begin(), s.val.end(), std::back_inserter(both));
  CHECK(both == all_indices(1000));  // complete, and with the sizes summing to 1000, disjoint
  CHECK(s.val.back() > 900);  // chosen by the shuffle, not the last 100 or first 100 in order
  CHECK(s.val.front() < 100);

  CHECK(split_holdout(60000, 1.0 / 6.0, 5).val.size() == 10000);
}

TEST_CASE("dataset: split_holdout depends only on its seed") {
  CHECK(split_holdout(500, 0.2, 9).val == split_holdout(500, 0.2, 9).val);
  CHECK(split_holdout(500, 0.2, 9).val != split_holdout(500, 0.2, 10).val);
}

TEST_CASE("dataset: split_holdout with fraction 0 keeps every sample for training") {
  const Split s = split_holdout(10, 0.0, 1);
  CHECK(s.val.empty());
  CHECK(s.train == all_indices(10));
}

TEST_CASE("dataset: split_holdout refuses a fraction outside 0 <= f < 1 with a clear message") {
  CHECK_THROWS_WITH_AS(split_holdout(10, 1.0, 1), doctest::Contains("fraction 1.000000 must be in [0, 1)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(split_holdout(10, -0.1, 1), doctest::Contains("must be in [0, 1)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(split_holdout(10, std::numeric_limits<double>::quiet_NaN(), 1),
                       doctest::Contains("must be in [0, 1)"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(split_holdout(2, 0.9, 1), doctest::Contains("leaves none for training"),
                       std::invalid_argument);
}

TEST_CASE("dataset: num_batches counts the last partial batch") {
  CHECK(num_batches(60000, 64) == 938);
  CHECK(num_batches(128, 64) == 2);
  CHECK(num_batches(129, 64) == 3);
  CHECK(num_batches(0, 64) == 0);
  CHECK_THROWS_AS(num_batches(10, 0), std::invalid_argument);
}

TEST_CASE("dataset: make_batch flattens images into rows of 784 values divided by 255") {
  const ImageSet set = toy_set(10);
  const std::vector<int> order = {4, 9, 0, 7};
  Tensor<float> X;
  std::vector<int> y;
  make_batch(set, order, 1, 3, X, y);
  REQUIRE(X.rows == 2);
  REQUIRE(X.cols == 784);
  CHECK(y == std::vector<int>{9, 0});
  CHECK(X(0, 0) == 9.0f / 255.0f);
  CHECK(X(0, 246) == 255.0f / 255.0f);  // (9 + 246) % 256 = 255
  CHECK(X(0, 247) == 0.0f);
  CHECK(X(1, 783) == static_cast<float>(783 % 256) / 255.0f);
  CHECK(*std::min_element(X.data.begin(), X.data.end()) == 0.0f);
  CHECK(*std::max_element(X.data.begin(), X.data.end()) == 1.0f);
}

TEST_CASE("dataset: the injected bug inputs-not-normalised builds batches of the raw values 0..255") {
  const ImageSet set = toy_set(3);
  Tensor<float> X;
  std::vector<int> y;
  chainrule::ScopedBug bug(chainrule::Bug::InputsNotNormalised);
  chainrule::bugs::pipeline().train_batch(set, all_indices(3), 0, 3, X, y);
  CHECK(X(2, 0) == 2.0f);
  CHECK(X(0, 255) == 255.0f);
  CHECK(*std::max_element(X.data.begin(), X.data.end()) == 255.0f);
}

TEST_CASE("dataset: make_batch covers an epoch with a last partial batch and reuses its memory") {
  const ImageSet set = toy_set(10);
  const std::vector<int> order = all_indices(10);
  const std::size_t batch = 4;
  Tensor<float> X;
  std::vector<int> y;
  make_batch(set, order, 0, batch, X, y);
  const float* data = X.data.data();
  const int* labels = y.data();

  std::vector<int> seen;
  for (std::size_t b = 0; b < num_batches(order.size(), batch); ++b) {
    const std::size_t end = std::min(order.size(), (b + 1) * batch);
    make_batch(set, order, b * batch, end, X, y);
    CHECK(X.rows == static_cast<int>(end - b * batch));
    CHECK(X.data.data() == data);  // same buffer: no allocation
    CHECK(y.data() == labels);
    seen.insert(seen.end(), y.begin(), y.end());
  }
  CHECK(X.rows == 2);  // 10 = 4 + 4 + 2
  CHECK(seen == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("dataset: make_batch refuses a range or an index outside the set") {
  const ImageSet set = toy_set(3);
  Tensor<float> X;
  std::vector<int> y;
  CHECK_THROWS_WITH_AS(make_batch(set, all_indices(3), 2, 5, X, y), doctest::Contains("range [2, 5) does not fit 3"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(make_batch(set, all_indices(3), 2, 1, X, y), doctest::Contains("range [2, 1)"),
                       std::out_of_range);
  CHECK_THROWS_WITH_AS(make_batch(set, {0, 3}, 0, 2, X, y), doctest::Contains("sample index 3 is outside 0..2"),
                       std::out_of_range);
}
