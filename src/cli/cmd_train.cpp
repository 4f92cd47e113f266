// chainrule train: fit an MLP on MNIST (Keras-style progress), write runs/NAME/, resume exactly.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/data/idx.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/io/files.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/train/trainer.hpp"
#include "chainrule/network.hpp"
#include "commands.hpp"
#include "mpi.hpp"

namespace chainrule::cli {

// "512,256" -> {512, 256}; throws UsageError naming the bad list (commands.hpp).
std::vector<int> parse_hidden(const std::string& text) {
  std::vector<int> sizes;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    std::size_t used = 0;
    long v = 0;
    try {
      v = std::stol(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || v < 1 || v > 1000000)
      throw UsageError("--hidden '" + text + "': '" + part +
                       "' is not a layer size; give positive sizes separated by commas, e.g. --hidden 128 or --hidden 512,256");
  }
  if (text.empty() || text.back() == ',')
    throw UsageError("--hidden '" + text + "': give positive sizes separated by commas, e.g. --hidden 512,256");
  std::stringstream again(text);
  for (std::string part; std::getline(again, part, ',');) sizes.push_back(std::stoi(part));
  return sizes;
}

namespace {

// --name NAME writes runs/NAME/: a plain name, never a path out of runs/.
void check_run_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw UsageError("--name '" + name + "' is not a plain name: give a name without '/' (not empty, '.' or '..'), "
                     "or a folder with --out DIR");
}

std::string timestamp_name() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

}  // namespace

Action add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train an MLP (or a CNN: --model lenet5, --layers) on MNIST with a Keras-like progress bar; writes runs/NAME/ "
                                          "(history.csv, config.txt, last.ckpt, best.ckpt, steps.csv)");
  struct Options {
    train::TrainConfig config;
    std::string hidden = "128";
    std::string name, out, log_grads, progress = "auto", bug, seed = "42", activation = "relu";
    std::string batchnorm;  // --batchnorm [before|after]
    std::string model = "mlp", layers;  // --model, --layers (network.hpp)
    bool overwrite = false;
    bool data_parallel = false;
  };
  auto o = std::make_shared<Options>();
  auto& c = o->config;
  cmd->add_option("--data", c.data_dir, "Folder with the MNIST IDX files (tools/fetch_mnist.sh)")->capture_default_str();
  cmd->add_option("--model", o->model, "mlp (the default: --hidden, --dropout, ...) or lenet5 (the --layers list of LeNet-5)")
      ->capture_default_str();
  cmd->add_option("--layers", o->layers,
                  "A network as a layer list instead of the MLP, e.g. conv:6:5:pad2,relu,maxpool:2,dense:120,relu,dense:10 "
                  "(conv:OUT:K[:sS][:padP], maxpool:K[:sS], avgpool:K[:sS], relu, sigmoid, tanh, dense:N; ends with dense:10)");
  cmd->add_option("--hidden", o->hidden, "Hidden layer sizes, comma-separated, e.g. 512,256")->capture_default_str();
  cmd->add_option("--dropout", c.spec.dropout, "Dropout rate after each hidden ReLU (0 = none)")->capture_default_str();
  add_batchnorm_options(*cmd, o->batchnorm, c.spec);
  cmd->add_option("--activation", o->activation,
                  "Hidden activation: relu, sigmoid, tanh or leaky_relu[:alpha] (alpha in [0, 1), default 0.01)")
      ->capture_default_str();
  add_init_options(*cmd, c.spec);
  cmd->add_option("--optimizer", c.optimizer.kind, "sgd, momentum, adam or adamw (Adam with decoupled weight decay)")
      ->capture_default_str();
  cmd->add_option("--lr", c.optimizer.lr, "Learning rate")->capture_default_str();
  cmd->add_option("--momentum", c.optimizer.momentum, "Momentum mu (with --optimizer momentum)")->capture_default_str();
  cmd->add_flag("--nesterov", c.optimizer.nesterov, "Nesterov momentum (with --optimizer momentum)");
  cmd->add_option("--beta1", c.optimizer.beta1, "Adam's beta1")->capture_default_str();
  cmd->add_option("--beta2", c.optimizer.beta2, "Adam's beta2")->capture_default_str();
  cmd->add_option("--eps", c.optimizer.eps, "Adam's epsilon")->capture_default_str();
  cmd->add_option("--weight-decay", c.optimizer.weight_decay,
                  "Weight decay lambda >= 0 on the weight matrices (not biases, BatchNorm): the L2 term lambda/2 ||W||^2 "
                  "in the loss with sgd, momentum, adam; decoupled with adamw (0 = off)")
      ->capture_default_str();
  cmd->add_option("--lr-schedule", c.lr_schedule,
                  "The rate of each epoch: constant, step:EVERY:FACTOR, cosine[:T] or plateau:PATIENCE:FACTOR (on val_loss)")
      ->capture_default_str();
  cmd->add_option("--epochs", c.epochs, "Total epochs (with --resume: up to this total)")->capture_default_str();
  cmd->add_option("--batch", c.batch, "Batch size")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed for the weights, the dropout masks and the shuffle (0..18446744073709551615)")
      ->capture_default_str();
  cmd->add_option("--validation", c.validation,
                  "A fraction of the training set to hold out (seeded), or 'test' (the test set: it then overstates accuracy)")
      ->capture_default_str();
  cmd->add_option("--monitor", c.monitor, "What best.ckpt and early stopping follow: val_loss or val_accuracy")
      ->capture_default_str();
  cmd->add_option("--early-stopping", c.early_stopping,
                  "Stop after PATIENCE epochs without an improvement of --monitor (0 = off)")
      ->capture_default_str();
  cmd->add_option("--min-delta", c.min_delta, "An improvement must beat the best by more than this")
      ->capture_default_str();
  cmd->add_flag("--restore-best", c.restore_best,
                "At the end, the model holds the best epoch's weights (best.ckpt); last.ckpt keeps the last epoch's");
  cmd->add_option("--threads", c.threads, "Threads for the matrix kernels, 0.." + std::to_string(kMaxThreads) +
                                              " (0 = automatic: the idle physical cores, or OMP_NUM_THREADS; docs/performance.md); results do not depend on it")
      ->capture_default_str();
  cmd->add_option("--limit", c.limit, "Train on the first N training images only (0 = all)")->capture_default_str();
  cmd->add_option("--name", o->name, "Run name: writes runs/NAME/ (default: the date and time)");
  cmd->add_option("--out", o->out, "Run folder (instead of runs/NAME/)");
  cmd->add_flag("--overwrite", o->overwrite, "The run folder may hold an earlier run: delete that run's files first");
  cmd->add_option("--resume", c.resume, "Continue from a checkpoint (runs/NAME/last.ckpt) up to --epochs");
  cmd->add_option("--log-grads", o->log_grads, "Write steps.csv with gradient statistics every EVERY steps (default 50)")
      ->expected(0, 1);
  cmd->add_option("--progress", o->progress, "auto (a bar on a terminal), bar, or lines (one line per epoch)")->capture_default_str();
  cmd->add_option("--shards", c.shards, "Cut each batch into P shards, add their gradients in shard order: the numbers "
                                        "of 'mpirun -np P chainrule train --data-parallel' in one process (1.." +
                                            std::to_string(train::kMaxShards) + ")")
      ->capture_default_str();
  cmd->add_flag("--data-parallel", o->data_parallel,
                "Under 'mpirun -np P': each rank trains on its shard of every batch (needs -DCHAINRULE_MPI=ON)");
  add_bug_option(*cmd, o->bug);

  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    activate_bug(o->bug);
    train::TrainConfig config = o->config;
    config.spec.hidden = parse_hidden(o->hidden);
    if (cmd->count("--batchnorm") > 0) set_batchnorm(o->batchnorm, config.spec);
    {  // --model and --layers: a network from a layer list (network.hpp) instead of the MLP
      if (o->model != "mlp" && o->model != "lenet5")
        throw UsageError("--model '" + o->model + "' is unknown; use mlp or lenet5 (or --layers LIST)");
      if (o->model == "lenet5" && cmd->count("--layers") > 0)
        throw UsageError("--model lenet5 and --layers both name the network; give one of them");
      std::string layers = o->model == "lenet5" ? std::string(kLeNet5Layers) : o->layers;
      if (cmd->count("--layers") > 0 && layers.empty())
        throw UsageError("--layers: the layer list is empty; write e.g. conv:6:5:pad2,relu,maxpool:2,dense:120,relu,dense:10");
      if (!layers.empty()) {
        if (cmd->count("--hidden") > 0)
          throw UsageError("--hidden sizes the MLP; with --layers or --model lenet5 the list names every layer");
        try {
          config.spec.layers = layers_text(parse_layers(layers, ImageShape{1, 28, 28}, config.spec.classes));
        } catch (const std::invalid_argument& e) {
          throw UsageError("--layers: " + std::string(e.what()));
        }
        config.spec.hidden.clear();
      }
    }
    try {
      config.spec.set_activation(o->activation);
    } catch (const std::invalid_argument& e) {
      throw UsageError("--activation: " + std::string(e.what()));
    }
    if (cmd->count("--log-grads") > 0) {
      config.log_grads = 50;
      if (!o->log_grads.empty()) {
        std::size_t used = 0;
        try {
          config.log_grads = std::stoi(o->log_grads, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != o->log_grads.size() || config.log_grads < 1)
          throw UsageError("--log-grads '" + o->log_grads + "': give a number of steps >= 1, e.g. --log-grads 50");
      }
    }
    if (o->progress != "auto" && o->progress != "bar" && o->progress != "lines")
      throw UsageError("--progress '" + o->progress + "': use auto, bar or lines");

    config.seed = train::parse_seed("--seed", o->seed);
    config.overwrite = o->overwrite;
    if (cmd->count("--name") > 0) check_run_name(o->name);
    Ranks ranks;  // --data-parallel: this process is rank ranks.rank of mpirun's ranks.size (mpi.hpp)
    if (o->data_parallel) {
      ranks = start_mpi();
      if (cmd->count("--shards") > 0 && config.shards != ranks.size)
        throw UsageError("--shards " + std::to_string(config.shards) + " with --data-parallel under " +
                         std::to_string(ranks.size) + " MPI rank(s): the shards are the ranks; drop --shards");
    }

    std::string run_dir = o->out;
    if (!config.resume.empty()) {
      // Start from the checkpoint's settings; options given on this command line win.
      const io::Checkpoint ckpt = io::read_checkpoint(config.resume);
      train::TrainConfig saved;
      try {
        saved = train::TrainConfig::from_settings(ckpt.config);
      } catch (const std::invalid_argument& e) {
        throw UsageError("--resume " + config.resume + ": " + e.what() + "; the checkpoint's settings are damaged");
      }
      auto given = [&](const char* opt) { return cmd->count(opt) > 0; };
      if (given("--data")) saved.data_dir = config.data_dir;
      if (given("--hidden")) saved.spec.hidden = config.spec.hidden;
      if (given("--layers") || given("--model")) {
        saved.spec.layers = config.spec.layers;
        saved.spec.hidden = config.spec.hidden;
      }
      if (given("--dropout")) saved.spec.dropout = config.spec.dropout;
      if (given("--batchnorm")) {
        saved.spec.batchnorm = config.spec.batchnorm;
        saved.spec.batchnorm_after = config.spec.batchnorm_after;
      }
      if (given("--bn-momentum")) saved.spec.bn_momentum = config.spec.bn_momentum;
      if (given("--bn-eps")) saved.spec.bn_eps = config.spec.bn_eps;
      if (given("--init")) saved.spec.init = config.spec.init;
      if (given("--init-gain")) saved.spec.init_gain = config.spec.init_gain;
      if (given("--activation")) {
        saved.spec.activation = config.spec.activation;
        saved.spec.leaky_alpha = config.spec.leaky_alpha;
      }
      if (given("--optimizer")) saved.optimizer.kind = config.optimizer.kind;
      if (given("--lr")) saved.optimizer.lr = config.optimizer.lr;
      if (given("--momentum")) saved.optimizer.momentum = config.optimizer.momentum;
      if (given("--nesterov")) saved.optimizer.nesterov = config.optimizer.nesterov;
      if (given("--beta1")) saved.optimizer.beta1 = config.optimizer.beta1;
      if (given("--beta2")) saved.optimizer.beta2 = config.optimizer.beta2;
      if (given("--eps")) saved.optimizer.eps = config.optimizer.eps;
      if (given("--weight-decay")) saved.optimizer.weight_decay = config.optimizer.weight_decay;
      if (given("--lr-schedule")) saved.lr_schedule = config.lr_schedule;
      if (given("--batch")) saved.batch = config.batch;
      if (given("--seed")) saved.seed = config.seed;
      if (given("--validation")) saved.validation = config.validation;
      if (given("--threads")) saved.threads = config.threads;
      if (given("--limit")) saved.limit = config.limit;
      if (given("--log-grads")) saved.log_grads = config.log_grads;
      if (given("--shards")) saved.shards = config.shards;
      if (given("--monitor")) saved.monitor = config.monitor;
      if (given("--early-stopping")) saved.early_stopping = config.early_stopping;
      if (given("--min-delta")) saved.min_delta = config.min_delta;
      if (given("--restore-best")) saved.restore_best = config.restore_best;
      saved.epochs = config.epochs;
      saved.resume = config.resume;
      saved.overwrite = config.overwrite;
      saved.spec.seed = saved.seed;
      config = saved;
      if (run_dir.empty() && o->name.empty())
        run_dir = std::filesystem::path(config.resume).parent_path().string();
      if (run_dir.empty()) run_dir = ".";
    }
    const std::string folder_option = !o->out.empty()    ? "--out"
                                      : !o->name.empty() ? "--name"
                                      : config.resume.empty() ? "the run folder"
                                                              : "--resume's folder";
    if (run_dir.empty()) run_dir = "runs/" + (o->name.empty() ? timestamp_name() : o->name);
    config.run_dir = run_dir;
    config.progress_bar = o->progress == "bar" || (o->progress == "auto" && stdout_is_terminal());
    if (o->data_parallel) {  // one shard per rank; only rank 0 writes the run folder and prints
      config.shards = ranks.size;
      config.rank = ranks.rank;
      config.exchange = allgather_shards;
      if (ranks.rank > 0) {
        config.run_dir.clear();
        config.progress_bar = false;
      }
    }
    try {
      config.validate();
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }

    // One run per folder: lock it and check it before the data is loaded (train/run_folder.hpp).
    train::RunFolder folder;
    try {
      if (!config.run_dir.empty()) {  // (empty on MPI ranks other than 0)
        folder = train::RunFolder(run_dir);
        folder.check(config.resume, config.overwrite);
      }
    } catch (const train::RunFolderError& e) {
      throw UsageError(folder_option + ": " + e.what());
    }
    const data::Mnist mnist = data::load_mnist(config.data_dir);
    const train::TrainData data = train::select_data(config, mnist);
    std::ostream silent(nullptr);  // what ranks other than 0 print: nothing
    const train::TrainResult result = train::fit(config, data, ranks.rank == 0 ? std::cout : silent, folder);
    if (ranks.rank > 0) return result.diverged ? 1 : 0;
    if (result.diverged) {
      std::cout << std::flush;
      std::cerr << result.diagnosis;
      return 1;
    }
    const auto& last = result.history.back();
    // Name only the files that are there (a resume into a new folder may have no best.ckpt yet).
    const std::filesystem::path dir(run_dir);
    std::string files;
    for (const char* f : {"history.csv", "config.txt", "last.ckpt", "best.ckpt", "steps.csv"})
      if (io::is_regular_file((dir / f).string())) files += (files.empty() ? "" : ", ") + std::string(f);
    const bool have_best = io::is_regular_file((dir / "best.ckpt").string());
    char done[160];
    std::snprintf(done, sizeof done, "Done: val_loss %.4f, val_accuracy %.4f after epoch %d", last.val_loss,
                  last.val_accuracy, last.epoch);
    std::cout << done;
    if (result.best_epoch > 0) {
      const auto& b = result.history[static_cast<std::size_t>(result.best_epoch - 1)];
      std::snprintf(done, sizeof done, "; %s epoch %d (val_loss %.4f, val_accuracy %.4f, by %s)",
                    have_best ? "best.ckpt:" : "best", result.best_epoch, b.val_loss, b.val_accuracy,
                    config.monitor.c_str());
      std::cout << done;
    }
    std::cout << "\nRun folder: " << run_dir << "/ (" << files << ")\n";
    // The test set is for the end, once: a model chosen on the validation part is scored on
    // it. When the test set was the validation set, best.ckpt was chosen on it: the last
    // epoch's model is the less biased one to score.
    if (config.validation == "test")
      std::cout << "Next: chainrule evaluate --model " << run_dir << "/last.ckpt\n"
                << "      (the test set chose best.ckpt here, so best.ckpt's test accuracy would overstate)\n";
    else
      std::cout << "Next: chainrule evaluate --model " << run_dir << "/" << (have_best ? "best.ckpt" : "last.ckpt") << "\n"
                << "      (the test set, once, at the end: every choice before it is made on the validation set)\n";
    return 0;
  };
}

}  // namespace chainrule::cli
