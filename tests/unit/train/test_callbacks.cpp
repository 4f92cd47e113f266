// Tests for train/callbacks.hpp and the options behind it: --monitor, --early-stopping,
// --min-delta, --restore-best; the history's lr and stop columns; resume across the point
// where early stopping fires, bit for bit. A small synthetic data set, no MNIST needed.
#include <doctest/doctest.h>

#include "../../support/small_runs.hpp"
#include "../../support/test_dir.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/train/callbacks.hpp"
#include "chainrule/train/doctor.hpp"
#include "chainrule/train/run_reader.hpp"
#include "chainrule/train/trainer.hpp"

using namespace chainrule;
using chainrule::testing::has_setting;
using chainrule::testing::read_file;
using chainrule::testing::two_patterns;
using chainrule::testing::weights;

namespace {

std::string tmp_dir(const std::string& name) { return chainrule::testing::fresh_dir("callbacks", name).string(); }

io::HistoryRow row(int epoch, double val_loss, double val_accuracy) {
  io::HistoryRow r;
  r.epoch = epoch;
  r.val_loss = val_loss;
  r.val_accuracy = val_accuracy;
  return r;
}

// Two classes of noisy 4x4 images (tests/support/small_runs.hpp) with 20% of the labels
// flipped, so that the validation figures stop improving after a while.
struct Synthetic {
  data::ImageSet train = two_patterns(128, 1, {0.2, 120, 136});
  data::ImageSet val = two_patterns(64, 2, {0.2, 120, 136});
  train::TrainData data() const { return testing::train_data(train, val); }
};

train::TrainConfig config() {
  train::TrainConfig c = testing::small_config();
  c.spec.hidden = {32};
  c.optimizer.lr = 0.05;  // fast, so that it overfits the flipped labels soon
  c.epochs = 40;
  c.early_stopping = 3;
  return c;
}

}  // namespace

TEST_CASE("EpochWatch: val_loss improves downwards, by more than min_delta; patience counts the epochs since") {
  train::EpochWatch w("val_loss", 0.01, 2);
  CHECK(w.observe(row(1, 0.50, 0.8)));  // the first epoch always improves
  CHECK(w.observe(row(2, 0.45, 0.8)));
  CHECK_FALSE(w.observe(row(3, 0.445, 0.9)));  // better, but not by more than 0.01
  CHECK(w.best_epoch() == 2);
  CHECK(w.wait() == 1);
  CHECK_FALSE(w.should_stop());
  CHECK_FALSE(w.observe(row(4, 0.44, 0.9)));  // 0.45 - 0.44 = 0.01 is not MORE than 0.01
  CHECK(w.should_stop());                    // two epochs without an improvement
  CHECK(w.stop_message() == "val_loss did not improve by more than 0.01 for 2 epochs (best 0.4500 at epoch 2)");
  CHECK(w.observe(row(5, 0.30, 0.9)));  // an improvement resets the count
  CHECK(w.wait() == 0);
  CHECK_FALSE(w.should_stop());
}

TEST_CASE("EpochWatch: val_accuracy improves upwards; patience 0 never stops; NaN never improves; replay") {
  train::EpochWatch w("val_accuracy", 0, 0);
  CHECK(w.observe(row(1, 1.0, 0.5)));
  CHECK(w.observe(row(2, 2.0, 0.6)));  // a worse loss does not matter
  CHECK_FALSE(w.observe(row(3, 0.1, 0.6)));  // equal is no improvement
  for (int e = 4; e < 50; ++e) w.observe(row(e, 0.1, 0.1));
  CHECK_FALSE(w.should_stop());
  CHECK(w.best_epoch() == 2);

  train::EpochWatch n("val_loss", 0, 1);
  CHECK_FALSE(n.observe(row(1, std::numeric_limits<double>::quiet_NaN(), 0.5)));
  CHECK(n.best_epoch() == 0);
  CHECK(n.observe(row(2, 0.7, 0.5)));
  CHECK_FALSE(n.observe(row(3, std::numeric_limits<double>::quiet_NaN(), 0.5)));
  CHECK(n.should_stop());

  train::EpochWatch r("val_loss", 0, 1);
  r.replay({row(1, 0.5, 0), row(2, 0.4, 0), row(3, 0.6, 0)});
  CHECK(r.best_epoch() == 2);
  CHECK(r.wait() == 1);
  CHECK(r.should_stop());
  CHECK_THROWS_WITH_AS(train::EpochWatch("loss", 0, 1), doctest::Contains("--monitor 'loss' is unknown"),
                       std::invalid_argument);
}

TEST_CASE("callback settings: absent when default, recorded otherwise, read back; bad values named") {
  train::TrainConfig c;
  CHECK(c.validation == "0.1");
  CHECK(c.monitor == "val_loss");
  for (const auto& [k, v] : c.settings()) {
    CHECK(k != "monitor");
    CHECK(k != "early_stopping");
    CHECK(k != "min_delta");
    CHECK(k != "restore_best");
  }
  c.monitor = "val_accuracy";
  c.early_stopping = 4;
  c.min_delta = 0.001;
  c.restore_best = true;
  const train::TrainConfig back = train::TrainConfig::from_settings(c.settings());
  CHECK(back.monitor == "val_accuracy");
  CHECK(back.early_stopping == 4);
  CHECK(back.min_delta == 0.001);
  CHECK(back.restore_best);
  CHECK(train::TrainConfig::from_settings({{"batch", "8"}}).monitor == "val_loss");  // an older checkpoint

  auto bad = [](auto change, const char* needle) {
    train::TrainConfig b;
    change(b);
    CHECK_THROWS_WITH_AS(b.validate(), doctest::Contains(needle), std::invalid_argument);
  };
  bad([](train::TrainConfig& b) { b.monitor = "loss"; }, "--monitor 'loss' is unknown; use val_loss or val_accuracy");
  bad([](train::TrainConfig& b) { b.early_stopping = -1; }, "--early-stopping must be a patience in 0..");
  bad([](train::TrainConfig& b) { b.min_delta = -0.1; }, "--min-delta must be a number >= 0, got -0.1");
  bad([](train::TrainConfig& b) { b.min_delta = std::numeric_limits<double>::infinity(); }, "--min-delta must be");
  CHECK_THROWS_WITH_AS(train::TrainConfig::from_settings({{"early_stopping", "-2"}}),
                       doctest::Contains("setting 'early_stopping' = -2 is out of range"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(train::TrainConfig::from_settings({{"restore_best", "yes"}}),
                       doctest::Contains("setting 'restore_best': 'yes' must be 0 or 1"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(train::TrainConfig::from_settings({{"min_delta", "x"}}),
                       doctest::Contains("setting 'min_delta': 'x' is not a number"), std::invalid_argument);
}

TEST_CASE("early stopping: the run stops, history.csv says why and holds each epoch's lr; best.ckpt is the best epoch") {
  Synthetic s;
  train::TrainConfig c = config();
  c.run_dir = tmp_dir("stops");
  std::ostringstream log;
  train::TrainResult r = train::fit(c, s.data(), log);
  REQUIRE(r.history.size() >= 4);
  REQUIRE(r.history.size() < 40);  // it stopped early
  CHECK(r.stop == "early_stopping");
  CHECK(r.history.back().stop == "early_stopping");
  CHECK(r.best_epoch == static_cast<int>(r.history.size()) - 3);  // patience 3
  for (std::size_t k = 0; k + 1 < r.history.size(); ++k) CHECK(r.history[k].stop.empty());
  for (const auto& h : r.history) CHECK(h.lr == 0.05);
  CHECK(log.str().find("Early stopping after epoch " + std::to_string(r.history.size()) +
                       ": val_loss did not improve by more than 0 for 3 epochs") != std::string::npos);

  const train::CsvTable t = train::read_csv(c.run_dir + "/history.csv", {"stop"});
  CHECK(t.columns.back() == "stop");
  REQUIRE(t.rows.size() == r.history.size());
  CHECK(t.text.at("stop").back() == "early_stopping");
  CHECK(t.text.at("stop").front().empty());
  CHECK(t.rows[0][static_cast<std::size_t>(t.column("lr"))] == 0.05);

  const train::RunDiagnosis report = train::diagnose_run_folder(c.run_dir);  // chainrule doctor
  CHECK(report.stop == "early_stopping");
  CHECK(report.stop_epoch == static_cast<int>(r.history.size()));

  const io::Checkpoint best = io::read_checkpoint(c.run_dir + "/best.ckpt");
  const io::Checkpoint last = io::read_checkpoint(c.run_dir + "/last.ckpt");
  CHECK(best.epoch == r.best_epoch);
  CHECK(last.epoch == static_cast<int>(r.history.size()));
  double lowest = 1e9;
  for (const auto& h : r.history) lowest = std::min(lowest, h.val_loss);
  CHECK(r.history[static_cast<std::size_t>(r.best_epoch - 1)].val_loss == lowest);
  CHECK(weights(r.model) == weights(last));  // without --restore-best: the last epoch's weights

  // Resuming a run that stopped early is refused with the reason, unless the patience grows.
  train::TrainConfig again = c;
  again.resume = c.run_dir + "/last.ckpt";
  CHECK_THROWS_WITH_AS(train::fit(again, s.data(), log), doctest::Contains("stopped early: val_loss did not improve"),
                       std::invalid_argument);
}

TEST_CASE("--restore-best: the model ends with best.ckpt's weights, last.ckpt keeps the last epoch's") {
  Synthetic s;
  train::TrainConfig c = config();
  c.restore_best = true;
  c.run_dir = tmp_dir("restore");
  std::ostringstream log;
  train::TrainResult r = train::fit(c, s.data(), log);
  REQUIRE(r.stop == "early_stopping");
  CHECK(r.restored);
  const io::Checkpoint best = io::read_checkpoint(c.run_dir + "/best.ckpt");
  const io::Checkpoint last = io::read_checkpoint(c.run_dir + "/last.ckpt");
  REQUIRE(best.epoch < last.epoch);
  CHECK(weights(r.model) == weights(best));
  CHECK(weights(r.model) != weights(last));
  CHECK(log.str().find("Restored the weights of epoch " + std::to_string(best.epoch)) != std::string::npos);
}

TEST_CASE("resume across early stopping is bit-exact: stopped at epoch E at once, or after a resume") {
  Synthetic s;
  std::ostringstream log;
  for (const char* monitor : {"val_loss", "val_accuracy"}) {
    CAPTURE(monitor);
    train::TrainConfig c = config();
    c.monitor = monitor;
    c.min_delta = 0.001;
    c.restore_best = true;
    c.run_dir = tmp_dir(std::string("straight-") + monitor);
    train::TrainResult straight = train::fit(c, s.data(), log);
    REQUIRE(straight.stop == "early_stopping");
    const int stopped = static_cast<int>(straight.history.size());
    REQUIRE(stopped >= 3);

    // Stop one epoch before early stopping fires (the patience half used), then resume.
    train::TrainConfig first = c;
    first.run_dir = tmp_dir(std::string("resumed-") + monitor);
    first.epochs = stopped - 1;
    const train::TrainResult part = train::fit(first, s.data(), log);
    CHECK(part.stop == "epochs");
    train::TrainConfig second = c;
    second.run_dir = first.run_dir;
    second.resume = first.run_dir + "/last.ckpt";
    train::TrainResult resumed = train::fit(second, s.data(), log);

    CHECK(resumed.stop == "early_stopping");
    REQUIRE(resumed.history.size() == straight.history.size());
    for (std::size_t k = 0; k < straight.history.size(); ++k) {
      CAPTURE(k);
      CHECK(resumed.history[k].loss == straight.history[k].loss);
      CHECK(resumed.history[k].val_loss == straight.history[k].val_loss);
      CHECK(resumed.history[k].val_accuracy == straight.history[k].val_accuracy);
      CHECK(resumed.history[k].lr == straight.history[k].lr);
      CHECK(resumed.history[k].stop == straight.history[k].stop);
    }
    CHECK(resumed.best_epoch == straight.best_epoch);
    CHECK(resumed.restored);
    CHECK(weights(resumed.model) == weights(straight.model));  // the restored best weights
    // The same files but for the seconds: best.ckpt and last.ckpt hold the same weights.
    CHECK(weights(io::read_checkpoint(first.run_dir + "/last.ckpt")) ==
          weights(io::read_checkpoint(c.run_dir + "/last.ckpt")));
    CHECK(weights(io::read_checkpoint(first.run_dir + "/best.ckpt")) ==
          weights(io::read_checkpoint(c.run_dir + "/best.ckpt")));
    const std::string csv = read_file(first.run_dir + "/history.csv");
    CHECK(csv.substr(csv.rfind(',') + 1) == "early_stopping\n");
  }
}

TEST_CASE("checkpoint: a run at a constant lr stays version 1; another lr in a row makes version 4, read back") {
  Synthetic s;
  train::TrainConfig c = config();
  c.epochs = 2;
  c.early_stopping = 0;
  c.run_dir = tmp_dir("version");
  std::ostringstream log;
  train::fit(c, s.data(), log);
  const std::string bytes = read_file(c.run_dir + "/last.ckpt");
  CHECK(bytes[8] == 1);
  io::Checkpoint ck = io::read_checkpoint(c.run_dir + "/last.ckpt");
  CHECK(ck.history[0].lr == 0.05);  // version 1: every row at the checkpoint's lr
  ck.history[0].lr = 0.025;
  const auto v3 = io::encode_checkpoint(ck);
  CHECK(v3[8] == 4);
  const io::Checkpoint back = io::decode_checkpoint(v3.data(), v3.size(), "v3.ckpt");
  CHECK(back.history[0].lr == 0.025);
  CHECK(back.history[1].lr == 0.05);
  CHECK(back.spec.activation == "relu");
  CHECK(io::encode_checkpoint(back) == v3);
}

TEST_CASE("history lr: a resume with another lr records both rates, and the checkpoint keeps them (version 4)") {
  Synthetic s;
  train::TrainConfig c = config();
  c.early_stopping = 0;
  c.epochs = 2;
  c.run_dir = tmp_dir("lr");
  std::ostringstream log;
  train::fit(c, s.data(), log);
  c.epochs = 3;
  c.optimizer.lr = 0.02;
  c.resume = c.run_dir + "/last.ckpt";
  const train::TrainResult r = train::fit(c, s.data(), log);
  REQUIRE(r.history.size() == 3);
  CHECK(r.history[0].lr == 0.05);
  CHECK(r.history[1].lr == 0.05);
  CHECK(r.history[1].stop.empty());  // the first part's "epochs" mark is cleared on resume
  CHECK(r.history[2].lr == 0.02);
  CHECK(r.history[2].stop == "epochs");
  const std::string bytes = read_file(c.run_dir + "/last.ckpt");
  CHECK(bytes[8] == 4);
  const io::Checkpoint ck = io::read_checkpoint(c.run_dir + "/last.ckpt");
  CHECK(ck.history[0].lr == 0.05);
  CHECK(ck.history[2].lr == 0.02);
  const std::string csv = read_file(c.run_dir + "/history.csv");
  CHECK(csv.find(",0.05,\n") != std::string::npos);
  CHECK(csv.find(",0.02,epochs\n") != std::string::npos);
}
