// Tutorial 23: pooling's forward and backward by hand on a 4x4 image (max: the gradient goes to
// each window's max, ties to the first; average: dY / k^2 to every entry), checked numerically;
// then the whole LeNet-5: where its parameters are, each layer's receptive field and its cost in
// multiply-adds per image, all computed from the layer list that `--model lenet5` trains.
#include <cstdio>
#include <string>

#include "chainrule/gradcheck.hpp"
#include "chainrule/layers/pool.hpp"
#include "chainrule/network.hpp"

using chainrule::ImageShape;
using chainrule::Tensor;

namespace {
void grid(const char* name, const Tensor<double>& t, int h, int w) {
  for (int y = 0; y < h; ++y) {
    std::printf("  %-12s", y == 0 ? name : "");
    for (int x = 0; x < w; ++x) std::printf(" %5g", t.data[y * w + x] + 0.0);
    std::printf("\n");
  }
}
}  // namespace

int main() {
  std::printf("== 1. Max pooling, 2x2 windows, stride 2: the max of each window; dX routes dY to it\n");
  Tensor<double> X(1, 16), dY(1, 4), Y, dX;
  X.data = {1, 3, 2, 0,  //
            4, 2, 1, 5,  //
            0, 1, 7, 7,  //
            2, 6, 3, 1};
  dY.data = {10, 20,  //
             30, 40};
  chainrule::MaxPool2d<double> maxpool("maxpool", ImageShape{1, 4, 4}, 2);
  maxpool.forward(X, Y, true);
  maxpool.backward(dY, &dX);
  grid("X (4x4)", X, 4, 4);
  grid("Y (2x2)", Y, 2, 2);
  grid("dY", dY, 2, 2);
  grid("dX", dX, 4, 4);
  std::printf("  the window (1, 1) holds a tie, 7 and 7: the first in scan order takes all of dY = 40\n");

  std::printf("== 2. Average pooling (LeNet-5's subsampling): dX = dY / 4 on every entry of its window\n");
  chainrule::AvgPool2d<double> avgpool("avgpool", ImageShape{1, 4, 4}, 2);
  avgpool.forward(X, Y, true);
  avgpool.backward(dY, &dX);
  grid("Y (2x2)", Y, 2, 2);
  grid("dX", dX, 4, 4);

  std::printf("== 3. Checked numerically: the probes that move a tie's argmax are skipped\n");
  chainrule::GradCheckOptions options;
  for (auto* layer : {static_cast<chainrule::Layer<double>*>(&maxpool), static_cast<chainrule::Layer<double>*>(&avgpool)}) {
    const auto report = chainrule::check_layer(*layer, X, options);
    const auto& row = report.rows[0];
    std::printf("  %-9s X %s: %zu of %zu entries checked, %zu probes skipped: %s\n", layer->kind(), row.shape.c_str(),
                row.checked, row.total, row.skipped, report.passed() ? "PASS" : "FAIL");
  }

  std::printf("== 4. LeNet-5 (--model lenet5), layer by layer, for one 28x28 image\n");
  const auto entries = chainrule::parse_layers(chainrule::kLeNet5Layers);
  std::printf("  %-9s %-14s %-12s %10s %10s %16s\n", "layer", "entry", "output", "params", "receptive", "multiply-adds");
  int field = 1, jump = 1;  // the input pixels one output sees, and the distance between neighbours' windows
  long long params = 0, macs = 0;
  for (const auto& e : entries) {
    long long p = 0, m = 0;
    std::string seen;
    if (e.kind == "conv" || e.kind == "maxpool" || e.kind == "avgpool") {
      field += (e.kernel - 1) * jump;
      jump *= e.stride;
      seen = std::to_string(field) + "x" + std::to_string(field);
    } else {
      seen = e.kind == "dense" ? "all" : "=";
    }
    if (e.kind == "conv") {
      const long long fan_in = static_cast<long long>(e.in.channels) * e.kernel * e.kernel;
      p = fan_in * e.size + e.size;
      m = static_cast<long long>(e.out.size()) * fan_in;  // every output pixel of every filter
    } else if (e.kind == "dense") {
      p = static_cast<long long>(e.in.size()) * e.size + e.size;
      m = static_cast<long long>(e.in.size()) * e.size;
    }
    params += p;
    macs += m;
    std::printf("  %-9s %-14s %-12s %10lld %10s %16lld\n", e.name.c_str(), e.text().c_str(), e.out.str().c_str(), p,
                seen.c_str(), m);
  }
  std::printf("  %-9s %-14s %-12s %10lld %10s %16lld\n", "total", "", "", params, "", macs);
  chainrule::MlpSpec spec;
  spec.layers = chainrule::kLeNet5Layers;
  auto model = chainrule::make_model<float>(spec);
  std::printf("  the built network holds %zu parameters\n", model.parameter_count());
  std::printf("  one training step costs about 3x the forward's multiply-adds (forward, dX, dW): %lld per image\n", 3 * macs);
  return 0;
}
