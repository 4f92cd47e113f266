#include "chainrule/train/trainer.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "chainrule/bugs.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/train/gradstats.hpp"
#include "chainrule/train/monitor.hpp"
#include "chainrule/train/progress.hpp"

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
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw std::invalid_argument("setting '" + key + "': '" + text + "' is not a number");
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
  std::size_t used = 0;
  try {
    fraction = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size() && fraction > 0.0 && fraction < 1.0;
}

bool all_finite(const Tensor<float>& t) {
  for (float x : t.data)
    if (!std::isfinite(x)) return false;
  return true;
}

// Which layer went non-finite first, and what usually causes it.
std::string diagnose(Sequential<float>& model, const std::vector<Param<float>>& params, double loss, int epoch,
                     std::size_t batch, std::size_t batches, std::int64_t step, const TrainConfig& config) {
  std::ostringstream s;
  s << "training stopped: the loss is " << (std::isnan(loss) ? "nan" : loss > 0 ? "inf" : "-inf") << " at epoch " << epoch << ", batch " << batch << "/" << batches
    << " (step " << step << ")\n";
  std::string bad_params;
  for (const auto& p : params)
    if (!all_finite(*p.value)) bad_params += (bad_params.empty() ? "" : ", ") + p.name;
  std::string first_output;
  for (std::size_t i = 0; i < model.size() && first_output.empty(); ++i)
    if (!all_finite(model.output(i)))
      first_output = model.layer(i).name() + " (" + model.layer(i).kind() + ")";
  std::string first_grad;  // the previous step's backward pass, from the loss towards the input
  if (step > 1)
    for (std::size_t i = model.size(); i-- > 0 && first_grad.empty();)
      if (!all_finite(model.output_grad(i)))
        first_grad = model.layer(i).name() + " (" + model.layer(i).kind() + ")";
  if (!first_output.empty()) s << "  first non-finite output in this forward pass: " << first_output << "\n";
  else s << "  every layer's output is finite; the loss itself overflowed (huge logits)\n";
  if (!first_grad.empty()) s << "  first non-finite gradient in the previous backward pass: dL/d(output of " << first_grad << ")\n";
  if (!bad_params.empty()) s << "  parameters already non-finite (the previous update broke them): " << bad_params << "\n";
  s << "  likely causes:\n"
    << "    - the learning rate is too high (now " << config.optimizer.lr
    << (bug_active(Bug::LrTooHigh) ? " x1000 by the injected bug lr-too-high" : "") << "); try a tenth of it, --lr "
    << config.optimizer.lr / 10 << "\n"
    << "    - the inputs are not normalised to [0, 1]" << (bug_active(Bug::InputsNotNormalised) ? " (the injected bug inputs-not-normalised is on)" : "") << "\n"
    << "    - a bad initialisation (try --init auto) or a wrong backward pass (run 'chainrule gradcheck')\n";
  if (!config.run_dir.empty())
    s << "  the checkpoints written before this step are intact in " << config.run_dir << "\n";
  return s.str();
}

// A resume into a folder without best.ckpt (a new --out) gets the best checkpoint so far:
// best.ckpt beside the resumed one when it holds the same best epoch, or the resumed
// checkpoint itself when its last epoch was the best. Otherwise best.ckpt appears with the
// next improvement.
void carry_best_checkpoint(const std::string& resume, const io::Checkpoint& ckpt, const std::string& to) {
  const std::string beside = (std::filesystem::path(resume).parent_path() / "best.ckpt").string();
  if (io::is_regular_file(beside)) {
    try {
      const io::Checkpoint b = io::read_checkpoint(beside);
      if (b.best_val_accuracy == ckpt.best_val_accuracy && b.epoch <= ckpt.epoch) {
        io::write_checkpoint(to, b);
        return;
      }
    } catch (const std::exception&) {
      // an unreadable best.ckpt beside: fall through
    }
  }
  if (!ckpt.history.empty() && ckpt.history.back().val_accuracy == ckpt.best_val_accuracy) io::write_checkpoint(to, ckpt);
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
  if (spec.init != "auto" && spec.init != "he" && spec.init != "glorot")
    throw std::invalid_argument("--init '" + spec.init + "' is unknown; use auto, he or glorot");
  if (optimizer.kind != "sgd" && optimizer.kind != "momentum" && optimizer.kind != "adam")
    throw std::invalid_argument("--optimizer '" + optimizer.kind + "' is unknown; use sgd, momentum or adam");
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
  optimizer.validate();
  double fraction = 0;
  if (validation != "test" && !is_fraction(validation, fraction))
    throw std::invalid_argument("--validation '" + validation +
                                "' must be 'test' or a fraction of the training set in (0, 1), e.g. 0.1");
  if (threads < 0 || threads > kMaxThreads)
    throw std::invalid_argument("--threads must be in 0.." + std::to_string(kMaxThreads) + " (0 = automatic), got " +
                                std::to_string(threads));
  if (log_grads < 0) throw std::invalid_argument("--log-grads must be >= 0, got " + std::to_string(log_grads));
  if (limit < 0) throw std::invalid_argument("--limit must be >= 0, got " + std::to_string(limit));
}

std::vector<std::pair<std::string, std::string>> TrainConfig::settings() const {
  std::string hidden;
  for (int h : spec.hidden) {
    if (!hidden.empty()) hidden.push_back(',');
    hidden.append(std::to_string(h));
  }
  return {{"data_dir", data_dir},
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
  const double slots = config.optimizer.kind == "adam" ? 2 : config.optimizer.kind == "momentum" ? 1 : 0;
  const double copies = 2 + slots + 1 + (config.log_grads > 0 ? 1 : 0);  // P, dL/dP, slots, probe, steps.csv
  const double train_rows = static_cast<double>(std::min<std::size_t>(static_cast<std::size_t>(config.batch), train_samples));
  const double rows = std::max(train_rows, static_cast<double>(std::min<std::size_t>(1000, val_samples)));
  const double floats = params * copies + rows * (s.inputs + widths) + train_rows * (s.inputs + widths);
  return 4.0 * floats;  // float32
}

// ---- Evaluation ----------------------------------------------------------------------

EvalResult evaluate(Sequential<float>& model, const data::ImageSet& set, const std::vector<int>& indices,
                    bool normalise, int batch) {
  EvalResult r;
  const std::size_t n = indices.size();
  r.predicted.resize(n);
  r.labels.resize(n);
  if (n == 0) return r;
  Tensor<float> X;          // (N, D)
  std::vector<int> labels;  // (N)
  SoftmaxCrossEntropy<float> loss;
  double total = 0;
  std::size_t correct = 0;
  const auto B = static_cast<std::size_t>(batch);
  for (std::size_t begin = 0; begin < n; begin += B) {
    const std::size_t end = std::min(n, begin + B);
    data::make_batch(set, indices, begin, end, X, labels, normalise);
    const Tensor<float>& Z = model.forward(X, false);  // (N, C) logits, inference mode
    total += static_cast<double>(loss.forward(Z, labels)) * static_cast<double>(end - begin);
    for (int i = 0; i < Z.rows; ++i) {
      const int p = static_cast<int>(std::max_element(Z.row(i), Z.row(i) + Z.cols) - Z.row(i));
      r.predicted[begin + static_cast<std::size_t>(i)] = p;
      r.labels[begin + static_cast<std::size_t>(i)] = labels[static_cast<std::size_t>(i)];
      correct += p == labels[static_cast<std::size_t>(i)] ? 1 : 0;
    }
  }
  r.loss = total / static_cast<double>(n);
  r.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return r;
}

// ---- The fit loop -----------------------------------------------------------------------

TrainResult fit(const TrainConfig& config, const TrainData& data, std::ostream& log) {
  RunFolder folder;  // stays empty without a run folder
  if (!config.run_dir.empty()) {
    folder = RunFolder(config.run_dir);
    folder.check(config.resume, config.overwrite);
  }
  return fit(config, data, log, folder);
}

TrainResult fit(const TrainConfig& config, const TrainData& data, std::ostream& log, const RunFolder& folder) {
  config.validate();
  if (!data.train || !data.val) throw std::invalid_argument("fit: no training or validation set given");
  if (data.train_indices.empty())
    throw std::invalid_argument("fit: no training samples selected from '" + data.train->images_path + "' (" +
                                std::to_string(data.train->count) + " images)");
  if (data.val_indices.empty())
    throw std::invalid_argument("fit: no validation samples selected from '" + data.val->images_path + "' (" +
                                std::to_string(data.val->count) + " images)");
  if (!config.run_dir.empty() && !(folder.held() && folder.dir() == config.run_dir))
    throw std::invalid_argument("fit: the run folder '" + config.run_dir + "' is not locked (pass its RunFolder)");
  const double bytes = estimate_training_bytes(config, data.train_indices.size(), data.val_indices.size());
  if (bytes > kMaxTrainingBytes)
    throw std::invalid_argument(config.spec.architecture() + " with batch " + std::to_string(config.batch) +
                                " needs about " + num(std::round(bytes / (1024.0 * 1024 * 1024) * 10) / 10) +
                                " GiB (parameters, gradients, optimizer state, activations), above the limit of " +
                                num(kMaxTrainingBytes / (1024.0 * 1024 * 1024)) +
                                " GiB; give smaller --hidden sizes or a smaller --batch");
  set_num_threads(config.threads);
  MlpSpec spec = config.spec;
  spec.seed = config.seed;

  TrainResult result;
  result.model = make_mlp<float>(spec);
  Sequential<float>& model = result.model;
  const std::vector<Param<float>> params = model.params();
  std::unique_ptr<Optimizer> optimizer;
  Rng shuffle_rng(config.seed ^ 0x5EEDF00DULL);  // its own stream, apart from the weights' and dropout's
  std::vector<HistoryRow>& history = result.history;
  double best = -1;
  int start_epoch = 0;

  std::string changed;  // settings this resume changes, "lr 0.001 -> 0.0005, ..."
  io::Checkpoint resumed;  // the checkpoint resumed from (when resuming)
  if (!config.resume.empty()) {
    io::Checkpoint ckpt = io::read_checkpoint(config.resume);
    io::check_architecture(ckpt, spec, config.resume);
    io::restore_model(ckpt, model, config.resume);
    if (ckpt.optimizer.kind != config.optimizer.kind)
      throw io::CheckpointError(config.resume + ": the checkpoint was trained with " + ckpt.optimizer.kind +
                                ", this run asks for " + config.optimizer.kind + "; drop --optimizer to continue");
    for (const auto& [key, value] : config.settings())
      for (const auto& [saved_key, saved_value] : ckpt.config)
        if (key == saved_key && key != "epochs" && value != saved_value)
          changed += (changed.empty() ? "" : ", ") + key + " " + saved_value + " -> " + value;
    const OptimizerConfig saved_optimizer = ckpt.optimizer;
    ckpt.optimizer = config.optimizer;  // the saved state, with this run's lr, momentum, nesterov, betas and eps
    optimizer = io::restore_optimizer(ckpt, params, config.resume);
    ckpt.optimizer = saved_optimizer;
    optimizer->set_lr(config.optimizer.lr);
    const io::NamedRng* g = io::find_rng(ckpt, "shuffle");
    if (!g) throw io::CheckpointError(config.resume + ": the checkpoint has no shuffle RNG state; it cannot be resumed");
    shuffle_rng.set_state(g->state);
    history = ckpt.history;
    best = ckpt.best_val_accuracy;
    start_epoch = ckpt.epoch;
    if (start_epoch >= config.epochs)
      throw std::invalid_argument(config.resume + " has already trained " + std::to_string(start_epoch) +
                                  " epochs; pass --epochs with a larger total to continue");
    resumed = std::move(ckpt);
  } else {
    optimizer = make_optimizer(config.optimizer);
  }
  if (bug_active(Bug::LrTooHigh)) optimizer->set_lr(config.optimizer.lr * 1000);  // injected bug

  const bool normalise = !bug_active(Bug::InputsNotNormalised);  // injected bug: pixels stay 0..255
  const bool misaligned = bug_active(Bug::LabelsMisaligned);
  const std::size_t n = data.train_indices.size();
  const std::size_t B = static_cast<std::size_t>(config.batch);
  const std::size_t batches = data::num_batches(n, B);

  // ---- The run folder ----
  std::unique_ptr<GradStatsLogger> steps_log;
  const std::filesystem::path dir(config.run_dir);
  if (!config.run_dir.empty()) {
    folder.prepare(config.overwrite, log);
    std::string text;
    for (const auto& [k, v] : config.settings()) text += k + " = " + v + "\n";
    text += "architecture = " + spec.architecture() + "\n";
    text += "parameters = " + std::to_string(model.parameter_count()) + "\n";
    text += "threads_used = " + std::to_string(num_threads()) + "\n";
    text += "kernel_path = " + std::string(kernel_path_name(kernel_path())) + "\n";
    text += "train_samples = " + std::to_string(n) + "\n";
    text += "val_samples = " + std::to_string(data.val_indices.size()) + " (" + data.val_name + ")\n";
    text += "injected_bug = " + std::string(bug_name(active_bug())) + "\n";
    if (!config.resume.empty()) text += "resumed_from = " + config.resume + " (epoch " + std::to_string(start_epoch) + ")\n";
    for (const auto& line : data::read_checksums(config.data_dir)) text += "sha256 = " + line + "\n";
    write_file_atomically((dir / "config.txt").string(), text);
    if (!config.resume.empty() && !io::is_regular_file((dir / "best.ckpt").string()))
      carry_best_checkpoint(config.resume, resumed, (dir / "best.ckpt").string());
    if (config.log_grads > 0)
      steps_log = std::make_unique<GradStatsLogger>((dir / "steps.csv").string(), model,
                                                    static_cast<std::int64_t>(start_epoch) * static_cast<std::int64_t>(batches));
  }

  auto save = [&](const std::string& path, int epochs_done) {
    io::Checkpoint c;
    c.spec = spec;
    io::store_model(model, c);
    io::store_optimizer(*optimizer, params, c);
    c.optimizer = config.optimizer;  // the configured lr, without an injected x1000
    c.rngs.push_back({"shuffle", shuffle_rng.state()});
    c.epoch = epochs_done;
    c.best_val_accuracy = best;
    c.history = history;
    c.config = config.settings();
    io::write_checkpoint(path, c);
  };

  log << "chainrule train: " << spec.architecture() << " (" << model.parameter_count() << " parameters), "
      << config.optimizer.describe() << ", batch " << config.batch << ", seed " << config.seed << ", "
      << num_threads() << " thread(s), kernels " << kernel_path_name(kernel_path()) << "\n"
      << "  " << n << " training images, validation: " << data.val_name << " (" << data.val_indices.size()
      << " images)";
  if (!config.resume.empty()) log << ", resuming from " << config.resume << " after epoch " << start_epoch;
  if (!changed.empty()) log << "\n  changed on resume: " << changed;
  if (active_bug() != Bug::None) log << "\n  injected bug: " << bug_name(active_bug());
  log << "\n" << std::flush;

  // Buffers reused by every step (allocated by the first one).
  std::vector<int> order;
  order.reserve(n);
  Tensor<float> X;          // (N, D)
  std::vector<int> labels;  // (N)
  Tensor<float> dZ;         // (N, C)
  SoftmaxCrossEntropy<float> loss_fn;
  ProgressBar progress(log, config.progress_bar);

  // Diagnostics (train/monitor.hpp): the loss of every step, and a probe of the
  // gradients, updates and activations at step 1 and every probe_every steps.
  MonitorSettings monitor_settings;
  monitor_settings.classes = spec.classes;
  monitor_settings.optimizer = config.optimizer.kind;
  monitor_settings.lr = optimizer->config().lr;
  Monitor monitor(monitor_settings);
  ProbeRecorder probe;
  const std::int64_t probe_every = config.log_grads > 0 ? config.log_grads : 50;
  std::string live_checks =  // what only a live run can measure, for diagnostics.txt
      "effective_lr " + std::to_string(optimizer->config().lr) + "\n";
  auto report_findings = [&] {
    const auto fresh = monitor.take_new_findings();
    for (const auto& f : fresh)
      log << "warning: " << f.title << " [" << f.id << "]\n  evidence: " << f.evidence << "\n  try: " << f.advice << "\n";
    if (!fresh.empty() && !config.run_dir.empty()) {
      std::string text = live_checks;
      for (const auto& f : monitor.findings()) text += "finding " + f.id + ": " + f.title + "; " + f.evidence + "\n";
      write_file_atomically((dir / "diagnostics.txt").string(), text);
    }
    if (!fresh.empty()) log << std::flush;
  };

  for (int epoch = start_epoch + 1; epoch <= config.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    order.assign(data.train_indices.begin(), data.train_indices.end());
    data::shuffle(order, shuffle_rng);
    progress.begin_epoch(epoch, config.epochs, batches);
    double loss_sum = 0, acc_sum = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      const std::int64_t step = static_cast<std::int64_t>(epoch - 1) * static_cast<std::int64_t>(batches) +
                                static_cast<std::int64_t>(b) + 1;
      data::make_batch(*data.train, order, b * B, std::min(n, (b + 1) * B), X, labels, normalise);
      if (b + 1 < batches) data::prefetch_batch(*data.train, order, (b + 1) * B, std::min(n, (b + 2) * B));
      if (misaligned && !labels.empty()) std::rotate(labels.begin(), labels.begin() + 1, labels.end());  // injected bug

      model.zero_grad();
      const Tensor<float>& Z = model.forward(X, true);  // (N, C)
      const double loss = loss_fn.forward(Z, labels);
      monitor.on_step(step, loss);
      if (!std::isfinite(loss)) {
        if (config.progress_bar) log << "\n";
        report_findings();
        result.diverged = true;
        result.diagnosis = diagnose(model, params, loss, epoch, b + 1, batches, step, config);
        return result;
      }
      loss_fn.backward(dZ);
      model.backward(dZ);
      const bool logged = steps_log && (step == 1 || step % config.log_grads == 0);
      const bool probed = step == 1 || step % probe_every == 0;
      if (logged) steps_log->before_update(params);
      if (probed) probe.before_update(params);
      optimizer->step(params);
      if (logged) steps_log->after_update(step, epoch, loss, params, model, loss_fn.probs());
      if (probed) {
        monitor.on_probe(probe.after_update(step, params, model, loss_fn.probs()));
        if (step == 1 && config.optimizer.kind == "adam") {
          const double scale = probe.largest_change() / optimizer->config().lr;
          live_checks += "adam-first-step " + std::to_string(scale) + "\n";
          monitor.on_adam_first_step(scale);
        }
      }

      const Tensor<float>& P = loss_fn.probs();  // (N, C)
      int correct = 0;
      for (int i = 0; i < P.rows; ++i)
        correct += std::max_element(P.row(i), P.row(i) + P.cols) - P.row(i) == labels[static_cast<std::size_t>(i)] ? 1 : 0;
      loss_sum += loss;
      acc_sum += static_cast<double>(correct) / P.rows;
      progress.step(b + 1, loss_sum / static_cast<double>(b + 1), acc_sum / static_cast<double>(b + 1));
    }
    const EvalResult val = evaluate(model, *data.val, data.val_indices, normalise);
    HistoryRow row;
    row.epoch = epoch;
    row.loss = loss_sum / static_cast<double>(batches);
    row.accuracy = acc_sum / static_cast<double>(batches);
    row.val_loss = val.loss;
    row.val_accuracy = val.accuracy;
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    history.push_back(row);
    const bool improved = row.val_accuracy > best;
    if (improved) best = row.val_accuracy;
    if (!config.run_dir.empty()) {
      if (steps_log) steps_log->sync();  // the steps a checkpoint covers are on disk before it
      write_file_atomically((dir / "history.csv").string(), history_csv(history));
      save((dir / "last.ckpt").string(), epoch);
      if (improved) save((dir / "best.ckpt").string(), epoch);
    }
    progress.end_epoch(row);
    report_findings();
  }
  return result;
}

}  // namespace chainrule::train
