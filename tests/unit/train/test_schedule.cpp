// Tests for src/chainrule/train/schedule (--lr-schedule) and for weight decay in the fit loop
// (--weight-decay, --optimizer adamw): each schedule's rates worked out by hand, bad texts named,
// resume bit-exact with each, and weight decay lowering the weights' norm. The synthetic
// two-pattern set of test_trainer.cpp, held in memory (no MNIST needed).
#include <doctest/doctest.h>

#include "../../support/small_runs.hpp"
#include "../../support/test_dir.hpp"

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/train/schedule.hpp"
#include "chainrule/train/trainer.hpp"

using namespace chainrule;
using chainrule::testing::has_setting;
using chainrule::testing::read_file;
using chainrule::testing::Synthetic;
using chainrule::testing::two_patterns;
using train::LrSchedule;
using train::parse_lr_schedule;
using train::scheduled_lr;

namespace {

std::string tmp_dir(const std::string& name) { return chainrule::testing::fresh_dir("schedule", name).string(); }

train::TrainConfig small_config() {
  train::TrainConfig c = testing::small_config();
  c.epochs = 6;
  return c;
}

std::vector<io::HistoryRow> rows_with_val_loss(const std::vector<double>& val_losses) {
  std::vector<io::HistoryRow> rows;
  for (std::size_t k = 0; k < val_losses.size(); ++k) {
    io::HistoryRow r;
    r.epoch = static_cast<int>(k) + 1;
    r.val_loss = val_losses[k];
    rows.push_back(r);
  }
  return rows;
}

double weight_norm2(Sequential<float>& model) {  // sum of W^2 over the weight matrices
  double sum = 0;
  for (const auto& p : model.params())
    if (p.name.size() > 2 && p.name.substr(p.name.size() - 2) == ".W")
      for (float w : p.value->data) sum += static_cast<double>(w) * w;
  return sum;
}

// Trains c.epochs straight, then the same in two parts (stop after `stop`, resume), and
// checks that the histories and the weights agree to the bit; returns the straight history.
std::vector<io::HistoryRow> check_resume_bit_exact(train::TrainConfig c, int stop, const std::string& name) {
  Synthetic s;
  std::ostringstream log;
  const int epochs = c.epochs;
  c.run_dir = tmp_dir(name + "-straight");
  auto straight = train::fit(c, s.data(), log);
  c.run_dir = tmp_dir(name + "-resumed");
  c.epochs = stop;
  train::fit(c, s.data(), log);
  c.epochs = epochs;
  c.resume = c.run_dir + "/last.ckpt";
  auto resumed = train::fit(c, s.data(), log);
  REQUIRE(resumed.history.size() == straight.history.size());
  for (std::size_t k = 0; k < straight.history.size(); ++k) {
    CAPTURE(k);
    CHECK(resumed.history[k].loss == straight.history[k].loss);  // exact
    CHECK(resumed.history[k].val_loss == straight.history[k].val_loss);
    CHECK(resumed.history[k].accuracy == straight.history[k].accuracy);
  }
  auto a = straight.model.params(), b = resumed.model.params();
  for (std::size_t k = 0; k < a.size(); ++k) CHECK(a[k].value->data == b[k].value->data);
  return straight.history;
}

}  // namespace

TEST_CASE("lr schedules: the rate of each epoch, by hand") {
  const std::vector<io::HistoryRow> none;
  const LrSchedule constant = parse_lr_schedule("constant");
  for (int e = 1; e <= 5; ++e) CHECK(scheduled_lr(constant, 0.1, e, 5, none) == 0.1);

  const LrSchedule step = parse_lr_schedule("step:2:0.5");  // 0.1 0.1 0.05 0.05 0.025
  CHECK(step.every == 2);
  CHECK(step.factor == 0.5);
  const double step_rates[5] = {0.1, 0.1, 0.05, 0.05, 0.025};
  for (int e = 1; e <= 5; ++e) CHECK(scheduled_lr(step, 0.1, e, 5, none) == doctest::Approx(step_rates[e - 1]));
  CHECK(scheduled_lr(step, 0.1, 1, 5, none) == 0.1);  // exact at the first epoch

  // cosine over --epochs = 4: lr (1 + cos(pi t / 4)) / 2, t = 0..3: 1, (1 + 0.70711) / 2, 1/2, (1 - 0.70711) / 2
  const LrSchedule cosine = parse_lr_schedule("cosine");
  const double cos_rates[4] = {1.0, 0.8535534, 0.5, 0.1464466};
  for (int e = 1; e <= 4; ++e) CHECK(scheduled_lr(cosine, 1.0, e, 4, none) == doctest::Approx(cos_rates[e - 1]));
  CHECK(scheduled_lr(cosine, 0.001, 1, 4, none) == 0.001);
  // cosine:4 in a run of 6 epochs: the same curve, then epoch 4's rate stays
  const LrSchedule cosine4 = parse_lr_schedule("cosine:4");
  CHECK(cosine4.horizon == 4);
  for (int e = 1; e <= 4; ++e) CHECK(scheduled_lr(cosine4, 1.0, e, 6, none) == doctest::Approx(cos_rates[e - 1]));
  CHECK(scheduled_lr(cosine4, 1.0, 6, 6, none) == doctest::Approx(0.1464466));

  // plateau:2:0.5 on val_loss 1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.75, 0.8:
  //   epoch 3 and 4 do not beat 0.8 -> cut after epoch 4 (rate of epoch 5: 0.05), wait starts again;
  //   epoch 5 is a new best 0.7; 6 and 7 do not beat it -> cut after epoch 7 (epoch 8: 0.025)
  const LrSchedule plateau = parse_lr_schedule("plateau:2:0.5");
  CHECK(plateau.patience == 2);
  const auto h = rows_with_val_loss({1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.75, 0.8});
  const double plateau_rates[9] = {0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025};
  for (int e = 1; e <= 9; ++e) {
    CAPTURE(e);
    CHECK(scheduled_lr(plateau, 0.1, e, 9, h) == doctest::Approx(plateau_rates[e - 1]));
  }
  // Only the epochs before e count: the history of a later epoch does not change an earlier rate.
  CHECK(scheduled_lr(plateau, 0.1, 4, 9, h) == 0.1);
}

TEST_CASE("lr schedules: bad texts are refused, saying how to write them") {
  auto refused = [](const std::string& text, const std::string& needle) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(parse_lr_schedule(text), doctest::Contains(needle.c_str()), std::invalid_argument);
  };
  refused("step:0:0.5", "EVERY must be a whole number of epochs");
  refused("step:2:1.5", "FACTOR must be a number in (0, 1)");
  refused("step:2:0", "FACTOR");
  refused("step:2", "step:EVERY:FACTOR");
  refused("step:x:0.5", "EVERY");
  refused("plateau:x:y", "PATIENCE must be a whole number");
  refused("plateau:2:y", "FACTOR");
  refused("plateau:2:0.5:1", "plateau:PATIENCE:FACTOR");
  refused("cosine:0", "T must be");
  refused("cosine:", "T must be");
  refused("constant:1", "constant");
  refused("exponential", "use constant, step:EVERY:FACTOR, cosine[:T] or plateau:PATIENCE:FACTOR");
  refused("", "is not a schedule");
  train::TrainConfig c;
  c.lr_schedule = "step:0:0.5";
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("--lr-schedule 'step:0:0.5'"), std::invalid_argument);
  c.lr_schedule = "constant";
  c.optimizer.weight_decay = -0.01;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("--weight-decay must be a number >= 0"), std::invalid_argument);
}

TEST_CASE("settings: weight_decay and lr_schedule only when set, read back, old settings load with the defaults") {
  train::TrainConfig c;
  for (const auto& [k, v] : c.settings()) {
    CHECK(k != "weight_decay");
    CHECK(k != "lr_schedule");
  }
  c.optimizer.kind = "adamw";
  c.optimizer.weight_decay = 0.01;
  c.lr_schedule = "plateau:2:0.5";
  const auto back = train::TrainConfig::from_settings(c.settings());
  CHECK(back.optimizer.kind == "adamw");
  CHECK(back.optimizer.weight_decay == 0.01);
  CHECK(back.lr_schedule == "plateau:2:0.5");
  const auto old = train::TrainConfig::from_settings({{"optimizer", "adam"}, {"lr", "0.001"}});
  CHECK(old.optimizer.weight_decay == 0);
  CHECK(old.lr_schedule == "constant");
}

TEST_CASE("fit applies the schedule: step:1:0.5 runs epoch 1 as constant does, then differs") {
  Synthetic s;
  std::ostringstream log;
  train::TrainConfig c = small_config();
  c.epochs = 2;
  const auto constant = train::fit(c, s.data(), log);
  c.lr_schedule = "step:1:0.5";
  const auto halved = train::fit(c, s.data(), log);
  CHECK(halved.history[0].loss == constant.history[0].loss);
  CHECK(halved.history[0].val_loss == constant.history[0].val_loss);
  CHECK(halved.history[1].loss != constant.history[1].loss);
  CHECK(log.str().find("lr schedule: step:1:0.5") != std::string::npos);
}

TEST_CASE("resume is bit-exact across a step boundary of step:2:0.5 (stop after epoch 2 of 6)") {
  train::TrainConfig c = small_config();
  c.optimizer.kind = "momentum";
  c.lr_schedule = "step:2:0.5";
  check_resume_bit_exact(c, 2, "step");
}

TEST_CASE("resume is bit-exact with plateau, with cuts before and after the stop (after epoch 7 of 10)") {
  train::TrainConfig c = small_config();
  c.optimizer.lr = 0.05;  // noisy enough for val_loss to stall
  c.epochs = 10;
  c.lr_schedule = "plateau:1:0.5";
  const auto history = check_resume_bit_exact(c, 7, "plateau");
  const LrSchedule plateau = parse_lr_schedule(c.lr_schedule);
  // The run cut its rate before the stop (epoch 7 ran slower) and again after it (from the
  // history in the checkpoint), so both halves were exercised.
  CHECK(scheduled_lr(plateau, 0.05, 7, 10, history) < 0.05);
  CHECK(scheduled_lr(plateau, 0.05, 10, 10, history) < scheduled_lr(plateau, 0.05, 8, 10, history));
}

TEST_CASE("resume is bit-exact with cosine:6 and with L2 weight decay and adamw") {
  train::TrainConfig c = small_config();
  c.lr_schedule = "cosine:6";
  check_resume_bit_exact(c, 3, "cosine");
  c.lr_schedule = "constant";
  c.optimizer.kind = "sgd";
  c.optimizer.lr = 0.1;
  c.optimizer.weight_decay = 0.01;
  check_resume_bit_exact(c, 3, "l2");
  c.optimizer.kind = "adamw";
  c.optimizer.lr = 0.01;
  c.optimizer.weight_decay = 0.1;
  check_resume_bit_exact(c, 3, "adamw");
}

TEST_CASE("--weight-decay lowers the final weight norm with sgd, momentum, adam (L2) and adamw") {
  Synthetic s;
  for (const std::string kind : {"sgd", "momentum", "adam", "adamw"}) {
    CAPTURE(kind);
    std::ostringstream log;
    train::TrainConfig c = small_config();
    c.optimizer.kind = kind;
    c.optimizer.lr = std::string(kind) == "sgd" ? 0.1 : 0.01;
    c.epochs = 4;
    auto plain = train::fit(c, s.data(), log);
    // adamw shrinks by lr lambda per step (1 - 0.01 * 0.5 here), whatever the gradient: a larger lambda
    c.optimizer.weight_decay = kind == "adamw" ? 0.5 : 0.05;
    auto decayed = train::fit(c, s.data(), log);
    const double a = weight_norm2(plain.model), b = weight_norm2(decayed.model);
    CHECK(b < 0.9 * a);
    CHECK(decayed.history.back().val_accuracy >= 0.9);  // and it still learns the patterns
    if (std::string(kind) != "adamw") {
      // The logged loss includes lambda/2 ||W||^2: above the plain cross-entropy of the same weights.
      CHECK(log.str().find("loss = cross-entropy + 0.05/2 ||W||^2") != std::string::npos);
    } else {
      CHECK(log.str().find("weight decay: decoupled (adamw)") != std::string::npos);
    }
  }
}

TEST_CASE("with L2 weight decay the logged loss is the cross-entropy plus lambda/2 ||W||^2") {
  // One epoch of one batch with lr tiny: the loss logged is the loss before the update, at the
  // initial weights; it exceeds the run without decay by lambda/2 ||W0||^2.
  Synthetic s;
  std::ostringstream log;
  train::TrainConfig c = small_config();
  c.optimizer.kind = "sgd";
  c.optimizer.lr = 1e-12;
  c.epochs = 1;
  c.batch = 256;  // one batch: the epoch's loss is that batch's
  auto plain = train::fit(c, s.data(), log);
  c.optimizer.weight_decay = 0.3;
  auto decayed = train::fit(c, s.data(), log);
  const double expected = 0.15 * weight_norm2(plain.model);  // the weights barely moved
  CHECK(decayed.history[0].loss - plain.history[0].loss == doctest::Approx(expected).epsilon(1e-5));
  CHECK(decayed.history[0].val_loss == doctest::Approx(plain.history[0].val_loss).epsilon(1e-9));  // val_loss is the cross-entropy alone
  // The diagnostics judge the cross-entropy: a penalty of 0.15 ||W0||^2 (about 3 here, above
  // 2 ln 2 + 1) must not read as a first loss "far above what an untrained network gives".
  CHECK(expected > 2 * std::log(2.0) + 1);
  CHECK(log.str().find("initial-loss-high") == std::string::npos);
}
