// Tests for src/chainrule/train: the fit loop on a small synthetic data set held in memory
// (no MNIST needed): the loss falls, resume is bit-exact, non-finite losses stop the run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/bugs.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/train/gradstats.hpp"
#include "chainrule/train/trainer.hpp"

namespace fs = std::filesystem;
using namespace chainrule;

namespace {

std::string tmp_dir(const std::string& name) {
  const fs::path dir = fs::path(CHAINRULE_TEST_TMP) / "trainer" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// 4x4 images of two classes: class 0 is bright on the left half, class 1 on the right half,
// with noise everywhere. A linear model separates them; an MLP learns them in a few epochs.
data::ImageSet two_patterns(int count, std::uint64_t seed) {
  data::ImageSet set;
  set.count = count;
  set.rows = 4;
  set.cols = 4;
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng.below(2));
    set.labels.push_back(static_cast<std::uint8_t>(label));
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) {
        const bool bright = (c < 2) == (label == 0);
        set.pixels.push_back(static_cast<std::uint8_t>((bright ? 150 : 0) + rng.below(100)));
      }
  }
  return set;
}

struct Synthetic {
  data::ImageSet train = two_patterns(256, 1);
  data::ImageSet val = two_patterns(64, 2);
  train::TrainData data() const {
    train::TrainData d;
    d.train = &train;
    d.train_indices = data::all_indices(train.count);
    d.val = &val;
    d.val_indices = data::all_indices(val.count);
    d.val_name = "synthetic";
    return d;
  }
};

train::TrainConfig small_config() {
  train::TrainConfig c;
  c.data_dir = "no-data-needed";
  c.spec.inputs = 16;
  c.spec.hidden = {8};
  c.spec.classes = 2;
  c.optimizer.lr = 0.01;
  c.batch = 16;
  c.epochs = 4;
  c.seed = 5;
  c.threads = 1;
  return c;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
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
  CHECK(history.rfind("epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,", 0) == 0);
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
        "relu1:dead_fraction,softmax_saturation");
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
  bad([](train::TrainConfig& b) { b.optimizer.kind = "adamw"; }, "adamw");
  bad([](train::TrainConfig& b) { b.optimizer.lr = -1; }, "learning rate");
  bad([](train::TrainConfig& b) { b.spec.dropout = 1.0; }, "--dropout");
}
