// Tests for src/chainrule/io/checkpoint: bit-exact round trips and every way a file can be bad.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/io/checkpoint.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/loss.hpp"

namespace fs = std::filesystem;
using namespace chainrule;

namespace {

std::string tmp_dir(const std::string& name) {
  const fs::path dir = fs::path(CHAINRULE_TEST_TMP) / "checkpoint" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

MlpSpec small_spec() {
  MlpSpec s;
  s.inputs = 12;
  s.hidden = {6, 5};
  s.classes = 3;
  s.dropout = 0.25;
  s.batchnorm = true;
  s.seed = 7;
  return s;
}

// A checkpoint of a small network after a few Adam steps, so that every part holds real numbers.
io::Checkpoint trained_checkpoint(Sequential<float>& model, const MlpSpec& spec) {
  auto params = model.params();
  auto opt = make_optimizer(OptimizerConfig{});
  Rng rng(3);
  Tensor<float> X(8, spec.inputs), dZ;
  std::vector<int> labels(8);
  SoftmaxCrossEntropy<float> loss;
  for (int step = 0; step < 3; ++step) {
    for (auto& x : X.data) x = static_cast<float>(rng.uniform());
    for (auto& y : labels) y = static_cast<int>(rng.below(3));
    model.zero_grad();
    loss.forward(model.forward(X, true), labels);
    loss.backward(dZ);
    model.backward(dZ);
    opt->step(params);
  }
  io::Checkpoint c;
  c.spec = spec;
  io::store_model(model, c);
  io::store_optimizer(*opt, params, c);
  c.rngs.push_back({"shuffle", rng.state()});
  c.epoch = 2;
  c.best_val_accuracy = 0.75;
  c.history = {{1, 1.5, 0.5, 1.25, 0.625, 0.1}, {2, 1.0, 0.7, 0.9, 0.75, 0.2}};
  c.config = {{"batch", "8"}, {"validation", "test"}};
  return c;
}

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
  return a.same_shape(b) && std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) == 0;
}

std::vector<std::uint8_t> valid_bytes() {
  const MlpSpec spec = small_spec();
  auto model = make_mlp<float>(spec);
  return io::encode_checkpoint(trained_checkpoint(model, spec));
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("a checkpoint round trip through a file is bit-exact") {
  const MlpSpec spec = small_spec();
  auto model = make_mlp<float>(spec);
  const io::Checkpoint c = trained_checkpoint(model, spec);
  REQUIRE(c.optimizer_slots.size() == 2 * model.params().size());
  const std::string path = tmp_dir("roundtrip") + "/last.ckpt";
  io::write_checkpoint(path, c);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  const io::Checkpoint r = io::read_checkpoint(path);

  CHECK(r.spec.architecture() == spec.architecture());
  CHECK(r.spec.init == spec.init);
  CHECK(r.spec.seed == spec.seed);
  REQUIRE(r.tensors.size() == c.tensors.size());
  for (std::size_t k = 0; k < c.tensors.size(); ++k) {
    CHECK(r.tensors[k].name == c.tensors[k].name);
    CHECK(same_bits(r.tensors[k].value, c.tensors[k].value));
  }
  REQUIRE(r.optimizer_slots.size() == c.optimizer_slots.size());
  for (std::size_t k = 0; k < c.optimizer_slots.size(); ++k) {
    CHECK(r.optimizer_slots[k].name == c.optimizer_slots[k].name);
    CHECK(same_bits(r.optimizer_slots[k].value, c.optimizer_slots[k].value));
  }
  CHECK(r.optimizer.kind == "adam");
  CHECK(r.optimizer_steps == 3);
  REQUIRE(r.rngs.size() == c.rngs.size());  // dropout1, dropout2, shuffle
  CHECK(r.rngs.size() == 3);
  for (std::size_t k = 0; k < c.rngs.size(); ++k) {
    CHECK(r.rngs[k].name == c.rngs[k].name);
    CHECK(r.rngs[k].state.words == c.rngs[k].state.words);
  }
  CHECK(r.epoch == 2);
  CHECK(r.best_val_accuracy == 0.75);
  REQUIRE(r.history.size() == 2);
  CHECK(r.history[1].val_accuracy == 0.75);
  CHECK(r.config == c.config);
  CHECK(io::encode_checkpoint(r) == io::encode_checkpoint(c));

  // load_model rebuilds the network with the same values, and it computes the same outputs.
  io::LoadedModel loaded = io::load_model(path);
  auto a = model.params();
  auto b = loaded.model.params();
  REQUIRE(a.size() == b.size());
  for (std::size_t k = 0; k < a.size(); ++k) CHECK(same_bits(*a[k].value, *b[k].value));
  Tensor<float> X(4, spec.inputs, 0.5f);
  CHECK(same_bits(model.forward(X, false), loaded.model.forward(X, false)));

  // The optimizer comes back with its slots and t.
  auto opt = io::restore_optimizer(r, b, path);
  CHECK(opt->steps() == 3);
  CHECK(same_bits(opt->slots()[0], c.optimizer_slots[0].value));
}

TEST_CASE("a flipped byte in the payload is caught by the CRC") {
  auto bytes = valid_bytes();
  bytes[bytes.size() / 2] ^= 0x10;
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(bytes.data(), bytes.size(), "runs/x/last.ckpt"),
                       doctest::Contains("runs/x/last.ckpt: corrupt checkpoint (CRC32"), io::CheckpointError);
}

TEST_CASE("a truncated checkpoint is refused, whether cut in the header or in the payload") {
  const auto bytes = valid_bytes();
  const std::string dir = tmp_dir("truncated");
  for (std::size_t keep : {std::size_t{0}, std::size_t{10}, bytes.size() - 1, bytes.size() / 2}) {
    CAPTURE(keep);
    const std::string path = dir + "/cut.ckpt";
    write_bytes(path, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep)));
    CHECK_THROWS_WITH_AS(io::read_checkpoint(path), doctest::Contains("truncated checkpoint"), io::CheckpointError);
  }
}

TEST_CASE("a file without the magic, or from another format version, is refused") {
  auto bytes = valid_bytes();
  auto wrong_magic = bytes;
  wrong_magic[0] = 'X';
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(wrong_magic.data(), wrong_magic.size(), "model.npy"),
                       doctest::Contains("model.npy: not a chainrule checkpoint"), io::CheckpointError);
  auto wrong_version = bytes;
  wrong_version[8] = 2;  // the u32 version follows the 8 magic bytes
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(wrong_version.data(), wrong_version.size(), "old.ckpt"),
                       doctest::Contains("old.ckpt: checkpoint format version 2"), io::CheckpointError);
  const std::string missing = tmp_dir("missing") + "/nothing.ckpt";
  CHECK_THROWS_WITH_AS(io::read_checkpoint(missing), doctest::Contains("no such checkpoint file"), io::CheckpointError);
}

TEST_CASE("resuming into another architecture is refused with the fix") {
  const auto bytes = valid_bytes();
  const io::Checkpoint c = io::decode_checkpoint(bytes.data(), bytes.size(), "a.ckpt");
  MlpSpec other = small_spec();
  CHECK_NOTHROW(io::check_architecture(c, other, "a.ckpt"));
  other.hidden = {6};
  CHECK_THROWS_WITH_AS(io::check_architecture(c, other, "a.ckpt"),
                       doctest::Contains("holds a 12-6-5-3+dropout0.25+batchnorm network, but this run asks for 12-6-3"),
                       io::CheckpointError);
  other = small_spec();
  other.batchnorm = false;
  CHECK_THROWS_AS(io::check_architecture(c, other, "a.ckpt"), io::CheckpointError);
  // A model of another shape cannot take the tensors either.
  MlpSpec wider = small_spec();
  wider.hidden = {7, 5};
  auto model = make_mlp<float>(wider);
  CHECK_THROWS_WITH_AS(io::restore_model(c, model, "a.ckpt"), doctest::Contains("dense1.W"), io::CheckpointError);
}

TEST_CASE("an absurd shape or count in a checkpoint with a valid CRC is refused before allocating") {
  io::Checkpoint c;
  c.spec = small_spec();
  // Shape (1048576, 1048576) would be 4 TiB of floats; the file holds none of them.
  io::NamedTensor huge;
  huge.name = "dense1.W";
  huge.value.rows = 1 << 20;
  huge.value.cols = 1 << 20;  // data stays empty: the encoder writes the shape and no values
  c.tensors.push_back(huge);
  auto bytes = io::encode_checkpoint(c);
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(bytes.data(), bytes.size(), "huge.ckpt"),
                       doctest::Contains("tensor 'dense1.W' of shape (1048576, 1048576) needs"), io::CheckpointError);
  c.tensors[0].value.rows = -5;
  bytes = io::encode_checkpoint(c);
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(bytes.data(), bytes.size(), "neg.ckpt"),
                       doctest::Contains("impossible shape (-5, 1048576)"), io::CheckpointError);
  c.tensors.clear();
  c.spec.hidden.assign(100, 8);  // more hidden layers than any checkpoint may hold
  bytes = io::encode_checkpoint(c);
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(bytes.data(), bytes.size(), "deep.ckpt"),
                       doctest::Contains("hidden layer count 100 exceeds"), io::CheckpointError);
}
