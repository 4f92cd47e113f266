// The sharded step (train/shards.hpp): the shard boundaries, the "shards" setting (recorded
// only when not 1), and P ranks, here P threads that exchange their slots as the MPI
// allgather does, taking bit for bit the steps of one process computing all P shards.
#include <doctest/doctest.h>

#include <barrier>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/train/config.hpp"
#include "chainrule/train/shards.hpp"

using namespace chainrule;

namespace {

data::ImageSet random_images(int count) {
  data::ImageSet set;
  set.count = count;
  Rng rng(11);
  set.pixels.resize(static_cast<std::size_t>(count) * 784);
  for (auto& p : set.pixels) p = rng.uniform() < 0.8 ? std::uint8_t{0} : static_cast<std::uint8_t>(rng.below(256));
  for (int i = 0; i < count; ++i) set.labels.push_back(static_cast<std::uint8_t>(rng.below(10)));
  return set;
}

// One "process": a model, its optimizer, and the sharded step over it.
struct Process {
  Sequential<float> model = make_mlp<float>(MlpSpec{});
  SoftmaxCrossEntropy<float> loss;
  std::unique_ptr<Optimizer> optimizer = make_optimizer(OptimizerConfig{});
  train::Step step{model, loss, *optimizer, model.params(), true, {}, {}, {}};
  train::ShardedStep sharded{step, 1, -1, {}, {}, {}, {}, {}};

  // `steps` steps over the set in batches of B (the last one partial), all on the same batches.
  std::vector<double> train(const data::ImageSet& set, std::size_t B, int steps, bool shards) {
    std::vector<int> order = data::all_indices(set.count), labels;
    Tensor<float> X;
    std::vector<double> losses;
    const std::size_t n = order.size(), batches = data::num_batches(n, B);
    for (int k = 0; k < steps; ++k) {
      const std::size_t b = static_cast<std::size_t>(k) % batches;
      data::make_batch(set, order, b * B, std::min(n, (b + 1) * B), X, labels);
      losses.push_back((shards ? train::sharded_step(sharded, X, labels) : train::train_step(step, X, labels)).loss);
    }
    return losses;
  }
  std::vector<float> weights() {
    std::vector<float> w;
    for (const auto& p : model.params()) w.insert(w.end(), p.value->data.begin(), p.value->data.end());
    return w;
  }
};

}  // namespace

TEST_CASE("shards: contiguous shards, the first N % P one row longer, empty ones when N < P") {
  std::vector<std::size_t> b;
  for (int s = 0; s <= 4; ++s) b.push_back(train::shard_begin(10, 4, s));
  CHECK(b == std::vector<std::size_t>{0, 3, 6, 8, 10});
  b.clear();
  for (int s = 0; s <= 4; ++s) b.push_back(train::shard_begin(2, 4, s));
  CHECK(b == std::vector<std::size_t>{0, 1, 2, 2, 2});
  CHECK(train::shard_begin(128, 1, 1) == 128);
}

TEST_CASE("shards: the setting is written only when not 1, read back, and bounded") {
  train::TrainConfig c;
  for (const auto& [k, v] : c.settings()) CHECK(k != "shards");
  c.shards = 4;
  bool found = false;
  for (const auto& [k, v] : c.settings())
    if (k == "shards") found = v == "4";
  CHECK(found);
  CHECK(train::TrainConfig::from_settings(c.settings()).shards == 4);
  CHECK(train::TrainConfig::from_settings({{"batch", "128"}}).shards == 1);
  CHECK_THROWS_AS(train::TrainConfig::from_settings({{"shards", "0"}}), std::invalid_argument);
  CHECK_THROWS_AS(train::TrainConfig::from_settings({{"shards", "5000"}}), std::invalid_argument);
  c.spec.dropout = 0.2;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("--dropout"), std::invalid_argument);
}

TEST_CASE("shards: P ranks exchanging their slots take the steps of one process with --shards P, bit for bit") {
  set_num_threads(1);
  const data::ImageSet set = random_images(50);  // batches of 16: 16, 16, 16, 2 (the last: shards 1, 1, 0)
  const int P = 3, steps = 8;
  Process one;
  one.sharded.shards = P;
  const std::vector<double> one_losses = one.train(set, 16, steps, true);

  // Every rank writes its slot into `shared`, waits for all, then reads every slot back: an allgather.
  std::vector<std::unique_ptr<Process>> ranks;
  std::vector<float> shared;
  std::vector<double> shared_stats;
  std::barrier sync(P);
  for (int r = 0; r < P; ++r) {
    ranks.push_back(std::make_unique<Process>());
    train::ShardedStep& s = ranks.back()->sharded;
    s.shards = P;
    s.rank = r;
    s.exchange = [&, r](std::vector<float>& grads, std::vector<double>& stats) {
      const std::size_t G = grads.size() / P;
      if (r == 0) {
        shared.resize(grads.size());
        shared_stats.resize(stats.size());
      }
      sync.arrive_and_wait();
      std::copy(grads.begin() + r * G, grads.begin() + (r + 1) * G, shared.begin() + r * G);
      shared_stats[2 * r] = stats[2 * r];
      shared_stats[2 * r + 1] = stats[2 * r + 1];
      sync.arrive_and_wait();
      grads = shared;
      stats = shared_stats;
      sync.arrive_and_wait();
    };
  }
  std::vector<std::vector<double>> rank_losses(P);
  std::vector<std::thread> threads;
  for (int r = 0; r < P; ++r) threads.emplace_back([&, r] { rank_losses[r] = ranks[r]->train(set, 16, steps, true); });
  for (auto& t : threads) t.join();

  const std::vector<float> w = one.weights();
  for (int r = 0; r < P; ++r) {
    INFO("rank " << r);
    CHECK(rank_losses[r] == one_losses);
    CHECK(ranks[r]->weights() == w);  // every float equal
  }

  // The plain step adds the rows in another order: close, within rounding.
  Process plain;
  plain.train(set, 16, steps, false);
  const std::vector<float> pw = plain.weights();
  double diff = 0;
  for (std::size_t k = 0; k < w.size(); ++k) diff = std::fmax(diff, std::fabs(static_cast<double>(w[k]) - pw[k]));
  CHECK(diff < 1e-5);
  set_num_threads(0);
}
