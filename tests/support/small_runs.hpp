// Test helpers for small training runs that need no MNIST: a 16-pixel two-class image set,
// a file read whole, and whether a config writes a given setting.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "chainrule/data/idx.hpp"
#include "chainrule/rng.hpp"
#include "chainrule/data/dataset.hpp"
#include "chainrule/train/config.hpp"

namespace chainrule::testing {

// `count` 4x4 images: class 0 bright (150 + noise below 100) on the left half, class 1 on the right.
inline data::ImageSet two_patterns(int count, std::uint64_t seed) {
  data::ImageSet set;
  set.count = count;
  set.rows = 4;
  set.cols = 4;
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng.below(2));
    set.labels.push_back(static_cast<std::uint8_t>(label));
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) {
        const bool bright = (c < 2) == (label == 0);
        set.pixels.push_back(static_cast<std::uint8_t>((bright ? 150 : 0) + rng.below(100)));
      }
  }
  return set;
}

// A training set of 256 and a validation set of 64 such images, as fit() takes them.
struct Synthetic {
  data::ImageSet train = two_patterns(256, 1);
  data::ImageSet val = two_patterns(64, 2);
  train::TrainData data() const {
    train::TrainData d;
    d.train = &train;
    d.train_indices = data::all_indices(train.count);
    d.val = &val;
    d.val_indices = data::all_indices(val.count);
    d.val_name = "synthetic";
    return d;
  }
};

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
