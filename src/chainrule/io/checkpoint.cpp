#include "chainrule/io/checkpoint.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "chainrule/io/files.hpp"
#include "chainrule/layers/dropout.hpp"
#include "chainrule/network.hpp"

namespace chainrule::io {

namespace {

// Limits checked before anything is allocated from a count read in the file.
constexpr std::uint32_t kMaxString = 4096;
constexpr std::uint32_t kMaxHidden = 64;
constexpr std::int32_t kMaxWidth = 1 << 20;  // inputs, classes, hidden sizes, tensor rows and cols
constexpr std::uint32_t kMaxItems = 4096;    // tensors, RNGs, settings
constexpr std::uint32_t kMaxHistory = 1000000;
constexpr std::uint64_t kMaxPayload = std::uint64_t{1} << 32;  // 4 GiB

// ---- Writing ----
class Writer {
 public:
  std::vector<std::uint8_t> bytes;
  void u8(std::uint8_t v) { bytes.push_back(v); }
  void u32(std::uint32_t v) {
    for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  }
  void u64(std::uint64_t v) {
    for (int k = 0; k < 8; ++k) bytes.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  }
  void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void tensor(const NamedTensor& t) {
    str(t.name);
    i32(t.value.rows);
    i32(t.value.cols);
    bytes.reserve(bytes.size() + 4 * t.value.data.size());
    for (float x : t.value.data) u32(std::bit_cast<std::uint32_t>(x));
  }
};

// ---- Reading: every read is bounds-checked against the payload ----
class Reader {
 public:
  Reader(const std::uint8_t* p, std::size_t n, const std::string& name) : p_(p), n_(n), name_(name) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw CheckpointError(name_ + ": malformed checkpoint (" + what + " at payload byte " + std::to_string(pos_) +
                          "); the file is damaged or was not written by chainrule; use another checkpoint "
                          "(best.ckpt or last.ckpt) or train again");
  }
  void need(std::size_t k, const char* what) {
    if (n_ - pos_ < k) fail(std::string("payload ends inside ") + what);
  }
  std::uint8_t u8(const char* what) {
    need(1, what);
    return p_[pos_++];
  }
  std::uint32_t u32(const char* what) {
    need(4, what);
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= static_cast<std::uint32_t>(p_[pos_ + k]) << (8 * k);
    pos_ += 4;
    return v;
  }
  std::uint64_t u64(const char* what) {
    need(8, what);
    std::uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v |= static_cast<std::uint64_t>(p_[pos_ + k]) << (8 * k);
    pos_ += 8;
    return v;
  }
  std::int32_t i32(const char* what) { return static_cast<std::int32_t>(u32(what)); }
  std::int64_t i64(const char* what) { return static_cast<std::int64_t>(u64(what)); }
  double f64(const char* what) { return std::bit_cast<double>(u64(what)); }
  std::uint32_t count(const char* what, std::uint32_t max) {
    const std::uint32_t c = u32(what);
    if (c > max) fail(std::string(what) + " count " + std::to_string(c) + " exceeds the limit " + std::to_string(max));
    return c;
  }
  std::string str(const char* what) {
    const std::uint32_t len = count(what, kMaxString);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }
  std::int32_t width(const char* what, std::int32_t lo) {
    const std::int32_t w = i32(what);
    if (w < lo || w > kMaxWidth)
      fail(std::string(what) + " " + std::to_string(w) + " is outside " + std::to_string(lo) + ".." +
           std::to_string(kMaxWidth));
    return w;
  }
  NamedTensor tensor() {
    NamedTensor t;
    t.name = str("tensor name");
    const std::int32_t rows = i32("tensor rows"), cols = i32("tensor cols");
    if (rows < 0 || cols < 0 || rows > kMaxWidth || cols > kMaxWidth)
      fail("tensor '" + t.name + "' has an impossible shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ")");
    const std::uint64_t values = static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols);
    if (values * 4 > n_ - pos_)
      fail("tensor '" + t.name + "' of shape (" + std::to_string(rows) + ", " + std::to_string(cols) +
           ") needs " + std::to_string(values * 4) + " bytes but only " + std::to_string(n_ - pos_) + " remain");
    t.value = Tensor<float>(rows, cols);
    for (auto& x : t.value.data) x = std::bit_cast<float>(u32("tensor values"));
    return t;
  }
  bool done() const { return pos_ == n_; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  const std::string& name_;
};

std::string join_hidden(const std::vector<int>& hidden) {
  std::string s;
  for (int h : hidden) {
    if (!s.empty()) s.push_back(',');
    s.append(std::to_string(h));
  }
  return s;
}

}  // namespace

const std::string* Checkpoint::setting(const std::string& key) const {
  for (const auto& [k, v] : config)
    if (k == key) return &v;
  return nullptr;
}

std::vector<std::uint8_t> encode_checkpoint(const Checkpoint& c) {
  Writer w;
  // Architecture
  w.i32(c.spec.inputs);
  w.u32(static_cast<std::uint32_t>(c.spec.hidden.size()));
  for (int h : c.spec.hidden) w.i32(h);
  w.i32(c.spec.classes);
  w.f64(c.spec.dropout);
  w.u8(c.spec.batchnorm ? 1 : 0);
  w.str(c.spec.init);
  // The oldest version that holds this checkpoint (checkpoint.hpp).
  bool per_epoch_lr = false;
  for (const auto& h : c.history) per_epoch_lr = per_epoch_lr || h.lr != c.optimizer.lr;
  const bool bn_choices = c.spec.batchnorm && !c.spec.batchnorm_default();
  const std::uint32_t version = per_epoch_lr ? 4 : bn_choices ? 3 : c.spec.activation != "relu" ? 2 : 1;
  if (version >= 2) {  // version 1 has no activation: ReLU
    w.str(c.spec.activation);
    w.f64(c.spec.leaky_alpha);
  }
  if (version >= 3) {
    w.u8(c.spec.batchnorm_after ? 1 : 0);
    w.f64(c.spec.bn_momentum);
    w.f64(c.spec.bn_eps);
  }
  w.u64(c.spec.seed);
  // Tensors
  w.u32(static_cast<std::uint32_t>(c.tensors.size()));
  for (const auto& t : c.tensors) w.tensor(t);
  // Optimizer
  w.str(c.optimizer.kind);
  w.f64(c.optimizer.lr);
  w.f64(c.optimizer.momentum);
  w.u8(c.optimizer.nesterov ? 1 : 0);
  w.f64(c.optimizer.beta1);
  w.f64(c.optimizer.beta2);
  w.f64(c.optimizer.eps);
  w.i64(c.optimizer_steps);
  w.u32(static_cast<std::uint32_t>(c.optimizer_slots.size()));
  for (const auto& t : c.optimizer_slots) w.tensor(t);
  // RNG states
  w.u32(static_cast<std::uint32_t>(c.rngs.size()));
  for (const auto& r : c.rngs) {
    w.str(r.name);
    for (auto word : r.state.words) w.u64(word);
    w.u8(r.state.has_spare ? 1 : 0);
    w.f64(r.state.spare);
  }
  // Progress
  w.i32(c.epoch);
  w.f64(c.best_val_accuracy);
  w.u32(static_cast<std::uint32_t>(c.history.size()));
  for (const auto& h : c.history) {
    w.i32(h.epoch);
    w.f64(h.loss);
    w.f64(h.accuracy);
    w.f64(h.val_loss);
    w.f64(h.val_accuracy);
    w.f64(h.seconds);
    if (version >= 4) w.f64(h.lr);
  }
  // Settings
  w.u32(static_cast<std::uint32_t>(c.config.size()));
  for (const auto& [k, v] : c.config) {
    w.str(k);
    w.str(v);
  }

  Writer file;
  file.bytes.assign(kCheckpointMagic, kCheckpointMagic + 8);
  file.u32(version);
  file.u64(w.bytes.size());
  file.u32(static_cast<std::uint32_t>(
      crc32(0L, w.bytes.data(), static_cast<uInt>(w.bytes.size()))));  // payloads stay far below 4 GiB
  file.bytes.insert(file.bytes.end(), w.bytes.begin(), w.bytes.end());
  return std::move(file.bytes);
}

namespace {

const char* const kRetrain = "; use another checkpoint (best.ckpt or last.ckpt of the run) or train again";

// Checks the 24-byte header against the size of the whole file, before anything the
// size of the payload is read or allocated. Returns the payload's CRC32.
std::uint32_t check_header(const std::uint8_t* bytes, std::uint64_t size, const std::string& name,
                           std::uint32_t* version_out = nullptr) {
  if (size < kCheckpointHeaderBytes)
    throw CheckpointError(name + ": truncated checkpoint (" + std::to_string(size) + " bytes, the header alone is " +
                          std::to_string(kCheckpointHeaderBytes) + ")" + kRetrain);
  if (std::memcmp(bytes, kCheckpointMagic, 8) != 0)
    throw CheckpointError(name + ": not a chainrule checkpoint (the file does not start with \"CRULCKPT\"); pass a "
                          ".ckpt file written by 'chainrule train', e.g. runs/NAME/best.ckpt");
  Reader header(bytes + 8, kCheckpointHeaderBytes - 8, name);
  const std::uint32_t version = header.u32("version");
  const std::uint64_t payload = header.u64("payload size");
  const std::uint32_t crc = header.u32("crc");
  if (version < kCheckpointOldestVersion || version > kCheckpointVersion)
    throw CheckpointError(name + ": checkpoint format version " + std::to_string(version) + ", but this chainrule reads versions " +
                          std::to_string(kCheckpointOldestVersion) + " to " + std::to_string(kCheckpointVersion) +
                          "; use the chainrule that wrote it, or train again");
  if (version_out) *version_out = version;
  const std::uint64_t have = size - kCheckpointHeaderBytes;
  if (payload > kMaxPayload || payload > have)
    throw CheckpointError(name + ": truncated checkpoint (the header announces " + std::to_string(payload) +
                          " payload bytes, the file holds " + std::to_string(have) + ")" + kRetrain);
  if (payload < have)
    throw CheckpointError(name + ": " + std::to_string(have - payload) +
                          " unexpected bytes after the checkpoint's payload" + kRetrain);
  return crc;
}

// The parameters and buffers make_mlp(spec) builds, in model order (params(), then buffers()).
struct ExpectedTensor {
  std::string name;
  std::int32_t rows, cols;
};
std::vector<ExpectedTensor> expected_tensors(const MlpSpec& s) {
  std::vector<ExpectedTensor> params, buffers;
  if (!s.layers.empty()) {  // a layer list (network.hpp): its parameters, no buffers
    for (const auto& t : network_tensors(parse_layers(s.layers, ImageShape{1, 28, 28}, s.classes)))
      params.push_back({t.name, t.rows, t.cols});
    return params;
  }
  std::int32_t in = s.inputs;
  for (std::size_t k = 0; k <= s.hidden.size(); ++k) {
    const bool last = k == s.hidden.size();
    const std::int32_t out = last ? s.classes : s.hidden[k];
    const std::string n = std::to_string(k + 1);
    params.push_back({"dense" + n + ".W", in, out});
    params.push_back({"dense" + n + ".b", 1, out});
    if (!last && s.batchnorm) {
      params.push_back({"batchnorm" + n + ".gamma", 1, out});
      params.push_back({"batchnorm" + n + ".beta", 1, out});
      buffers.push_back({"batchnorm" + n + ".running_mean", 1, out});
      buffers.push_back({"batchnorm" + n + ".running_var", 1, out});
    }
    in = out;
  }
  params.insert(params.end(), buffers.begin(), buffers.end());
  return params;
}

std::string shape_text(std::int64_t rows, std::int64_t cols) {
  return "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")";
}

// Every tensor the declared architecture needs must be in the file, with its shape, and
// nothing else: then the network is no larger than the file, and building it is safe.
void check_tensors_match_spec(const Checkpoint& c, const std::string& name) {
  const auto expected = expected_tensors(c.spec);
  std::string arch = c.spec.architecture();
  if (c.spec.hidden.size() > 4)  // 784-30000-30000-...-10 (64 hidden layers)
    arch = std::to_string(c.spec.inputs) + "-" + std::to_string(c.spec.hidden[0]) + "-" +
           std::to_string(c.spec.hidden[1]) + "-...-" + std::to_string(c.spec.hidden.back()) + "-" +
           std::to_string(c.spec.classes) + " (" + std::to_string(c.spec.hidden.size()) + " hidden layers)";
  const std::string fix = "; the file is damaged or was not written by chainrule" + std::string(kRetrain);
  for (std::size_t k = 0; k < expected.size(); ++k) {
    const ExpectedTensor& e = expected[k];
    if (k >= c.tensors.size())
      throw CheckpointError(name + ": the checkpoint declares a " + arch + " network, which needs " +
                            std::to_string(expected.size()) + " tensors, but it holds only " +
                            std::to_string(c.tensors.size()) + " (no '" + e.name + "' " + shape_text(e.rows, e.cols) + ")" + fix);
    const NamedTensor& t = c.tensors[k];
    if (t.name != e.name || t.value.rows != e.rows || t.value.cols != e.cols)
      throw CheckpointError(name + ": the checkpoint declares a " + arch + " network, whose tensor " +
                            std::to_string(k + 1) + " is '" + e.name + "' " + shape_text(e.rows, e.cols) +
                            ", but the file holds '" + t.name + "' " + shape_text(t.value.rows, t.value.cols) + fix);
  }
  if (c.tensors.size() != expected.size())
    throw CheckpointError(name + ": the checkpoint declares a " + arch + " network, which has " +
                          std::to_string(expected.size()) + " tensors, but the file holds " +
                          std::to_string(c.tensors.size()) + fix);
}

}  // namespace

Checkpoint decode_checkpoint(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  std::uint32_t version = 0;
  const std::uint32_t crc = check_header(bytes, size, name, &version);
  const std::uint64_t payload = size - kCheckpointHeaderBytes;
  const std::uint8_t* p = bytes + kCheckpointHeaderBytes;
  const auto actual = static_cast<std::uint32_t>(crc32_z(0L, p, static_cast<z_size_t>(payload)));
  if (actual != crc)
    throw CheckpointError(name + ": corrupt checkpoint (CRC32 of the payload is " + std::to_string(actual) +
                          ", the header says " + std::to_string(crc) + ")" + kRetrain);

  Reader r(p, static_cast<std::size_t>(payload), name);
  Checkpoint c;
  c.spec.inputs = r.width("inputs", 1);
  const std::uint32_t layers = r.count("hidden layer", kMaxHidden);
  c.spec.hidden.resize(layers);
  for (auto& h : c.spec.hidden) h = r.width("hidden size", 1);
  c.spec.classes = r.width("classes", 1);
  c.spec.dropout = r.f64("dropout");
  if (!(c.spec.dropout >= 0.0 && c.spec.dropout < 1.0)) r.fail("dropout rate outside [0, 1)");
  c.spec.batchnorm = r.u8("batchnorm") != 0;
  c.spec.init = r.str("init");
  try {
    c.spec.check_init();
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(name + ": the checkpoint names a bad init: " + e.what() + kRetrain);
  }
  if (version >= 2) {  // version 1: ReLU, the MlpSpec defaults
    c.spec.activation = r.str("activation");
    c.spec.leaky_alpha = r.f64("leaky_relu alpha");
    try {
      c.spec.check_activation();
    } catch (const std::invalid_argument& e) {
      throw CheckpointError(name + ": the checkpoint names a bad activation: " + e.what() + kRetrain);
    }
  }
  if (version >= 3) {  // versions 1 and 2: BatchNorm before the activation, momentum 0.1, eps 1e-5
    c.spec.batchnorm_after = r.u8("batchnorm position") != 0;
    c.spec.bn_momentum = r.f64("batchnorm momentum");
    c.spec.bn_eps = r.f64("batchnorm eps");
    try {
      c.spec.check_batchnorm();
    } catch (const std::invalid_argument& e) {
      throw CheckpointError(name + ": the checkpoint names bad BatchNorm settings: " + e.what() + kRetrain);
    }
  }
  c.spec.seed = r.u64("seed");

  const std::uint32_t tensors = r.count("tensor", kMaxItems);
  for (std::uint32_t k = 0; k < tensors; ++k) c.tensors.push_back(r.tensor());

  c.optimizer.kind = r.str("optimizer kind");
  c.optimizer.lr = r.f64("lr");
  c.optimizer.momentum = r.f64("momentum");
  c.optimizer.nesterov = r.u8("nesterov") != 0;
  c.optimizer.beta1 = r.f64("beta1");
  c.optimizer.beta2 = r.f64("beta2");
  c.optimizer.eps = r.f64("eps");
  c.optimizer_steps = r.i64("optimizer steps");
  if (c.optimizer_steps < 0 || c.optimizer_steps > kMaxOptimizerSteps)
    r.fail("optimizer step count " + std::to_string(c.optimizer_steps) + " is outside 0.." +
           std::to_string(kMaxOptimizerSteps));
  const std::uint32_t slots = r.count("optimizer slot", kMaxItems);
  for (std::uint32_t k = 0; k < slots; ++k) c.optimizer_slots.push_back(r.tensor());

  const std::uint32_t rngs = r.count("rng", kMaxItems);
  for (std::uint32_t k = 0; k < rngs; ++k) {
    NamedRng g;
    g.name = r.str("rng name");
    for (auto& word : g.state.words) word = r.u64("rng state");
    g.state.has_spare = r.u8("rng spare flag") != 0;
    g.state.spare = r.f64("rng spare");
    c.rngs.push_back(g);
  }

  c.epoch = r.i32("epoch");
  if (c.epoch < 0 || c.epoch > static_cast<std::int32_t>(kMaxHistory))
    r.fail("epoch " + std::to_string(c.epoch) + " is outside 0.." + std::to_string(kMaxHistory));
  c.best_val_accuracy = r.f64("best val accuracy");
  const std::uint32_t rows = r.count("history row", kMaxHistory);
  for (std::uint32_t k = 0; k < rows; ++k) {
    HistoryRow h;
    h.epoch = r.i32("history epoch");
    h.loss = r.f64("history loss");
    h.accuracy = r.f64("history accuracy");
    h.val_loss = r.f64("history val_loss");
    h.val_accuracy = r.f64("history val_accuracy");
    h.seconds = r.f64("history seconds");
    h.lr = version >= 4 ? r.f64("history lr") : c.optimizer.lr;  // versions 1 to 3: every epoch at the saved lr
    c.history.push_back(h);
  }
  const std::uint32_t settings = r.count("setting", kMaxItems);
  for (std::uint32_t k = 0; k < settings; ++k) {
    std::string key = r.str("setting key");
    std::string value = r.str("setting value");
    c.config.emplace_back(std::move(key), std::move(value));
  }
  if (!r.done()) r.fail("bytes left over after the last section");
  if (const std::string* list = c.setting("layers")) {  // a layer list: the network it declares
    try {
      c.spec.layers = layers_text(parse_layers(*list, ImageShape{1, 28, 28}, c.spec.classes));
    } catch (const std::invalid_argument& e) {
      throw CheckpointError(name + ": the checkpoint's layer list is bad: " + e.what() + kRetrain);
    }
  }
  check_tensors_match_spec(c, name);  // after the settings, which may hold the layer list
  return c;
}

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  const auto bytes = encode_checkpoint(ckpt);
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

Checkpoint read_checkpoint(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw CheckpointError(path + ": no such checkpoint file; 'chainrule train' writes runs/NAME/last.ckpt and best.ckpt");
  std::uintmax_t size = 0;
  try {
    size = require_regular_file(path, "checkpoint");
  } catch (const std::runtime_error& e) {
    throw CheckpointError(e.what());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(path + ": cannot open the checkpoint (permission denied?); check its permissions");
  // The header first: a file of the wrong kind or size is refused after reading 24 bytes.
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(std::min<std::uintmax_t>(size, kCheckpointHeaderBytes)));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw CheckpointError(path + ": cannot read the checkpoint (read error)");
  check_header(bytes.data(), size, path);
  bytes.resize(static_cast<std::size_t>(size));  // now known to be 24 + the announced payload
  in.read(reinterpret_cast<char*>(bytes.data() + kCheckpointHeaderBytes),
          static_cast<std::streamsize>(size - kCheckpointHeaderBytes));
  if (!in) throw CheckpointError(path + ": cannot read the checkpoint (read error, or the file shrank while being read)");
  return decode_checkpoint(bytes.data(), bytes.size(), path);
}

void check_architecture(const Checkpoint& ckpt, const MlpSpec& expected, const std::string& path) {
  const MlpSpec& s = ckpt.spec;
  if (s.inputs == expected.inputs && s.hidden == expected.hidden && s.classes == expected.classes &&
      s.dropout == expected.dropout && s.batchnorm == expected.batchnorm && s.activation == expected.activation &&
      (s.activation != "leaky_relu" || s.leaky_alpha == expected.leaky_alpha) &&
      (!s.batchnorm || s.batchnorm_after == expected.batchnorm_after) && s.layers == expected.layers)
    return;
  if (s.layers != expected.layers)
    throw CheckpointError(path + ": the checkpoint holds a " + (s.layers.empty() ? "multilayer perceptron" : "network of layers") +
                          " " + s.architecture() + ", but this run asks for " + expected.architecture() +
                          "; drop --layers/--model/--hidden to continue with the checkpoint's network, or train a new run "
                          "without --resume");
  // BatchNorm before or after the activation holds the same tensors in a different layer order:
  // say which, since the two architectures' names differ only in "_after".
  const std::string where = s.batchnorm && expected.batchnorm && s.batchnorm_after != expected.batchnorm_after
                                ? std::string(" (its BatchNorm layers sit ") + (s.batchnorm_after ? "after" : "before") +
                                      " the activation, this run asks for them " +
                                      (expected.batchnorm_after ? "after" : "before") + " it)"
                                : "";
  throw CheckpointError(path + ": the checkpoint holds a " + s.architecture() + " network" + where +
                        ", but this run asks for " + expected.architecture() +
                        "; drop --hidden/--dropout/--batchnorm/--activation to continue with the "
                        "checkpoint's architecture (--hidden " + join_hidden(s.hidden) + "), or train a new run without --resume");
}

void store_model(Sequential<float>& model, Checkpoint& ckpt) {
  ckpt.tensors.clear();
  for (const auto& p : model.params()) ckpt.tensors.push_back({p.name, *p.value});
  for (const auto& b : model.buffers()) ckpt.tensors.push_back({b.name, *b.value});
  for (std::size_t i = 0; i < model.size(); ++i)
    if (auto* d = dynamic_cast<Dropout<float>*>(&model.layer(i))) ckpt.rngs.push_back({d->name(), d->rng().state()});
}

namespace {
const NamedTensor* find_tensor(const std::vector<NamedTensor>& list, const std::string& name) {
  for (const auto& t : list)
    if (t.name == name) return &t;
  return nullptr;
}

void restore_tensor(const std::vector<NamedTensor>& list, const std::string& name, Tensor<float>& into,
                    const std::string& path) {
  const NamedTensor* t = find_tensor(list, name);
  if (!t) throw CheckpointError(path + ": the checkpoint has no tensor '" + name + "'; it was written for another network");
  if (!t->value.same_shape(into))
    throw CheckpointError(path + ": tensor '" + name + "' is " + t->value.shape() + " in the checkpoint but " +
                          into.shape() + " in the network; it was written for another architecture");
  into.data = t->value.data;
}
}  // namespace

void restore_model(const Checkpoint& ckpt, Sequential<float>& model, const std::string& path) {
  auto params = model.params();
  auto buffers = model.buffers();
  if (params.size() + buffers.size() != ckpt.tensors.size())
    throw CheckpointError(path + ": the checkpoint has " + std::to_string(ckpt.tensors.size()) +
                          " tensors, the network " + std::to_string(params.size() + buffers.size()) +
                          "; it was written for another architecture");
  for (auto& p : params) restore_tensor(ckpt.tensors, p.name, *p.value, path);
  for (auto& b : buffers) restore_tensor(ckpt.tensors, b.name, *b.value, path);
  for (std::size_t i = 0; i < model.size(); ++i)
    if (auto* d = dynamic_cast<Dropout<float>*>(&model.layer(i))) {
      const NamedRng* g = find_rng(ckpt, d->name());
      if (!g) throw CheckpointError(path + ": the checkpoint has no RNG state for '" + d->name() + "'");
      d->rng().set_state(g->state);
    }
}

void store_optimizer(Optimizer& optimizer, const std::vector<Param<float>>& params, Checkpoint& ckpt) {
  ckpt.optimizer = optimizer.config();
  ckpt.optimizer_steps = optimizer.steps();
  ckpt.optimizer_slots.clear();
  const auto names = optimizer.slot_names();
  auto& slots = optimizer.slots();
  if (slots.empty()) return;  // before the first step: all zero, nothing to keep
  for (std::size_t k = 0; k < names.size(); ++k)
    for (std::size_t i = 0; i < params.size(); ++i)
      ckpt.optimizer_slots.push_back({params[i].name + ":" + names[k], slots[k * params.size() + i]});
}

std::unique_ptr<Optimizer> restore_optimizer(const Checkpoint& ckpt, const std::vector<Param<float>>& params,
                                             const std::string& path) {
  std::unique_ptr<Optimizer> opt;
  try {
    opt = make_optimizer(ckpt.optimizer);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": bad optimizer settings in the checkpoint: " + e.what());
  }
  try {
    opt->set_steps(ckpt.optimizer_steps);
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": " + e.what());
  }
  if (ckpt.optimizer_slots.empty()) return opt;
  opt->init_slots(params);
  const auto names = opt->slot_names();
  for (std::size_t k = 0; k < names.size(); ++k)
    for (std::size_t i = 0; i < params.size(); ++i)
      restore_tensor(ckpt.optimizer_slots, params[i].name + ":" + names[k], opt->slots()[k * params.size() + i], path);
  return opt;
}

const NamedRng* find_rng(const Checkpoint& ckpt, const std::string& name) {
  for (const auto& g : ckpt.rngs)
    if (g.name == name) return &g;
  return nullptr;
}

void check_finite(const Checkpoint& ckpt, const std::string& path) {
  for (const auto& t : ckpt.tensors) {
    std::size_t bad = 0;
    for (const float x : t.value.data) bad += std::isfinite(x) ? 0 : 1;
    if (bad > 0)
      throw CheckpointError(path + ": the checkpoint holds non-finite values (NaN or Inf) in " + t.name + " (" +
                            std::to_string(bad) + " of " + std::to_string(t.value.data.size()) +
                            "): the run diverged; use an earlier checkpoint (best.ckpt), or train again with a "
                            "smaller --lr (chainrule doctor explains a run)");
  }
}

LoadedModel build_model(const Checkpoint& ckpt, const std::string& path) {
  check_finite(ckpt, path);
  LoadedModel loaded{ckpt.spec, {}};
  try {
    loaded.model = make_model<float>(ckpt.spec);  // the MLP, or a layer list (network.hpp)
  } catch (const std::invalid_argument& e) {
    throw CheckpointError(path + ": cannot rebuild the checkpoint's network: " + e.what());
  }
  restore_model(ckpt, loaded.model, path);
  return loaded;
}

LoadedModel load_model(const std::string& ckpt_path) { return build_model(read_checkpoint(ckpt_path), ckpt_path); }

}  // namespace chainrule::io
