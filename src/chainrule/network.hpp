// Networks from a layer list: `chainrule train --layers conv:6:5:pad2,relu,maxpool:2,...` and
// `--model lenet5`. The 784-128-10 MLP of make_mlp (model.hpp) stays the default and is built
// exactly as before; a spec whose `layers` is set (MlpSpec::layers) is built here instead
// (make_model below chooses).
//
// The list, comma-separated, on 28x28 one-channel images (MNIST), read left to right:
//   conv:OUT:K[:sS][:padP]   Conv2d: OUT filters of K x K, stride S (1), zero padding P (0)
//   maxpool:K[:sS]           MaxPool2d: K x K windows, stride S (= K)
//   avgpool:K[:sS]           AvgPool2d (LeNet-5's original subsampling)
//   relu | sigmoid | tanh    an activation, after a conv, a pool or a dense layer
//   dense:N                  Dense with N units; the image rows (N, C*H*W) are already flat, so
//                            the first dense after an image layer needs no Flatten
// The last entry must be dense:10 (the classes). No image layer may follow a dense one.
// Layer names count per kind: conv1, relu1, maxpool1, conv2, relu2, ..., dense1, dense2, dense3.
//
// LeNet-5 (--model lenet5), with ReLU and max pooling in place of the original's scaled tanh
// and trainable subsampling:
//   conv:6:5:pad2,relu,maxpool:2,conv:16:5,relu,maxpool:2,dense:120,relu,dense:84,relu,dense:10
//   (1,28,28) -> (6,28,28) -> (6,14,14) -> (16,10,10) -> (16,5,5) = 400 -> 120 -> 84 -> 10
//
// Initialisation: He normal for every conv and for every dense but the last (Glorot uniform),
// biases 0, drawn from one Rng(seed) in layer order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chainrule/layers/image.hpp"
#include "chainrule/model.hpp"

namespace chainrule {

struct LayerEntry {
  std::string kind;     // "conv", "maxpool", "avgpool", "relu", "sigmoid", "tanh", "dense"
  int size = 0;         // conv: output channels; dense: units
  int kernel = 0;       // conv, pools
  int stride = 0;       // conv: 1 by default; pools: 0 = the kernel
  int padding = 0;      // conv
  ImageShape in, out;   // geometry before and after (out.channels = units after a dense)
  bool image_in = true; // false once a dense layer has run
  std::string name;     // "conv1", "relu2", ...
  std::string text() const;  // back to its list form: "conv:6:5:pad2"
};

// The LeNet-5 list above.
inline const char* kLeNet5Layers =
    "conv:6:5:pad2,relu,maxpool:2,conv:16:5,relu,maxpool:2,dense:120,relu,dense:84,relu,dense:10";

// Parses and checks a list for (C, H, W) input images and `classes` outputs. Throws
// std::invalid_argument naming the entry and saying how to fix it. Bounded: at most 64
// entries, 1024 channels or units of 1000000, kernels that fit their image.
std::vector<LayerEntry> parse_layers(const std::string& text, ImageShape input = {1, 28, 28}, int classes = 10);
// The list in its canonical form (each entry's text(), comma-separated).
std::string layers_text(const std::vector<LayerEntry>& entries);

// What the memory estimate needs: the parameter count, and per sample the columns of every
// layer's output plus the im2col patches of every conv (what forward keeps for backward).
struct NetworkSize {
  double params = 0;
  double widths = 0;
};
NetworkSize network_size(const std::vector<LayerEntry>& entries);

// Every parameter (W then b, in layer order) as {name, rows, cols}: what a checkpoint must hold.
struct TensorShape {
  std::string name;
  int rows, cols;
};
std::vector<TensorShape> network_tensors(const std::vector<LayerEntry>& entries);

// Builds the network through parts<T>() (so an injected bug enters here too), initialised
// from Rng(seed). spec.layers must be set; spec.inputs and spec.classes must match it.
template <typename T>
Sequential<T> make_network(const MlpSpec& spec);

// The network a spec declares: make_network with a layer list, else make_mlp (exactly as before).
// Training and every command that rebuilds a checkpoint's network call this.
template <typename T>
Sequential<T> make_model(const MlpSpec& spec) {
  return spec.layers.empty() ? make_mlp<T>(spec) : make_network<T>(spec);
}

}  // namespace chainrule
