// chainrule evaluate: test loss, accuracy, per-class precision and recall, confusion matrix.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/io/json.hpp"
#include "chainrule/io/plotdata.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/train/trainer.hpp"
#include "commands.hpp"

namespace chainrule::cli {

namespace {
}  // namespace

Action add_evaluate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "Evaluate a checkpoint on the MNIST test set: loss, accuracy, per-class "
                                             "precision and recall; writes confusion.csv and misclassified.csv");
  struct Options {
    std::string model, data, out;
    bool json = false;
    int threads = 0;
    int max_misclassified = 100;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "Checkpoint to evaluate, e.g. runs/NAME/best.ckpt")->required();
  cmd->add_option("--data", o->data, "MNIST folder (default: the one the model was trained on, else data/mnist)");
  cmd->add_option("--out", o->out, "Folder for confusion.csv and misclassified.csv (default: the checkpoint's folder)");
  cmd->add_flag("--json", o->json, "Print the results as JSON (keys loss, accuracy, per_class, confusion, ...)");
  cmd->add_option("--threads", o->threads, "Threads for the matrix kernels (0 = automatic: the idle physical cores, or OMP_NUM_THREADS; docs/performance.md)")->capture_default_str();
  cmd->add_option("--max-misclassified", o->max_misclassified, "At most this many rows in misclassified.csv")->capture_default_str();

  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->threads < 0 || o->threads > kMaxThreads)  // kernels.hpp: the same bound as train's
      throw UsageError("--threads must be in 0.." + std::to_string(kMaxThreads) + " (0 = automatic), got " +
                       std::to_string(o->threads));
    set_num_threads(o->threads);
    io::Checkpoint ckpt;
    io::LoadedModel loaded;
    try {
      ckpt = io::read_checkpoint(o->model);
      loaded = io::build_model(ckpt, o->model);
    } catch (const io::CheckpointError& e) {
      throw UsageError(std::string("--model: ") + e.what());
    }
    const int D = loaded.spec.inputs, C = loaded.spec.classes;
    if (D != 28 * 28)
      throw UsageError("--model: " + o->model + " expects " + std::to_string(D) + " inputs, not 28x28 MNIST images");
    if (C != 10)
      throw UsageError("--model: " + o->model + " has " + std::to_string(C) +
                       " output classes, MNIST has 10 (labels 0..9); evaluate a model trained on MNIST");
    std::string data_dir = o->data;
    if (data_dir.empty()) data_dir = ckpt.setting("data_dir") ? *ckpt.setting("data_dir") : "data/mnist";
    const data::ImageSet test = data::load_mnist_split(data_dir, "t10k");
    if (test.count == 0)  // load_mnist_split refuses empty files; never score 0 images
      throw data::DataError(test.images_path + ": holds 0 images; evaluate needs the 10000 MNIST test images");

    // The output folder before the work, so that a bad --out costs nothing.
    const std::string out_dir = !o->out.empty() ? o->out : std::filesystem::path(o->model).parent_path().string();
    const std::filesystem::path dir = out_dir.empty() ? std::filesystem::path(".") : std::filesystem::path(out_dir);
    const std::string fix = o->out.empty() ? "; give --out DIR for confusion.csv and misclassified.csv" : "";
    {
      std::error_code ec;
      if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
        throw UsageError("--out: '" + dir.string() + "' exists and is not a folder; give a folder (created if needed)" + fix);
      std::filesystem::create_directories(dir, ec);
      if (ec || !std::filesystem::is_directory(dir))
        throw UsageError("--out: cannot create the folder '" + dir.string() + "'" + (ec ? ": " + ec.message() : "") + fix);
      if (::access(dir.c_str(), W_OK) != 0)
        throw UsageError("--out: cannot write to the folder '" + dir.string() + "': " + std::strerror(errno) + fix);
    }

    const train::EvalResult r = train::evaluate(loaded.model, test, data::all_indices(test.count));
    std::vector<std::vector<long>> confusion(static_cast<std::size_t>(C), std::vector<long>(static_cast<std::size_t>(C), 0));
    for (std::size_t i = 0; i < r.labels.size(); ++i)
      ++confusion[static_cast<std::size_t>(r.labels[i])][static_cast<std::size_t>(r.predicted[i])];
    std::vector<double> precision(static_cast<std::size_t>(C)), recall(static_cast<std::size_t>(C));
    std::vector<long> support(static_cast<std::size_t>(C)), predicted_count(static_cast<std::size_t>(C));
    for (std::size_t t = 0; t < confusion.size(); ++t)
      for (std::size_t p = 0; p < confusion.size(); ++p) {
        support[t] += confusion[t][p];
        predicted_count[p] += confusion[t][p];
      }
    for (std::size_t k = 0; k < confusion.size(); ++k) {
      precision[k] = predicted_count[k] ? static_cast<double>(confusion[k][k]) / static_cast<double>(predicted_count[k]) : 0.0;
      recall[k] = support[k] ? static_cast<double>(confusion[k][k]) / static_cast<double>(support[k]) : 0.0;
    }

    const std::string confusion_path = (dir / "confusion.csv").string();
    const std::string misclassified_path = (dir / "misclassified.csv").string();
    try {
      io::write_confusion_csv(confusion_path, confusion);
      io::write_misclassified_csv(misclassified_path, test, r.predicted, o->max_misclassified);
    } catch (const std::runtime_error& e) {
      throw UsageError(std::string("--out: ") + e.what() + fix);
    }

    if (!std::isfinite(r.loss))
      std::fprintf(stderr, "note: the test loss is not finite: the network's outputs overflow (NaN or Inf) on some "
                           "images, its weights are too large; an earlier checkpoint may be usable\n");
    const long errors = static_cast<long>(r.labels.size()) - static_cast<long>(std::llround(r.accuracy * static_cast<double>(r.labels.size())));
    if (o->json) {
      std::printf("{\n  \"model\": %s,\n  \"architecture\": %s,\n  \"samples\": %zu,\n  \"loss\": %s,\n"
                  "  \"accuracy\": %s,\n  \"errors\": %ld,\n  \"per_class\": [\n",
                  io::json_string(o->model).c_str(), io::json_string(loaded.spec.architecture()).c_str(),
                  r.labels.size(), io::json_number(r.loss).c_str(), io::json_number(r.accuracy).c_str(), errors);
      for (std::size_t k = 0; k < confusion.size(); ++k)
        std::printf("    {\"class\": %zu, \"precision\": %s, \"recall\": %s, \"support\": %ld}%s\n", k,
                    io::json_number(precision[k]).c_str(), io::json_number(recall[k]).c_str(), support[k],
                    k + 1 < confusion.size() ? "," : "");
      std::printf("  ],\n  \"confusion\": [\n");
      for (std::size_t t = 0; t < confusion.size(); ++t) {
        std::printf("    [");
        for (std::size_t p = 0; p < confusion.size(); ++p) std::printf("%s%ld", p ? ", " : "", confusion[t][p]);
        std::printf("]%s\n", t + 1 < confusion.size() ? "," : "");
      }
      std::printf("  ],\n  \"confusion_csv\": %s,\n  \"misclassified_csv\": %s\n}\n",
                  io::json_string(confusion_path).c_str(), io::json_string(misclassified_path).c_str());
      return 0;
    }
    std::printf("chainrule evaluate: %s (%s) on %zu test images\n\n", o->model.c_str(),
                loaded.spec.architecture().c_str(), r.labels.size());
    std::printf("  test loss      %.4f\n  test accuracy  %.4f  (%ld errors)\n\n", r.loss, r.accuracy, errors);
    std::printf("  class  precision  recall  support\n");
    for (std::size_t k = 0; k < confusion.size(); ++k)
      std::printf("  %5zu  %9.4f  %6.4f  %7ld\n", k, precision[k], recall[k], support[k]);
    std::printf("\n  confusion matrix (rows: true class, columns: predicted)\n       ");
    for (std::size_t p = 0; p < confusion.size(); ++p) std::printf("%6zu", p);
    std::printf("\n");
    for (std::size_t t = 0; t < confusion.size(); ++t) {
      std::printf("  %4zu ", t);
      for (std::size_t p = 0; p < confusion.size(); ++p) std::printf("%6ld", confusion[t][p]);
      std::printf("\n");
    }
    std::printf("\nWrote %s and %s\n", confusion_path.c_str(), misclassified_path.c_str());
    return 0;
  };
}

}  // namespace chainrule::cli
