// The init and BatchNorm choices in checkpoints: format version 3 only for BatchNorm settings other
// than the defaults (so every earlier network keeps its version and bytes), the init as its text.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "chainrule/io/checkpoint.hpp"
#include "../../support/checkpoints.hpp"

using namespace chainrule;
using chainrule::testing::checkpoint_of;
using chainrule::testing::version_of;

namespace {

MlpSpec bn_spec() {
  MlpSpec s;
  s.inputs = 6;
  s.hidden = {5, 4};
  s.classes = 3;
  s.seed = 9;
  s.batchnorm = true;
  return s;
}

std::vector<std::string> layer_names(Sequential<float>& model) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < model.size(); ++i) names.push_back(model.layer(i).name());
  return names;
}

}  // namespace

TEST_CASE("checkpoint choices: default BatchNorm stays version 1; after, momentum and eps round trip as version 3") {
  MlpSpec plain = bn_spec();
  CHECK(version_of(io::encode_checkpoint(checkpoint_of(plain))) == 1);
  plain.activation = "tanh";
  CHECK(version_of(io::encode_checkpoint(checkpoint_of(plain))) == 2);

  MlpSpec spec = bn_spec();
  spec.batchnorm_after = true;
  spec.bn_momentum = 0.01;
  spec.bn_eps = 1e-3;
  spec.activation = "sigmoid";
  const auto bytes = io::encode_checkpoint(checkpoint_of(spec));
  CHECK(version_of(bytes) == 3);
  const io::Checkpoint back = io::decode_checkpoint(bytes.data(), bytes.size(), "bn.ckpt");
  CHECK(back.spec.batchnorm_after);
  CHECK(back.spec.bn_momentum == 0.01);
  CHECK(back.spec.bn_eps == 1e-3);
  CHECK(back.spec.activation == "sigmoid");
  CHECK(io::encode_checkpoint(back) == bytes);
  io::LoadedModel loaded = io::build_model(back, "bn.ckpt");
  CHECK(layer_names(loaded.model) ==
        std::vector<std::string>{"dense1", "sigmoid1", "batchnorm1", "dense2", "sigmoid2", "batchnorm2", "dense3"});
  CHECK(loaded.model.get<BatchNorm1d<float>>("batchnorm2").eps() == 1e-3);
  CHECK(loaded.model.get<BatchNorm1d<float>>("batchnorm2").momentum() == 0.01);

  // Non-default momentum alone is version 3 too; without BatchNorm the fields are not written.
  MlpSpec m = bn_spec();
  m.bn_momentum = 0.2;
  CHECK(version_of(io::encode_checkpoint(checkpoint_of(m))) == 3);
}

TEST_CASE("checkpoint choices: BatchNorm before against after is an architecture mismatch that says so") {
  MlpSpec after = bn_spec();
  after.batchnorm_after = true;
  const io::Checkpoint c = checkpoint_of(after);
  CHECK_NOTHROW(io::check_architecture(c, after, "a.ckpt"));
  MlpSpec before = bn_spec();
  CHECK_THROWS_WITH_AS(io::check_architecture(c, before, "a.ckpt"),
                       doctest::Contains("its BatchNorm layers sit after the activation, this run asks for them before it"),
                       io::CheckpointError);
  // momentum and eps are settings, not the architecture: a resume may change them.
  MlpSpec other_eps = after;
  other_eps.bn_eps = 1e-3;
  CHECK_NOTHROW(io::check_architecture(c, other_eps, "a.ckpt"));
}

TEST_CASE("checkpoint choices: the new inits round trip; a bad init or BatchNorm field is refused") {
  for (const char* init : {"lecun", "normal:0.01", "uniform:0.05", "he", "glorot"}) {
    CAPTURE(init);
    MlpSpec s = bn_spec();
    s.batchnorm = false;
    s.init = init;
    const auto bytes = io::encode_checkpoint(checkpoint_of(s));
    CHECK(version_of(bytes) == 1);
    CHECK(io::decode_checkpoint(bytes.data(), bytes.size(), "i.ckpt").spec.init == init);
  }
  io::Checkpoint c;
  c.spec = bn_spec();
  c.spec.batchnorm = false;
  auto model = make_mlp<float>(c.spec);
  io::store_model(model, c);
  c.spec.init = "normal:-1";
  auto bytes = io::encode_checkpoint(c);
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(bytes.data(), bytes.size(), "bad.ckpt"), doctest::Contains("bad init"),
                       io::CheckpointError);
  io::Checkpoint e = checkpoint_of(bn_spec());
  e.spec.bn_eps = -1;  // written as version 3 with a negative eps
  bytes = io::encode_checkpoint(e);
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(bytes.data(), bytes.size(), "eps.ckpt"),
                       doctest::Contains("bad BatchNorm settings"), io::CheckpointError);
}
