// Checks that a checkpoint declaring a huge network, or a huge file that is no checkpoint,
// is refused before anything of that size is allocated: this program records the largest
// operator new while the reader runs (tests/support/counting_new.hpp; a program of its own,
// because replacing operator new affects the whole program).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "chainrule/io/checkpoint.hpp"
#include "../support/counting_new.hpp"

using namespace chainrule;
namespace fs = std::filesystem;

namespace {

std::string tmp_path(const std::string& name) {
  const fs::path dir = fs::path(CHAINRULE_TEST_TMP) / "checkpoint-alloc";
  fs::create_directories(dir);
  return (dir / name).string();
}

// Writes a checkpoint declaring `spec` with no tensors (valid header and CRC); returns its path.
std::string declared_only(const std::string& name, const MlpSpec& spec) {
  io::Checkpoint c;
  c.spec = spec;
  const auto bytes = io::encode_checkpoint(c);
  const std::string path = tmp_path(name);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  return path;
}

// Runs load_model, expecting a CheckpointError containing `fragment`; returns the largest allocation.
std::size_t largest_allocation_until_error(const std::string& path, const std::string& fragment) {
  counting_new::largest = 0;
  CHECK_THROWS_WITH_AS(io::load_model(path), doctest::Contains(fragment.c_str()), io::CheckpointError);
  return counting_new::largest;
}

MlpSpec spec(std::vector<int> hidden) {
  MlpSpec s;
  s.hidden = std::move(hidden);
  return s;
}

}  // namespace

TEST_CASE("checkpoint: a tiny file declaring 1048576 hidden units allocates nothing of the network") {
  const std::string path = declared_only("huge-hidden.ckpt", spec({1 << 20}));
  CHECK(fs::file_size(path) < 200);
  // The largest allocations allowed: the file buffer, the list of tensors and the message.
  CHECK(largest_allocation_until_error(path, "declares a 784-1048576-10 network") < 64 * 1024);
}

TEST_CASE("checkpoint: a tiny file declaring 64 hidden layers of 30000 units allocates nothing of the network") {
  const std::string path = declared_only("deep-wide.ckpt", spec(std::vector<int>(64, 30000)));
  CHECK(largest_allocation_until_error(path, "which needs 130 tensors, but it holds only 0") < 64 * 1024);
}

TEST_CASE("checkpoint: a 4 GiB sparse file of zeros is refused after reading its header") {
  const std::string path = tmp_path("zeros-4g.ckpt");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, off_t{4} << 30) == 0);
  ::close(fd);
  counting_new::largest = 0;
  CHECK_THROWS_WITH_AS(io::read_checkpoint(path), doctest::Contains("not a chainrule checkpoint"), io::CheckpointError);
  CHECK(counting_new::largest < 64 * 1024);  // the header, the stream's buffer and the message
  fs::remove(path);
}

TEST_CASE("checkpoint: the allocation counter sees a real network being built") {
  // Guards the tests above: loading a valid 784-128-10 checkpoint allocates dense1.W (401408 bytes).
  auto model = make_mlp<float>(spec({128}));
  io::Checkpoint c;
  c.spec = spec({128});
  io::store_model(model, c);
  const std::string path = tmp_path("valid.ckpt");
  io::write_checkpoint(path, c);
  counting_new::largest = 0;
  const io::LoadedModel loaded = io::load_model(path);
  CHECK(loaded.spec.architecture() == "784-128-10");
  CHECK(counting_new::largest >= 784 * 128 * 4);
}
