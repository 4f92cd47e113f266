// Checks that the sharded step (--shards P, and --data-parallel's rank side) allocates no
// memory once the first steps have sized every buffer: the shards' rows, their gradient
// slots (P, G), the model's activations for each shard size. Counts every operator new
// (tests/support/counting_new.hpp), so it is a program of its own.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/train/shards.hpp"
#include "../support/counting_new.hpp"
#include "../support/sparse_images.hpp"

using namespace chainrule;
using chainrule::testing::sparse_images;

namespace {


struct Sharded {
  Sharded(const data::ImageSet& images, int shards, int rank) : set(images) {
    s.shards = shards;
    s.rank = rank;
    if (rank >= 0)  // stands in for the allgather: every other slot gets a copy of this rank's
      s.exchange = [this](std::vector<float>& grads, std::vector<double>& stats) {
        const std::size_t G = grads.size() / static_cast<std::size_t>(s.shards);
        for (int r = 0; r < s.shards; ++r)
          if (r != s.rank) {
            std::copy(grads.begin() + s.rank * G, grads.begin() + (s.rank + 1) * G, grads.begin() + r * G);
            stats[2 * r] = stats[2 * s.rank];
            stats[2 * r + 1] = stats[2 * s.rank + 1];
          }
      };
  }
  const data::ImageSet& set;
  std::vector<int> order = data::all_indices(1000);
  Sequential<float> model = make_mlp<float>(MlpSpec{});
  SoftmaxCrossEntropy<float> loss_fn;
  std::unique_ptr<Optimizer> optimizer = make_optimizer(OptimizerConfig{});
  train::Step step{model, loss_fn, *optimizer, model.params(), true, {}, {}, {}};
  train::ShardedStep s{step, 1, -1, {}, {}, {}, {}, {}};
  Tensor<float> X;
  std::vector<int> labels;

  std::size_t run(std::size_t first, std::size_t steps, std::size_t B) {
    const std::size_t n = order.size(), batches = data::num_batches(n, B);
    const std::size_t before = counting_new::allocations;
    for (std::size_t k = 0; k < steps; ++k) {
      const std::size_t b = (first + k) % batches;
      data::make_batch(set, order, b * B, std::min(n, (b + 1) * B), X, labels);
      train::sharded_step(s, X, labels);
    }
    return counting_new::allocations - before;
  }
};

}  // namespace

TEST_CASE("perf: after the first steps, a sharded step allocates nothing (--shards 3, and MPI rank 1 of 3)") {
  const data::ImageSet set = sparse_images();
  set_num_threads(1);
  for (const int rank : {-1, 1}) {
    Sharded t(set, 3, rank);
    const std::size_t first = t.run(0, 1, 32);  // shards of 11, 11, 10 rows
    CHECK(first > 0);                           // guards the counter
    t.run(31, 1, 32);                           // the partial last batch: shards of 3, 3, 2
    INFO("rank = " << rank);
    CHECK(t.run(1, 64, 32) == 0);
  }
  set_num_threads(0);
}
