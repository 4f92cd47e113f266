// The minimal tensor: a rows x cols, row-major buffer of T (float for training, double for checks).
// Lesson: tutorials/01-tensors-and-shapes.
//
// Shape letters used across chainrule (docs/notation.md):
//   N batch size, D input features (784), H hidden units (128), C classes (10).
// Row i of an (N, D) tensor is sample i.
#pragma once

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "chainrule/fast/aligned.hpp"

namespace chainrule {

// Thrown when two tensors' shapes do not fit an operation. The message names the
// operation and both shapes, e.g. "dense1.forward: X is (32, 780) but W is (784, 128)".
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The storage of a tensor's values: a std::vector whose first value starts a 64-byte cache
// line, for the threads of the fast code (fast/aligned.hpp, docs/performance.md).
template <typename T>
using Values = std::vector<T, CacheLineAllocator<T>>;

// A tensor's values compare equal to a plain vector holding the same values, in order:
// CHECK(Y.data == std::vector<double>{0, 0, 0.5, 3}) reads the way it should.
template <typename T>
bool operator==(const Values<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

template <typename T>
struct Tensor {
  int rows = 0;
  int cols = 0;
  Values<T> data;  // rows * cols values, row after row (a std::vector)

  Tensor() = default;
  explicit Tensor(int rows_, int cols_, T value = T(0));

  // Element access: t(i, j) is row i, column j.
  T& operator()(int i, int j) { return data[static_cast<std::size_t>(i) * cols + j]; }
  const T& operator()(int i, int j) const { return data[static_cast<std::size_t>(i) * cols + j]; }
  T* row(int i) { return data.data() + static_cast<std::size_t>(i) * cols; }
  const T* row(int i) const { return data.data() + static_cast<std::size_t>(i) * cols; }

  std::size_t size() const { return data.size(); }
  bool same_shape(const Tensor& other) const { return rows == other.rows && cols == other.cols; }
  std::string shape() const;  // "(rows, cols)"

  // Changes the shape. Keeps the allocation when it is big enough, so a training
  // step that resizes to the same shapes allocates nothing.
  void resize(int rows_, int cols_);
  void fill(T value);
  void zero() { fill(T(0)); }

  // Converts between float and double (the gradient checks run the float model in double).
  template <typename U>
  Tensor<U> cast() const {
    Tensor<U> out(rows, cols);
    for (std::size_t k = 0; k < data.size(); ++k) out.data[k] = static_cast<U>(data[k]);
    return out;
  }
};

// Throws ShapeError "<op>: <what> is (r, c) but must be (rows, cols)" unless t has that shape.
// A negative rows or cols accepts any count on that axis.
template <typename T>
void expect_shape(const char* op, const char* what, const Tensor<T>& t, int rows, int cols);

// Throws ShapeError naming both tensors unless a and b have the same shape.
template <typename T>
void expect_same_shape(const char* op, const char* a_name, const Tensor<T>& a, const char* b_name,
                       const Tensor<T>& b);

// The largest |a - b| over all entries (shapes must match).
template <typename T>
T max_abs_diff(const Tensor<T>& a, const Tensor<T>& b);

}  // namespace chainrule
