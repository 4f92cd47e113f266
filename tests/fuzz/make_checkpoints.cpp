// Writes crafted checkpoints, PGM images and tiny MNIST folders into OUT_DIR: the files the
// command-line tests of tests/cli_io.cmake feed to evaluate, predict, export and inspect, and
// the seed corpus of fuzz_checkpoint (tools/fuzz.sh copies the small .ckpt files).
//   make_checkpoints OUT_DIR [--sparse]   (--sparse adds zeros-4g.ckpt, a 4 GiB sparse file of zeros)
// Every checkpoint has a valid header and CRC: only its content is wrong.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "chainrule/data/idx.hpp"
#include "chainrule/io/checkpoint.hpp"

namespace fs = std::filesystem;
using namespace chainrule;

namespace {

fs::path out_dir;

void write_bytes(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(out_dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + (out_dir / name).string());
}

// A freshly initialised network of `spec` with Adam state after no steps, as train writes it.
io::Checkpoint model_checkpoint(const MlpSpec& spec) {
  auto model = make_mlp<float>(spec);
  io::Checkpoint c;
  c.spec = spec;
  io::store_model(model, c);
  c.optimizer_steps = 3;
  c.rngs.push_back({"shuffle", Rng(1).state()});
  c.epoch = 1;
  c.best_val_accuracy = 0.5;
  c.history = {{1, 2.0, 0.5, 2.1, 0.5, 0.1}};
  c.config = {{"data_dir", "data/mnist"}, {"hidden", "2"}, {"batch", "64"}, {"validation", "test"}};
  return c;
}

MlpSpec spec_of(int inputs, std::vector<int> hidden, int classes) {
  MlpSpec s;
  s.inputs = inputs;
  s.hidden = std::move(hidden);
  s.classes = classes;
  return s;
}

// An architecture with no tensors at all: the header and CRC are valid, the payload tiny.
io::Checkpoint declared_only(const MlpSpec& spec) {
  io::Checkpoint c;
  c.spec = spec;
  return c;
}

void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

std::vector<std::uint8_t> gzip(const std::vector<std::uint8_t>& bytes) {
  std::vector<std::uint8_t> gz(compressBound(static_cast<uLong>(bytes.size())) + 64);
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = const_cast<Bytef*>(bytes.data());
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = gz.data();
  zs.avail_out = static_cast<uInt>(gz.size());
  deflate(&zs, Z_FINISH);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  return gz;
}

// How many bytes a gzip stream inflates to before it ends or fails.
std::size_t inflated_size(const std::vector<std::uint8_t>& gz) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  zs.next_in = const_cast<Bytef*>(gz.data());
  zs.avail_in = static_cast<uInt>(gz.size());
  std::vector<std::uint8_t> out(1 << 16);
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    rc = inflate(&zs, Z_NO_FLUSH);
  }
  const std::size_t total = zs.total_out;
  inflateEnd(&zs);
  return total;
}

// `bytes` gzipped with one bit flipped in the deflate data, chosen so that the damaged
// stream inflates to MORE bytes than the original (a reader that stops at the declared
// size then sees "extra data", although the real fault is the corrupt stream).
std::vector<std::uint8_t> flipped_gzip(const std::vector<std::uint8_t>& bytes) {
  const std::vector<std::uint8_t> gz = gzip(bytes);
  for (std::size_t pos = gz.size() / 3; pos + 8 < gz.size(); ++pos)
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<std::uint8_t> bad = gz;
      bad[pos] ^= static_cast<std::uint8_t>(1u << bit);
      if (inflated_size(bad) > bytes.size()) return bad;
    }
  throw std::runtime_error("no bit flip makes the gzip stream longer");
}

// An MNIST folder with `count` images per split (image i: a bar in column 3 + i % 20).
void mnist_folder(const std::string& name, std::uint32_t count, bool gzip_flipped = false) {
  fs::create_directories(out_dir / name);
  for (const std::string split : {"train", "t10k"}) {
    std::vector<std::uint8_t> images, labels;
    put_be32(images, data::kImageMagic);
    put_be32(images, count);
    put_be32(images, 28);
    put_be32(images, 28);
    put_be32(labels, data::kLabelMagic);
    put_be32(labels, count);
    for (std::uint32_t i = 0; i < count; ++i) {
      for (int p = 0; p < 784; ++p) images.push_back(p % 28 == static_cast<int>(3 + i % 20) ? 255 : 0);
      labels.push_back(static_cast<std::uint8_t>(i % 10));
    }
    if (gzip_flipped && split == "t10k") {
      write_bytes(name + "/" + split + "-images-idx3-ubyte.gz", flipped_gzip(images));
    } else {
      write_bytes(name + "/" + split + "-images-idx3-ubyte", images);
    }
    write_bytes(name + "/" + split + "-labels-idx1-ubyte", labels);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_checkpoints OUT_DIR [--sparse]\n");
    return 2;
  }
  try {
    out_dir = argv[1];
    fs::create_directories(out_dir);
    auto save = [](const std::string& name, const io::Checkpoint& c) { write_bytes(name, io::encode_checkpoint(c)); };

    // Valid: a small 784-2-10 network (evaluate, predict, export and inspect accept it), and
    // a 12-6-5-3 one with dropout and batchnorm (every section of the format is used).
    const io::Checkpoint tiny = model_checkpoint(spec_of(784, {2}, 10));
    save("valid-784-2-10.ckpt", tiny);
    MlpSpec full = spec_of(12, {6, 5}, 3);
    full.dropout = 0.25;
    full.batchnorm = true;
    save("valid-12-6-5-3.ckpt", model_checkpoint(full));

    // Architectures that would need terabytes, declared in a file of about 150 bytes.
    save("huge-hidden.ckpt", declared_only(spec_of(784, {1 << 20}, 10)));
    save("deep-wide.ckpt", declared_only(spec_of(784, std::vector<int>(64, 30000), 10)));
    // Tensors present, but of another shape than the architecture says.
    io::Checkpoint lying = tiny;
    lying.spec.hidden = {1 << 20};
    save("shape-mismatch.ckpt", lying);

    // Non-finite weights (a diverged run), and finite weights so large that the output overflows.
    io::Checkpoint nan = tiny;
    nan.tensors[0].value.data[5] = std::numeric_limits<float>::quiet_NaN();
    save("nan-weights.ckpt", nan);
    io::Checkpoint inf = tiny;
    inf.tensors[3].value.data[1] = -std::numeric_limits<float>::infinity();  // dense2.b
    save("inf-weights.ckpt", inf);
    io::Checkpoint big = tiny;
    for (auto& t : big.tensors)
      for (auto& x : t.value.data) x = 1e30f;
    save("huge-weights.ckpt", big);

    // Out-of-range fields.
    io::Checkpoint steps = tiny;
    steps.optimizer_steps = std::numeric_limits<std::int64_t>::max();
    save("steps-int64-max.ckpt", steps);
    io::Checkpoint init = tiny;
    init.spec.init = "kaiming";
    save("unknown-init.ckpt", init);
    save("three-classes.ckpt", model_checkpoint(spec_of(784, {2}, 3)));
    io::Checkpoint settings = tiny;
    // Settings are text for TrainConfig::from_settings (train --resume): out-of-range numbers,
    // and an architecture that disagrees with the checkpoint's own.
    settings.config = {{"hidden", "2"}, {"threads", "99999999999"}, {"batch", "4294967297"}};
    save("absurd-settings.ckpt", settings);
    settings.config = {{"hidden", "1048576"}};
    save("settings-hidden-1048576.ckpt", settings);

    // Images: a valid 28x28 P5 digit.
    {
      std::vector<std::uint8_t> pgm;
      const std::string head = "P5\n28 28\n255\n";
      pgm.assign(head.begin(), head.end());
      for (int p = 0; p < 784; ++p) pgm.push_back(p % 28 == 14 ? 255 : 0);
      write_bytes("digit.pgm", pgm);
    }
    // MNIST folders: 20 images per split; 0 images; a .gz test file with one flipped bit.
    mnist_folder("mnist-20", 20);
    mnist_folder("mnist-empty", 0);
    mnist_folder("mnist-flipped-gz", 20, true);

    if (argc > 2 && std::string(argv[2]) == "--sparse") {
      const std::string path = (out_dir / "zeros-4g.ckpt").string();
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || ::ftruncate(fd, off_t{4} << 30) != 0) throw std::runtime_error("cannot make the sparse file " + path);
      ::close(fd);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_checkpoints: %s\n", e.what());
    return 1;
  }
  return 0;
}
