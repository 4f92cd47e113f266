#include "chainrule/network.hpp"

#include <sstream>
#include <stdexcept>

#include "chainrule/init.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/text.hpp"

namespace chainrule {

namespace {

constexpr int kMaxEntries = 64;
constexpr int kMaxChannels = 1024;
constexpr int kMaxUnits = 1000000;

}  // namespace

std::string LayerEntry::text() const {
  std::ostringstream t;
  t << kind;
  if (kind == "conv") {
    t << ':' << size << ':' << kernel;
    if (stride != 1) t << ":s" << stride;
    if (padding != 0) t << ":pad" << padding;
  } else if (kind == "maxpool" || kind == "avgpool") {
    t << ':' << kernel;
    if (stride != kernel) t << ":s" << stride;
  } else if (kind == "dense") {
    t << ':' << size;
  }
  return t.str();
}

std::vector<LayerEntry> parse_layers(const std::string& text, ImageShape input, int classes) {
  const std::string how =
      "; write e.g. conv:6:5:pad2,relu,maxpool:2,dense:120,relu,dense:10 (docs/cli.md, --layers)";
  if (text.empty()) throw std::invalid_argument("the layer list is empty" + how);
  const auto items = split(text, ',');
  if (static_cast<int>(items.size()) > kMaxEntries)
    throw std::invalid_argument("the layer list has " + std::to_string(items.size()) + " entries; at most " +
                                std::to_string(kMaxEntries));
  std::vector<LayerEntry> entries;
  ImageShape shape = input;
  bool image = true;
  int units = input.size();
  int counts[7] = {};
  const char* kinds[7] = {"conv", "maxpool", "avgpool", "relu", "sigmoid", "tanh", "dense"};
  for (std::size_t k = 0; k < items.size(); ++k) {
    const std::string& item = items[k];
    const std::string where = "layer " + std::to_string(k + 1) + " '" + item + "'";
    const auto f = split(item, ':');
    LayerEntry e;
    e.kind = f.empty() ? "" : f[0];
    int kind = -1;
    for (int i = 0; i < 7; ++i)
      if (e.kind == kinds[i]) kind = i;
    if (kind < 0)
      throw std::invalid_argument(where + ": unknown kind; use conv, maxpool, avgpool, relu, sigmoid, tanh or dense" + how);
    e.in = shape;
    e.image_in = image;
    if (e.kind == "conv" || e.kind == "maxpool" || e.kind == "avgpool") {
      if (!image)
        throw std::invalid_argument(where + ": an image layer cannot follow a dense layer (its output has no image "
                                    "geometry); put the conv and pool layers first");
      const bool conv = e.kind == "conv";
      std::size_t at = 1;
      if (conv) {
        if (f.size() < 3 || !read_int(f[1], 1, kMaxChannels, e.size) || !read_int(f[2], 1, 64, e.kernel))
          throw std::invalid_argument(where + ": write conv:OUT:K[:sS][:padP], OUT filters (1.." +
                                      std::to_string(kMaxChannels) + ") of K x K (1..64), e.g. conv:6:5:pad2");
        at = 3;
        e.stride = 1;
      } else {
        if (f.size() < 2 || !read_int(f[1], 1, 64, e.kernel))
          throw std::invalid_argument(where + ": write " + e.kind + ":K[:sS], windows of K x K (1..64), e.g. " + e.kind + ":2");
        at = 2;
        e.stride = e.kernel;
      }
      for (; at < f.size(); ++at) {
        const std::string& opt = f[at];
        if (opt.size() > 1 && opt[0] == 's' && read_int(opt.substr(1), 1, 64, e.stride)) continue;
        if (conv && opt.size() > 3 && opt.compare(0, 3, "pad") == 0 && read_int(opt.substr(3), 0, 64, e.padding)) continue;
        throw std::invalid_argument(where + ": '" + opt + "' is not " +
                                    (conv ? "a stride sS (1..64) or a padding padP (0..64)" : "a stride sS (1..64)"));
      }
      if (e.kind == "maxpool" && e.kernel > 16)
        throw std::invalid_argument(where + ": max pooling takes windows of at most 16 x 16");
      try {
        const int h = window_positions(where, shape.height, e.kernel, e.stride, e.padding);
        const int w = window_positions(where, shape.width, e.kernel, e.stride, e.padding);
        shape = {conv ? e.size : shape.channels, h, w};
      } catch (const std::invalid_argument& err) {
        throw std::invalid_argument(std::string(err.what()) + " (its input is " + e.in.str() + ")");
      }
      units = shape.size();
    } else if (e.kind == "dense") {
      if (f.size() != 2 || !read_int(f[1], 1, kMaxUnits, e.size))
        throw std::invalid_argument(where + ": write dense:N, N units in 1.." + std::to_string(kMaxUnits) + ", e.g. dense:120");
      image = false;
      units = e.size;
      shape = {e.size, 1, 1};
    } else if (f.size() != 1) {
      throw std::invalid_argument(where + ": " + e.kind + " takes no parameters");
    }
    e.out = shape;
    e.name = e.kind + std::to_string(++counts[kind]);
    entries.push_back(e);
  }
  if (entries.back().kind != "dense" || entries.back().size != classes)
    throw std::invalid_argument("the layer list must end with dense:" + std::to_string(classes) + ", the " +
                                std::to_string(classes) + " classes (it ends with '" + items.back() + "')");
  (void)units;
  return entries;
}

std::string layers_text(const std::vector<LayerEntry>& entries) {
  std::ostringstream t;
  for (std::size_t k = 0; k < entries.size(); ++k) t << (k ? "," : "") << entries[k].text();
  return t.str();
}

NetworkSize network_size(const std::vector<LayerEntry>& entries) {
  NetworkSize s;
  for (const auto& e : entries) {
    const double in = e.in.size(), out = e.out.size();
    if (e.kind == "conv") {
      const double fan_in = static_cast<double>(e.in.channels) * e.kernel * e.kernel;
      s.params += fan_in * e.size + e.size;
      // Y, dY; the patches and their gradient (cols, dcols), and Y and dY one pixel per row
      s.widths += 2 * out + 2 * e.out.pixels() * fan_in + 2 * out;
    } else if (e.kind == "dense") {
      s.params += in * e.size + e.size;
      s.widths += 2 * out;
    } else {
      s.widths += 2 * out + (e.kind == "maxpool" ? out : 0);  // maxpool: the argmax of each window
    }
  }
  s.widths += 10;  // the softmax probabilities
  return s;
}

std::vector<TensorShape> network_tensors(const std::vector<LayerEntry>& entries) {
  std::vector<TensorShape> t;
  for (const auto& e : entries) {
    if (e.kind == "conv") {
      t.push_back({e.name + ".W", e.in.channels * e.kernel * e.kernel, e.size});
      t.push_back({e.name + ".b", 1, e.size});
    } else if (e.kind == "dense") {
      t.push_back({e.name + ".W", e.in.size(), e.size});
      t.push_back({e.name + ".b", 1, e.size});
    }
  }
  return t;
}

template <typename T>
Sequential<T> make_network(const MlpSpec& spec) {
  const auto entries = parse_layers(spec.layers, ImageShape{1, 28, 28}, spec.classes);
  if (spec.inputs != 28 * 28)
    throw std::invalid_argument("a layer list takes 28x28 images (784 inputs), not " + std::to_string(spec.inputs));
  Rng rng(spec.seed);
  Sequential<T> model;
  std::size_t last_dense = 0;
  for (std::size_t k = 0; k < entries.size(); ++k)
    if (entries[k].kind == "dense") last_dense = k;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const LayerEntry& e = entries[k];
    if (e.kind == "conv") {
      auto conv = parts<T>().conv2d(e.name, e.in, e.size, e.kernel, e.stride, e.padding);
      he_normal(conv->W, conv->fan_in(), rng);
      model.add(std::move(conv));
    } else if (e.kind == "maxpool") {
      model.add(parts<T>().maxpool2d(e.name, e.in, e.kernel, e.stride));
    } else if (e.kind == "avgpool") {
      model.add(parts<T>().avgpool2d(e.name, e.in, e.kernel, e.stride));
    } else if (e.kind == "dense") {
      const int in = e.in.size();
      auto dense = parts<T>().dense(e.name, in, e.size);
      if (k == last_dense)
        glorot_uniform(dense->W, in, e.size, rng);
      else
        he_normal(dense->W, in, rng);
      model.add(std::move(dense));
    } else if (e.kind == "relu") {
      model.add(parts<T>().relu(e.name));
    } else if (e.kind == "sigmoid") {
      model.add(parts<T>().sigmoid(e.name));
    } else {
      model.add(parts<T>().tanh(e.name));
    }
  }
  return model;
}

template Sequential<float> make_network<float>(const MlpSpec&);
template Sequential<double> make_network<double>(const MlpSpec&);

}  // namespace chainrule
