// Times whole training steps of the reference network 784-128-10 (Adam, softmax
// cross-entropy) on real MNIST, phase by phase, or of LeNet-5 (--model lenet5, the network of
// `chainrule train --model lenet5`, network.hpp). Never part of the test suite.
//
//   build/release/bench_train [--data data/mnist] [--batch 128] [--epochs 4] [--threads 1] [--seed 42]
//                             [--model mlp|lenet5 (mlp)]
//                             [--layer-times 1 (time each layer's forward and backward: layer_us lines)]
//                             [--limit N (first N training images; 0 = all)] [--val 1 (0: skip validation)]
//                             [--prefetch 0 (1: also prefetch the next batch's images after make_batch, as
//                              train::fit did before make_batch prefetched its own batch)]
//                             [--skip-zeros 1 (0: the products visit every k, as before zero skipping)]
//                             [--direct-conv 1 (0: convolutions and max pooling through im2col and the
//                              layers' loops, as before fast/conv.cpp and fast/pool.cpp; same results)]
//                             [--info 1 (print the "kernels" and "threads" lines only, and stop)]
// CHAINRULE_KERNELS=avx512|avx2|portable forces an instruction-set path (kernels.hpp).
//
// --layer-times 1 runs the forward and backward passes layer by layer, as Sequential::forward
// and Sequential::backward do (model.cpp: the same calls on the same shapes, with the bench's
// own activation and gradient tensors), timing each call; after the last epoch it also times
// the parts of each Conv2d's step alone (im2col, the three products, col2im, on that layer's
// last batch; conv_part_us lines). The phases forward and backward then include the laps, and
// the monitor's probe is left out (it reads the model's own activations, which stay unset).
// These two are CPU seconds of the process (all threads), not wall time: on a machine shared
// with other programs they stay close to what a quiet machine's wall clock would show.
//
// The step is the one train::fit runs (src/chainrule/train/trainer.cpp), call for call:
// make_batch (with --prefetch 1 also the prefetch of the next batch's images), zero_grad, forward, loss forward, loss backward, backward, the monitor's
// probe (step 1 and every 50 steps), optimizer step, the batch accuracy. Each phase is
// timed with steady_clock; the validation pass (train::evaluate on the 10000 test
// images) is timed on its own, apart from the training epoch.
//
// Prints "key value" lines (bench.sh reads them):
//   kernels K              the kernel path and instruction set, "fast (avx512)"
//   model M                the network (MlpSpec::architecture: "784-128-10", or the layer list)
//   epoch_s E S            training seconds of epoch E (wall clock, no validation)
//   epoch_cpu_s E S        the CPU seconds of all threads during that epoch
//   val_s E S              validation seconds after epoch E
//   phase_us NAME US       mean microseconds per step over epochs 2..N
//   step_us US             median epoch (2..N) / steps
//   epoch_s_median S       median over epochs 2..N (epoch 1 also pays the first-touch allocations)
//   epoch_cpu_s_median S   the same for the CPU seconds
//   gflop_per_epoch G      the matrix products' floating-point operations (from the shapes)
//   gflop_done_per_epoch G the operations the fast products actually do after zero skipping
//                          (X W1 and X^T dZ1 visit only the k where a tile of rows of A
//                          holds a nonzero; counted on the last epoch's batches)
//   gflop_val G, gflop_val_done G   the same for one validation pass (10000 test images)
//   gflops G               gflop_per_epoch / epoch_s_median
//   peak_rss_mib M         getrusage's ru_maxrss
//   final_loss L, final_accuracy A   the last epoch's mean training loss and accuracy (to compare runs)
//   layer_us NAME forward|backward US    (--layer-times 1) mean CPU microseconds per step over epochs 2..N
//   conv_part_us NAME PART US            (--layer-times 1) one Conv2d's im2col route, part by part
//                          (what trains with --direct-conv 0), CPU us, median of 50 runs:
//                          im2col, forward_product (cols W), bias_and_layout (Yp + b into Y's rows),
//                          dy_layout (dY into dYp), dw_product (cols^T dYp), db_sum,
//                          dx_product (dYp W^T), col2im
// With --model lenet5 the gflop lines count the nominal products of the convolutions (as
// im2col products) and the dense layers; no zero skipping is counted (gflop_done = nominal).
#include <sys/resource.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/fast/isa.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/model.hpp"
#include "chainrule/network.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/train/monitor.hpp"
#include "chainrule/train/trainer.hpp"

namespace {

using namespace chainrule;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU seconds used by the whole process (all threads). On a machine shared with other
// programs, one thread's CPU time is close to what its wall time would be on a quiet one.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The multiply-adds of X W1 and X^T dZ1 for one batch (rows order[b0..b1) of the pixel
// table) that the fast products do after zero skipping (fast/gemm.cpp): a tile of rows of A
// visits a k when one of its values there is nonzero, and then does (its rows) x H of them.
// The tiles are the path's own (IsaKernels::skip_tile: 4 rows on the AVX-512 and AVX2 paths,
// 8 on the portable one). X W1: tiles of images, k = pixels. X^T dZ1: A = X^T, tiles of
// pixels, k = images of the batch. Returns {X W1, X^T dZ1}.
std::pair<double, double> skipped_fma(const data::ImageSet& set, const std::vector<int>& order, std::size_t b0,
                                      std::size_t b1, int H, bool backward) {
  constexpr int D = 784;
  const fast::IsaKernels& isa = fast::isa_kernels();
  const std::size_t rows_nn = static_cast<std::size_t>(isa.skip_tile(false, H).rows);
  const int rows_tn = isa.skip_tile(true, H).rows;
  const auto pixel = [&](std::size_t i, int k) {
    return set.pixels[static_cast<std::size_t>(order[i]) * D + static_cast<std::size_t>(k)] != 0;
  };
  double forward = 0, back = 0;
  for (std::size_t i0 = b0; i0 < b1; i0 += rows_nn) {
    const std::size_t i1 = std::min(b1, i0 + rows_nn);
    for (int k = 0; k < D; ++k) {
      bool any = false;
      for (std::size_t i = i0; i < i1 && !any; ++i) any = pixel(i, k);
      if (any) forward += static_cast<double>(i1 - i0) * H;
    }
  }
  if (backward)
    for (int p0 = 0; p0 < D; p0 += rows_tn)
      for (std::size_t i = b0; i < b1; ++i) {
        bool any = false;
        for (int p = p0; p < std::min(D, p0 + rows_tn) && !any; ++p) any = pixel(i, p);
        if (any) back += static_cast<double>(std::min(D, p0 + rows_tn) - p0) * H;
      }
  return {forward, back};
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

enum Phase { kBatch, kZeroGrad, kForward, kLoss, kLossBackward, kBackward, kProbe, kOptimizer, kAccuracy, kPhases };
const char* kPhaseNames[kPhases] = {"make_batch", "zero_grad", "forward", "loss_forward", "loss_backward",
                                    "backward",   "probe",     "optimizer", "accuracy"};

// The nominal multiply-adds of one image: forward (every product of the shapes: a Conv2d's
// im2col product, a Dense's X W) and a training step (forward, dW, and dX of every layer but
// the first, which backward skips).
struct Macs {
  double forward = 0, step = 0;
};
Macs count_macs(Sequential<float>& model) {
  Macs m;
  double first = -1;
  for (std::size_t i = 0; i < model.size(); ++i) {
    double macs = 0;
    if (auto* c = dynamic_cast<Conv2d<float>*>(&model.layer(i)))
      macs = static_cast<double>(c->out_shape().size()) * c->fan_in();
    else if (auto* d = dynamic_cast<Dense<float>*>(&model.layer(i)))
      macs = static_cast<double>(d->W.rows) * d->W.cols;
    if (macs > 0 && first < 0) first = macs;
    m.forward += macs;
  }
  m.step = 3 * m.forward - std::max(first, 0.0);
  return m;
}

// Times each part of a Conv2d's step alone, on the layer's last input X and upstream
// gradient dY, with scratch tensors of the shapes the layer uses (conv2d.cpp, forward and
// backward, line for line). Prints conv_part_us lines: the median of `reps` runs of each part
// (dx_product and col2im only with need_dx: the first layer's backward skips them).
void time_conv_parts(const Conv2d<float>& conv, const Tensor<float>& X, const Tensor<float>& dY, int reps, bool need_dx) {
  const ImageShape& in = conv.in_shape();
  const ImageShape& out = conv.out_shape();
  const int N = X.rows, P = out.pixels(), Cout = out.channels;
  Tensor<float> cols, Yp, Y(N, out.size()), dYp(N * P, Cout), dW(conv.W.rows, conv.W.cols), db(1, Cout), dcols, dX;
  std::vector<double> t[8];
  const char* names[8] = {"im2col",   "forward_product", "bias_and_layout", "dy_layout",
                          "dw_product", "db_sum",        "dx_product",      "col2im"};
  for (int r = 0; r < reps; ++r) {
    double t0 = cpu_seconds();
    auto lap = [&](int k) {
      const double now = cpu_seconds();
      t[k].push_back(now - t0);
      t0 = now;
    };
    im2col(X, in, conv.kernel(), conv.stride(), conv.padding(), cols);
    lap(0);
    matmul(cols, conv.W, Yp);
    lap(1);
    for (int n = 0; n < N; ++n)
      for (int q = 0; q < P; ++q) {
        const float* yp = Yp.row(n * P + q);
        for (int o = 0; o < Cout; ++o) Y(n, o * P + q) = yp[o] + conv.b.data[o];
      }
    lap(2);
    for (int n = 0; n < N; ++n)
      for (int q = 0; q < P; ++q) {
        float* g = dYp.row(n * P + q);
        for (int o = 0; o < Cout; ++o) g[o] = dY(n, o * P + q);
      }
    lap(3);
    matmul_tn(cols, dYp, dW, /*accumulate=*/true);
    lap(4);
    for (int q = 0; q < dYp.rows; ++q) {
      const float* g = dYp.row(q);
      for (int o = 0; o < Cout; ++o) db.data[o] += g[o];
    }
    lap(5);
    if (!need_dx) continue;
    matmul_nt(dYp, conv.W, dcols);
    lap(6);
    col2im(dcols, in, conv.kernel(), conv.stride(), conv.padding(), dX);
    lap(7);
  }
  for (int k = 0; k < (need_dx ? 8 : 6); ++k) std::printf("conv_part_us %s %s %.2f\n", conv.name().c_str(), names[k], 1e6 * median(t[k]));
}

}  // namespace

int run(int argc, char** argv) {
  std::string data_dir = std::string(CHAINRULE_SOURCE_DIR) + "/data/mnist";
  int batch = 128, epochs = 4, threads = 1, limit = 0, validate = 1, prefetch = 0, skip = 1, direct = 1, info = 0, layer_times = 0;
  std::string model_name = "mlp";
  unsigned long long seed = 42;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--data") data_dir = value;
    else if (key == "--batch") batch = std::atoi(value.c_str());
    else if (key == "--epochs") epochs = std::atoi(value.c_str());
    else if (key == "--threads") threads = std::atoi(value.c_str());
    else if (key == "--limit") limit = std::atoi(value.c_str());
    else if (key == "--prefetch") prefetch = std::atoi(value.c_str());
    else if (key == "--skip-zeros") skip = std::atoi(value.c_str());
    else if (key == "--direct-conv") direct = std::atoi(value.c_str());
    else if (key == "--val") validate = std::atoi(value.c_str());
    else if (key == "--info") info = std::atoi(value.c_str());
    else if (key == "--model") model_name = value;
    else if (key == "--layer-times") layer_times = std::atoi(value.c_str());
    else if (key == "--seed") seed = std::strtoull(value.c_str(), nullptr, 10);
    else {
      std::fprintf(stderr, "bench_train: unknown option %s\n", key.c_str());
      return 2;
    }
  }
  if (batch <= 0 || epochs < 2) {
    std::fprintf(stderr, "bench_train: --batch must be > 0 and --epochs >= 2\n");
    return 2;
  }
  if (model_name != "mlp" && model_name != "lenet5") {
    std::fprintf(stderr, "bench_train: --model must be mlp or lenet5, not %s\n", model_name.c_str());
    return 2;
  }
  const bool lenet = model_name == "lenet5";

  set_num_threads(threads);
  try {
    std::printf("kernels %s\n", kernel_description().c_str());
  } catch (const std::exception& e) {  // a bad CHAINRULE_KERNELS
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 2;
  }
  if (info) {
    std::printf("threads %d\n", num_threads());
    return 0;
  }
  const data::Mnist mnist = data::load_mnist(data_dir);
  set_skip_zeros(skip != 0);
  set_direct_conv(direct != 0);
  MlpSpec spec;
  spec.seed = seed;
  if (lenet) spec.layers = kLeNet5Layers;
  Sequential<float> model = make_model<float>(spec);  // make_mlp, or make_network for the list
  std::printf("model %s\n", spec.architecture().c_str());
  // --layer-times: the activations and gradients of the layer-by-layer passes (as Sequential's).
  const std::size_t L = model.size();
  std::vector<Tensor<float>> outs(L), grads(L);
  Tensor<float> dout;
  std::vector<double> layer_fw(L, 0.0), layer_bw(L, 0.0), epoch_fw(L), epoch_bw(L);
  const std::vector<Param<float>> params = model.params();
  std::unique_ptr<Optimizer> optimizer = make_optimizer(OptimizerConfig{});
  Rng shuffle_rng(seed ^ 0x5EEDF00DULL);
  train::MonitorSettings settings;
  train::Monitor monitor(settings);
  train::ProbeRecorder probe;

  const std::vector<int> val_indices = data::all_indices(mnist.test.count);
  std::vector<int> order;
  Tensor<float> X, dZ;
  std::vector<int> labels;
  SoftmaxCrossEntropy<float> loss_fn;
  const int count = limit > 0 ? std::min(limit, mnist.train.count) : mnist.train.count;
  const std::size_t n = static_cast<std::size_t>(count), B = static_cast<std::size_t>(batch);
  const std::size_t batches = data::num_batches(n, B);

  std::vector<double> epoch_s, epoch_cpu_s, phase_total(kPhases, 0.0);
  double last_loss = 0, last_acc = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    order = data::all_indices(count);
    data::shuffle(order, shuffle_rng);
    double loss_sum = 0, acc_sum = 0;
    std::vector<double> phase(kPhases, 0.0);
    std::fill(epoch_fw.begin(), epoch_fw.end(), 0.0);
    std::fill(epoch_bw.begin(), epoch_bw.end(), 0.0);
    const auto e0 = Clock::now();
    const double c0 = cpu_seconds();
    for (std::size_t b = 0; b < batches; ++b) {
      const std::int64_t step = static_cast<std::int64_t>(epoch - 1) * static_cast<std::int64_t>(batches) +
                                static_cast<std::int64_t>(b) + 1;
      auto t = Clock::now();
      auto lap = [&](Phase p) {
        const auto now = Clock::now();
        phase[p] += std::chrono::duration<double>(now - t).count();
        t = now;
      };
      data::make_batch(mnist.train, order, b * B, std::min(n, (b + 1) * B), X, labels);
      if (prefetch && b + 1 < batches) data::prefetch_batch(mnist.train, order, (b + 1) * B, std::min(n, (b + 2) * B));
      lap(kBatch);
      model.zero_grad();
      lap(kZeroGrad);
      const Tensor<float>* in = &X;
      if (layer_times) {  // Sequential::forward, layer by layer
        for (std::size_t i = 0; i < L; ++i) {
          const double l0 = cpu_seconds();
          model.layer(i).forward(*in, outs[i], true);
          epoch_fw[i] += cpu_seconds() - l0;
          in = &outs[i];
        }
      }
      const Tensor<float>& Z = layer_times ? *in : model.forward(X, true);
      lap(kForward);
      const double loss = loss_fn.forward(Z, labels);
      monitor.on_step(step, loss);
      lap(kLoss);
      loss_fn.backward(dZ);
      lap(kLossBackward);
      if (layer_times) {  // Sequential::backward, layer by layer (dOut copied first, as there)
        dout.resize(dZ.rows, dZ.cols);
        dout.data.assign(dZ.data.begin(), dZ.data.end());
        const Tensor<float>* upstream = &dout;
        for (std::size_t i = L; i-- > 0;) {
          Tensor<float>* dX = i > 0 ? &grads[i - 1] : nullptr;
          const double l0 = cpu_seconds();
          model.layer(i).backward(*upstream, dX);
          epoch_bw[i] += cpu_seconds() - l0;
          upstream = dX;
        }
      } else {
        model.backward(dZ);
      }
      lap(kBackward);
      // (the probe reads the model's own activations, which --layer-times leaves unset)
      const bool probed = !layer_times && (step == 1 || step % 50 == 0);
      if (probed) probe.before_update(params);
      lap(kProbe);
      optimizer->step(params);
      lap(kOptimizer);
      if (probed) monitor.on_probe(probe.after_update(step, params, model, loss_fn.probs()));
      lap(kProbe);
      const Tensor<float>& P = loss_fn.probs();
      int correct = 0;
      for (int i = 0; i < P.rows; ++i)
        correct += std::max_element(P.row(i), P.row(i) + P.cols) - P.row(i) == labels[static_cast<std::size_t>(i)];
      loss_sum += loss;
      acc_sum += static_cast<double>(correct) / P.rows;
      lap(kAccuracy);
    }
    const double train_s = seconds_since(e0), train_cpu_s = cpu_seconds() - c0;
    const auto v0 = Clock::now();
    const double val_accuracy = validate ? train::evaluate(model, mnist.test, val_indices).accuracy : 0.0;
    const double val_s = seconds_since(v0);
    std::printf("epoch_s %d %.4f\nepoch_cpu_s %d %.4f\nval_s %d %.4f\nval_accuracy %d %.4f\n", epoch, train_s, epoch, train_cpu_s, epoch, val_s, epoch,
                val_accuracy);
    if (epoch > 1) {
      epoch_s.push_back(train_s);
      epoch_cpu_s.push_back(train_cpu_s);
      for (int p = 0; p < kPhases; ++p) phase_total[p] += phase[p];
      for (std::size_t i = 0; i < L; ++i) layer_fw[i] += epoch_fw[i], layer_bw[i] += epoch_bw[i];
    }
    last_loss = loss_sum / static_cast<double>(batches);
    last_acc = acc_sum / static_cast<double>(batches);
  }

  const double steps = static_cast<double>(batches) * static_cast<double>(epochs - 1);
  for (int p = 0; p < kPhases; ++p) std::printf("phase_us %s %.2f\n", kPhaseNames[p], 1e6 * phase_total[p] / steps);
  const double med = median(epoch_s);
  const double val_n = static_cast<double>(val_indices.size());
  double gflop = 0;
  if (lenet) {  // nominal products only (gflop_done = nominal: no zero skipping counted)
    const Macs m = count_macs(model);
    gflop = static_cast<double>(n) * 2.0 * m.step * 1e-9;
    const double val = val_n * 2.0 * m.forward * 1e-9;
    std::printf("gflop_done_per_epoch %.3f\ngflop_val %.3f\ngflop_val_done %.3f\n", gflop, val, val);
  } else {
    // Per sample: forward 2DH + 2HC, backward dW1 2DH, dW2 2HC, dH 2HC (dX of the first layer is skipped).
    const double D = 784, H = 128, C = 10;
    gflop = static_cast<double>(n) * 2.0 * (2 * D * H + 3 * H * C) * 1e-9;
    // After zero skipping: the last epoch's batches, and the validation pass (batches of 1000).
    double done_fma = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      const std::size_t b0 = b * B, b1 = std::min(n, (b + 1) * B);
      const auto [fw, bw] = skipped_fma(mnist.train, order, b0, b1, static_cast<int>(H), true);
      done_fma += fw + bw + 3 * static_cast<double>(b1 - b0) * H * C;
    }
    double val_done_fma = 0;
    for (std::size_t b0 = 0; b0 < val_indices.size(); b0 += 1000) {
      const std::size_t b1 = std::min(val_indices.size(), b0 + 1000);
      val_done_fma += skipped_fma(mnist.test, val_indices, b0, b1, static_cast<int>(H), false).first +
                      static_cast<double>(b1 - b0) * H * C;
    }
    std::printf("gflop_done_per_epoch %.3f\ngflop_val %.3f\ngflop_val_done %.3f\n", 2e-9 * done_fma,
                val_n * 2.0 * (D * H + H * C) * 1e-9, 2e-9 * val_done_fma);
  }
  if (layer_times) {
    for (std::size_t i = 0; i < L; ++i)
      std::printf("layer_us %s forward %.2f\nlayer_us %s backward %.2f\n", model.layer(i).name().c_str(),
                  1e6 * layer_fw[i] / steps, model.layer(i).name().c_str(), 1e6 * layer_bw[i] / steps);
    for (std::size_t i = 0; i < L; ++i)  // the last batch's input and upstream gradient of each conv
      if (auto* conv = dynamic_cast<Conv2d<float>*>(&model.layer(i)); conv && i + 1 < L)
        time_conv_parts(*conv, i > 0 ? outs[i - 1] : X, grads[i], 50, /*need_dx=*/i > 0);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("batch %d\nthreads %d\nsteps_per_epoch %zu\n", batch, num_threads(), batches);
  std::printf("epoch_cpu_s_median %.4f\n", median(epoch_cpu_s));
  std::printf("epoch_s_median %.4f\nstep_us %.1f\ngflop_per_epoch %.2f\ngflops %.1f\n", med,
              1e6 * med / static_cast<double>(batches), gflop, gflop / med);
  std::printf("peak_rss_mib %.1f\nfinal_loss %.9g\nfinal_accuracy %.9g\n", static_cast<double>(usage.ru_maxrss) / 1024.0,
              last_loss, last_acc);
  return 0;
}

// A missing data folder or a bad option ends with one line naming it and exit code 2, not
// an uncaught exception.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 2;
  }
}
