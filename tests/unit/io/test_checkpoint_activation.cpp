// The hidden activation in checkpoints (format version 2): written only for a network that is
// not ReLU, so that a ReLU checkpoint stays version 1 byte for byte; version 1 reads as ReLU.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "chainrule/io/checkpoint.hpp"
#include "../../support/checkpoints.hpp"

using namespace chainrule;
using chainrule::testing::checkpoint_of;
using chainrule::testing::version_of;

namespace {

MlpSpec spec_with(const std::string& activation) {
  MlpSpec s;
  s.inputs = 6;
  s.hidden = {5, 4};
  s.classes = 3;
  s.seed = 9;
  s.set_activation(activation);
  return s;
}

}  // namespace

TEST_CASE("checkpoint activation: a ReLU network is written as version 1, exactly the bytes without the field") {
  const MlpSpec relu = spec_with("relu");
  const auto bytes = io::encode_checkpoint(checkpoint_of(relu));
  CHECK(version_of(bytes) == 1);
  // The architecture section of version 1: inputs, hidden count and sizes, classes, dropout, batchnorm,
  // init (u32 length + "auto"), seed; the seed follows "auto" directly (no activation string).
  const std::size_t init_at = 24 + 4 + 4 + 2 * 4 + 4 + 8 + 1;
  CHECK(std::memcmp(bytes.data() + init_at + 4, "auto", 4) == 0);
  std::uint64_t seed = 0;
  for (int k = 0; k < 8; ++k) seed |= static_cast<std::uint64_t>(bytes[init_at + 8 + k]) << (8 * k);
  CHECK(seed == 9);
  const io::Checkpoint back = io::decode_checkpoint(bytes.data(), bytes.size(), "relu.ckpt");
  CHECK(back.spec.activation == "relu");
  CHECK(back.spec.architecture() == "6-5-4-3");
}

TEST_CASE("checkpoint activation: sigmoid, tanh and leaky_relu:alpha round trip as version 2 and build their layers") {
  for (const char* activation : {"sigmoid", "tanh", "leaky_relu:0.3", "leaky_relu"}) {
    CAPTURE(activation);
    const MlpSpec spec = spec_with(activation);
    const auto bytes = io::encode_checkpoint(checkpoint_of(spec));
    CHECK(version_of(bytes) == 2);
    const io::Checkpoint back = io::decode_checkpoint(bytes.data(), bytes.size(), "act.ckpt");
    CHECK(back.spec.activation == spec.activation);
    CHECK(back.spec.leaky_alpha == spec.leaky_alpha);
    CHECK(back.spec.architecture() == spec.architecture());
    CHECK(io::encode_checkpoint(back) == bytes);
    io::LoadedModel loaded = io::build_model(back, "act.ckpt");
    const std::string kind = spec.activation;
    REQUIRE(loaded.model.find(kind + "1") != nullptr);
    CHECK(std::string(loaded.model.find(kind + "1")->kind()) == kind);
    CHECK(loaded.model.find(kind + "2") != nullptr);
    CHECK(loaded.model.find("relu1") == nullptr);
    if (kind == "leaky_relu") CHECK(loaded.model.get<LeakyReLU<float>>("leaky_relu1").alpha() == spec.leaky_alpha);
  }
}

TEST_CASE("checkpoint activation: a version-2 file naming an unknown activation or a bad alpha is refused") {
  MlpSpec spec = spec_with("tanh");
  io::Checkpoint c = checkpoint_of(spec);
  c.spec.activation = "swish";
  auto bytes = io::encode_checkpoint(c);
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(bytes.data(), bytes.size(), "bad.ckpt"),
                       doctest::Contains("bad.ckpt: the checkpoint names a bad activation: unknown activation 'swish'"),
                       io::CheckpointError);
  c.spec.activation = "leaky_relu";
  c.spec.leaky_alpha = 7;
  bytes = io::encode_checkpoint(c);
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(bytes.data(), bytes.size(), "bad.ckpt"),
                       doctest::Contains("alpha must be in [0, 1)"), io::CheckpointError);
}

TEST_CASE("checkpoint activation: resuming with another activation or alpha is refused") {
  const io::Checkpoint c = checkpoint_of(spec_with("leaky_relu:0.1"));
  CHECK_NOTHROW(io::check_architecture(c, spec_with("leaky_relu:0.1"), "run/last.ckpt"));
  CHECK_THROWS_WITH_AS(io::check_architecture(c, spec_with("leaky_relu:0.2"), "run/last.ckpt"),
                       doctest::Contains("holds a 6-5-4-3+leaky_relu0.1 network, but this run asks for 6-5-4-3+leaky_relu0.2"),
                       io::CheckpointError);
  CHECK_THROWS_AS(io::check_architecture(c, spec_with("relu"), "run/last.ckpt"), io::CheckpointError);
}
