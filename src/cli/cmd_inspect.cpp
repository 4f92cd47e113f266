// chainrule inspect: one forward and one backward pass on a batch of MNIST images, with every
// input, activation, loss, gradient and parameter written as a NumPy .npy file and explained in
// manifest.txt, so that each equation of backpropagation can be checked by hand (docs/inspect.md).
//
// File names (the letters of the data flow in model.hpp):
//   X, labels                  the batch: X (N, 784) = pixel / 255, labels (N,) int32
//   Z<k>                       output of dense<k>         (Z1, Z2, ...)
//   H<k>                       output of relu<k>          (H1, H2, ...; just H with one hidden layer)
//   BN<k>, HD<k>               output of batchnorm<k> and of dropout<k> (HD with one hidden layer)
//   P, L                       softmax(last Z) and the mean cross-entropy (a 0-d array)
//   d<name>                    dL/d<name> for each of those, from one backward pass
//   W<k>, b<k>, dW<k>, db<k>   dense<k>'s parameters and their gradients
//   gamma<k>, beta<k>, ...     batchnorm<k>'s parameters, gradients and running statistics
// So 784-128-10 gives X, labels, Z1, H, Z2, P, L, dZ2, dW2, db2, dH, dZ1, dW1, db1, W1, b1, W2, b2.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/io/npy.hpp"
#include "chainrule/io/plotdata.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/io/files.hpp"
#include "commands.hpp"

namespace chainrule::cli {

namespace {

// "dense12" -> "12" (the digits at the end of a layer name).
std::string layer_number(const std::string& layer) {
  std::size_t k = layer.size();
  while (k > 0 && layer[k - 1] >= '0' && layer[k - 1] <= '9') --k;
  return layer.substr(k);
}

// How one layer is named and explained in the manifest.
struct LayerNames {
  std::string out;       // its output, e.g. "Z1"
  std::string forward;   // the formula for its output, from `in`
  std::string backward;  // the formula for dL/d(in), from dL/d(out)
};

LayerNames name_layer(const Layer<float>& layer, const std::string& in, bool one_hidden) {
  const std::string kind = layer.kind();
  const std::string k = layer_number(layer.name());
  const std::string hk = one_hidden ? "" : k;  // H, not H1, in the 784-128-10 network
  LayerNames n;
  if (kind == "dense") {
    n.out = "Z" + k;
    n.forward = layer.name() + " output: " + n.out + " = " + in + " W" + k + " + b" + k;
    n.backward = "dL/d" + in + " = d" + n.out + " W" + k + "^T";
  } else if (kind == "relu") {
    n.out = "H" + hk;
    n.forward = layer.name() + " output: " + n.out + " = max(0, " + in + ")";
    n.backward = "dL/d" + in + " = d" + n.out + " * [" + in + " > 0]  (ReLU'(0) = 0)";
  } else if (kind == "sigmoid") {
    n.out = "H" + hk;
    n.forward = layer.name() + " output: " + n.out + " = 1 / (1 + exp(-" + in + "))";
    n.backward = "dL/d" + in + " = d" + n.out + " * " + n.out + " * (1 - " + n.out + ")  (from the saved output)";
  } else if (kind == "tanh") {
    n.out = "H" + hk;
    n.forward = layer.name() + " output: " + n.out + " = tanh(" + in + ")";
    n.backward = "dL/d" + in + " = d" + n.out + " * (1 - " + n.out + "^2)  (from the saved output)";
  } else if (kind == "leaky_relu") {
    n.out = "H" + hk;
    n.forward = layer.name() + " output: " + n.out + " = " + in + " where " + in + " > 0, alpha * " + in + " elsewhere";
    n.backward = "dL/d" + in + " = d" + n.out + " * (" + in + " > 0 ? 1 : alpha)";
  } else if (kind == "batchnorm") {
    n.out = "BN" + k;
    n.forward = layer.name() + " output: " + n.out + " = gamma" + k + " * (" + in + " - mean) / sqrt(var + eps) + beta" + k;
    n.backward = "dL/d" + in + " = batchnorm backward of d" + n.out + " (tutorials/12-dropout-batchnorm)";
  } else if (kind == "dropout") {
    n.out = "HD" + hk;
    n.forward = layer.name() + " output: " + n.out + " = " + in + " * mask / keep (training), = " + in + " (inference)";
    n.backward = "dL/d" + in + " = d" + n.out + " * mask / keep (training), = d" + n.out + " (inference)";
  } else if (kind == "conv2d") {  // layers/conv2d.hpp, tutorials/22-convolution
    n.out = "C" + k;
    n.forward = layer.name() + " output: " + n.out + " = the " + in + " images correlated with the filters of conv" + k +
                ".W, + conv" + k + ".b (im2col(" + in + ") W + b)";
    n.backward = "dL/d" + in + " = col2im(d" + n.out + " W^T): the full convolution of d" + n.out + " with the flipped filters";
  } else if (kind == "maxpool2d" || kind == "avgpool2d") {  // layers/pool.hpp
    const bool max = kind == "maxpool2d";
    n.out = (max ? "M" : "A") + k;
    n.forward = layer.name() + " output: " + n.out + " = the " + (max ? "max" : "mean") + " of each window of " + in;
    n.backward = max ? "dL/d" + in + " = d" + n.out + " at each window's max, 0 elsewhere"
                     : "dL/d" + in + " = d" + n.out + " / k^2 on every entry of its window";
  } else {
    n.out = layer.name();
    n.forward = layer.name() + " output";
    n.backward = "dL/d" + in;
  }
  return n;
}

// "dense1.W" -> "W1", "batchnorm2.running_mean" -> "running_mean2".
std::string tensor_file_name(const std::string& param) {
  const auto dot = param.find('.');
  if (dot == std::string::npos) return param;
  if (param.compare(0, 4, "conv") == 0) return param;  // "conv1.W": W1 is dense1's
  return param.substr(dot + 1) + layer_number(param.substr(0, dot));
}

std::string param_meaning(const std::string& param, const std::string& in, const std::string& out) {
  const std::string t = param.substr(param.find('.') + 1), n = tensor_file_name(param);
  if (t == "W" && param.compare(0, 4, "conv") == 0)
    return "dL/d" + n + " = im2col(" + in + ")^T d" + out + ": the correlation of " + in + " with d" + out;
  if (t == "b" && param.compare(0, 4, "conv") == 0) return "dL/d" + n + " = the sum of d" + out + " over the batch and the pixels";
  if (t == "W") return "dL/d" + n + " = " + in + "^T d" + out;
  if (t == "b") return "dL/d" + n + " = sum over the batch (rows) of d" + out;
  if (t == "gamma") return "dL/d" + n + " = sum over the batch of d" + out + " * xhat";
  if (t == "beta") return "dL/d" + n + " = sum over the batch of d" + out;
  return "dL/d" + n;
}

struct Row {
  std::string file, dtype, shape, meaning;
};

std::string shape2(const Tensor<float>& t) {
  return io::npy_shape_text({static_cast<std::size_t>(t.rows), static_cast<std::size_t>(t.cols)});
}

}  // namespace

Action add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "inspect",
      "Run one forward and backward pass on K MNIST images and write every input, activation, the loss, "
      "every gradient and parameter as NumPy .npy files with a manifest.txt (docs/inspect.md)");
  cmd->footer(
      "For 784-128-10 the files are X, labels, Z1, H, Z2, P, L, dZ2, dW2, db2, dH, dZ1, dW1, db1, W1, b1, W2, b2\n"
      "(.npy); deeper nets number every layer: Z1, H1, Z2, H2, Z3. Check one in Python:\n"
      "  X, dZ1, dW1 = (np.load(f'OUT/{n}.npy') for n in ('X', 'dZ1', 'dW1')); np.allclose(X.T @ dZ1, dW1, atol=1e-6)");
  struct Options {
    std::string model, data = "data/mnist", out, split = "train", bug;
    int index = 0, count = 8;
    bool train_mode = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Checkpoint to inspect, e.g. runs/NAME/best.ckpt")->required();
  cmd->add_option("--data", o->data, "MNIST folder")->capture_default_str();
  cmd->add_option("--split", o->split, "Take the images from the train or the test split")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  cmd->add_option("--index", o->index, "First image of the batch (0-based)")->capture_default_str();
  cmd->add_option("--count", o->count, "Batch size N: images index .. index + N - 1")->capture_default_str();
  cmd->add_option("--out", o->out, "Folder for the .npy files and manifest.txt (created if needed)")->required();
  cmd->add_flag("--train-mode", o->train_mode,
                "Run the layers as in a training step (dropout masks, BatchNorm batch statistics); "
                "default: inference mode, as predict and evaluate");
  add_bug_option(*cmd, o->bug);

  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->count < 1) throw UsageError("--count " + std::to_string(o->count) + " must be at least 1");
    if (o->index < 0) throw UsageError("--index " + std::to_string(o->index) + " must be 0 or more");
    activate_bug(o->bug);
    io::LoadedModel loaded = load_model_option(o->model, /*need_images=*/true);
    if (loaded.spec.classes < 10)
      throw UsageError("--model: " + o->model + " has " + std::to_string(loaded.spec.classes) +
                       " output classes, fewer than MNIST's 10 (labels 0..9); inspect a model trained on MNIST");
    const data::ImageSet set = load_split_option(o->data, o->split, o->index);
    if (o->count > set.count - o->index)
      throw UsageError("--count " + std::to_string(o->count) + " from --index " + std::to_string(o->index) +
                       " runs past the end of the " + o->split + " split (" + std::to_string(set.count) +
                       " images); use --count " + std::to_string(set.count - o->index) + " or less");
    const std::filesystem::path dir(o->out);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
      throw UsageError("--out: cannot create the folder '" + o->out + "'" + (ec ? ": " + ec.message() : ""));

    // The batch: X (N, 784), labels (N).
    const int N = o->count;
    std::vector<int> indices(static_cast<std::size_t>(N));
    for (int i = 0; i < N; ++i) indices[static_cast<std::size_t>(i)] = o->index + i;
    Tensor<float> X;
    std::vector<int> labels;
    data::make_batch(set, indices, 0, indices.size(), X, labels);

    // One training step without the update: forward, loss, zero_grad, backward.
    Sequential<float>& model = loaded.model;
    const Tensor<float>& Z = model.forward(X, o->train_mode);
    SoftmaxCrossEntropy<float> loss;
    const float L = loss.forward(Z, labels);
    Tensor<float> dZ;  // (N, C) = (P - Y) / N; the model keeps a pointer to it until the files are written
    loss.backward(dZ);
    model.zero_grad();
    model.backward(dZ);

    std::vector<Row> rows;
    auto put = [&](const std::string& name, const Tensor<float>& t, const std::string& meaning) {
      io::write_npy((dir / (name + ".npy")).string(), t);
      rows.push_back({name + ".npy", "float32", shape2(t), meaning});
    };
    io::write_npy((dir / "X.npy").string(), X);
    rows.push_back({"X.npy", "float32", shape2(X),
                    "input: " + o->split + " images " + std::to_string(o->index) + ".." +
                        std::to_string(o->index + N - 1) + ", pixel / 255, one image (28x28 row-major) per row"});
    const std::vector<std::int32_t> labels32(labels.begin(), labels.end());
    io::write_npy((dir / "labels.npy").string(), std::span<const std::int32_t>(labels32));
    rows.push_back({"labels.npy", "int32", io::npy_shape_text({labels32.size()}), "true classes 0..9; Y = np.eye(10)[labels]"});

    // Forward, in layer order.
    std::size_t hidden_relus = 0;
    for (std::size_t i = 0; i < model.size(); ++i) {
      const std::string kind = model.layer(i).kind();  // the hidden activations
      hidden_relus += kind == "relu" || kind == "sigmoid" || kind == "tanh" || kind == "leaky_relu";
    }
    const bool one_hidden = hidden_relus == 1;
    std::vector<LayerNames> names;
    std::vector<std::string> inputs;  // the name of each layer's input
    std::string in = "X";
    for (std::size_t i = 0; i < model.size(); ++i) {
      inputs.push_back(in);
      names.push_back(name_layer(model.layer(i), in, one_hidden));
      in = names.back().out;
    }
    for (std::size_t i = 0; i < model.size(); ++i)
      put(names[i].out, model.output(i),
          names[i].forward + (i + 1 == model.size() ? " (the logits)" : ""));
    put("P", loss.probs(), "softmax(" + names.back().out + "), row by row; each row sums to 1");
    io::write_npy_scalar((dir / "L.npy").string(), L);
    rows.push_back({"L.npy", "float32", "()", "loss: L = -(1/N) sum_i log P[i, labels[i]]  (float(np.load('L.npy')))"});

    // Backward, in the order backpropagation computes it.
    std::vector<Param<float>> params = model.params();
    for (std::size_t i = model.size(); i-- > 0;) {
      const std::string& out = names[i].out;
      const std::string meaning =
          i + 1 == model.size() ? "dL/d" + out + " = (P - Y) / N, Y = one-hot labels" : names[i + 1].backward;
      put("d" + out, model.output_grad(i), meaning);
      for (const auto& p : model.layer(i).params())
        put("d" + tensor_file_name(p.name), *p.grad, param_meaning(p.name, inputs[i], out));
    }
    // The parameters and buffers, so every equation can be recomputed from this folder alone.
    for (const auto& p : params) put(tensor_file_name(p.name), *p.value, p.name);
    for (const auto& b : model.buffers()) put(tensor_file_name(b.name), *b.value, b.name + " (buffer)");

    std::string text = "# chainrule inspect of ";
    text.append(o->model).append(" (").append(loaded.spec.architecture()).append("): N = ").append(std::to_string(N));
    text.append(" ").append(o->split).append(" images from index ").append(std::to_string(o->index));
    text.append(o->train_mode ? ", training mode" : ", inference mode");
    if (active_bug() != Bug::None) text.append(", injected bug ").append(bug_name(active_bug()));
    text.append("\n# one forward pass, the mean softmax cross-entropy, zero_grad and one backward pass; no update\n");
    text.append("# load with numpy: X = np.load('X.npy'); d<name> is dL/d<name>; shapes are (rows, cols), C order\n");
    std::size_t w_file = 6, w_shape = 5;
    for (const auto& r : rows) {
      w_file = std::max(w_file, r.file.size());
      w_shape = std::max(w_shape, r.shape.size());
    }
    auto line = [&](const std::string& f, const std::string& d, const std::string& s, const std::string& m) {
      text.append(f).append(w_file + 2 - f.size(), ' ').append(d).append(9 - std::min<std::size_t>(d.size(), 8), ' ');
      text.append(s).append(w_shape + 2 - s.size(), ' ').append(m).append("\n");
    };
    line("# file", "dtype", "shape", "meaning");
    for (const auto& r : rows) line(r.file, r.dtype, r.shape, r.meaning);
    io::write_file_atomically((dir / "manifest.txt").string(), text);

    std::printf("chainrule inspect: %s (%s), %s images %d..%d, loss %.6f\n", o->model.c_str(),
                loaded.spec.architecture().c_str(), o->split.c_str(), o->index, o->index + N - 1, static_cast<double>(L));
    for (const auto& r : rows) std::printf("  %-*s %-8s %s\n", static_cast<int>(w_file), r.file.c_str(), r.dtype.c_str(), r.shape.c_str());
    std::printf("  wrote %zu files and manifest.txt to %s\n", rows.size(), o->out.c_str());
    return 0;
  };
}

}  // namespace chainrule::cli
