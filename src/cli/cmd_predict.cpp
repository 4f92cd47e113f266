// chainrule predict: classify one digit (an MNIST image or a 28x28 PGM) with a trained checkpoint;
// prints the class probabilities as bars, the answer, the true label when known and the digit itself.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/io/json.hpp"
#include "chainrule/io/pgm.hpp"
#include "chainrule/layers/softmax.hpp"
#include "commands.hpp"

namespace chainrule::cli {

namespace {

constexpr int kSide = 28;

// The digit in the terminal: one character pair per pixel, darker to brighter.
void draw_digit(const std::uint8_t* pixels) {
  static constexpr char kRamp[] = " .:-=+*#%@";  // 10 grey levels, 0 = background
  std::printf("  +%s+\n", std::string(2 * kSide, '-').c_str());
  for (int r = 0; r < kSide; ++r) {
    std::string line;
    for (int c = 0; c < kSide; ++c) {
      const char ch = kRamp[pixels[r * kSide + c] * 10 / 256];
      line.append(2, ch);
    }
    std::printf("  |%s|\n", line.c_str());
  }
  std::printf("  +%s+\n", std::string(2 * kSide, '-').c_str());
}

}  // namespace

Action add_predict_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "predict",
      "Classify one digit with a trained checkpoint: an MNIST image (--index) or your own 28x28 PGM "
      "(--pgm); prints the class probabilities, the answer and the digit");
  cmd->footer(
      "PGM images: binary (P5) or ASCII (P2), exactly 28x28, any maxval up to 65535.\n"
      "MNIST digits are WHITE strokes on a BLACK background (0 = background, 255 = ink), centred in the\n"
      "28x28 box. A drawing in dark ink on white paper must be inverted: add --invert.\n"
      "Examples:\n"
      "  chainrule predict --model runs/NAME/best.ckpt --index 0\n"
      "  chainrule predict --model runs/NAME/best.ckpt --pgm my_digit.pgm --invert");
  struct Options {
    std::string model, data = "data/mnist", split = "test", pgm;
    int index = -1;
    bool json = false, invert = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Checkpoint to use, e.g. runs/NAME/best.ckpt")->required();
  auto* index = cmd->add_option("--index", o->index, "Classify image I of the MNIST split (0-based)");
  cmd->add_option("--data", o->data, "MNIST folder for --index")->capture_default_str();
  cmd->add_option("--split", o->split, "Split for --index: test (10000 images) or train (60000)")
      ->check(CLI::IsMember({"test", "train"}))
      ->capture_default_str();
  auto* pgm = cmd->add_option("--pgm", o->pgm, "Classify this 28x28 greyscale PGM image (white digit on black)");
  index->excludes(pgm);
  cmd->add_flag("--invert", o->invert, "With --pgm: use 255 - pixel (for dark ink on a light background)");
  cmd->add_flag("--json", o->json, "Print the result as JSON (probabilities, predicted, label, correct)");

  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    const bool from_pgm = !o->pgm.empty();
    if (!from_pgm && cmd->count("--index") == 0)
      throw UsageError("predict: give --index I (an MNIST image) or --pgm FILE (your own 28x28 image)");
    if (!from_pgm && o->index < 0) throw UsageError("--index " + std::to_string(o->index) + " must be 0 or more");
    if (o->invert && !from_pgm) throw UsageError("--invert applies to --pgm images only");

    // A --pgm first (it needs nothing else), then the model, then MNIST for --index, so
    // that a bad --model is reported whether or not data/mnist exists.
    constexpr int D = kSide * kSide;
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(D));
    int label = -1;
    std::string source;
    if (from_pgm) {
      io::PgmImage img;
      try {
        img = io::read_pgm(o->pgm);
      } catch (const data::DataError& e) {
        throw UsageError(std::string("--pgm: ") + e.what());
      }
      pixels = img.pixels;
      if (o->invert)
        for (auto& p : pixels) p = static_cast<std::uint8_t>(255 - p);
      source = o->pgm;
    }

    io::LoadedModel loaded = load_model_option(o->model, /*need_images=*/true);

    if (!from_pgm) {
      const data::ImageSet set = load_split_option(o->data, o->split, o->index);
      const auto first = set.pixels.begin() + static_cast<std::ptrdiff_t>(o->index) * D;
      std::copy(first, first + D, pixels.begin());
      label = set.labels[static_cast<std::size_t>(o->index)];
      source = o->split + " image " + std::to_string(o->index);
    }

    // X (1, 784) = pixel / 255, as in training; P (1, C) = softmax of the logits.
    Tensor<float> X(1, D);
    for (int k = 0; k < D; ++k) X.data[static_cast<std::size_t>(k)] = static_cast<float>(pixels[static_cast<std::size_t>(k)]) / 255.0f;
    Tensor<float> P;
    softmax_rows(loaded.model.forward(X, /*training=*/false), P);
    const int C = P.cols;
    for (const float p : P.data)
      if (!std::isfinite(p))
        throw UsageError("--model: " + o->model + ": the network's output for this image is not finite (NaN or Inf): "
                         "its weights are too large to use; take an earlier checkpoint (best.ckpt) or train again");
    const int predicted = static_cast<int>(std::max_element(P.data.begin(), P.data.end()) - P.data.begin());

    double mean = 0;
    for (const auto p : pixels) mean += p;
    mean /= static_cast<double>(pixels.size());
    const bool looks_inverted = from_pgm && mean > 127.5;
    const char* inverted_note =
        "note: this image is mostly bright; MNIST digits are white on black, so a dark digit on a light "
        "background should be given with --invert";

    if (o->json) {
      if (looks_inverted) std::fprintf(stderr, "%s\n", inverted_note);
      std::printf("{\n  \"model\": %s,\n  \"architecture\": %s,\n", io::json_string(o->model).c_str(),
                  io::json_string(loaded.spec.architecture()).c_str());
      if (from_pgm)
        std::printf("  \"pgm\": %s,\n  \"inverted\": %s,\n", io::json_string(o->pgm).c_str(), o->invert ? "true" : "false");
      else
        std::printf("  \"split\": %s,\n  \"index\": %d,\n", io::json_string(o->split).c_str(), o->index);
      std::printf("  \"probabilities\": [");
      for (int c = 0; c < C; ++c)
        std::printf("%s%s", c ? ", " : "", io::json_number(static_cast<double>(P.data[static_cast<std::size_t>(c)])).c_str());
      std::printf("],\n  \"predicted\": %d,\n  \"probability\": %s,\n", predicted,
                  io::json_number(static_cast<double>(P.data[static_cast<std::size_t>(predicted)])).c_str());
      if (label >= 0)
        std::printf("  \"label\": %d,\n  \"correct\": %s\n}\n", label, label == predicted ? "true" : "false");
      else
        std::printf("  \"label\": null,\n  \"correct\": null\n}\n");
      return 0;
    }

    std::printf("chainrule predict: %s (%s) on %s\n\n", o->model.c_str(), loaded.spec.architecture().c_str(),
                source.c_str());
    draw_digit(pixels.data());
    std::printf("\n  class  probability\n");
    constexpr int kBar = 40;
    for (int c = 0; c < C; ++c) {
      const float p = P.data[static_cast<std::size_t>(c)];
      const int len = static_cast<int>(p * kBar + 0.5f);
      std::string bar(static_cast<std::size_t>(len), '#');
      if (c == predicted) bar.append(static_cast<std::size_t>(kBar - len), ' ').append(" <- answer");
      std::printf("  %5d  %11.4f  %s\n", c, static_cast<double>(p), bar.c_str());
    }
    std::printf("\n  answer: %d (probability %.4f)", predicted, static_cast<double>(P.data[static_cast<std::size_t>(predicted)]));
    if (label >= 0) std::printf("   true label: %d (%s)", label, label == predicted ? "correct" : "wrong");
    std::printf("\n");
    if (looks_inverted) std::printf("\n%s\n", inverted_note);
    return 0;
  };
}

}  // namespace chainrule::cli
