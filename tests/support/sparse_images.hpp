// 1000 random 28x28 images with labels 0..9, for the tests that run real-sized steps without
// MNIST: 90% of the pixels are 0 (MNIST: 81%), so the products skip zeros as on real images.
// Batches of 32 end with a partial one of 8.
#pragma once

#include <cstdint>

#include "chainrule/data/idx.hpp"
#include "chainrule/rng.hpp"

namespace chainrule::testing {

inline data::ImageSet sparse_images() {
  data::ImageSet set;
  set.count = 1000;
  Rng rng(3);
  set.pixels.resize(static_cast<std::size_t>(set.count) * 784);
  for (auto& p : set.pixels) p = rng.uniform() < 0.9 ? std::uint8_t{0} : static_cast<std::uint8_t>(1 + rng.below(255));
  set.labels.resize(static_cast<std::size_t>(set.count));
  for (auto& l : set.labels) l = static_cast<std::uint8_t>(rng.below(10));
  return set;
}

}  // namespace chainrule::testing
