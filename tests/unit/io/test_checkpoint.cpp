// Tests for src/chainrule/io/checkpoint: bit-exact round trips and every way a file can be bad.
#include <doctest/doctest.h>

#include "../../support/test_dir.hpp"
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <limits>
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

std::string tmp_dir(const std::string& name) { return chainrule::testing::fresh_dir("checkpoint", name).string(); }

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
  wrong_version[8] = static_cast<std::uint8_t>(io::kCheckpointVersion + 1);  // the u32 version follows the 8 magic bytes
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(wrong_version.data(), wrong_version.size(), "new.ckpt"),
                       doctest::Contains(("new.ckpt: checkpoint format version " + std::to_string(io::kCheckpointVersion + 1)).c_str()),
                       io::CheckpointError);
  wrong_version[8] = 0;
  CHECK_THROWS_WITH_AS(io::decode_checkpoint(wrong_version.data(), wrong_version.size(), "old.ckpt"),
                       doctest::Contains("old.ckpt: checkpoint format version 0"), io::CheckpointError);
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

TEST_CASE("every architecture's own tensors pass the check against its declared architecture") {
  // The decoder's list of the tensors an architecture needs must be make_mlp's, in its order.
  std::vector<MlpSpec> specs(5);
  specs[0].hidden = {};
  specs[1] = small_spec();
  specs[2].inputs = 5;
  specs[2].hidden = {4, 3, 3};
  specs[2].classes = 2;
  specs[2].batchnorm = true;
  specs[3].inputs = 7;
  specs[3].hidden = {3};
  specs[3].dropout = 0.5;
  specs[4].inputs = 3;
  specs[4].hidden = {2, 2};
  specs[4].init = "glorot";
  for (const MlpSpec& spec : specs) {
    CAPTURE(spec.architecture());
    auto model = make_mlp<float>(spec);
    io::Checkpoint c;
    c.spec = spec;
    io::store_model(model, c);
    const auto bytes = io::encode_checkpoint(c);
    const io::Checkpoint r = io::decode_checkpoint(bytes.data(), bytes.size(), "ok.ckpt");
    CHECK(r.tensors.size() == c.tensors.size());
    CHECK_NOTHROW(io::build_model(r, "ok.ckpt"));
  }
}

TEST_CASE("a checkpoint whose tensors do not match its declared architecture is refused before building it") {
  const auto bytes = valid_bytes();
  const io::Checkpoint good = io::decode_checkpoint(bytes.data(), bytes.size(), "a.ckpt");
  auto decode = [](const io::Checkpoint& c) {
    const auto b = io::encode_checkpoint(c);
    return io::decode_checkpoint(b.data(), b.size(), "runs/x/best.ckpt");
  };
  // 1048576 hidden units declared, no tensors: about 150 bytes.
  io::Checkpoint huge;
  huge.spec.hidden = {1 << 20};
  CHECK(io::encode_checkpoint(huge).size() < 200);
  CHECK_THROWS_WITH_AS(decode(huge),
                       doctest::Contains("runs/x/best.ckpt: the checkpoint declares a 784-1048576-10 network, which needs 4 "
                                         "tensors, but it holds only 0 (no 'dense1.W' (784, 1048576))"),
                       io::CheckpointError);
  // The real tensors, under an architecture that says otherwise.
  io::Checkpoint wider = good;
  wider.spec.hidden = {6, 1 << 20};
  CHECK_THROWS_WITH_AS(decode(wider),
                       doctest::Contains("whose tensor 5 is 'dense2.W' (6, 1048576), but the file holds 'dense2.W' (6, 5)"),
                       io::CheckpointError);
  wider.spec.hidden = {7, 5};
  CHECK_THROWS_WITH_AS(decode(wider), doctest::Contains("whose tensor 1 is 'dense1.W' (12, 7)"), io::CheckpointError);
  // A tensor too many, a tensor renamed.
  io::Checkpoint extra = good;
  extra.tensors.push_back(good.tensors[0]);
  CHECK_THROWS_WITH_AS(decode(extra), doctest::Contains("but the file holds 15"), io::CheckpointError);
  io::Checkpoint renamed = good;
  renamed.tensors[1].name = "dense1.bias";
  CHECK_THROWS_WITH_AS(decode(renamed), doctest::Contains("holds 'dense1.bias'"), io::CheckpointError);
}

TEST_CASE("the decoder range-checks its own fields: step count, epoch and init") {
  const auto bytes = valid_bytes();
  const io::Checkpoint good = io::decode_checkpoint(bytes.data(), bytes.size(), "a.ckpt");
  auto decode = [](const io::Checkpoint& c) {
    const auto b = io::encode_checkpoint(c);
    return io::decode_checkpoint(b.data(), b.size(), "last.ckpt");
  };
  io::Checkpoint c = good;
  c.optimizer_steps = INT64_MAX;  // Adam's t + 1 would overflow
  CHECK_THROWS_WITH_AS(decode(c), doctest::Contains("last.ckpt: malformed checkpoint (optimizer step count 9223372036854775807"),
                       io::CheckpointError);
  c.optimizer_steps = kMaxOptimizerSteps;
  CHECK(decode(c).optimizer_steps == kMaxOptimizerSteps);
  c = good;
  c.epoch = 2000000000;
  CHECK_THROWS_WITH_AS(decode(c), doctest::Contains("epoch 2000000000 is outside"), io::CheckpointError);
  c = good;
  c.spec.init = "kaiming";
  CHECK_THROWS_WITH_AS(decode(c), doctest::Contains("last.ckpt: the checkpoint names a bad init: unknown init 'kaiming'"),
                       io::CheckpointError);
}

TEST_CASE("non-finite weights are refused when a model is built, naming the tensor") {
  const auto bytes = valid_bytes();
  io::Checkpoint c = io::decode_checkpoint(bytes.data(), bytes.size(), "a.ckpt");
  CHECK_NOTHROW(io::build_model(c, "a.ckpt"));
  c.tensors[2].value.data[0] = std::numeric_limits<float>::quiet_NaN();  // batchnorm1.gamma
  CHECK_THROWS_WITH_AS(io::build_model(c, "runs/x/last.ckpt"),
                       doctest::Contains("runs/x/last.ckpt: the checkpoint holds non-finite values (NaN or Inf) in "
                                         "batchnorm1.gamma (1 of 6): the run diverged"),
                       io::CheckpointError);
  c.tensors[2].value.data[0] = 1.0f;
  c.tensors.back().value.data[1] = std::numeric_limits<float>::infinity();  // batchnorm2.running_var
  CHECK_THROWS_WITH_AS(io::build_model(c, "x.ckpt"), doctest::Contains("in batchnorm2.running_var"), io::CheckpointError);
}

TEST_CASE("read_checkpoint refuses a FIFO and a folder without opening them") {
  const std::string dir = tmp_dir("special");
  const std::string fifo = dir + "/pipe.ckpt";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(io::read_checkpoint(fifo), doctest::Contains("is a FIFO (named pipe), not a regular file"),
                       io::CheckpointError);
  CHECK_THROWS_WITH_AS(io::read_checkpoint(dir), doctest::Contains("is a folder, not a regular file"), io::CheckpointError);
}

TEST_CASE("a file whose header announces more payload than it holds is refused from its header") {
  auto bytes = valid_bytes();
  bytes[12] = 0xFF;  // payload size (u64 at byte 12): now far more than the file holds
  bytes[16] = 0x01;
  const std::string path = tmp_dir("header") + "/short.ckpt";
  write_bytes(path, bytes);
  CHECK_THROWS_WITH_AS(io::read_checkpoint(path), doctest::Contains("truncated checkpoint (the header announces"),
                       io::CheckpointError);
}
