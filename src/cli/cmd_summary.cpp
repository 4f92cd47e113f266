// chainrule summary: Keras's model.summary() for a network: each layer, its output shape, its
// parameter count, and the totals (trainable: weights, biases, BatchNorm's gamma and beta;
// non-trainable: BatchNorm's running mean and variance). The network comes from the same
// architecture options as `chainrule train`, or from a checkpoint (--model).
//
// For 784-128-10:  dense1 784*128 + 128 = 100480,  relu1 0,  dense2 128*10 + 10 = 1290,
//                  total 101770 (docs/cli.md).
//
// This file also holds the --batchnorm and --init options that train and summary share.
#include <cstdio>
#include <string>
#include <vector>

#include "chainrule/train/config.hpp"
#include "commands.hpp"

namespace chainrule::cli {

void add_batchnorm_options(CLI::App& command, std::string& where, MlpSpec& spec) {
  command
      .add_option("--batchnorm", where,
                  "BatchNorm in each hidden block: before (the default when no value is given) or after the activation")
      ->expected(0, 1);
  command.add_option("--bn-momentum", spec.bn_momentum,
                     "BatchNorm running-statistics momentum m in (0, 1]: running += m (batch - running), as "
                     "PyTorch's momentum; Keras's momentum 0.99 is 0.01 here")
      ->capture_default_str();
  command.add_option("--bn-eps", spec.bn_eps, "BatchNorm's eps in sqrt(var + eps) (PyTorch 1e-5, Keras 1e-3)")
      ->capture_default_str();
}

void set_batchnorm(const std::string& where, MlpSpec& spec) {
  if (!where.empty() && where != "before" && where != "after")
    throw UsageError("--batchnorm '" + where + "': use before or after (the activation), or --batchnorm alone for before");
  spec.batchnorm = true;
  spec.batchnorm_after = where == "after";
}

void add_init_options(CLI::App& command, MlpSpec& spec) {
  command
      .add_option("--init", spec.init,
                  "Weight init: auto (He before the hidden activation, Glorot for the output), he, glorot, lecun, "
                  "normal:STD or uniform:A (docs/cli.md has the formulas)")
      ->capture_default_str();
  command.add_option("--init-gain", spec.init_gain, "Gain G for --init he (std G sqrt(2/fan_in)) or glorot (a = G sqrt(6/(fan_in+fan_out)))")
      ->capture_default_str();
}

namespace {

std::string shape_text(const Tensor<float>& t) {
  return "(" + std::to_string(t.rows) + ", " + std::to_string(t.cols) + ")";
}

// Prints the table (its numbers are checked by tests/cli_summary.cmake).
void print_summary(const std::string& title, Sequential<float>& model, int inputs) {
  // One forward pass in inference mode on a single zero image gives every layer's output width.
  Tensor<float> X(1, inputs);
  model.forward(X, false);
  std::printf("Model: %s\n", title.c_str());
  const char* rule = "==========================================================================================\n";
  std::printf("%s", rule);
  std::printf("%-24s %-14s %10s   %s\n", "Layer (type)", "Output shape", "Param #", "Tensors");
  std::printf("%s", rule);
  std::printf("%-24s %-14s %10s\n", "input", ("(N, " + std::to_string(inputs) + ")").c_str(), "0");
  std::size_t trainable = 0, fixed = 0;
  for (std::size_t i = 0; i < model.size(); ++i) {
    Layer<float>& layer = model.layer(i);
    std::size_t count = 0;
    std::string tensors, buffers;
    for (const auto& p : layer.params()) {
      count += p.value->size();
      trainable += p.value->size();
      tensors += (tensors.empty() ? "" : ", ") + p.name.substr(p.name.find('.') + 1) + " " + shape_text(*p.value);
    }
    for (const auto& b : layer.buffers()) {
      count += b.value->size();
      fixed += b.value->size();
      buffers += (buffers.empty() ? "" : ", ") + b.name.substr(b.name.find('.') + 1) + " " + shape_text(*b.value);
    }
    if (!buffers.empty()) tensors += "; not trained: " + buffers;
    const std::string name = layer.name() + " (" + layer.kind() + ")";
    const std::string shape = "(N, " + std::to_string(model.output(i).cols) + ")";
    if (tensors.empty())
      std::printf("%-24s %-14s %10zu\n", name.c_str(), shape.c_str(), count);
    else
      std::printf("%-24s %-14s %10zu   %s\n", name.c_str(), shape.c_str(), count, tensors.c_str());
  }
  std::printf("%s", rule);
  std::printf("Total params: %zu\n", trainable + fixed);
  std::printf("Trainable params: %zu\n", trainable);
  std::printf("Non-trainable params: %zu\n", fixed);
  std::printf("N is the batch size; softmax and the cross-entropy are computed in the loss, after the last layer.\n");
}

}  // namespace

Action add_summary_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "summary", "List a network's layers, output shapes and parameter counts (Keras's model.summary()), from "
                 "train's architecture options or a checkpoint (--model)");
  struct Options {
    MlpSpec spec;
    std::string model, hidden = "128", activation = "relu", batchnorm;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "A checkpoint (runs/NAME/last.ckpt): summarise its network");
  cmd->add_option("--hidden", o->hidden, "Hidden layer sizes, comma-separated, e.g. 512,256")->capture_default_str();
  cmd->add_option("--dropout", o->spec.dropout, "Dropout rate after each hidden activation (0 = none)")
      ->capture_default_str();
  add_batchnorm_options(*cmd, o->batchnorm, o->spec);
  cmd->add_option("--activation", o->activation, "Hidden activation: relu, sigmoid, tanh or leaky_relu[:alpha]")
      ->capture_default_str();
  add_init_options(*cmd, o->spec);

  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (!o->model.empty()) {
      for (const char* opt : {"--hidden", "--dropout", "--batchnorm", "--bn-momentum", "--bn-eps", "--activation",
                              "--init", "--init-gain"})
        if (cmd->count(opt) > 0)
          throw UsageError(std::string(opt) + " cannot be combined with --model: the checkpoint fixes the architecture; "
                                              "drop one of them");
      io::LoadedModel loaded = load_model_option(o->model, /*need_images=*/false);
      print_summary(loaded.spec.architecture() + " (" + o->model + ")", loaded.model, loaded.spec.inputs);
      return 0;
    }
    train::TrainConfig config;
    config.spec = o->spec;
    config.spec.hidden = parse_hidden(o->hidden);
    if (cmd->count("--batchnorm") > 0) set_batchnorm(o->batchnorm, config.spec);
    try {
      config.spec.set_activation(o->activation);
    } catch (const std::invalid_argument& e) {
      throw UsageError("--activation: " + std::string(e.what()));
    }
    try {
      config.validate();
      // What train would refuse for its size, summary refuses too (it builds the network).
      train::check_training_memory(config, 1, 1);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
    Sequential<float> model = make_mlp<float>(config.spec);
    print_summary(config.spec.architecture(), model, config.spec.inputs);
    return 0;
  };
}

}  // namespace chainrule::cli
