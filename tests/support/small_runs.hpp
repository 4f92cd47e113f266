// Test helpers for small training runs that need no MNIST: a 16-pixel two-class image set,
// the TrainData over two such sets, a model's or a checkpoint's weights, a file read whole,
// and whether a config writes a given setting.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/io/checkpoint.hpp"
#include "chainrule/model.hpp"
#include "chainrule/train/config.hpp"
#include "chainrule/train/trainer.hpp"

namespace chainrule::testing {

// How two_patterns draws its images: a bright half at bright + noise below `noise`, the
// other half below `noise`; a fraction `flip` of the labels swapped after the image is drawn.
struct Patterns {
  double flip = 0.0;
  int bright = 150;
  int noise = 100;
};

// `count` 4x4 images: class 0 bright on the left half, class 1 on the right.
inline data::ImageSet two_patterns(int count, std::uint64_t seed, Patterns p = {}) {
  data::ImageSet set;
  set.count = count;
  set.rows = 4;
  set.cols = 4;
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng.below(2));
    const bool flipped = p.flip > 0.0 && static_cast<double>(rng.below(1000)) < 1000 * p.flip;
    set.labels.push_back(static_cast<std::uint8_t>(flipped ? 1 - label : label));
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) {
        const bool bright = (c < 2) == (label == 0);
        set.pixels.push_back(static_cast<std::uint8_t>((bright ? p.bright : 0) +
                                                       static_cast<int>(rng.below(static_cast<std::uint64_t>(p.noise)))));
      }
  }
  return set;
}

// Every image of `train` to fit on and every image of `val` to validate on, as fit() takes them.
inline train::TrainData train_data(const data::ImageSet& train, const data::ImageSet& val) {
  train::TrainData d;
  d.train = &train;
  d.train_indices = data::all_indices(train.count);
  d.val = &val;
  d.val_indices = data::all_indices(val.count);
  d.val_name = "synthetic";
  return d;
}

// A training set of 256 and a validation set of 64 such images.
struct Synthetic {
  data::ImageSet train = two_patterns(256, 1);
  data::ImageSet val = two_patterns(64, 2);
  train::TrainData data() const { return train_data(train, val); }
};

// A 16-8-2 network on those images: lr 0.01, batch 16, seed 5, one thread, no data folder.
inline train::TrainConfig small_config() {
  train::TrainConfig c;
  c.data_dir = "no-data-needed";
  c.spec.inputs = 16;
  c.spec.hidden = {8};
  c.spec.classes = 2;
  c.optimizer.lr = 0.01;
  c.batch = 16;
  c.seed = 5;
  c.threads = 1;
  return c;
}

// The values of every parameter tensor, in order, to compare two runs with ==.
inline std::vector<std::vector<float>> weights(Sequential<float>& m) {
  std::vector<std::vector<float>> w;
  for (const auto& p : m.params()) w.emplace_back(p.value->data.begin(), p.value->data.end());
  return w;
}
inline std::vector<std::vector<float>> weights(const io::Checkpoint& c) {
  std::vector<std::vector<float>> w;
  for (const auto& t : c.tensors) w.emplace_back(t.value.data.begin(), t.value.data.end());
  return w;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Whether config.txt and checkpoints would hold `key` (settings() omits defaults).
inline bool has_setting(const train::TrainConfig& c, const std::string& key) {
  for (const auto& [k, v] : c.settings())
    if (k == key) return true;
  return false;
}

}  // namespace chainrule::testing
