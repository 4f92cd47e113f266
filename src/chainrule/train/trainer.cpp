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

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/bugs/pipeline.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/loss.hpp"
#include "chainrule/train/callbacks.hpp"
#include "chainrule/network.hpp"
#include "chainrule/train/gradstats.hpp"
#include "chainrule/train/monitor.hpp"
#include "chainrule/train/progress.hpp"
#include "chainrule/train/schedule.hpp"
#include "chainrule/train/shards.hpp"
#include "chainrule/train/step.hpp"

namespace chainrule::train {

using io::history_csv;
using io::write_file_atomically;

namespace {

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

// The best.ckpt of the run `ckpt` belongs to, when `path` holds it: a checkpoint of epoch
// best_epoch whose history is that of ckpt up to there (not a best.ckpt of another run).
bool is_best_of(const std::string& path, const io::Checkpoint& ckpt, int best_epoch, io::Checkpoint& out) {
  if (best_epoch < 1 || best_epoch > static_cast<int>(ckpt.history.size()) || !io::is_regular_file(path)) return false;
  try {
    io::Checkpoint b = io::read_checkpoint(path);
    if (b.epoch != best_epoch || b.history.size() != static_cast<std::size_t>(best_epoch)) return false;
    for (std::size_t i = 0; i < b.history.size(); ++i)
      if (b.history[i].val_loss != ckpt.history[i].val_loss || b.history[i].val_accuracy != ckpt.history[i].val_accuracy)
        return false;
    out = std::move(b);
    return true;
  } catch (const std::exception&) {
    return false;  // an unreadable best.ckpt is no best.ckpt
  }
}

// A resume into a folder without best.ckpt (a new --out) gets the best checkpoint so far:
// best.ckpt beside the resumed one when it holds the best epoch, or the resumed checkpoint
// itself when its last epoch was the best. Otherwise best.ckpt appears with the next
// improvement.
void carry_best_checkpoint(const std::string& resume, const io::Checkpoint& ckpt, int best_epoch, const std::string& to) {
  const std::string beside = (std::filesystem::path(resume).parent_path() / "best.ckpt").string();
  io::Checkpoint b;
  if (is_best_of(beside, ckpt, best_epoch, b)) io::write_checkpoint(to, b);
  else if (best_epoch >= 1 && ckpt.epoch == best_epoch) io::write_checkpoint(to, ckpt);
}

}  // namespace

// ---- Evaluation ----------------------------------------------------------------------

EvalResult evaluate(Sequential<float>& model, const data::ImageSet& set, const std::vector<int>& indices, int batch,
                    bugs::MakeBatch make_batch) {
  EvalResult r;
  const std::size_t n = indices.size();
  r.predicted.resize(n);
  r.labels.resize(n);
  if (n == 0) return r;
  Tensor<float> X;          // (N, D)
  std::vector<int> labels;  // (N)
  auto loss_fn = parts<float>().softmax_cross_entropy();
  SoftmaxCrossEntropy<float>& loss = *loss_fn;
  double total = 0;
  std::size_t correct = 0;
  const auto B = static_cast<std::size_t>(batch);
  for (std::size_t begin = 0; begin < n; begin += B) {
    const std::size_t end = std::min(n, begin + B);
    make_batch(set, indices, begin, end, X, labels);
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

namespace {

// Everything a run keeps between its steps and epochs: the model, the optimizer, the shuffle,
// the history, the run folder and the diagnostics. Built once; fit() below is its loop.
class Run {
 public:
  Run(const TrainConfig& config, const TrainData& data, const RunFolder& folder, std::ostream& log)
      : config_(config), data_(data), log_(log), dir_(config.run_dir), pipeline_(bugs::pipeline()),
        watch_(config.monitor, config.min_delta, config.early_stopping) {
    spec_ = config.spec;
    spec_.seed = config.seed;
    if (!config.resume.empty()) {  // check the checkpoint before building anything from it
      resumed_ = io::read_checkpoint(config.resume);
      io::check_architecture(resumed_, spec_, config.resume);
      io::check_finite(resumed_, config.resume);
    }
    result.model = make_model<float>(spec_);  // the MLP, or a layer list (network.hpp)
    params_ = result.model.params();
    if (config.resume.empty()) {
      if (pipeline_.dead_init) bugs::kill_hidden_units(result.model);
      optimizer_ = make_optimizer(config.optimizer);
    } else {
      resume();
    }
    if (pipeline_.lr_factor != 1) optimizer_->set_lr(config.optimizer.lr * pipeline_.lr_factor);
    batches_ = data::num_batches(data.train_indices.size(), static_cast<std::size_t>(config.batch));
    if (!config.run_dir.empty()) start_folder(folder);
    if (config.restore_best && !config.resume.empty()) keep_resumed_best();
    print_header();
    start_diagnostics();
  }

  const bugs::Pipeline& pipeline() const { return pipeline_; }
  Optimizer& optimizer() { return *optimizer_; }
  const std::vector<Param<float>>& params() const { return params_; }
  int start_epoch() const { return start_epoch_; }
  std::size_t batches() const { return batches_; }
  Rng& shuffle_rng() { return shuffle_rng_; }

  // The diagnostics' view of step `step`: the live monitor, steps.csv and the probe.
  void before_update(std::int64_t step, double loss) {
    monitor_->on_step(step, loss);
    logged_ = steps_log_ && (step == 1 || step % config_.log_grads == 0);
    probed_ = step == 1 || step % probe_every_ == 0;
    if (logged_) steps_log_->before_update(params_);
    if (probed_) probe_.before_update(params_);
  }
  void after_update(std::int64_t step, int epoch, double loss, const Tensor<float>& P) {
    if (logged_) steps_log_->after_update(step, epoch, loss, params_, result.model, P);
    if (!probed_) return;
    monitor_->on_probe(probe_.after_update(step, params_, result.model, P));
    if (step == 1 && config_.optimizer.kind == "adam") {
      const double scale = probe_.largest_change() / optimizer_->config().lr;
      live_checks_ += "adam-first-step " + std::to_string(scale) + "\n";
      monitor_->on_adam_first_step(scale);
    }
  }

  // A non-finite loss: say where it started and what to try, and stop.
  void diverged(std::int64_t step, double loss, int epoch, std::size_t batch) {
    monitor_->on_step(step, loss);
    if (config_.progress_bar) log_ << "\n";
    report_findings();
    result.diverged = true;
    result.diagnosis = diagnose(result.model, params_, loss, epoch, batch, batches_, step, config_);
  }

  // The end of an epoch: validation, the history row, history.csv and the checkpoints.
  HistoryRow end_epoch(int epoch, double loss, double accuracy, std::chrono::steady_clock::time_point t0) {
    const EvalResult val = evaluate(result.model, *data_.val, data_.val_indices, 1000, pipeline_.eval_batch);
    HistoryRow row;
    row.epoch = epoch;
    row.loss = loss;
    row.accuracy = accuracy;
    row.val_loss = val.loss;
    row.val_accuracy = val.accuracy;
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    row.lr = optimizer_->config().lr;  // the rate this epoch's steps used
    best_ = std::max(best_, row.val_accuracy);
    const bool improved = watch_.observe(row);  // --monitor, --min-delta (train/callbacks.hpp)
    if (watch_.should_stop()) row.stop = io::kStopEarly;
    else if (epoch == config_.epochs) row.stop = io::kStopEpochs;
    result.history.push_back(row);
    if (improved && config_.restore_best) copy_weights(best_weights_);
    if (!config_.run_dir.empty()) {
      if (steps_log_) steps_log_->sync();  // the steps a checkpoint covers are on disk before it
      write_file_atomically((dir_ / "history.csv").string(), history_csv(result.history));
      save((dir_ / "last.ckpt").string(), epoch);
      if (improved) save((dir_ / "best.ckpt").string(), epoch);
    }
    return row;
  }

  // True when --early-stopping's patience has run out.
  bool stop_early() const { return watch_.should_stop(); }

  // The end of the run: say why it stopped, and with --restore-best put the best epoch's
  // weights back into the model (last.ckpt keeps the last epoch's, to resume from).
  void finish() {
    result.best_epoch = watch_.best_epoch();
    if (!result.history.empty()) result.stop = result.history.back().stop;
    if (watch_.should_stop()) log_ << "Early stopping after epoch " << result.history.back().epoch << ": " << watch_.stop_message() << "\n";
    if (config_.restore_best && watch_.best_epoch() > 0) {
      if (best_weights_.empty()) {
        log_ << "warning: --restore-best: the weights of epoch " << watch_.best_epoch()
             << " are not at hand (no best.ckpt of this run); keeping the last epoch's\n";
      } else {
        put_weights(best_weights_);
        result.restored = true;
        log_ << "Restored the weights of epoch " << watch_.best_epoch() << " (best " << watch_.monitor() << ")\n";
      }
    }
    log_ << std::flush;
  }

  // A non-finite loss in the epoch after the last row: history.csv says so (the checkpoints
  // stay as they were, so the run can be resumed with other settings).
  void mark_diverged() {
    if (result.history.empty() || config_.run_dir.empty()) return;
    result.history.back().stop = io::kStopDiverged;
    write_file_atomically((dir_ / "history.csv").string(), history_csv(result.history));
  }

  void report_findings() {
    const auto fresh = monitor_->take_new_findings();
    for (const auto& f : fresh)
      log_ << "warning: " << f.title << " [" << f.id << "]\n  evidence: " << f.evidence << "\n  try: " << f.advice << "\n";
    if (!fresh.empty() && !config_.run_dir.empty()) {
      std::string text = live_checks_;
      for (const auto& f : monitor_->findings()) text += "finding " + f.id + ": " + f.title + "; " + f.evidence + "\n";
      write_file_atomically((dir_ / "diagnostics.txt").string(), text);
    }
    if (!fresh.empty()) log_ << std::flush;
  }

  TrainResult result;

 private:
  void resume() {
    io::Checkpoint& ckpt = resumed_;
    io::restore_model(ckpt, result.model, config_.resume);
    if (ckpt.optimizer.kind != config_.optimizer.kind)
      throw io::CheckpointError(config_.resume + ": the checkpoint was trained with " + ckpt.optimizer.kind +
                                ", this run asks for " + config_.optimizer.kind + "; drop --optimizer to continue");
    for (const auto& [key, value] : config_.settings())
      for (const auto& [saved_key, saved_value] : ckpt.config)
        if (key == saved_key && key != "epochs" && value != saved_value)
          changed_ += (changed_.empty() ? "" : ", ") + key + " " + saved_value + " -> " + value;
    const OptimizerConfig saved_optimizer = ckpt.optimizer;
    ckpt.optimizer = config_.optimizer;  // the saved state, with this run's lr, momentum, nesterov, betas and eps
    optimizer_ = io::restore_optimizer(ckpt, params_, config_.resume);
    ckpt.optimizer = saved_optimizer;
    optimizer_->set_lr(config_.optimizer.lr);
    const io::NamedRng* g = io::find_rng(ckpt, "shuffle");
    if (!g) throw io::CheckpointError(config_.resume + ": the checkpoint has no shuffle RNG state; it cannot be resumed");
    shuffle_rng_.set_state(g->state);
    result.history = ckpt.history;
    if (!result.history.empty()) result.history.back().stop.clear();  // it goes on from here
    best_ = ckpt.best_val_accuracy;
    start_epoch_ = ckpt.epoch;
    if (start_epoch_ >= config_.epochs)
      throw std::invalid_argument(config_.resume + " has already trained " + std::to_string(start_epoch_) +
                                  " epochs; pass --epochs with a larger total to continue");
    watch_.replay(result.history);  // best epoch and patience, as the run left them
    if (watch_.should_stop())
      throw std::invalid_argument(config_.resume + " stopped early: " + watch_.stop_message() +
                                  "; pass a larger --early-stopping (or 0 for none) to continue");
  }

  // With --restore-best on a resume, the best epoch's weights so far: the resumed
  // checkpoint's own when its last epoch is the best, else those of the run's best.ckpt.
  void keep_resumed_best() {
    const int best = watch_.best_epoch();
    if (best == 0) return;
    if (best == start_epoch_) {
      copy_weights(best_weights_);
      return;
    }
    io::Checkpoint b;
    for (const std::string& path : {config_.run_dir.empty() ? std::string() : (dir_ / "best.ckpt").string(),
                                    (std::filesystem::path(config_.resume).parent_path() / "best.ckpt").string()})
      if (!path.empty() && is_best_of(path, resumed_, best, b)) {
        best_weights_.clear();
        for (const auto& t : b.tensors) best_weights_.push_back(t.value);
        return;
      }
  }

  // The model's parameters, then its buffers (as a checkpoint holds them).
  void copy_weights(std::vector<Tensor<float>>& to) {
    to.clear();
    for (const auto& p : result.model.params()) to.push_back(*p.value);
    for (const auto& b : result.model.buffers()) to.push_back(*b.value);
  }
  void put_weights(const std::vector<Tensor<float>>& from) {
    std::size_t k = 0;
    for (const auto& p : result.model.params()) p.value->data = from[k++].data;
    for (const auto& b : result.model.buffers()) b.value->data = from[k++].data;
  }

  void start_folder(const RunFolder& folder) {
    folder.prepare(config_.overwrite, log_);
    std::string text;
    for (const auto& [k, v] : config_.settings()) text += k + " = " + v + "\n";
    text += "architecture = " + spec_.architecture() + "\n";
    text += "parameters = " + std::to_string(result.model.parameter_count()) + "\n";
    text += "threads_used = " + std::to_string(num_threads()) + "\n";
    text += "kernel_path = " + std::string(kernel_path_name(kernel_path())) + "\n";
    text += "train_samples = " + std::to_string(data_.train_indices.size()) + "\n";
    text += "val_samples = " + std::to_string(data_.val_indices.size()) + " (" + data_.val_name + ")\n";
    text += "injected_bug = " + std::string(bug_name(active_bug())) + "\n";
    if (!config_.resume.empty())
      text += "resumed_from = " + config_.resume + " (epoch " + std::to_string(start_epoch_) + ")\n";
    for (const auto& line : data::read_checksums(config_.data_dir)) text += "sha256 = " + line + "\n";
    write_file_atomically((dir_ / "config.txt").string(), text);
    if (!config_.resume.empty() && !io::is_regular_file((dir_ / "best.ckpt").string()))
      carry_best_checkpoint(config_.resume, resumed_, watch_.best_epoch(), (dir_ / "best.ckpt").string());
    if (config_.log_grads > 0)
      steps_log_ = std::make_unique<GradStatsLogger>(
          (dir_ / "steps.csv").string(), result.model,
          static_cast<std::int64_t>(start_epoch_) * static_cast<std::int64_t>(batches_));
  }

  void print_header() {
    log_ << "chainrule train: " << spec_.architecture() << " (" << result.model.parameter_count() << " parameters), "
         << config_.optimizer.describe() << ", batch " << config_.batch << ", seed " << config_.seed << ", "
         << num_threads() << " thread(s), kernels " << kernel_description() << "\n"
         << "  " << data_.train_indices.size() << " training images, validation: " << data_.val_name << " ("
         << data_.val_indices.size() << " images)";
    if (!config_.resume.empty()) log_ << ", resuming from " << config_.resume << " after epoch " << start_epoch_;
    if (!changed_.empty()) log_ << "\n  changed on resume: " << changed_;
    // --weight-decay and --lr-schedule, when set: what the printed loss holds, and the schedule.
    if (config_.optimizer.weight_decay > 0 && config_.optimizer.kind == "adamw")
      log_ << "\n  weight decay: decoupled (adamw), on the weight matrices; loss is the cross-entropy alone";
    else if (config_.optimizer.weight_decay > 0)
      log_ << "\n  weight decay: L2 on the weight matrices; loss = cross-entropy + " << config_.optimizer.weight_decay
           << "/2 ||W||^2 (val_loss is the cross-entropy alone)";
    if (config_.lr_schedule != "constant") log_ << "\n  lr schedule: " << config_.lr_schedule;
    if (active_bug() != Bug::None) log_ << "\n  injected bug: " << bug_name(active_bug());
    if (config_.shards > 1 || config_.rank >= 0)
      log_ << "\n  data parallel: each batch in " << config_.shards << " shard(s), "
           << (config_.rank >= 0 ? "one per MPI rank" : "all in this process") << ", gradients added in shard order";
    if (config_.validation == "test")
      log_ << "\nwarning: validating on the test set: the epoch of best.ckpt"
           << (config_.early_stopping > 0 ? " and the one early stopping stops at are" : " is") << " chosen by test "
           << config_.monitor.substr(4)
           << ", so their test accuracy overstates the accuracy on new digits (hold out --validation 0.1 instead)";
    log_ << "\n" << std::flush;
  }

  // Diagnostics (train/monitor.hpp): the loss of every step, and a probe of the
  // gradients, updates and activations at step 1 and every probe_every steps.
  void start_diagnostics() {
    MonitorSettings settings;
    settings.classes = spec_.classes;
    settings.optimizer = config_.optimizer.kind;
    settings.lr = optimizer_->config().lr;
    monitor_ = std::make_unique<Monitor>(settings);
    probe_every_ = config_.log_grads > 0 ? config_.log_grads : 50;
    live_checks_ = "effective_lr " + std::to_string(optimizer_->config().lr) + "\n";  // for diagnostics.txt
  }

  void save(const std::string& path, int epochs_done) {
    io::Checkpoint c;
    c.spec = spec_;
    io::store_model(result.model, c);
    io::store_optimizer(*optimizer_, params_, c);
    c.optimizer = config_.optimizer;  // the configured lr, without an injected x1000
    c.rngs.push_back({"shuffle", shuffle_rng_.state()});
    c.epoch = epochs_done;
    c.best_val_accuracy = best_;
    c.history = result.history;
    c.config = config_.settings();
    io::write_checkpoint(path, c);
  }

  const TrainConfig& config_;
  const TrainData& data_;
  std::ostream& log_;
  const std::filesystem::path dir_;
  const bugs::Pipeline pipeline_;  // the injected pipeline bug, if any, read once
  EpochWatch watch_;               // the best epoch and early stopping (train/callbacks.hpp)
  std::vector<Tensor<float>> best_weights_;  // with --restore-best: the best epoch's parameters and buffers
  MlpSpec spec_;
  std::vector<Param<float>> params_;
  std::unique_ptr<Optimizer> optimizer_;
  Rng shuffle_rng_{config_.seed ^ 0x5EEDF00DULL};  // its own stream, apart from the weights' and dropout's
  double best_ = -1;  // the best val_accuracy so far (the checkpoints' best_val_accuracy)
  int start_epoch_ = 0;
  std::size_t batches_ = 0;
  std::string changed_;     // settings this resume changes, "lr 0.001 -> 0.0005, ..."
  io::Checkpoint resumed_;  // the checkpoint resumed from (when resuming)
  std::unique_ptr<GradStatsLogger> steps_log_;
  std::unique_ptr<Monitor> monitor_;
  ProbeRecorder probe_;
  std::int64_t probe_every_ = 50;
  std::string live_checks_;  // what only a live run can measure, for diagnostics.txt
  bool logged_ = false, probed_ = false;
};

void check_data(const TrainConfig& config, const TrainData& data, const RunFolder& folder) {
  if (!data.train || !data.val) throw std::invalid_argument("fit: no training or validation set given");
  if (data.train_indices.empty())
    throw std::invalid_argument("fit: no training samples selected from '" + data.train->images_path + "' (" +
                                std::to_string(data.train->count) + " images)");
  if (data.val_indices.empty())
    throw std::invalid_argument("fit: no validation samples selected from '" + data.val->images_path + "' (" +
                                std::to_string(data.val->count) + " images)");
  if (!config.run_dir.empty() && !(folder.held() && folder.dir() == config.run_dir))
    throw std::invalid_argument("fit: the run folder '" + config.run_dir + "' is not locked (pass its RunFolder)");
  check_training_memory(config, data.train_indices.size(), data.val_indices.size());
}

}  // namespace

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
  check_data(config, data, folder);
  const bool sharded = config.shards > 1 || config.rank >= 0;  // --shards P or --data-parallel
  set_num_threads(config.threads);
  Run run(config, data, folder, log);

  const std::size_t n = data.train_indices.size(), B = static_cast<std::size_t>(config.batch);
  std::vector<int> order;   // this epoch's shuffle of the training samples
  Tensor<float> X;          // (N, D) the batch, reused
  std::vector<int> labels;  // (N)
  auto loss_fn = parts<float>().softmax_cross_entropy();
  Step step{run.result.model, *loss_fn, run.optimizer(), run.params(), run.pipeline().zero_grads, {}, {}, {}};
  ProgressBar progress(log, config.progress_bar);
  std::int64_t t = 0;  // the step number, from 1 over the whole run
  int epoch = 0;
  step.before_update = [&](double loss) { run.before_update(t, loss); };  // set once: no work per step
  step.after_update = [&](double loss) { run.after_update(t, epoch, loss, loss_fn->probs()); };
  // --weight-decay with sgd, momentum or adam: the L2 term in the loss (penalty.hpp); adamw decays in its step.
  const L2Penalty<float> penalty(config.optimizer.weight_decay);
  if (config.optimizer.weight_decay > 0 && config.optimizer.kind != "adamw") step.penalty = &penalty;
  const LrSchedule schedule = parse_lr_schedule(config.lr_schedule);  // --lr-schedule (train/schedule.hpp)
  ShardedStep shards{step, config.shards, config.rank, config.exchange, {}, {}, {}, {}};  // train/shards.hpp

  for (epoch = run.start_epoch() + 1; epoch <= config.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    if (schedule.kind != "constant")  // this epoch's rate, from the settings and the history so far
      run.optimizer().set_lr(scheduled_lr(schedule, config.optimizer.lr, epoch, config.epochs, run.result.history) *
                             run.pipeline().lr_factor);
    order.assign(data.train_indices.begin(), data.train_indices.end());
    data::shuffle(order, run.shuffle_rng());
    progress.begin_epoch(epoch, config.epochs, run.batches());
    double loss_sum = 0, acc_sum = 0;
    for (std::size_t b = 0; b < run.batches(); ++b) {
      t = static_cast<std::int64_t>(epoch - 1) * static_cast<std::int64_t>(run.batches()) + static_cast<std::int64_t>(b) + 1;
      run.pipeline().train_batch(*data.train, order, b * B, std::min(n, (b + 1) * B), X, labels);

      const StepResult r = sharded ? sharded_step(shards, X, labels) : train_step(step, X, labels);
      if (!r.finite) {
        run.diverged(t, r.loss, epoch, b + 1);
        run.mark_diverged();
        return std::move(run.result);
      }
      loss_sum += r.loss + r.penalty;  // history's loss includes --weight-decay's L2 term (0 without it)
      acc_sum += static_cast<double>(r.correct) / static_cast<double>(labels.size());
      progress.step(b + 1, loss_sum / static_cast<double>(b + 1), acc_sum / static_cast<double>(b + 1));
    }
    const double batches = static_cast<double>(run.batches());
    progress.end_epoch(run.end_epoch(epoch, loss_sum / batches, acc_sum / batches, t0));
    run.report_findings();
    if (run.stop_early()) break;
  }
  run.finish();
  return std::move(run.result);
}

}  // namespace chainrule::train
