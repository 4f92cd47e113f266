// NumPy .npy files (format version 1.0), so that every tensor chainrule computes can be
// loaded with `np.load("dW1.npy")` and checked against a few lines of NumPy (docs/inspect.md).
//
// Layout of a version 1.0 file:
//   6 bytes  magic "\x93NUMPY"
//   2 bytes  version 1, 0
//   2 bytes  header length HLEN, little-endian uint16
//   HLEN     a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (784, 128), }
//            padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes
//   data     the values, row-major (C order), little-endian
//
// dtypes written: '<f4' (float32), '<i4' (int32), '|u1' (uint8).
// Shapes written: (rows, cols) for a tensor, (n,) for a list of labels, () for a scalar.
//
// Writers write "<path>.tmp" and rename it to <path>, so a reader never sees half a file; on
// failure they throw std::runtime_error naming the path and leave no .tmp behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "chainrule/tensor.hpp"

namespace chainrule::io {

// A file that is not a .npy file chainrule can read; the message names the file.
class NpyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The first bytes of a .npy file up to the data: magic, version, length and the padded
// header dict. Its size is a multiple of 64. descr is the dtype ("<f4"), shape the sizes
// ({} for a scalar, {n} for 1-D, {rows, cols} for 2-D).
std::string npy_preamble(const std::string& descr, const std::vector<std::size_t>& shape);

// The shape as NumPy prints it: "()", "(10,)", "(784, 128)".
std::string npy_shape_text(const std::vector<std::size_t>& shape);

// t (rows, cols) as '<f4' with shape (rows, cols).
void write_npy(const std::string& path, const Tensor<float>& t);
// A 1-D array, e.g. labels: '<i4' or '|u1', shape (n,).
void write_npy(const std::string& path, std::span<const std::int32_t> values);
void write_npy(const std::string& path, std::span<const std::uint8_t> values);
// A 0-d float32 array, shape () (np.load gives an array; float(a) is the number).
void write_npy_scalar(const std::string& path, float value);

// One parsed .npy file (the minimal reader, for tests and round trips).
struct NpyArray {
  std::string descr;                // "<f4", "<i4", "|u1", ...
  std::vector<std::size_t> shape;   // {} for a scalar
  bool fortran_order = false;
  std::vector<std::uint8_t> bytes;  // the raw data, count() * item size bytes

  std::size_t count() const;        // product of shape (1 for a scalar)
  std::vector<float> floats() const;        // descr must be '<f4'
  std::vector<std::int64_t> integers() const;  // descr '<i4', '<i8' or '|u1'
  // A (rows, cols) tensor from a '<f4' array of 2 dimensions (or 1: (1, n); or 0: (1, 1)).
  Tensor<float> tensor() const;
};

// Reads versions 1.0, 2.0 and 3.0 with dtypes '<f4', '<f8', '<i4', '<i8', '|u1' in C order.
// Checks the magic, the header and that the data length matches the shape (before allocating).
// Throws NpyError naming the file.
NpyArray parse_npy(const std::uint8_t* bytes, std::size_t size, const std::string& name);
NpyArray read_npy(const std::string& path);

}  // namespace chainrule::io
