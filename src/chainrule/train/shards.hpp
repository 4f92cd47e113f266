// Data-parallel training's step: one global batch of N samples cut into P shards, each
// shard's gradient computed from zero, and the P gradients added in shard order.
// tutorials/24-many-machines derives it; docs/cli.md (--shards, --data-parallel) uses it.
//
//   L = (1/N) sum_i l_i = sum_s (n_s/N) L_s,   L_s = (1/n_s) sum_{i in shard s} l_i
//   dL/dP = sum_s dL_s'/dP,                    L_s' = (1/N) sum_{i in shard s} l_i
//
// so each shard starts its backward pass from dZ_s = (P_s - Y_s) / N, the GLOBAL 1/N, and
// the sum of the shards' gradients is the gradient of the whole batch's mean.
//
// Shard s of a batch of N rows is the contiguous rows [begin(s), begin(s+1)) with
//   begin(s) = s * (N / P) + min(s, N % P)
// so the first N % P shards hold one row more than the others (N = 10, P = 4: 3, 3, 2, 2).
// A shard may be empty (N < P, e.g. a short last batch): its gradient is zero.
//
// The order of the sum is fixed: g = ((g_0 + g_1) + g_2) + ... + g_{P-1}, element by
// element, in float. One process computing all P shards (`chainrule train --shards P`) and
// P MPI ranks computing one shard each (`mpirun -np P chainrule train --data-parallel`)
// therefore add the very same floats in the very same order, and take bit-identical steps.
// MPI only moves the shards' gradients between the ranks (an allgather); it adds nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "chainrule/train/config.hpp"
#include "chainrule/train/step.hpp"

namespace chainrule::train {

// The first row of shard s (0 <= s <= P; begin(P) = N).
std::size_t shard_begin(std::size_t N, int P, int s);

struct ShardedStep {
  Step& step;     // the model, loss, optimizer, params and diagnostics hooks of train_step
  int shards = 1; // P
  int rank = -1;  // -1: this process computes every shard; r >= 0: only shard r (MPI rank r)
  // With rank >= 0: fills every other rank's slots of grads (P, G) and stats (P, 2) from
  // that rank (src/cli/mpi.cpp, an allgather). Slot s holds shard s's numbers.
  std::function<void(std::vector<float>& grads, std::vector<double>& stats)> exchange;

  // Reused by every step (sized at the first one).
  Tensor<float> X;            // (n_s, D) one shard's rows
  std::vector<int> labels;    // (n_s)
  std::vector<float> grads;   // (P, G): shard s's dL/dP for every parameter, one after another
  std::vector<double> stats;  // (P, 2): shard s's summed loss n_s L_s, and its correct count
};

// One step on the global batch X (N, D), labels (N). Every rank calls it with the same
// batch; each takes its own rows. The diagnostics hooks see the summed gradient, and
// step.loss.probs() holds shard 0's probabilities afterwards.
StepResult sharded_step(ShardedStep& s, const Tensor<float>& X, const std::vector<int>& labels);

// TrainConfig::validate calls it for --shards P > 1 and --data-parallel.
// Throws std::invalid_argument when the run cannot be sharded: dropout (its masks are drawn
// from one stream in batch order) and batchnorm (per-shard statistics would give other
// numbers than one batch) are refused, and so is an injected bug.
void check_shardable(const TrainConfig& config);

}  // namespace chainrule::train
