// libFuzzer target: decode_checkpoint on arbitrary bytes must either return a checkpoint
// whose network can be built (build_model) or throw CheckpointError; a crash, a sanitizer
// report, an allocation above -malloc_limit_mb or any other exception is a bug.
// When the input starts with the magic, its payload size and CRC are set to match, so that
// mutations reach the payload decoder instead of stopping at the CRC check.
// Seeds: tests/fuzz/corpus_checkpoint (tests/fuzz/make_checkpoints.cpp). Run: tools/fuzz.sh.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "chainrule/io/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chainrule;
  std::vector<std::uint8_t> bytes(data, data + size);
  if (size >= io::kCheckpointHeaderBytes && std::memcmp(data, io::kCheckpointMagic, 8) == 0) {
    const std::uint64_t payload = size - io::kCheckpointHeaderBytes;
    const auto crc = static_cast<std::uint32_t>(crc32_z(0L, data + io::kCheckpointHeaderBytes, payload));
    for (int k = 0; k < 8; ++k) bytes[12 + k] = static_cast<std::uint8_t>(payload >> (8 * k));
    for (int k = 0; k < 4; ++k) bytes[20 + k] = static_cast<std::uint8_t>(crc >> (8 * k));
  }
  try {
    const io::Checkpoint c = io::decode_checkpoint(bytes.data(), bytes.size(), "fuzz-input");
    const io::LoadedModel loaded = io::build_model(c, "fuzz-input");
    (void)loaded;
  } catch (const io::CheckpointError&) {
    // Refusing malformed input with a CheckpointError is the expected outcome.
  }
  return 0;
}
