// chainrule export: a checkpoint's tensors as NumPy .npy files, plus the plot files weights1.csv
// and digits.csv and a manifest.txt naming every file, its dtype and shape (docs/inspect.md).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/io/npy.hpp"
#include "chainrule/io/plotdata.hpp"
#include "chainrule/layers/dense.hpp"
#include "chainrule/io/files.hpp"
#include "commands.hpp"

namespace chainrule::cli {

namespace {

// What a parameter or buffer is, from its name "<layer>.<tensor>" (e.g. "dense1.W").
std::string tensor_meaning(const std::string& name) {
  const auto dot = name.find('.');
  const std::string layer = name.substr(0, dot), tensor = dot == std::string::npos ? "" : name.substr(dot + 1);
  if (layer.compare(0, 4, "conv") == 0 && tensor == "W")  // layers/conv2d.hpp
    return layer + " filters (Cin*k*k, Cout): column o is filter o, row (c*k + u)*k + v";
  if (layer.compare(0, 4, "conv") == 0 && tensor == "b") return layer + " biases (1, Cout), one per filter";
  if (tensor == "W") return layer + " weights (inputs, units): Z = X W + b";
  if (tensor == "b") return layer + " biases (1, units)";
  if (tensor == "gamma") return layer + " scale gamma";
  if (tensor == "beta") return layer + " shift beta";
  if (tensor == "running_mean") return layer + " running mean (buffer, used at inference)";
  if (tensor == "running_var") return layer + " running variance (buffer, used at inference)";
  return layer + " " + tensor;
}

struct ManifestRow {
  std::string file, dtype, shape, meaning;
};

void write_manifest(const std::string& path, const std::string& title, const std::vector<ManifestRow>& rows) {
  std::size_t w_file = 4, w_dtype = 5, w_shape = 5;
  for (const auto& r : rows) {
    w_file = std::max(w_file, r.file.size());
    w_dtype = std::max(w_dtype, r.dtype.size());
    w_shape = std::max(w_shape, r.shape.size());
  }
  std::string text = title;
  auto row = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d) {
    text.append(a).append(w_file + 2 - a.size(), ' ');
    text.append(b).append(w_dtype + 2 - b.size(), ' ');
    text.append(c).append(w_shape + 2 - c.size(), ' ');
    text.append(d).append("\n");
  };
  row("# file", "dtype", "shape", "meaning");
  for (const auto& r : rows) row(r.file, r.dtype, r.shape, r.meaning);
  io::write_file_atomically(path, text);
}

std::string shape2(const Tensor<float>& t) {
  return io::npy_shape_text({static_cast<std::size_t>(t.rows), static_cast<std::size_t>(t.cols)});
}

}  // namespace

Action add_export_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("export",
                                 "Write a checkpoint's parameters as NumPy .npy files (dense1.W.npy, ...), the plot "
                                 "files weights1.csv and digits.csv, and manifest.txt (docs/inspect.md)");
  struct Options {
    std::string model, out, data;
    int digits = 100;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Checkpoint to export, e.g. runs/NAME/best.ckpt")->required();
  cmd->add_option("--out", o->out, "Folder for the files (created if needed)")->required();
  cmd->add_option("--data", o->data, "MNIST folder for digits.csv (default data/mnist; skipped when absent)");
  cmd->add_option("--digits", o->digits, "How many training images go into digits.csv (0 = no digits.csv)")
      ->capture_default_str();

  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->digits < 0) throw UsageError("--digits " + std::to_string(o->digits) + " must be 0 or more");
    io::LoadedModel loaded = load_model_option(o->model, /*need_images=*/false);
    // The data first: a bad --data or --digits must stop the export before anything is written.
    data::ImageSet train;
    std::string digits_note;
    if (o->digits > 0) {
      const std::string dir = o->data.empty() ? "data/mnist" : o->data;
      try {
        train = data::load_mnist_split(dir, "train");
      } catch (const data::DataError& e) {
        if (!o->data.empty()) throw UsageError(std::string("--data: ") + e.what());
        digits_note = "digits.csv skipped: no MNIST in data/mnist (give --data DIR, or run tools/fetch_mnist.sh)";
      }
      if (digits_note.empty() && o->digits > train.count)
        throw UsageError("--digits " + std::to_string(o->digits) + " is more than the " + std::to_string(train.count) +
                         " training images");
    }

    const std::filesystem::path dir(o->out);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
      throw UsageError("--out: cannot create the folder '" + o->out + "'" + (ec ? ": " + ec.message() : ""));

    std::vector<ManifestRow> rows;
    for (const auto& p : loaded.model.params()) {
      io::write_npy((dir / (p.name + ".npy")).string(), *p.value);
      rows.push_back({p.name + ".npy", "float32", shape2(*p.value), tensor_meaning(p.name)});
    }
    for (const auto& b : loaded.model.buffers()) {
      io::write_npy((dir / (b.name + ".npy")).string(), *b.value);
      rows.push_back({b.name + ".npy", "float32", shape2(*b.value), tensor_meaning(b.name)});
    }
    auto* dense1 = dynamic_cast<Dense<float>*>(loaded.model.find("dense1"));
    std::string weights_note;
    if (dense1 != nullptr && dense1->W.rows == io::kImagePixels) {
      io::write_weights_csv((dir / "weights1.csv").string(), dense1->W);
      rows.push_back({"weights1.csv", "text", shape2(dense1->W),
                      "dense1.W as CSV with a header h0..h" + std::to_string(dense1->W.cols - 1) +
                          " (tools/plots/weights.gp)"});
    } else {
      weights_note = "weights1.csv skipped: the first layer does not read 28x28 images";
    }
    if (o->digits > 0 && digits_note.empty()) {
      io::write_digits_csv((dir / "digits.csv").string(), train, o->digits);
      rows.push_back({"digits.csv", "text",
                      io::npy_shape_text({static_cast<std::size_t>(o->digits), static_cast<std::size_t>(2 + io::kImagePixels)}),
                      "the first " + std::to_string(o->digits) +
                          " training images: index,label,p0..p783 (0..255) (tools/plots/digits.gp)"});
    }
    std::string title = "# chainrule export of ";
    title.append(o->model).append(" (").append(loaded.spec.architecture()).append(")\n");
    title.append("# load a tensor with numpy: W = np.load('dense1.W.npy'); shapes are (rows, cols), C order\n");
    write_manifest((dir / "manifest.txt").string(), title, rows);

    std::printf("chainrule export: %s (%s) -> %s\n", o->model.c_str(), loaded.spec.architecture().c_str(),
                o->out.c_str());
    for (const auto& r : rows) std::printf("  %-28s %-8s %s\n", r.file.c_str(), r.dtype.c_str(), r.shape.c_str());
    std::printf("  %-28s (this list)\n", "manifest.txt");
    if (!weights_note.empty()) std::printf("  %s\n", weights_note.c_str());
    if (!digits_note.empty()) std::printf("  %s\n", digits_note.c_str());
    return 0;
  };
}

}  // namespace chainrule::cli
