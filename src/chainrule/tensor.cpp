#include "chainrule/tensor.hpp"

#include <algorithm>
#include <cmath>

namespace chainrule {

namespace {
// Built with append rather than operator+ chains: GCC 12 at -O3 reports a false
// -Wrestrict on the latter, and warnings are errors in CI.
std::string shape_string(int rows, int cols) {
  std::string s = "(";
  s.append(std::to_string(rows)).append(", ").append(std::to_string(cols)).append(")");
  return s;
}
}  // namespace

template <typename T>
Tensor<T>::Tensor(int rows_, int cols_, T value) {
  if (rows_ < 0 || cols_ < 0) throw ShapeError("Tensor: negative shape " + shape_string(rows_, cols_));
  rows = rows_;
  cols = cols_;
  data.assign(static_cast<std::size_t>(rows_) * static_cast<std::size_t>(cols_), value);
}

template <typename T>
std::string Tensor<T>::shape() const {
  return shape_string(rows, cols);
}

template <typename T>
void Tensor<T>::resize(int rows_, int cols_) {
  if (rows_ < 0 || cols_ < 0) throw ShapeError("Tensor::resize: negative shape " + shape_string(rows_, cols_));
  rows = rows_;
  cols = cols_;
  data.resize(static_cast<std::size_t>(rows_) * static_cast<std::size_t>(cols_));
}

template <typename T>
void Tensor<T>::fill(T value) {
  std::fill(data.begin(), data.end(), value);
}

template <typename T>
void expect_shape(const char* op, const char* what, const Tensor<T>& t, int rows, int cols) {
  bool ok = (rows < 0 || t.rows == rows) && (cols < 0 || t.cols == cols);
  if (ok) return;
  std::string msg(op);
  msg.append(": ").append(what).append(" is ").append(t.shape()).append(" but must be (");
  msg.append(rows < 0 ? std::string("any") : std::to_string(rows)).append(", ");
  msg.append(cols < 0 ? std::string("any") : std::to_string(cols)).append(")");
  throw ShapeError(msg);
}

template <typename T>
void expect_same_shape(const char* op, const char* a_name, const Tensor<T>& a, const char* b_name,
                       const Tensor<T>& b) {
  if (a.same_shape(b)) return;
  throw ShapeError(std::string(op) + ": " + a_name + " is " + a.shape() + " but " + b_name + " is " +
                   b.shape() + "; they must have the same shape");
}

template <typename T>
T max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  expect_same_shape("max_abs_diff", "a", a, "b", b);
  T m = 0;
  for (std::size_t k = 0; k < a.data.size(); ++k) m = std::max(m, static_cast<T>(std::abs(a.data[k] - b.data[k])));
  return m;
}

#define CHAINRULE_INSTANTIATE(T)                                                                   \
  template struct Tensor<T>;                                                                       \
  template void expect_shape<T>(const char*, const char*, const Tensor<T>&, int, int);             \
  template void expect_same_shape<T>(const char*, const char*, const Tensor<T>&, const char*,      \
                                     const Tensor<T>&);                                            \
  template T max_abs_diff<T>(const Tensor<T>&, const Tensor<T>&);
CHAINRULE_INSTANTIATE(float)
CHAINRULE_INSTANTIATE(double)
#undef CHAINRULE_INSTANTIATE

}  // namespace chainrule
