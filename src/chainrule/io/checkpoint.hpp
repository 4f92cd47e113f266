// Checkpoints: everything needed to use a trained network, or to resume its training
// exactly (bit for bit). The byte layout is in docs/formats.md:
//
//   header   8 bytes magic "CRULCKPT", u32 version, u64 payload size, u32 CRC32 of the payload
//   payload  architecture (MlpSpec), tensors (parameters and buffers by name, with shapes),
//            optimizer (kind, hyperparameters, t, slot tensors), RNG states (the shuffle
//            generator and every dropout layer's), epoch, best val accuracy, history rows,
//            and the training settings as key = value text.
//
// All numbers are little-endian. Files are written to "<path>.tmp" and renamed, so a
// crash never leaves a half-written checkpoint. Reading checks the 24-byte header (magic,
// version, payload size against the file's size) before reading the rest, then the CRC,
// then bounds every count and shape before allocating, and checks that the tensors are
// exactly those of the declared architecture: no file makes a reader allocate much more
// than the file's own size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/model.hpp"
#include "chainrule/optim.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/tensor.hpp"
#include "chainrule/io/history.hpp"

namespace chainrule::io {

inline constexpr char kCheckpointMagic[8] = {'C', 'R', 'U', 'L', 'C', 'K', 'P', 'T'};
// Version 2 adds the hidden activation to the architecture (after init: str activation,
// f64 leaky_relu alpha). A network whose activation is ReLU (the default) is still written
// as version 1, byte for byte as before; the reader reads both, version 1 as ReLU.
// Version 3 adds the BatchNorm choices (after the activation fields: u8 after, f64 momentum,
// f64 eps); it is written only for a network with BatchNorm whose settings are not the
// defaults (before the activation, momentum 0.1, eps 1e-5). Versions 1 and 2 read as those.
inline constexpr std::uint32_t kCheckpointVersion = 3;
inline constexpr std::uint32_t kCheckpointOldestVersion = 1;
inline constexpr std::size_t kCheckpointHeaderBytes = 24;

// A checkpoint that cannot be used: unreadable, corrupt, truncated, from another format
// version or for another architecture. The message names the file and the fix; the
// command line exits with code 2.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NamedTensor {
  std::string name;  // "dense1.W", "batchnorm1.running_mean", "dense1.W:m", ...
  Tensor<float> value;
};

struct NamedRng {
  std::string name;  // "shuffle" or a dropout layer's name ("dropout1")
  Rng::State state;
};

struct Checkpoint {
  MlpSpec spec;
  std::vector<NamedTensor> tensors;  // the model's parameters, then its buffers, in model order

  OptimizerConfig optimizer;
  std::int64_t optimizer_steps = 0;          // Adam's t
  std::vector<NamedTensor> optimizer_slots;  // "<param>:<slot>", e.g. "dense1.W:m"

  std::vector<NamedRng> rngs;
  int epoch = 0;                  // epochs completed
  double best_val_accuracy = -1;  // -1 before the first epoch
  std::vector<HistoryRow> history;
  std::vector<std::pair<std::string, std::string>> config;  // training settings (key, value)

  const std::string* setting(const std::string& key) const;  // nullptr when absent
};

// ---- Bytes and files ---------------------------------------------------------------
std::vector<std::uint8_t> encode_checkpoint(const Checkpoint& ckpt);
// `name` (normally the path) appears in every error message.
Checkpoint decode_checkpoint(const std::uint8_t* bytes, std::size_t size, const std::string& name);
void write_checkpoint(const std::string& path, const Checkpoint& ckpt);  // atomic: tmp + rename
Checkpoint read_checkpoint(const std::string& path);

// Throws CheckpointError unless the checkpoint holds `expected`'s architecture
// (inputs, hidden sizes, classes, dropout, batchnorm and its place, activation).
void check_architecture(const Checkpoint& ckpt, const MlpSpec& expected, const std::string& path);

// ---- Between a checkpoint and live objects -------------------------------------------
// Copies the model's parameters, buffers and dropout RNG states into ckpt.
void store_model(Sequential<float>& model, Checkpoint& ckpt);
// The inverse; every tensor must be present with the right shape. Throws CheckpointError.
void restore_model(const Checkpoint& ckpt, Sequential<float>& model, const std::string& path);
void store_optimizer(Optimizer& optimizer, const std::vector<Param<float>>& params, Checkpoint& ckpt);
// Builds the checkpoint's optimizer with its slots and t restored.
std::unique_ptr<Optimizer> restore_optimizer(const Checkpoint& ckpt, const std::vector<Param<float>>& params,
                                             const std::string& path);
const NamedRng* find_rng(const Checkpoint& ckpt, const std::string& name);

// ---- For evaluate, inspect, export and predict ---------------------------------------
struct LoadedModel {
  MlpSpec spec;
  Sequential<float> model;
};
// Throws CheckpointError naming the first tensor with a NaN or an infinity (a diverged run).
void check_finite(const Checkpoint& ckpt, const std::string& path);
// Rebuilds a decoded checkpoint's network with the trained values; refuses non-finite weights.
LoadedModel build_model(const Checkpoint& ckpt, const std::string& path);
// read_checkpoint, then build_model.
LoadedModel load_model(const std::string& ckpt_path);

}  // namespace chainrule::io
