#include "chainrule/train/config.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "chainrule/data/dataset.hpp"
#include "chainrule/train/schedule.hpp"
#include "chainrule/train/shards.hpp"
#include "chainrule/network.hpp"
#include "chainrule/text.hpp"

namespace chainrule::train {

namespace {

std::string num(double v) {  // shortest text that reads back as the same double
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  double back = 0;
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::sscanf(buf, "%lf", &back) == 1 && back == v) break;
  }
  return buf;
}

double parse_double(const std::string& key, const std::string& text) {
  double v = 0;
  if (!read_double(text, v)) throw std::invalid_argument("setting '" + key + "': '" + text + "' is not a number");
  return v;
}

// A whole number in [lo, hi], digits only (an optional '-'); throws naming the key and the value.
long long parse_int(const std::string& key, const std::string& text, long long lo, long long hi) {
  long long v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec == std::errc::invalid_argument || (ec == std::errc() && ptr != end))
    throw std::invalid_argument("setting '" + key + "': '" + text + "' is not a whole number");
  if (ec == std::errc::result_out_of_range || v < lo || v > hi)
    throw std::invalid_argument("setting '" + key + "' = " + text + " is out of range: it must be in " +
                                std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

int parse_int_setting(const std::string& key, const std::string& text, int lo, int hi = INT_MAX) {
  return static_cast<int>(parse_int(key, text, lo, hi));
}

bool parse_flag(const std::string& key, const std::string& text) {
  if (text != "0" && text != "1") throw std::invalid_argument("setting '" + key + "': '" + text + "' must be 0 or 1");
  return text == "1";
}

bool is_fraction(const std::string& text, double& fraction) {
  return read_double(text, fraction) && fraction > 0.0 && fraction < 1.0;
}

}  // namespace

// ---- Settings ---------------------------------------------------------------------

void TrainConfig::validate() const {
  if (data_dir.empty()) throw std::invalid_argument("--data: the data folder must not be empty");
  if (epochs < 1) throw std::invalid_argument("--epochs must be at least 1, got " + std::to_string(epochs));
  if (batch < 1) throw std::invalid_argument("--batch must be at least 1, got " + std::to_string(batch));
  for (int h : spec.hidden)
    if (h < 1 || h > kMaxHidden)
      throw std::invalid_argument("--hidden: every size must be in 1.." + std::to_string(kMaxHidden) + ", got " +
                                  std::to_string(h));
  if (!(spec.dropout >= 0.0 && spec.dropout < 1.0))
    throw std::invalid_argument("--dropout must be in [0, 1), got " + num(spec.dropout));
  // --init, --init-gain
  const std::string init_name = spec.init.substr(0, spec.init.find(':'));
  if (!(spec.init_gain > 0.0 && std::isfinite(spec.init_gain)))
    throw std::invalid_argument("--init-gain must be a positive number, got " + num(spec.init_gain));
  if (spec.init_gain != 1.0 && init_name != "he" && init_name != "glorot")
    throw std::invalid_argument("--init-gain applies only to --init he or --init glorot, not to '" + spec.init +
                                "'; give --init he or glorot, or drop --init-gain");
  try {
    spec.check_init();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--init: ") + e.what());
  }
  // --bn-momentum, --bn-eps (they need --batchnorm)
  if (!(spec.bn_momentum > 0.0 && spec.bn_momentum <= 1.0))
    throw std::invalid_argument("--bn-momentum must be in (0, 1] (running = running + m (batch - running); Keras's "
                                "momentum 0.99 is --bn-momentum 0.01), got " + num(spec.bn_momentum));
  if (!(spec.bn_eps > 0.0 && std::isfinite(spec.bn_eps)))
    throw std::invalid_argument("--bn-eps must be a positive number, got " + num(spec.bn_eps));
  if (!spec.batchnorm && (spec.bn_momentum != 0.1 || spec.bn_eps != 1e-5 || spec.batchnorm_after))
    throw std::invalid_argument("--bn-momentum, --bn-eps and --batchnorm after need BatchNorm layers: add --batchnorm");
  try {
    spec.check_activation();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--activation: ") + e.what());
  }
  if (!spec.layers.empty()) {  // a layer list (network.hpp): the MLP's own options do not apply
    try {
      parse_layers(spec.layers, ImageShape{1, 28, 28}, spec.classes);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("--layers: ") + e.what());
    }
    if (spec.dropout > 0 || spec.batchnorm || spec.activation != "relu")
      throw std::invalid_argument("--layers (or --model lenet5) takes no --dropout, --batchnorm or --activation: "
                                  "the list names every layer (relu, sigmoid or tanh entries)");
    if (spec.init != "auto" || spec.init_gain != 1.0)
      throw std::invalid_argument("--layers (or --model lenet5) takes no --init or --init-gain: a layer list is "
                                  "initialised as auto (He before each activation, Glorot for the last dense); drop them");
  }
  if (optimizer.kind != "sgd" && optimizer.kind != "momentum" && optimizer.kind != "adam" && optimizer.kind != "adamw")
    throw std::invalid_argument("--optimizer '" + optimizer.kind + "' is unknown; use sgd, momentum, adam or adamw");
  if (!(optimizer.lr > 0.0 && std::isfinite(optimizer.lr)))
    throw std::invalid_argument("--lr must be a positive learning rate, got " + num(optimizer.lr));
  // Checked whichever optimizer is chosen, and on --resume too.
  if (!(optimizer.momentum >= 0.0 && optimizer.momentum < 1.0))
    throw std::invalid_argument("--momentum must be in [0, 1), got " + num(optimizer.momentum));
  if (!(optimizer.beta1 >= 0.0 && optimizer.beta1 < 1.0))
    throw std::invalid_argument("--beta1 must be in [0, 1), got " + num(optimizer.beta1));
  if (!(optimizer.beta2 >= 0.0 && optimizer.beta2 < 1.0))
    throw std::invalid_argument("--beta2 must be in [0, 1), got " + num(optimizer.beta2));
  if (!(optimizer.eps > 0.0 && std::isfinite(optimizer.eps)))
    throw std::invalid_argument("--eps must be a positive number, got " + num(optimizer.eps));
  // Weight decay and the learning-rate schedule (optim.hpp, penalty.hpp, train/schedule.hpp).
  if (!(optimizer.weight_decay >= 0.0 && std::isfinite(optimizer.weight_decay)))
    throw std::invalid_argument("--weight-decay must be a number >= 0 (0 = off), got " + num(optimizer.weight_decay) +
                                "; e.g. --weight-decay 0.0005");
  try {
    parse_lr_schedule(lr_schedule);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--lr-schedule ") + e.what());
  }
  optimizer.validate();
  double fraction = 0;
  if (validation != "test" && !is_fraction(validation, fraction))
    throw std::invalid_argument("--validation '" + validation +
                                "' must be 'test' or a fraction of the training set in (0, 1), e.g. 0.1");
  if (monitor != "val_loss" && monitor != "val_accuracy")
    throw std::invalid_argument("--monitor '" + monitor + "' is unknown; use val_loss or val_accuracy");
  if (early_stopping < 0 || early_stopping > kMaxPatience)
    throw std::invalid_argument("--early-stopping must be a patience in 0.." + std::to_string(kMaxPatience) +
                                " epochs (0 = off), got " + std::to_string(early_stopping));
  if (!(min_delta >= 0.0 && std::isfinite(min_delta)))
    throw std::invalid_argument("--min-delta must be a number >= 0, got " + num(min_delta));
  if (threads < 0 || threads > kMaxThreads)
    throw std::invalid_argument("--threads must be in 0.." + std::to_string(kMaxThreads) + " (0 = automatic), got " +
                                std::to_string(threads));
  if (log_grads < 0) throw std::invalid_argument("--log-grads must be >= 0, got " + std::to_string(log_grads));
  if (limit < 0) throw std::invalid_argument("--limit must be >= 0, got " + std::to_string(limit));
  if (shards < 1 || shards > kMaxShards)
    throw std::invalid_argument("--shards must be in 1.." + std::to_string(kMaxShards) + ", got " + std::to_string(shards));
  if (shards > batch)
    throw std::invalid_argument("--shards " + std::to_string(shards) + " is more than --batch " + std::to_string(batch) +
                                ": every shard needs at least one sample of a batch; give a larger --batch or fewer shards");
  if (shards > 1 || rank >= 0) check_shardable(*this);  // no dropout, batchnorm or injected bug (train/shards.hpp)
}

std::vector<std::pair<std::string, std::string>> TrainConfig::settings() const {
  std::string hidden;
  for (int h : spec.hidden) {
    if (!hidden.empty()) hidden.push_back(',');
    hidden.append(std::to_string(h));
  }
  std::vector<std::pair<std::string, std::string>> s{{"data_dir", data_dir},
          {"hidden", hidden},
          {"dropout", num(spec.dropout)},
          {"batchnorm", spec.batchnorm ? "1" : "0"},
          {"init", spec.init},
          {"optimizer", optimizer.kind},
          {"lr", num(optimizer.lr)},
          {"momentum", num(optimizer.momentum)},
          {"nesterov", optimizer.nesterov ? "1" : "0"},
          {"beta1", num(optimizer.beta1)},
          {"beta2", num(optimizer.beta2)},
          {"eps", num(optimizer.eps)},
          {"epochs", std::to_string(epochs)},
          {"batch", std::to_string(batch)},
          {"seed", std::to_string(seed)},
          {"validation", validation},
          {"threads", std::to_string(threads)},
          {"log_grads", std::to_string(log_grads)},
          {"limit", std::to_string(limit)}};
  // Written only when it is not the default: a ReLU run's config.txt and checkpoints stay
  // byte for byte what they were before --activation existed (and a missing key reads as relu).
  if (spec.activation != "relu") s.insert(s.begin() + 5, {"activation", spec.activation_text()});
  // The init gain and the BatchNorm choices, likewise only when not the default.
  auto after = [&](const char* key) {
    auto it = s.begin();
    while (it != s.end() && it->first != key) ++it;
    return it == s.end() ? it : it + 1;
  };
  if (spec.init_gain != 1.0) s.insert(after("init"), {"init_gain", num(spec.init_gain)});
  if (spec.bn_eps != 1e-5) s.insert(after("batchnorm"), {"bn_eps", num(spec.bn_eps)});
  if (spec.bn_momentum != 0.1) s.insert(after("batchnorm"), {"bn_momentum", num(spec.bn_momentum)});
  if (spec.batchnorm_after) s.insert(after("batchnorm"), {"batchnorm_position", "after"});
  // Likewise weight decay and the schedule: only when set (a missing key reads as 0, constant).
  if (optimizer.weight_decay != 0) s.emplace_back("weight_decay", num(optimizer.weight_decay));
  if (lr_schedule != "constant") s.emplace_back("lr_schedule", lr_schedule);
  if (shards != 1) s.emplace_back("shards", std::to_string(shards));  // likewise: only when sharded
  // The callbacks, likewise only when they are not the defaults.
  if (monitor != "val_loss") s.emplace_back("monitor", monitor);
  if (early_stopping != 0) s.emplace_back("early_stopping", std::to_string(early_stopping));
  if (min_delta != 0) s.emplace_back("min_delta", num(min_delta));
  if (restore_best) s.emplace_back("restore_best", "1");
  // Likewise the layer list, only when set (an MLP's settings stay as they were).
  if (!spec.layers.empty()) s.insert(s.begin() + 1, {"layers", spec.layers});
  return s;
}

std::uint64_t parse_seed(const std::string& what, const std::string& text) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);  // digits only: no sign, no spaces
  if (text.empty() || text[0] < '0' || text[0] > '9' || ptr != end || ec == std::errc::invalid_argument)
    throw std::invalid_argument(what + " '" + text + "' is not a seed: give a whole number in 0..18446744073709551615");
  if (ec == std::errc::result_out_of_range)
    throw std::invalid_argument(what + " '" + text + "' is too large for a seed: the largest is 18446744073709551615");
  return v;
}

TrainConfig TrainConfig::from_settings(const std::vector<std::pair<std::string, std::string>>& settings) {
  TrainConfig c;
  // Every number is range-checked: a checkpoint's batch=4294967297 must not become batch 1.
  for (const auto& [k, v] : settings) {
    if (k == "data_dir") c.data_dir = v;
    else if (k == "hidden") {
      c.spec.hidden.clear();
      std::stringstream in(v);
      for (std::string part; std::getline(in, part, ',');) c.spec.hidden.push_back(parse_int_setting(k, part, 1, kMaxHidden));
    } else if (k == "dropout") c.spec.dropout = parse_double(k, v);
    else if (k == "batchnorm") c.spec.batchnorm = parse_flag(k, v);
    else if (k == "init") c.spec.init = v;
    else if (k == "init_gain") c.spec.init_gain = parse_double(k, v);
    else if (k == "batchnorm_position") {
      if (v != "before" && v != "after") throw std::invalid_argument("setting 'batchnorm_position': '" + v + "' must be before or after");
      c.spec.batchnorm_after = v == "after";
    }
    else if (k == "bn_momentum") c.spec.bn_momentum = parse_double(k, v);
    else if (k == "bn_eps") c.spec.bn_eps = parse_double(k, v);
    else if (k == "activation") {
      try {
        c.spec.set_activation(v);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("setting 'activation': " + std::string(e.what()));
      }
    }
    else if (k == "layers") {
      try {
        c.spec.layers = layers_text(parse_layers(v, ImageShape{1, 28, 28}, c.spec.classes));
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("setting 'layers': " + std::string(e.what()));
      }
    }
    else if (k == "optimizer") c.optimizer.kind = v;
    else if (k == "lr") c.optimizer.lr = parse_double(k, v);
    else if (k == "momentum") c.optimizer.momentum = parse_double(k, v);
    else if (k == "nesterov") c.optimizer.nesterov = parse_flag(k, v);
    else if (k == "beta1") c.optimizer.beta1 = parse_double(k, v);
    else if (k == "beta2") c.optimizer.beta2 = parse_double(k, v);
    else if (k == "eps") c.optimizer.eps = parse_double(k, v);
    else if (k == "epochs") c.epochs = parse_int_setting(k, v, 1);
    else if (k == "batch") c.batch = parse_int_setting(k, v, 1);
    else if (k == "seed") c.seed = parse_seed("setting 'seed'", v);
    else if (k == "validation") c.validation = v;
    else if (k == "threads") c.threads = parse_int_setting(k, v, 0, kMaxThreads);
    else if (k == "log_grads") c.log_grads = parse_int_setting(k, v, 0);
    else if (k == "limit") c.limit = parse_int_setting(k, v, 0);
    else if (k == "weight_decay") c.optimizer.weight_decay = parse_double(k, v);
    else if (k == "lr_schedule") c.lr_schedule = v;
    else if (k == "shards") c.shards = parse_int_setting(k, v, 1, kMaxShards);
    else if (k == "monitor") c.monitor = v;
    else if (k == "early_stopping") c.early_stopping = parse_int_setting(k, v, 0, kMaxPatience);
    else if (k == "min_delta") c.min_delta = parse_double(k, v);
    else if (k == "restore_best") c.restore_best = parse_flag(k, v);
  }
  c.spec.seed = c.seed;
  return c;
}

TrainData select_data(const TrainConfig& config, const data::Mnist& mnist) {
  if (mnist.train.count == 0)
    throw std::invalid_argument("the training file '" + mnist.train.images_path +
                                "' holds no images; fetch MNIST again (tools/fetch_mnist.sh) or pass another --data");
  TrainData d;
  d.train = &mnist.train;
  const int count = config.limit > 0 ? std::min(config.limit, mnist.train.count) : mnist.train.count;
  double fraction = 0;
  if (config.validation == "test") {
    if (mnist.test.count == 0)
      throw std::invalid_argument("the test file '" + mnist.test.images_path +
                                  "' holds no images to validate on; fetch MNIST again or use --validation 0.1");
    d.train_indices = data::all_indices(count);
    d.val = &mnist.test;
    d.val_indices = data::all_indices(mnist.test.count);
    d.val_name = "test";
  } else {
    if (!is_fraction(config.validation, fraction))
      throw std::invalid_argument("--validation '" + config.validation + "' must be 'test' or a fraction in (0, 1)");
    // As data::split_holdout counts: both parts must keep at least one image.
    const long long held = std::llround(count * fraction);
    if (held < 1 || held >= count)
      throw std::invalid_argument("--validation " + config.validation + " of " + std::to_string(count) +
                                  " training images gives " + std::to_string(held) + " validation and " +
                                  std::to_string(count - held) + " training images; both need at least one: give " +
                                  "a fraction between " + num(1.0 / count) + " and " + num(1.0 - 1.0 / count) +
                                  ", or --validation test");
    auto split = data::split_holdout(count, fraction, config.seed);
    d.train_indices = std::move(split.train);
    d.val = &mnist.train;
    d.val_indices = std::move(split.val);
    d.val_name = "holdout " + config.validation + " of train";
  }
  return d;
}

double estimate_training_bytes(const TrainConfig& config, std::size_t train_samples, std::size_t val_samples) {
  const MlpSpec& s = config.spec;
  double params = 0, widths = 0;  // widths: the columns of every layer's output, summed
  double fan_in = s.inputs;
  for (int h : s.hidden) {
    params += fan_in * h + h + (s.batchnorm ? 4.0 * h : 0.0);  // W, b; gamma, beta and the running mean, var
    widths += h * (2.0 + (s.batchnorm ? 1.0 : 0.0) + (s.dropout > 0 ? 1.0 : 0.0));
    fan_in = h;
  }
  params += fan_in * s.classes + s.classes;
  widths += 2.0 * s.classes;  // the logits and the softmax probabilities
  if (!s.layers.empty()) {  // a layer list: its parameters, outputs and the convs' im2col patches
    const NetworkSize n = network_size(parse_layers(s.layers, ImageShape{1, 28, 28}, s.classes));
    params = n.params;
    widths = n.widths;
  }
  const double slots = config.optimizer.kind == "adam" || config.optimizer.kind == "adamw" ? 2
                      : config.optimizer.kind == "momentum"                                ? 1
                                                                                           : 0;
  const double copies = 2 + slots + 1 + (config.log_grads > 0 ? 1 : 0);  // P, dL/dP, slots, probe, steps.csv
  const double train_rows = static_cast<double>(std::min<std::size_t>(static_cast<std::size_t>(config.batch), train_samples));
  const double rows = std::max(train_rows, static_cast<double>(std::min<std::size_t>(1000, val_samples)));
  const double floats = params * copies + rows * (s.inputs + widths) + train_rows * (s.inputs + widths);
  return 4.0 * floats;  // float32
}

void check_training_memory(const TrainConfig& config, std::size_t train_samples, std::size_t val_samples) {
  const double bytes = estimate_training_bytes(config, train_samples, val_samples);
  if (bytes > kMaxTrainingBytes)
    throw std::invalid_argument(config.spec.architecture() + " with batch " + std::to_string(config.batch) +
                                " needs about " + num(std::round(bytes / (1024.0 * 1024 * 1024) * 10) / 10) +
                                " GiB (parameters, gradients, optimizer state, activations), above the limit of " +
                                num(kMaxTrainingBytes / (1024.0 * 1024 * 1024)) +
                                " GiB; give smaller --hidden sizes or a smaller --batch");
}

}  // namespace chainrule::train
