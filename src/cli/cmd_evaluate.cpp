// chainrule evaluate: test loss, accuracy, per-class precision and recall, confusion matrix.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/io/plotdata.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/train/trainer.hpp"
#include "commands.hpp"

namespace chainrule::cli {

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
  cmd->add_option("--threads", o->threads, "Threads for the matrix kernels (0 = automatic: 1, or OMP_NUM_THREADS; docs/performance.md)")->capture_default_str();
  cmd->add_option("--max-misclassified", o->max_misclassified, "At most this many rows in misclassified.csv")->capture_default_str();

  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->threads < 0) throw UsageError("--threads must be >= 0");
    if (o->max_misclassified < 0) throw UsageError("--max-misclassified must be >= 0");
    set_num_threads(o->threads);
    const io::Checkpoint ckpt = io::read_checkpoint(o->model);
    io::LoadedModel loaded{ckpt.spec, make_mlp<float>(ckpt.spec)};
    io::restore_model(ckpt, loaded.model, o->model);
    std::string data_dir = o->data;
    if (data_dir.empty()) data_dir = ckpt.setting("data_dir") ? *ckpt.setting("data_dir") : "data/mnist";
    const data::ImageSet test = data::load_mnist_split(data_dir, "t10k");
    const int D = loaded.spec.inputs;
    if (D != test.rows * test.cols)
      throw UsageError(o->model + " expects " + std::to_string(D) + " inputs, the images have " +
                       std::to_string(test.rows * test.cols));

    const train::EvalResult r = train::evaluate(loaded.model, test, data::all_indices(test.count));
    const int C = loaded.spec.classes;
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

    const std::string out_dir = !o->out.empty() ? o->out : std::filesystem::path(o->model).parent_path().string();
    const std::filesystem::path dir = out_dir.empty() ? std::filesystem::path(".") : std::filesystem::path(out_dir);
    std::filesystem::create_directories(dir);
    const std::string confusion_path = (dir / "confusion.csv").string();
    const std::string misclassified_path = (dir / "misclassified.csv").string();
    io::write_confusion_csv(confusion_path, confusion);
    io::write_misclassified_csv(misclassified_path, test, r.predicted, o->max_misclassified);

    const long errors = static_cast<long>(r.labels.size()) - static_cast<long>(std::llround(r.accuracy * static_cast<double>(r.labels.size())));
    if (o->json) {
      std::printf("{\n  \"model\": \"%s\",\n  \"architecture\": \"%s\",\n  \"samples\": %zu,\n  \"loss\": %.6f,\n"
                  "  \"accuracy\": %.6f,\n  \"errors\": %ld,\n  \"per_class\": [\n",
                  o->model.c_str(), loaded.spec.architecture().c_str(), r.labels.size(), r.loss, r.accuracy, errors);
      for (std::size_t k = 0; k < confusion.size(); ++k)
        std::printf("    {\"class\": %zu, \"precision\": %.6f, \"recall\": %.6f, \"support\": %ld}%s\n", k, precision[k],
                    recall[k], support[k], k + 1 < confusion.size() ? "," : "");
      std::printf("  ],\n  \"confusion\": [\n");
      for (std::size_t t = 0; t < confusion.size(); ++t) {
        std::printf("    [");
        for (std::size_t p = 0; p < confusion.size(); ++p) std::printf("%s%ld", p ? ", " : "", confusion[t][p]);
        std::printf("]%s\n", t + 1 < confusion.size() ? "," : "");
      }
      std::printf("  ],\n  \"confusion_csv\": \"%s\",\n  \"misclassified_csv\": \"%s\"\n}\n", confusion_path.c_str(),
                  misclassified_path.c_str());
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
