// The init and BatchNorm choices in the training settings: recorded only when they are not the
// default (config.txt and checkpoints of earlier runs stay as they were), read back, checked with
// the option's name, and each one resumes bit-exact.
#include <doctest/doctest.h>

#include "../../support/small_runs.hpp"
#include "../../support/test_dir.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/train/config.hpp"
#include "chainrule/train/trainer.hpp"

using namespace chainrule;
using chainrule::testing::has_setting;
using chainrule::testing::read_file;
using chainrule::testing::two_patterns;

namespace {

train::TrainConfig small_config(const std::string& activation = "relu") {
  train::TrainConfig c = testing::small_config();  // 16-8-2 ...
  c.spec.hidden = {8, 6};                           // ... made 16-8-6-2
  c.spec.set_activation(activation);
  c.log_grads = 5;
  return c;
}

}  // namespace

TEST_CASE("choices setting: absent by default; init_gain, batchnorm_position, bn_momentum, bn_eps otherwise") {
  train::TrainConfig c = small_config();
  c.spec.batchnorm = true;
  for (const char* key : {"init_gain", "batchnorm_position", "bn_momentum", "bn_eps"}) CHECK_FALSE(has_setting(c, key));
  const auto plain = c.settings();
  c.spec.init = "he";
  c.spec.init_gain = 1.5;
  c.spec.batchnorm_after = true;
  c.spec.bn_momentum = 0.01;
  c.spec.bn_eps = 1e-3;
  CHECK_NOTHROW(c.validate());
  const auto s = c.settings();
  CHECK(s.size() == plain.size() + 4);
  std::string keys;
  for (const auto& [k, v] : s) keys += k + "=" + v + " ";
  CHECK(keys.find("batchnorm=1 batchnorm_position=after bn_momentum=0.01 bn_eps=0.001 init=he init_gain=1.5 ") !=
        std::string::npos);
  const train::TrainConfig back = train::TrainConfig::from_settings(s);
  CHECK(back.spec.init_gain == 1.5);
  CHECK(back.spec.batchnorm_after);
  CHECK(back.spec.bn_momentum == 0.01);
  CHECK(back.spec.bn_eps == 1e-3);
  CHECK(back.settings() == s);
  CHECK_THROWS_WITH_AS(train::TrainConfig::from_settings({{"batchnorm_position", "middle"}}),
                       doctest::Contains("batchnorm_position"), std::invalid_argument);
}

TEST_CASE("choices setting: bad values name their option") {
  auto refused = [](train::TrainConfig c, const char* what) {
    CAPTURE(what);
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains(what), std::invalid_argument);
  };
  train::TrainConfig c = small_config();
  c.spec.init = "normal:0";
  refused(c, "--init: ");
  c = small_config();
  c.spec.init_gain = 2;  // with auto
  refused(c, "--init-gain applies only to --init he or --init glorot");
  c.spec.init = "glorot";
  c.spec.init_gain = -1;
  refused(c, "--init-gain must be a positive number");
  c = small_config();
  c.spec.batchnorm = true;
  c.spec.bn_momentum = 0.99;
  CHECK_NOTHROW(c.validate());  // allowed (it is PyTorch's 0.99), just not Keras's meaning
  c.spec.bn_momentum = 0;
  refused(c, "--bn-momentum must be in (0, 1]");
  c.spec.bn_momentum = 0.1;
  c.spec.bn_eps = 0;
  refused(c, "--bn-eps must be a positive number");
  c = small_config();
  c.spec.bn_eps = 1e-3;  // without --batchnorm
  refused(c, "add --batchnorm");
}

TEST_CASE("choices: each setting is recorded and resumes bit-exact (2 epochs + 2 = 4 at once)") {
  data::ImageSet train_set = two_patterns(256, 1), val_set = two_patterns(64, 2);
  const train::TrainData d = testing::train_data(train_set, val_set);
  struct Case {
    const char* name;
    void (*set)(MlpSpec&);
    const char* line;  // in config.txt
  };
  const Case cases[] = {
      {"lecun", [](MlpSpec& s) { s.init = "lecun"; }, "init = lecun\n"},
      {"normal", [](MlpSpec& s) { s.init = "normal:0.05"; }, "init = normal:0.05\n"},
      {"uniform", [](MlpSpec& s) { s.init = "uniform:0.1"; }, "init = uniform:0.1\n"},
      {"he-gain", [](MlpSpec& s) { s.init = "he"; s.init_gain = 0.7; }, "init_gain = 0.7\n"},
      {"bn-after", [](MlpSpec& s) { s.batchnorm = true; s.batchnorm_after = true; }, "batchnorm_position = after\n"},
      {"bn-momentum", [](MlpSpec& s) { s.batchnorm = true; s.bn_momentum = 0.01; }, "bn_momentum = 0.01\n"},
      {"bn-eps", [](MlpSpec& s) { s.batchnorm = true; s.bn_eps = 1e-3; }, "bn_eps = 0.001\n"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name);
    train::TrainConfig c = small_config("tanh");
    k.set(c.spec);
    std::ostringstream log;
    c.epochs = 4;
    c.run_dir = chainrule::testing::fresh_dir("choices", std::string(k.name) + "-straight").string();
    auto straight = train::fit(c, d, log);
    const std::string straight_dir = c.run_dir;
    CHECK(read_file(straight_dir + "/config.txt").find(k.line) != std::string::npos);

    c.run_dir = chainrule::testing::fresh_dir("choices", std::string(k.name) + "-resumed").string();
    c.epochs = 2;
    train::fit(c, d, log);
    const io::Checkpoint ckpt = io::read_checkpoint(c.run_dir + "/last.ckpt");
    train::TrainConfig r = train::TrainConfig::from_settings(ckpt.config);
    r.spec.inputs = 16;
    r.spec.classes = 2;
    CHECK(r.settings() == c.settings());
    r.epochs = 4;
    r.run_dir = c.run_dir;
    r.resume = c.run_dir + "/last.ckpt";
    auto resumed = train::fit(r, d, log);
    REQUIRE(resumed.history.size() == 4);
    for (std::size_t j = 0; j < 4; ++j) {
      CHECK(resumed.history[j].loss == straight.history[j].loss);
      CHECK(resumed.history[j].val_loss == straight.history[j].val_loss);
    }
    auto pa = straight.model.params(), pb = resumed.model.params();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t j = 0; j < pa.size(); ++j) CHECK(pa[j].value->data == pb[j].value->data);
    auto ba = straight.model.buffers(), bb = resumed.model.buffers();
    for (std::size_t j = 0; j < ba.size(); ++j) CHECK(ba[j].value->data == bb[j].value->data);
    CHECK(read_file(c.run_dir + "/steps.csv") == read_file(straight_dir + "/steps.csv"));
  }
}
