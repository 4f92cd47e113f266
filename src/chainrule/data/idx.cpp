#include "chainrule/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace chainrule::data {

namespace fs = std::filesystem;

namespace {

const char* const kRefetch = "Re-download it with tools/fetch_mnist.sh.";
const char* const kTruncated = "The file is truncated: re-download it with tools/fetch_mnist.sh.";

[[noreturn]] void fail(const std::string& name, const std::string& message) {
  throw DataError(name + ": " + message);
}

std::string hex32(std::uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(v));
  return buf;
}

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::string dims_string(const std::vector<std::uint32_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + ")";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What the header at the start of a file declares.
struct Header {
  std::uint32_t magic = 0;
  std::vector<std::uint32_t> dims;
  std::size_t header_bytes = 0;   // 4 + 4 * ndims
  std::size_t payload_bytes = 0;  // product(dims), at most kMaxPayloadBytes
};

// Reads and checks the header in the first `size` bytes (the whole file, or just its start).
Header parse_header(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  if (size == 0) fail(name, std::string("the file is empty (0 bytes), expected an MNIST IDX file. ") + kRefetch);
  if (size < 4)
    fail(name, "the file is only " + std::to_string(size) +
                   " bytes, too short for an IDX header (at least 8 bytes). " + kTruncated);
  if (bytes[0] == 0x1F && bytes[1] == 0x8B)
    fail(name, "found gzip-compressed data, expected a raw IDX file. Give the file a name ending in .gz, "
               "or unpack it with gunzip.");
  Header h;
  h.magic = read_be32(bytes);
  const unsigned type = bytes[2], ndims = bytes[3];
  if (bytes[0] != 0 || bytes[1] != 0)
    fail(name, "bad magic number " + hex32(h.magic) + ", expected " + hex32(kLabelMagic) + " (labels) or " +
                   hex32(kImageMagic) + " (images). This is not an MNIST IDX file. " + kRefetch);
  if (type != 0x08)
    fail(name, "magic number " + hex32(h.magic) + " declares value type " + hex32(type) +
                   ", expected 0x00000008 (unsigned byte) as in MNIST. " + kRefetch);
  if (ndims != 1 && ndims != 3)
    fail(name, "magic number " + hex32(h.magic) + " declares " + std::to_string(ndims) +
                   " dimensions, expected 1 (labels, " + hex32(kLabelMagic) + ") or 3 (images, " +
                   hex32(kImageMagic) + "). " + kRefetch);
  h.header_bytes = 4 + 4 * std::size_t{ndims};
  if (size < h.header_bytes)
    fail(name, "the header is cut short: " + std::to_string(size) + " bytes, expected " +
                   std::to_string(h.header_bytes) + ". " + kTruncated);
  std::uint64_t payload = 1;  // stays <= 1 GiB, so payload * dim (< 2^62) cannot overflow
  for (unsigned d = 0; d < ndims; ++d) {
    h.dims.push_back(read_be32(bytes + 4 + 4 * d));
    payload *= h.dims.back();
    if (payload > kMaxPayloadBytes) {
      for (unsigned rest = d + 1; rest < ndims; ++rest) h.dims.push_back(read_be32(bytes + 4 + 4 * rest));
      fail(name, "the header declares sizes " + dims_string(h.dims) +
                     ", more than the 1 GiB limit of values (MNIST's largest file holds 47 MB). "
                     "The file is damaged or not MNIST. " + kRefetch);
    }
  }
  h.payload_bytes = static_cast<std::size_t>(payload);
  return h;
}

// Throws the truncated / trailing-bytes error for `available` bytes after the header.
[[noreturn]] void size_mismatch(const std::string& name, const Header& h, std::size_t available) {
  const std::string declared = "the header declares sizes " + dims_string(h.dims) + " = " +
                               std::to_string(h.payload_bytes) + " bytes of values";
  if (available < h.payload_bytes)
    fail(name, declared + ", but only " + std::to_string(available) + " bytes follow the " +
                   std::to_string(h.header_bytes) + "-byte header. " + kTruncated);
  fail(name, declared + ", but " + std::to_string(available - h.payload_bytes) +
                 " more bytes follow them (trailing bytes). The file is damaged or not MNIST. " + kRefetch);
}

// The whole file as bytes, after checking it exists, is a regular file and is not huge.
std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st))
    fail(path, "file not found. Run tools/fetch_mnist.sh to download MNIST into data/mnist.");
  if (fs::is_directory(st)) fail(path, "is a directory, expected an IDX file. Remove it and run tools/fetch_mnist.sh.");
  if (!fs::is_regular_file(st)) fail(path, "is not a regular file, expected an IDX file. " + std::string(kRefetch));
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read its size (" + ec.message() + ").");
  if (size > kMaxPayloadBytes + 16)
    fail(path, "the file is " + std::to_string(size) +
                   " bytes, more than the 1 GiB limit (MNIST's largest file holds 47 MB). " + kRefetch);

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file)
    fail(path, "cannot be opened for reading (" + std::string(std::strerror(errno)) +
                   "). Check its permissions (chmod a+r) or re-download it with tools/fetch_mnist.sh.");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  const std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), file.get());
  if (got != bytes.size())
    fail(path, "read only " + std::to_string(got) + " of " + std::to_string(bytes.size()) +
                   " bytes (" + std::string(std::strerror(errno)) + "). " + kRefetch);
  return bytes;
}

// Inflates gzip data into an IdxArray: the header first, then exactly the payload it
// declares (so the output is never larger than the checked limit), then a probe for extra bytes.
IdxArray gunzip_idx(const std::vector<std::uint8_t>& gz, const std::string& path) {
  if (gz.empty()) fail(path, std::string("the file is empty (0 bytes), expected gzip-compressed MNIST. ") + kRefetch);
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) fail(path, "zlib could not start decompressing.");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, &inflateEnd);
  zs.next_in = const_cast<Bytef*>(gz.data());
  zs.avail_in = static_cast<uInt>(gz.size());

  // Fills out[0..n) as far as the stream goes; returns the bytes written; `ended` at the stream end.
  auto pump = [&](std::uint8_t* out, std::size_t n, bool& ended) {
    zs.next_out = out;
    zs.avail_out = static_cast<uInt>(n);
    ended = false;
    while (zs.avail_out > 0) {
      const int rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        if (zs.avail_in > 0 && inflateReset(&zs) == Z_OK) continue;  // another gzip member follows
        ended = true;
        break;
      }
      if (rc == Z_BUF_ERROR && zs.avail_in == 0)
        fail(path, std::string("the gzip data stops before its end. ") + kTruncated);
      if (rc == Z_DATA_ERROR && zs.total_out > 0)  // a bad deflate block, or the CRC or length at the stream's end
        fail(path, "corrupt gzip data (zlib: " + std::string(zs.msg ? zs.msg : "data error") +
                       "): the file is damaged. " + kRefetch);
      if (rc != Z_OK)
        fail(path, "is not valid gzip data (zlib: " + std::string(zs.msg ? zs.msg : "error " + std::to_string(rc)) +
                       "). " + kRefetch);
    }
    return n - zs.avail_out;
  };

  bool ended = false;
  std::uint8_t head[16];
  const std::size_t got = pump(head, sizeof head, ended);
  const Header h = parse_header(head, got, path);
  // More output than the header declares: a damaged stream, or real extra data? Inflate on
  // to the stream's end (at most kDrainLimit bytes), where zlib checks the CRC: a damaged
  // stream is reported as corrupt by pump, an intact one as trailing bytes.
  const auto trailing = [&] {
    constexpr std::size_t kDrainLimit = std::size_t{64} << 20;
    std::vector<std::uint8_t> scratch(std::size_t{1} << 16);
    for (std::size_t drained = 0; !ended && drained < kDrainLimit;) drained += pump(scratch.data(), scratch.size(), ended);
    fail(path, "the header declares sizes " + dims_string(h.dims) + " = " + std::to_string(h.payload_bytes) +
                   " bytes of values, but the data goes on after them (trailing bytes). "
                   "The file is damaged or not MNIST. " + kRefetch);
  };
  if (got - h.header_bytes > h.payload_bytes) trailing();
  if (ended && got - h.header_bytes < h.payload_bytes) size_mismatch(path, h, got - h.header_bytes);

  // Deflate packs at most 1032 bytes into one, so a small .gz cannot hold a large payload:
  // refused before the payload is allocated (a 40-byte file must not cost 1 GiB).
  constexpr std::uint64_t kMaxDeflateRatio = 1032;
  const std::uint64_t can_hold = std::uint64_t{gz.size()} * kMaxDeflateRatio + 1024;
  if (h.header_bytes + std::uint64_t{h.payload_bytes} > can_hold)
    fail(path, "the header declares sizes " + dims_string(h.dims) + " = " + std::to_string(h.payload_bytes) +
                   " bytes of values, more than " + std::to_string(gz.size()) + " bytes of gzip data can hold (" +
                   std::to_string(can_hold) + " at most). " + kTruncated);
  IdxArray out{h.magic, h.dims, std::vector<std::uint8_t>(h.payload_bytes)};
  const std::size_t early = got - h.header_bytes;  // payload bytes already in head
  std::copy(head + h.header_bytes, head + got, out.values.begin());
  if (!ended) {
    const std::size_t rest = pump(out.values.data() + early, h.payload_bytes - early, ended);
    if (early + rest < h.payload_bytes) size_mismatch(path, h, early + rest);
    std::uint8_t extra = 0;
    if (!ended && pump(&extra, 1, ended) > 0) trailing();
  }
  return out;
}

}  // namespace

IdxArray parse_idx(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  const Header h = parse_header(bytes, size, name);
  const std::size_t available = size - h.header_bytes;
  if (available != h.payload_bytes) size_mismatch(name, h, available);
  const std::uint8_t* values = bytes + h.header_bytes;
  return IdxArray{h.magic, h.dims, std::vector<std::uint8_t>(values, values + h.payload_bytes)};
}

IdxArray read_idx(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  if (ends_with(path, ".gz")) return gunzip_idx(bytes, path);
  return parse_idx(bytes.data(), bytes.size(), path);
}

std::string find_idx_file(const std::string& dir, const std::string& stem, const std::string& kind) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw DataError("MNIST folder not found: " + dir +
                    ". Run tools/fetch_mnist.sh to download MNIST into data/mnist, or pass the folder that "
                    "holds the files.");
  const std::string dash = stem + "-" + kind + "-ubyte", dot = stem + "." + kind + "-ubyte";
  for (const std::string& name : {dash, dot, dash + ".gz", dot + ".gz"}) {
    const fs::path candidate = fs::path(dir) / name;
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  throw DataError(dir + ": no " + stem + " file, looked for " + dash + ", " + dot +
                  " and both with .gz. Run tools/fetch_mnist.sh to download MNIST into data/mnist.");
}

ImageSet load_mnist_split(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "t10k")
    throw DataError("load_mnist_split: unknown split \"" + split + "\", expected \"train\" or \"t10k\".");
  ImageSet set;
  set.images_path = find_idx_file(dir, split + "-images", "idx3");
  set.labels_path = find_idx_file(dir, split + "-labels", "idx1");

  IdxArray images = read_idx(set.images_path);
  if (images.magic != kImageMagic)
    fail(set.images_path, "holds labels (magic " + hex32(images.magic) + "), expected images (magic " +
                              hex32(kImageMagic) + "). Check the file names, or " +
                              "re-download with tools/fetch_mnist.sh.");
  if (images.dims[1] != 28 || images.dims[2] != 28)
    fail(set.images_path, "images are " + std::to_string(images.dims[1]) + "x" + std::to_string(images.dims[2]) +
                              ", expected 28x28 as in MNIST. " + kRefetch);
  if (images.dims[0] == 0)
    fail(set.images_path, "holds 0 images (the header declares (0, 28, 28)); an MNIST split needs images. " +
                              std::string(kRefetch));
  IdxArray labels = read_idx(set.labels_path);
  if (labels.magic != kLabelMagic)
    fail(set.labels_path, "holds images (magic " + hex32(labels.magic) + "), expected labels (magic " +
                              hex32(kLabelMagic) + "). Check the file names, or " +
                              "re-download with tools/fetch_mnist.sh.");
  if (labels.dims[0] != images.dims[0])
    fail(set.labels_path, "has " + std::to_string(labels.dims[0]) + " labels, but " + set.images_path + " has " +
                              std::to_string(images.dims[0]) +
                              " images; the counts must agree. Re-download both with tools/fetch_mnist.sh.");
  const auto bad = std::find_if(labels.values.begin(), labels.values.end(), [](std::uint8_t v) { return v > 9; });
  if (bad != labels.values.end())
    fail(set.labels_path, "label " + std::to_string(*bad) + " at index " +
                              std::to_string(bad - labels.values.begin()) + ", expected 0..9. " + kRefetch);

  set.count = static_cast<int>(images.dims[0]);  // at most 1 GiB / 784, fits an int
  set.rows = 28;
  set.cols = 28;
  set.pixels = std::move(images.values);
  set.labels = std::move(labels.values);
  return set;
}

Mnist load_mnist(const std::string& dir) {
  return Mnist{load_mnist_split(dir, "train"), load_mnist_split(dir, "t10k")};
}

std::vector<std::string> read_checksums(const std::string& dir) {
  std::vector<std::string> lines;
  const fs::path path = fs::path(dir) / "SHA256SUMS";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return lines;  // absent, or a FIFO that would block the read
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace chainrule::data
