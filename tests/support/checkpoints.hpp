// Test helpers for checkpoint files: a checkpoint of a freshly made MLP, and the format
// version a file's header declares (io/checkpoint.hpp: bytes 8..11, little-endian).
#pragma once

#include <cstdint>
#include <vector>

#include "chainrule/io/checkpoint.hpp"
#include "chainrule/model.hpp"

namespace chainrule::testing {

inline io::Checkpoint checkpoint_of(const MlpSpec& spec) {
  auto model = make_mlp<float>(spec);
  io::Checkpoint c;
  c.spec = spec;
  io::store_model(model, c);
  c.config = {{"batch", "8"}};
  return c;
}

inline std::uint32_t version_of(const std::vector<std::uint8_t>& bytes) {
  std::uint32_t v = 0;
  for (int k = 0; k < 4; ++k) v |= static_cast<std::uint32_t>(bytes[8 + k]) << (8 * k);
  return v;
}

}  // namespace chainrule::testing
