// Tests for src/chainrule/train: the fit loop on a small synthetic data set held in memory
// (no MNIST needed): the loss falls, resume is bit-exact, non-finite losses stop the run.
#include <doctest/doctest.h>

#include "../../support/small_runs.hpp"
#include "../../support/test_dir.hpp"
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/bugs/bugs.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/kernels.hpp"
#include "chainrule/train/gradstats.hpp"
#include "chainrule/train/trainer.hpp"

namespace fs = std::filesystem;
using namespace chainrule;
using chainrule::testing::has_setting;
using chainrule::testing::read_file;
using chainrule::testing::Synthetic;
using chainrule::testing::two_patterns;

namespace {

std::string tmp_dir(const std::string& name) { return chainrule::testing::fresh_dir("trainer", name).string(); }

train::TrainConfig small_config() {
  train::TrainConfig c = testing::small_config();
  c.epochs = 4;
  return c;
}

bool same_weights(Sequential<float>& a, Sequential<float>& b) {
  auto pa = a.params(), pb = b.params();
  auto ba = a.buffers(), bb = b.buffers();
  if (pa.size() != pb.size() || ba.size() != bb.size()) return false;
  for (std::size_t k = 0; k < pa.size(); ++k)
    if (pa[k].value->data != pb[k].value->data) return false;
  for (std::size_t k = 0; k < ba.size(); ++k)
    if (ba[k].value->data != bb[k].value->data) return false;
  return true;
}

}  // namespace

TEST_CASE("fit: the loss falls and the synthetic patterns are learned") {
  Synthetic s;
  std::ostringstream log;
  auto result = train::fit(small_config(), s.data(), log);
  REQUIRE(result.history.size() == 4);
  CHECK_FALSE(result.diverged);
  CHECK(result.history.back().loss < 0.5 * result.history.front().loss);
  CHECK(result.history.back().val_accuracy >= 0.95);
  CHECK(log.str().find("Epoch 4/4") != std::string::npos);  // one plain line per epoch
  // evaluate() agrees with the last validation row.
  const auto eval = train::evaluate(result.model, s.val, data::all_indices(s.val.count));
  CHECK(eval.accuracy == result.history.back().val_accuracy);
  CHECK(eval.loss == doctest::Approx(result.history.back().val_loss));
  CHECK(eval.predicted.size() == 64);
}

TEST_CASE("fit: with the injected bug labels-misaligned the model cannot learn") {
  Synthetic s;
  std::ostringstream log;
  ScopedBug bug(Bug::LabelsMisaligned);
  const auto result = train::fit(small_config(), s.data(), log);
  CHECK(result.history.back().val_accuracy < 0.8);  // near chance (0.5); 1.0 without the bug
}

TEST_CASE("resume: 3 epochs, stop, resume to 6 gives the same history, weights and steps.csv as 6 at once") {
  Synthetic s;
  train::TrainConfig c = small_config();
  c.spec.dropout = 0.2;    // its RNG must resume too
  c.spec.batchnorm = true;  // and its running statistics
  c.log_grads = 5;
  c.epochs = 6;
  std::ostringstream log;

  c.run_dir = tmp_dir("straight");
  auto straight = train::fit(c, s.data(), log);

  c.run_dir = tmp_dir("resumed");
  c.epochs = 3;
  train::fit(c, s.data(), log);
  CHECK(io::read_checkpoint(c.run_dir + "/last.ckpt").epoch == 3);
  c.epochs = 6;
  c.resume = c.run_dir + "/last.ckpt";
  auto resumed = train::fit(c, s.data(), log);

  REQUIRE(straight.history.size() == 6);
  REQUIRE(resumed.history.size() == 6);
  for (std::size_t k = 0; k < 6; ++k) {
    CAPTURE(k);
    CHECK(resumed.history[k].epoch == straight.history[k].epoch);
    CHECK(resumed.history[k].loss == straight.history[k].loss);  // exact, not approximate
    CHECK(resumed.history[k].accuracy == straight.history[k].accuracy);
    CHECK(resumed.history[k].val_loss == straight.history[k].val_loss);
    CHECK(resumed.history[k].val_accuracy == straight.history[k].val_accuracy);
  }
  CHECK(same_weights(straight.model, resumed.model));
  const fs::path base = fs::path(CHAINRULE_TEST_TMP) / "trainer";
  const std::string steps = read_file((base / "straight" / "steps.csv").string());
  CHECK(std::count(steps.begin(), steps.end(), '\n') == 1 + 1 + 6 * 16 / 5);  // header, step 1, every 5th step
  CHECK(read_file((base / "resumed" / "steps.csv").string()) == steps);
  CHECK(read_file((base / "resumed" / "last.ckpt").string()).size() ==
        read_file((base / "straight" / "last.ckpt").string()).size());
}

TEST_CASE("fit writes history.csv, config.txt, steps.csv and checkpoints into the run folder") {
  Synthetic s;
  train::TrainConfig c = small_config();
  c.epochs = 2;
  c.log_grads = 4;
  c.run_dir = tmp_dir("files");
  std::ostringstream log;
  auto result = train::fit(c, s.data(), log);
  const std::string history = read_file(c.run_dir + "/history.csv");
  CHECK(history.rfind("epoch,loss,accuracy,val_loss,val_accuracy,seconds,lr,stop\n1,", 0) == 0);
  CHECK(std::count(history.begin(), history.end(), '\n') == 3);
  const std::string config = read_file(c.run_dir + "/config.txt");
  CHECK(config.find("architecture = 16-8-2\n") != std::string::npos);
  CHECK(config.find("optimizer = adam\n") != std::string::npos);
  CHECK(config.find("seed = 5\n") != std::string::npos);
  const std::string steps = read_file(c.run_dir + "/steps.csv");
  CHECK(std::count(steps.begin(), steps.end(), '\n') == 1 + 1 + 2 * 16 / 4);  // header, step 1, every 4th of 32 steps
  CHECK(steps.find("\n4,1,") != std::string::npos);
  CHECK(steps.find("\n32,2,") != std::string::npos);
  CHECK_FALSE(fs::exists(c.run_dir + "/history.csv.tmp"));
  const io::Checkpoint last = io::read_checkpoint(c.run_dir + "/last.ckpt");
  CHECK(last.epoch == 2);
  CHECK(last.history.size() == 2);
  const io::Checkpoint best = io::read_checkpoint(c.run_dir + "/best.ckpt");
  CHECK(best.best_val_accuracy == std::max(result.history[0].val_accuracy, result.history[1].val_accuracy));
}

TEST_CASE("steps.csv has the exact wide header the plot scripts read") {
  MlpSpec spec;  // 784-128-10
  auto model = make_mlp<float>(spec);
  CHECK(train::steps_csv_header(model) ==
        "step,epoch,loss,"
        "dense1.W:grad_mean,dense1.W:grad_std,dense1.W:grad_norm,dense1.W:update_ratio,"
        "dense1.b:grad_mean,dense1.b:grad_std,dense1.b:grad_norm,dense1.b:update_ratio,"
        "dense2.W:grad_mean,dense2.W:grad_std,dense2.W:grad_norm,dense2.W:update_ratio,"
        "dense2.b:grad_mean,dense2.b:grad_std,dense2.b:grad_norm,dense2.b:update_ratio,"
        "relu1:dead_fraction,softmax_saturation,"
        "relu1:act_std,dense1:dz_std,dense2:dz_std");
  spec.batchnorm = true;
  auto bn = make_mlp<float>(spec);
  const std::string h = train::steps_csv_header(bn);
  CHECK(h.find("dense1.b:update_ratio,batchnorm1.gamma:grad_mean") != std::string::npos);
  CHECK(h.find("batchnorm1.beta:update_ratio,dense2.W:grad_mean") != std::string::npos);
  Tensor<float> P(2, 3);
  P.data = {0.995f, 0.004f, 0.001f, 0.5f, 0.3f, 0.2f};
  CHECK(train::softmax_saturation(P) == 0.5);
}

TEST_CASE("a non-finite loss stops training, names the layer, and keeps the checkpoints intact") {
  Synthetic s;
  train::TrainConfig c = small_config();
  c.optimizer.kind = "sgd";
  c.optimizer.lr = 0.1;
  c.epochs = 1;
  c.run_dir = tmp_dir("diverge");
  std::ostringstream log;
  train::fit(c, s.data(), log);
  const std::string ckpt_before = read_file(c.run_dir + "/last.ckpt");

  c.epochs = 3;
  c.resume = c.run_dir + "/last.ckpt";
  c.optimizer.lr = 1e30;  // every update overflows
  const auto result = train::fit(c, s.data(), log);
  CHECK(result.diverged);
  CHECK(result.history.size() == 1);
  CHECK(result.diagnosis.find("training stopped: the loss is") != std::string::npos);
  CHECK(result.diagnosis.find("epoch 2") != std::string::npos);
  CHECK(result.diagnosis.find("first non-finite output in this forward pass: dense") != std::string::npos);
  CHECK(result.diagnosis.find("learning rate is too high") != std::string::npos);
  CHECK(read_file(c.run_dir + "/last.ckpt") == ckpt_before);
  CHECK(io::read_checkpoint(c.run_dir + "/last.ckpt").epoch == 1);
}

TEST_CASE("TrainConfig: settings round-trip and bad values are named") {
  train::TrainConfig c = small_config();
  c.spec.hidden = {512, 256};
  c.optimizer.kind = "momentum";
  c.optimizer.nesterov = true;
  c.optimizer.lr = 0.1 + 0.2;  // not a short decimal: must survive the text form exactly
  c.validation = "0.1";
  const auto back = train::TrainConfig::from_settings(c.settings());
  CHECK(back.settings() == c.settings());
  CHECK(back.optimizer.lr == c.optimizer.lr);

  auto bad = [](auto change, const char* needle) {
    train::TrainConfig b = small_config();
    change(b);
    CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains(needle), std::invalid_argument);
  };
  bad([](train::TrainConfig& b) { b.batch = 0; }, "--batch");
  bad([](train::TrainConfig& b) { b.epochs = 0; }, "--epochs");
  bad([](train::TrainConfig& b) { b.validation = "1.5"; }, "--validation");
  bad([](train::TrainConfig& b) { b.validation = "tset"; }, "--validation");
  bad([](train::TrainConfig& b) { b.optimizer.kind = "adagrad"; }, "adagrad");
  bad([](train::TrainConfig& b) { b.optimizer.lr = -1; }, "learning rate");
  bad([](train::TrainConfig& b) { b.spec.dropout = 1.0; }, "--dropout");
}

TEST_CASE("TrainConfig::from_settings: every whole number is range-checked, naming the key and the value") {
  auto refused = [](const std::string& key, const std::string& value, const char* needle) {
    CAPTURE(key);
    CAPTURE(value);
    CHECK_THROWS_WITH_AS(train::TrainConfig::from_settings({{key, value}}), doctest::Contains(needle),
                         std::invalid_argument);
  };
  refused("batch", "4294967297", "setting 'batch' = 4294967297 is out of range");  // was batch 1
  refused("batch", "0", "setting 'batch' = 0 is out of range: it must be in 1..2147483647");
  refused("threads", "99999999999", "setting 'threads' = 99999999999 is out of range: it must be in 0..256");
  refused("threads", "100000", "must be in 0..256");
  refused("epochs", "-3", "setting 'epochs' = -3");
  refused("limit", "2147483648", "setting 'limit' = 2147483648");
  refused("log_grads", "1e3", "'1e3' is not a whole number");
  refused("hidden", "128,0", "setting 'hidden' = 0");
  refused("hidden", "4294967424", "setting 'hidden' = 4294967424");
  refused("seed", "-1", "setting 'seed' '-1' is not a seed");
  refused("seed", "18446744073709551616", "too large for a seed");
  refused("batchnorm", "yes", "setting 'batchnorm': 'yes' must be 0 or 1");
  // The largest seed survives the round trip (it went through a signed parse before).
  train::TrainConfig c = small_config();
  c.seed = 18446744073709551615ULL;
  CHECK(train::TrainConfig::from_settings(c.settings()).seed == 18446744073709551615ULL);
}

TEST_CASE("parse_seed: digits only, 0..2^64-1; a sign or an overflow is refused, not clamped") {
  CHECK(train::parse_seed("--seed", "0") == 0);
  CHECK(train::parse_seed("--seed", "18446744073709551615") == 18446744073709551615ULL);
  CHECK_THROWS_WITH_AS(train::parse_seed("--seed", "-1"), doctest::Contains("--seed '-1' is not a seed"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(train::parse_seed("--seed", "18446744073709551616"), doctest::Contains("too large"), std::invalid_argument);
  CHECK_THROWS_AS(train::parse_seed("--seed", "+5"), std::invalid_argument);
  CHECK_THROWS_AS(train::parse_seed("--seed", " 5"), std::invalid_argument);
  CHECK_THROWS_AS(train::parse_seed("--seed", "5x"), std::invalid_argument);
  CHECK_THROWS_AS(train::parse_seed("--seed", ""), std::invalid_argument);
}

TEST_CASE("TrainConfig::validate: threads, momentum, betas and eps are bounded, naming the option") {
  auto bad = [](auto change, const char* needle) {
    train::TrainConfig b = small_config();
    change(b);
    CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains(needle), std::invalid_argument);
  };
  bad([](train::TrainConfig& b) { b.threads = 257; }, "--threads must be in 0..256");
  bad([](train::TrainConfig& b) { b.threads = 2000000000; }, "--threads must be in 0..256");
  bad([](train::TrainConfig& b) { b.optimizer.beta1 = 5; }, "--beta1 must be in [0, 1), got 5");
  bad([](train::TrainConfig& b) { b.optimizer.beta2 = 1; }, "--beta2 must be in [0, 1)");
  bad([](train::TrainConfig& b) { b.optimizer.eps = 0; }, "--eps must be a positive number");
  bad([](train::TrainConfig& b) { b.optimizer.momentum = 1; }, "--momentum must be in [0, 1)");
  train::TrainConfig ok = small_config();
  ok.threads = kMaxThreads;
  CHECK_NOTHROW(ok.validate());
}

TEST_CASE("set_num_threads: the last guard refuses a count libgomp cannot take") {
  const int before = num_threads();
  CHECK_THROWS_WITH_AS(set_num_threads(100000), doctest::Contains("thread count 100000 is outside 0..256"),
                       std::invalid_argument);
  CHECK_THROWS_AS(set_num_threads(-1), std::invalid_argument);
  CHECK(num_threads() == before);  // unchanged by a refused count
}

TEST_CASE("fit refuses a network too large for memory, with the estimate, before allocating it") {
  Synthetic s;
  train::TrainConfig c = small_config();
  c.spec.hidden = {1000000, 1000000};  // 10^12 weights: 4 TB for the weights alone
  std::ostringstream log;
  CHECK_THROWS_WITH_AS(train::fit(c, s.data(), log), doctest::Contains("GiB (parameters, gradients, optimizer state, activations), above the limit of 4 GiB"),
                       std::invalid_argument);
  // 784-1000000-10: 794 million parameters, 5 copies of 4 bytes, plus activations.
  train::TrainConfig big;
  big.spec.hidden = {1000000};
  CHECK(train::estimate_training_bytes(big, 60000, 10000) > train::kMaxTrainingBytes);
  train::TrainConfig reference;  // 784-128-10, Adam, batch 128: a few MB
  const double bytes = train::estimate_training_bytes(reference, 60000, 10000);
  CHECK(bytes > 4.0 * 101770 * 5);
  CHECK(bytes < 20e6);
}

TEST_CASE("select_data: an empty validation or training part, or an empty file, is refused by name") {
  data::Mnist mnist;
  mnist.train = two_patterns(2000, 1);
  mnist.train.images_path = "mnist/train-images-idx3-ubyte";
  mnist.test = two_patterns(100, 2);
  mnist.test.images_path = "mnist/t10k-images-idx3-ubyte";
  train::TrainConfig c = small_config();
  c.validation = "0.0001";  // 0.2 of an image: 0 validation images, val_accuracy 0 before
  CHECK_THROWS_WITH_AS(train::select_data(c, mnist),
                       doctest::Contains("--validation 0.0001 of 2000 training images gives 0 validation and 2000 training images"),
                       std::invalid_argument);
  c.validation = "0.9999";
  CHECK_THROWS_WITH_AS(train::select_data(c, mnist), doctest::Contains("gives 2000 validation and 0 training images"),
                       std::invalid_argument);
  c.validation = "0.001";  // 2 images
  CHECK(train::select_data(c, mnist).val_indices.size() == 2);
  c.validation = "test";
  data::Mnist empty_test = mnist;
  empty_test.test = data::ImageSet{};
  empty_test.test.images_path = "mnist/t10k-images-idx3-ubyte";
  CHECK_THROWS_WITH_AS(train::select_data(c, empty_test), doctest::Contains("'mnist/t10k-images-idx3-ubyte' holds no images"),
                       std::invalid_argument);
  data::Mnist empty_train = mnist;
  empty_train.train = data::ImageSet{};
  empty_train.train.images_path = "mnist/train-images-idx3-ubyte";
  CHECK_THROWS_WITH_AS(train::select_data(c, empty_train),
                       doctest::Contains("the training file 'mnist/train-images-idx3-ubyte' holds no images"),
                       std::invalid_argument);
  // fit itself names the file too (it said only "fit: no training samples").
  Synthetic s;
  s.train.images_path = "synthetic/train-images";
  train::TrainData d = s.data();
  d.train_indices.clear();
  std::ostringstream log;
  CHECK_THROWS_WITH_AS(train::fit(small_config(), d, log), doctest::Contains("'synthetic/train-images'"), std::invalid_argument);
}

TEST_CASE("resume applies a new momentum, beta1, beta2 or eps, says so, and records it in config.txt") {
  Synthetic s;
  train::TrainConfig c = small_config();
  c.epochs = 1;
  c.run_dir = tmp_dir("resume-options");
  std::ostringstream log;
  train::fit(c, s.data(), log);
  c.epochs = 2;
  c.resume = c.run_dir + "/last.ckpt";
  c.run_dir = tmp_dir("resume-same");
  auto same = train::fit(c, s.data(), log);
  c.run_dir = tmp_dir("resume-beta1");
  c.optimizer.beta1 = 0.5;
  std::ostringstream changed;
  auto other = train::fit(c, s.data(), changed);
  CHECK_FALSE(same_weights(same.model, other.model));  // beta1 was ignored before: the same weights
  CHECK(changed.str().find("changed on resume: beta1 0.9 -> 0.5\n") != std::string::npos);
  CHECK(read_file(c.run_dir + "/config.txt").find("beta1 = 0.5\n") != std::string::npos);
  CHECK(io::read_checkpoint(c.run_dir + "/last.ckpt").optimizer.beta1 == 0.5);

  c.run_dir = tmp_dir("resume-eps");
  c.optimizer.beta1 = 0.9;
  c.optimizer.eps = 1e-3;
  auto eps = train::fit(c, s.data(), log);
  CHECK_FALSE(same_weights(same.model, eps.model));

  c.run_dir = tmp_dir("resume-bad");
  c.optimizer.eps = 1e-7;
  c.optimizer.beta2 = 5;
  CHECK_THROWS_WITH_AS(train::fit(c, s.data(), log), doctest::Contains("--beta2 must be in [0, 1)"), std::invalid_argument);
}

TEST_CASE("resume with momentum: a new --momentum and --nesterov are applied") {
  Synthetic s;
  train::TrainConfig c = small_config();
  c.optimizer.kind = "momentum";
  c.epochs = 1;
  c.run_dir = tmp_dir("momentum");
  std::ostringstream log;
  train::fit(c, s.data(), log);
  c.epochs = 2;
  c.resume = c.run_dir + "/last.ckpt";
  c.run_dir = tmp_dir("momentum-same");
  auto same = train::fit(c, s.data(), log);
  c.run_dir = tmp_dir("momentum-0.5");
  c.optimizer.momentum = 0.5;
  auto mu = train::fit(c, s.data(), log);
  CHECK_FALSE(same_weights(same.model, mu.model));
  c.run_dir = tmp_dir("momentum-nesterov");
  c.optimizer.momentum = 0.9;
  c.optimizer.nesterov = true;
  std::ostringstream changed;
  auto nesterov = train::fit(c, s.data(), changed);
  CHECK_FALSE(same_weights(same.model, nesterov.model));
  CHECK(changed.str().find("changed on resume: nesterov 0 -> 1") != std::string::npos);
}

TEST_CASE("resume into a new folder carries best.ckpt over, so that the hint to evaluate it is true") {
  Synthetic s;
  train::TrainConfig c = small_config();
  c.epochs = 2;
  c.run_dir = tmp_dir("best-from");
  std::ostringstream log;
  train::fit(c, s.data(), log);
  const io::Checkpoint best = io::read_checkpoint(c.run_dir + "/best.ckpt");
  c.resume = c.run_dir + "/last.ckpt";
  c.epochs = 3;
  c.optimizer.lr = 1e-9;  // epoch 3 cannot beat the best so far: best.ckpt is not rewritten by it
  c.run_dir = tmp_dir("best-to");
  train::fit(c, s.data(), log);
  REQUIRE(fs::exists(c.run_dir + "/best.ckpt"));  // missing before
  const io::Checkpoint carried = io::read_checkpoint(c.run_dir + "/best.ckpt");
  CHECK(carried.best_val_accuracy >= best.best_val_accuracy);
  CHECK(carried.epoch >= best.epoch);
}

TEST_CASE("steps.csv: a failed write (a full disk) leaves whole lines only") {
  Synthetic s;
  train::TrainConfig c = small_config();
  const std::string path = tmp_dir("steps-full") + "/steps.csv";
  auto model = make_mlp<float>(c.spec);
  const auto params = model.params();
  train::GradStatsLogger logger(path, model, 0);
  Tensor<float> probs(2, 2);
  probs.data = {0.5f, 0.5f, 0.9f, 0.1f};
  logger.before_update(params);
  logger.after_update(1, 1, 0.69, params, model, probs);
  const std::string good = read_file(path);
  // The disk fills up after 17 bytes of the next line: the writer must cut them off again.
  static int calls = 0;
  calls = 0;
  logger.set_write_function([](int fd, const void* data, std::size_t size) -> long {
    if (calls++ > 0) {
      errno = ENOSPC;
      return -1;
    }
    return static_cast<long>(::write(fd, data, std::min<std::size_t>(size, 17)));
  });
  logger.before_update(params);
  CHECK_THROWS_WITH_AS(logger.after_update(2, 1, 0.68, params, model, probs),
                       doctest::Contains("it ends at its last whole line"), std::runtime_error);
  CHECK(read_file(path) == good);  // 17 bytes of a 21-field line were left behind before
  const std::string text = read_file(path);
  CHECK(text.back() == '\n');
}
