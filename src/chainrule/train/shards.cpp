#include "chainrule/train/shards.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "chainrule/bugs/bugs.hpp"

namespace chainrule::train {

std::size_t shard_begin(std::size_t N, int P, int s) {
  const auto p = static_cast<std::size_t>(P), k = static_cast<std::size_t>(s);
  return k * (N / p) + std::min(k, N % p);
}

namespace {

// dZ = (P - Y) / N for one shard's rows, with the whole batch's N (not the shard's n_s):
// the same floats the unsharded step's loss.backward makes for these rows.
void shard_dZ(const Tensor<float>& P, const std::vector<int>& labels, std::size_t N, Tensor<float>& dZ) {
  const float factor = 1.0f / static_cast<float>(N);  // the global mean's 1/N
  dZ.resize(P.rows, P.cols);
  for (int i = 0; i < P.rows; ++i) {
    const float* p = P.row(i);
    float* g = dZ.row(i);
    for (int k = 0; k < P.cols; ++k) g[k] = p[k];
    g[labels[static_cast<std::size_t>(i)]] -= 1.0f;
    for (int k = 0; k < P.cols; ++k) g[k] *= factor;
  }
}

// Shard `shard`'s rows of the batch through forward and backward, from zeroed gradients;
// its gradient goes into slot `shard` of s.grads, its summed loss and correct count into
// slot `shard` of s.stats. An empty shard, or one whose loss is not finite, leaves zeros
// in its gradient slot (the step will stop on the loss anyway).
void run_shard(ShardedStep& s, int shard, const Tensor<float>& X, const std::vector<int>& labels, std::size_t G) {
  const std::size_t N = labels.size();
  const std::size_t begin = shard_begin(N, s.shards, shard), end = shard_begin(N, s.shards, shard + 1);
  float* g = s.grads.data() + static_cast<std::size_t>(shard) * G;
  double* st = s.stats.data() + static_cast<std::size_t>(shard) * 2;
  std::fill(g, g + G, 0.0f);
  st[0] = st[1] = 0;
  if (begin == end) return;

  const int n = static_cast<int>(end - begin);
  s.X.resize(n, X.cols);  // X_s (n_s, D): rows begin..end-1 of the batch
  std::copy(X.row(static_cast<int>(begin)), X.row(static_cast<int>(begin)) + static_cast<std::size_t>(n) * X.cols,
            s.X.data.begin());
  s.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(begin), labels.begin() + static_cast<std::ptrdiff_t>(end));

  Step& t = s.step;
  t.model.zero_grad();                                  // this shard's gradient starts from zero
  const Tensor<float>& Z = t.model.forward(s.X, true);  // Z_s (n_s, C)
  const float L = t.loss.forward(Z, s.labels);          // L_s = mean over the shard's rows
  st[0] = static_cast<double>(L) * n;                   // n_s L_s: the shard's summed loss
  st[1] = count_correct(t.loss.probs(), s.labels);
  if (!std::isfinite(L)) return;
  shard_dZ(t.loss.probs(), s.labels, N, t.dZ);          // dZ_s = (P_s - Y_s) / N
  t.model.backward(t.dZ);                               // dL_s'/dP, into the params' grads
  for (const auto& p : t.params) g = std::copy(p.grad->data.begin(), p.grad->data.end(), g);
}

}  // namespace

StepResult sharded_step(ShardedStep& s, const Tensor<float>& X, const std::vector<int>& labels) {
  Step& t = s.step;
  const auto P = static_cast<std::size_t>(s.shards);
  std::size_t G = 0;  // floats in every parameter's gradient
  for (const auto& p : t.params) G += p.grad->data.size();
  s.grads.resize(P * G);
  s.stats.resize(P * 2);

  if (s.rank < 0) {  // one process, every shard (shard 0 last: probs() then holds its rows, as on rank 0)
    for (int shard = s.shards - 1; shard >= 0; --shard) run_shard(s, shard, X, labels, G);
  } else {           // MPI rank r: shard r here, the others' slots from their ranks
    run_shard(s, s.rank, X, labels, G);
    s.exchange(s.grads, s.stats);
  }

  // The fixed order: g = g_0 + g_1 + ... + g_{P-1}, the same on every rank and in one process.
  StepResult r;
  double loss_sum = 0, correct = 0;
  for (std::size_t shard = 0; shard < P; ++shard) {
    loss_sum += s.stats[shard * 2];
    correct += s.stats[shard * 2 + 1];
  }
  r.loss = loss_sum / static_cast<double>(labels.size());  // L = sum_s n_s L_s / N
  r.correct = static_cast<int>(correct);
  if (!std::isfinite(r.loss)) {  // every rank sees the same sum, and every rank stops here
    r.finite = false;
    return r;
  }
  std::size_t offset = 0;
  for (const auto& p : t.params) {
    float* out = p.grad->data.data();
    const std::size_t size = p.grad->data.size();
    std::copy(s.grads.begin() + static_cast<std::ptrdiff_t>(offset),
              s.grads.begin() + static_cast<std::ptrdiff_t>(offset + size), out);  // g = g_0
    for (std::size_t shard = 1; shard < P; ++shard) {
      const float* g = s.grads.data() + shard * G + offset;
      for (std::size_t k = 0; k < size; ++k) out[k] += g[k];  // g += g_s, shard by shard
    }
    offset += size;
  }
  if (t.penalty) {  // --weight-decay as L2: added once, to the summed gradient, as train_step does
    r.penalty = t.penalty->forward(t.params);  // R = lambda/2 ||W||^2
    t.penalty->backward(t.params);              // dL/dW += lambda W
  }
  if (t.before_update) t.before_update(r.loss);
  t.optimizer.step(t.params);  // the same update from the same gradient: identical weights everywhere
  if (t.after_update) t.after_update(r.loss);
  return r;
}

void check_shardable(const TrainConfig& config) {
  if (config.spec.dropout > 0)
    throw std::invalid_argument("--shards / --data-parallel cannot be combined with --dropout: the masks are drawn "
                                "from one random stream in batch order, which the shards cannot share; drop --dropout");
  if (config.spec.batchnorm)
    throw std::invalid_argument("--shards / --data-parallel cannot be combined with --batchnorm: each shard would "
                                "normalise with its own statistics and update its own running averages; drop --batchnorm");
  if (active_bug() != Bug::None)
    throw std::invalid_argument(std::string("--shards / --data-parallel cannot be combined with --inject-bug ") +
                                bug_name(active_bug()) + ": the injected bugs are shown on the one-process step");
}

}  // namespace chainrule::train
