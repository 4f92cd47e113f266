#include "chainrule/io/npy.hpp"

#include "chainrule/io/files.hpp"

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace chainrule::io {

namespace {

constexpr char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kAlign = 64;
// Largest data accepted by the reader (checked against the header before allocating).
constexpr std::uint64_t kMaxNpyBytes = std::uint64_t{1} << 31;

// Appends the n low bytes of v, least significant first.
void put_le(std::string& out, std::uint64_t v, int n) {
  for (int k = 0; k < n; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
}

// Writes <path>.tmp with the preamble and data, then renames it to <path>.
void write_file(const std::string& path, const std::string& preamble, const std::string& data) {
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(preamble.data(), static_cast<std::streamsize>(preamble.size()));
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  });
}

std::string float_bytes(const float* values, std::size_t n) {
  std::string data;
  data.reserve(n * 4);
  for (std::size_t k = 0; k < n; ++k) put_le(data, std::bit_cast<std::uint32_t>(values[k]), 4);
  return data;
}

std::size_t item_size(const std::string& descr) {
  if (descr == "<f4" || descr == "<i4") return 4;
  if (descr == "<f8" || descr == "<i8") return 8;
  if (descr == "|u1") return 1;
  return 0;
}

std::uint64_t get_le(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
  return v;
}

// ---- The header dict ----------------------------------------------------------------
// A tiny reader for the one dict NumPy writes: string keys, and values that are a quoted
// string, True/False, or a tuple of integers.
struct HeaderParser {
  const std::string& text;
  const std::string& name;
  std::size_t pos = 0;

  [[noreturn]] void fail(const std::string& what) const {
    std::string msg = name;
    msg.append(": not a valid .npy header (").append(what).append("): ").append(text);
    throw NpyError(msg);
  }
  void skip_space() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n')) ++pos;
  }
  bool accept(char c) {
    skip_space();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  std::string quoted() {
    skip_space();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"')) fail("expected a quoted string");
    const char q = text[pos++];
    const std::size_t end = text.find(q, pos);
    if (end == std::string::npos) fail("unterminated string");
    std::string s = text.substr(pos, end - pos);
    pos = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    if (text.compare(pos, 4, "True") == 0) {
      pos += 4;
      return true;
    }
    if (text.compare(pos, 5, "False") == 0) {
      pos += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<std::size_t> tuple() {
    expect('(');
    std::vector<std::size_t> dims;
    while (!accept(')')) {
      skip_space();
      std::uint64_t v = 0;
      std::size_t digits = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (v > kMaxNpyBytes) fail("a dimension is too large");
        v = v * 10 + static_cast<std::uint64_t>(text[pos++] - '0');
        ++digits;
      }
      if (digits == 0) fail("expected a dimension");
      if (dims.size() >= 32) fail("too many dimensions");
      dims.push_back(static_cast<std::size_t>(v));
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }
};

}  // namespace

std::string npy_shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (k > 0) s.append(", ");
    s.append(std::to_string(shape[k]));
  }
  if (shape.size() == 1) s.push_back(',');
  s.push_back(')');
  return s;
}

std::string npy_preamble(const std::string& descr, const std::vector<std::size_t>& shape) {
  std::string dict = "{'descr': '";
  dict.append(descr).append("', 'fortran_order': False, 'shape': ").append(npy_shape_text(shape)).append(", }");
  // 6 magic + 2 version + 2 length + dict + padding + '\n' must be a multiple of 64.
  const std::size_t unpadded = sizeof kMagic + 4 + dict.size() + 1;
  dict.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  dict.push_back('\n');
  std::string out(kMagic, sizeof kMagic);
  out.push_back('\x01');
  out.push_back('\x00');
  put_le(out, dict.size(), 2);
  out.append(dict);
  return out;
}

void write_npy(const std::string& path, const Tensor<float>& t) {
  write_file(path,
             npy_preamble("<f4", {static_cast<std::size_t>(t.rows), static_cast<std::size_t>(t.cols)}),
             float_bytes(t.data.data(), t.data.size()));
}

void write_npy(const std::string& path, std::span<const std::int32_t> values) {
  std::string data;
  data.reserve(values.size() * 4);
  for (const std::int32_t v : values) put_le(data, static_cast<std::uint32_t>(v), 4);
  write_file(path, npy_preamble("<i4", {values.size()}), data);
}

void write_npy(const std::string& path, std::span<const std::uint8_t> values) {
  write_file(path, npy_preamble("|u1", {values.size()}), std::string(values.begin(), values.end()));
}

void write_npy_scalar(const std::string& path, float value) {
  write_file(path, npy_preamble("<f4", {}), float_bytes(&value, 1));
}

// ---- Reading ----------------------------------------------------------------------------

std::size_t NpyArray::count() const {
  std::size_t n = 1;
  for (const std::size_t d : shape) n *= d;
  return n;
}

std::vector<float> NpyArray::floats() const {
  if (descr != "<f4") throw NpyError("NpyArray::floats: dtype is " + descr + ", not <f4");
  std::vector<float> out(count());
  for (std::size_t k = 0; k < out.size(); ++k)
    out[k] = std::bit_cast<float>(static_cast<std::uint32_t>(get_le(bytes.data() + 4 * k, 4)));
  return out;
}

std::vector<std::int64_t> NpyArray::integers() const {
  const std::size_t size = item_size(descr);
  if (descr != "<i4" && descr != "<i8" && descr != "|u1")
    throw NpyError("NpyArray::integers: dtype is " + descr + ", not an integer type");
  std::vector<std::int64_t> out(count());
  for (std::size_t k = 0; k < out.size(); ++k) {
    const std::uint64_t v = get_le(bytes.data() + size * k, static_cast<int>(size));
    if (descr == "<i4")
      out[k] = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    else
      out[k] = static_cast<std::int64_t>(v);
  }
  return out;
}

Tensor<float> NpyArray::tensor() const {
  if (shape.size() > 2) throw NpyError("NpyArray::tensor: " + npy_shape_text(shape) + " has more than 2 dimensions");
  const std::size_t rows = shape.size() == 2 ? shape[0] : 1;
  const std::size_t cols = shape.empty() ? 1 : shape.back();
  constexpr auto kIntMax = static_cast<std::size_t>(std::numeric_limits<int>::max());
  if (rows > kIntMax || cols > kIntMax) throw NpyError("NpyArray::tensor: " + npy_shape_text(shape) + " is too large");
  Tensor<float> t(static_cast<int>(rows), static_cast<int>(cols));
  const std::vector<float> values = floats();
  t.data.assign(values.begin(), values.end());
  return t;
}

NpyArray parse_npy(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  if (size < 10 || std::memcmp(bytes, kMagic, sizeof kMagic) != 0)
    throw NpyError(name + ": not a .npy file (it does not start with \\x93NUMPY)");
  const int major = bytes[6];
  if (major < 1 || major > 3)
    throw NpyError(name + ": .npy format version " + std::to_string(major) + "." + std::to_string(bytes[7]) +
                   " is not supported (1.0, 2.0 or 3.0)");
  const int len_bytes = major == 1 ? 2 : 4;
  const std::size_t start = 8 + static_cast<std::size_t>(len_bytes);
  if (size < start) throw NpyError(name + ": truncated .npy header");
  const std::uint64_t header_len = get_le(bytes + 8, len_bytes);
  if (header_len > size - start)
    throw NpyError(name + ": truncated .npy file: the header says " + std::to_string(header_len) +
                   " header bytes, the file has " + std::to_string(size - start) + " after the length");
  const std::string text(reinterpret_cast<const char*>(bytes + start), static_cast<std::size_t>(header_len));

  NpyArray a;
  bool has_descr = false, has_order = false, has_shape = false;
  HeaderParser p{text, name};
  p.expect('{');
  while (!p.accept('}')) {
    const std::string key = p.quoted();
    p.expect(':');
    if (key == "descr") {
      a.descr = p.quoted();
      has_descr = true;
    } else if (key == "fortran_order") {
      a.fortran_order = p.boolean();
      has_order = true;
    } else if (key == "shape") {
      a.shape = p.tuple();
      has_shape = true;
    } else {
      p.fail("unknown key '" + key + "'");
    }
    if (!p.accept(',')) {
      p.expect('}');
      break;
    }
  }
  if (!has_descr || !has_order || !has_shape) p.fail("it needs descr, fortran_order and shape");
  const std::size_t item = item_size(a.descr);
  if (item == 0) throw NpyError(name + ": dtype '" + a.descr + "' is not supported (<f4, <f8, <i4, <i8, |u1)");
  if (a.fortran_order) throw NpyError(name + ": fortran_order True is not supported; save a C-order array");

  std::uint64_t total = item;
  for (const std::size_t d : a.shape) {
    if (d != 0 && total > kMaxNpyBytes / d)
      throw NpyError(name + ": shape " + npy_shape_text(a.shape) + " is larger than the 2 GiB limit");
    total *= d;
  }
  const std::size_t data_start = start + static_cast<std::size_t>(header_len);
  if (size - data_start != total)
    throw NpyError(name + ": shape " + npy_shape_text(a.shape) + " of " + a.descr + " needs " + std::to_string(total) +
                   " data bytes, the file has " + std::to_string(size - data_start) +
                   (size - data_start < total ? " (truncated)" : ""));
  a.bytes.assign(bytes + data_start, bytes + size);
  return a;
}

NpyArray read_npy(const std::string& path) {
  try {
    require_regular_file(path, ".npy file");  // a FIFO would block the open below
  } catch (const std::runtime_error& e) {
    throw NpyError(e.what());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NpyError(path + ": cannot open the .npy file");
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw NpyError(path + ": cannot read the .npy file: " + ec.message());
  if (size > kMaxNpyBytes + 65536) throw NpyError(path + ": the file is larger than the 2 GiB limit");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (static_cast<std::size_t>(in.gcount()) != bytes.size()) throw NpyError(path + ": read error");
  return parse_npy(bytes.data(), bytes.size(), path);
}

}  // namespace chainrule::io
