// --activation in the training settings: recorded only when it is not ReLU (a ReLU run's
// config.txt and checkpoints are as before), read back from a checkpoint, and a tanh or
// leaky ReLU run resumes bit-exact.
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

train::TrainConfig small_config(const std::string& activation) {
  train::TrainConfig c = testing::small_config();  // 16-8-2 ...
  c.spec.hidden = {8, 6};                           // ... made 16-8-6-2
  c.spec.set_activation(activation);
  c.log_grads = 5;
  return c;
}

}  // namespace

TEST_CASE("activation setting: absent for relu, 'tanh' or 'leaky_relu:0.2' otherwise; read back; bad values named") {
  CHECK_FALSE(has_setting(small_config("relu"), "activation"));
  for (const char* a : {"sigmoid", "tanh", "leaky_relu:0.2", "leaky_relu:0.01"}) {
    CAPTURE(a);
    const auto settings = small_config(a).settings();
    bool found = false;
    for (const auto& [k, v] : settings)
      if (k == "activation") found = v == a;
    CHECK(found);
    const train::TrainConfig back = train::TrainConfig::from_settings(settings);
    CHECK(back.spec.activation_text() == a);
  }
  CHECK(small_config("leaky_relu").spec.activation_text() == "leaky_relu:0.01");
  // No key: today's default.
  CHECK(train::TrainConfig::from_settings({{"batch", "8"}}).spec.activation == "relu");
  CHECK_THROWS_WITH_AS(train::TrainConfig::from_settings({{"activation", "relu6"}}),
                       doctest::Contains("setting 'activation': unknown activation 'relu6'"), std::invalid_argument);
  train::TrainConfig bad = small_config("relu");
  bad.spec.activation = "elu";
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("--activation: unknown activation 'elu'"), std::invalid_argument);
  MlpSpec s;
  CHECK_THROWS_AS(s.set_activation("leaky_relu:nan"), std::invalid_argument);
  CHECK_THROWS_AS(s.set_activation("leaky_relu:-0.1"), std::invalid_argument);
  CHECK_THROWS_AS(s.set_activation("leaky_relu:0.1x"), std::invalid_argument);
  CHECK_THROWS_AS(s.set_activation("sigmoid:1"), std::invalid_argument);
  CHECK(s.activation == "relu");  // a refused value changes nothing
  s.set_activation("leaky_relu:0");
  CHECK(s.architecture() == "784-128-10+leaky_relu0");
}

TEST_CASE("activation: tanh and leaky_relu runs record it, and resume bit-exact (2 epochs + 2 = 4 at once)") {
  data::ImageSet train_set = two_patterns(256, 1), val_set = two_patterns(64, 2);
  const train::TrainData d = testing::train_data(train_set, val_set);
  for (const char* activation : {"tanh", "leaky_relu:0.2", "sigmoid"}) {
    CAPTURE(activation);
    train::TrainConfig c = small_config(activation);
    std::ostringstream log;
    const std::string name = c.spec.activation;
    c.epochs = 4;
    c.run_dir = chainrule::testing::fresh_dir("activation", name + "-straight").string();
    auto straight = train::fit(c, d, log);
    const std::string straight_dir = c.run_dir;
    CHECK(read_file(straight_dir + "/config.txt").find("activation = " + std::string(activation) + "\n") != std::string::npos);
    CHECK(io::read_checkpoint(straight_dir + "/last.ckpt").spec.activation_text() == activation);

    c.run_dir = chainrule::testing::fresh_dir("activation", name + "-resumed").string();
    c.epochs = 2;
    train::fit(c, d, log);
    // As `chainrule train --resume` does: the settings come back from the checkpoint.
    const io::Checkpoint ckpt = io::read_checkpoint(c.run_dir + "/last.ckpt");
    train::TrainConfig r = train::TrainConfig::from_settings(ckpt.config);
    CHECK(r.spec.activation_text() == activation);
    r.spec.inputs = 16;  // the image size and the classes come from the data, not the settings
    r.spec.classes = 2;
    r.epochs = 4;
    r.run_dir = c.run_dir;
    r.resume = c.run_dir + "/last.ckpt";
    auto resumed = train::fit(r, d, log);
    REQUIRE(resumed.history.size() == 4);
    for (std::size_t k = 0; k < 4; ++k) {
      CHECK(resumed.history[k].loss == straight.history[k].loss);
      CHECK(resumed.history[k].val_loss == straight.history[k].val_loss);
    }
    auto pa = straight.model.params(), pb = resumed.model.params();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t k = 0; k < pa.size(); ++k) CHECK(pa[k].value->data == pb[k].value->data);
    CHECK(read_file(c.run_dir + "/steps.csv") == read_file(straight_dir + "/steps.csv"));
  }
}
