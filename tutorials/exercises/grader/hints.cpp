#include "grader/hints.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace grader {

namespace {

double max_abs(const Tensor<double>& t) {
  double m = 0;
  for (double v : t.data) m = std::max(m, std::abs(v));
  return m;
}

std::string shape_of(int rows, int cols) {
  std::string s = "(";  // appended piece by piece: GCC 12's -Wrestrict misfires on "(" + std::to_string(...)
  s += std::to_string(rows);
  s += ", ";
  s += std::to_string(cols);
  s += ")";
  return s;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Entries agree to within 1e-9 of the scale of both tensors.
bool close_data(const std::vector<double>& a, const std::vector<double>& b, double scale) {
  if (a.size() != b.size()) return false;
  const double tol = 1e-9 * std::max(scale, 1e-300);
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!(std::abs(a[k] - b[k]) <= tol)) return false;
  return true;
}

std::vector<double> plain(const Tensor<double>& t) { return {t.data.begin(), t.data.end()}; }

}  // namespace

bool close(const Tensor<double>& a, const Tensor<double>& b) {
  return a.same_shape(b) && close_data(plain(a), plain(b), std::max(max_abs(a), max_abs(b)));
}

std::string check_shape(const std::string& label, const Tensor<double>& g, int rows, int cols) {
  if (g.rows != rows || g.cols != cols || g.data.size() != static_cast<std::size_t>(rows) * cols) {
    std::string m = label + " is " + shape_of(g.rows, g.cols) + " but must be " + shape_of(rows, cols);
    if (g.data.empty()) return m + ": it was never written (is the backward still TODO? resize it first)";
    if (g.rows == cols && g.cols == rows && rows != cols) return m + ": transposed?";
    return m;
  }
  for (std::size_t k = 0; k < g.data.size(); ++k)
    if (!std::isfinite(g.data[k]))
      return label + " holds " + number(g.data[k]) + " at entry " + std::to_string(k) + ": a division by zero?";
  return "";
}

std::string diagnose(const std::string& label, const Tensor<double>& g, const Tensor<double>& t,
                     const HintContext& ctx) {
  if (!g.same_shape(t)) return check_shape(label, g, t.rows, t.cols);
  const double tmax = max_abs(t), gmax = max_abs(g);
  if (close(g, t)) return "";
  if (gmax == 0.0)
    return !ctx.zero_message.empty() ? ctx.zero_message : label + " is all zeros: is its backward still TODO?";

  // The known mistakes of this tensor, computed from their own formulas.
  for (const auto& c : ctx.candidates)
    if (close(g, c.value)) return c.message;

  // The right numbers in the wrong places.
  if (t.rows > 1 && t.cols > 1) {
    std::vector<double> transposed(t.data.size());
    for (int i = 0; i < t.rows; ++i)
      for (int j = 0; j < t.cols; ++j) transposed[static_cast<std::size_t>(j) * t.rows + i] = t(i, j);
    if (close_data(plain(g), transposed, tmax))
      return label + " has the right numbers in the wrong places: transposed? (" + label +
             " must be " + t.shape() + "; A^T B and A B^T are not the same product)";
  }

  // One factor everywhere: g = k t.
  double gt = 0, tt = 0;
  for (std::size_t k = 0; k < t.data.size(); ++k) {
    gt += g.data[k] * t.data[k];
    tt += t.data[k] * t.data[k];
  }
  if (tt > 0) {
    const double k = gt / tt;
    Tensor<double> scaled = t;
    for (auto& v : scaled.data) v *= k;
    if (close(g, scaled)) {
      auto is = [&](double f) { return std::abs(k - f) <= 1e-6 * std::abs(f); };
      const double N = ctx.N;
      for (const auto& [f, message] : ctx.factors)
        if (is(f)) return message;
      if (N > 1 && is(N))
        return label + " is off by exactly the batch size N = " + number(N) + ": the 1/N of the mean is missing";
      if (N > 1 && is(1.0 / N))
        return label + " is every entry 1/N of the right one (N = " + number(N) + "): the mean is applied twice";
      if (is(-1)) return label + ": sign flipped (every entry is minus the right one)";
      if (N > 1 && is(-N)) return label + ": sign flipped AND the 1/N of the mean is missing";
      if (is(2)) return label + " is twice the right value: added twice, or a factor 2 too many";
      if (is(0.5)) return label + " is half the right value: a factor 2 is missing";
      return label + " is every entry " + number(k) + " times the right one: a constant factor is wrong";
    }
  }

  // BatchNorm's missing mean term: g - t is the same down each column, and not zero.
  if (!ctx.column_constant_message.empty() && t.rows > 1) {
    bool constant = true;
    for (int j = 0; j < t.cols && constant; ++j)
      for (int i = 1; i < t.rows && constant; ++i)
        constant = std::abs((g(i, j) - t(i, j)) - (g(0, j) - t(0, j))) <= 1e-9 * std::max(tmax, gmax);
    if (constant) return ctx.column_constant_message;
  }

  // Right on some entries, zero on the others.
  std::size_t right = 0, zero_where_not = 0;
  for (std::size_t k = 0; k < t.data.size(); ++k) {
    if (std::abs(g.data[k] - t.data[k]) <= 1e-9 * tmax) ++right;
    else if (g.data[k] == 0.0) ++zero_where_not;
  }
  if (right > 0 && right + zero_where_not == t.data.size())
    return label + " is right on " + std::to_string(right) + " of " + std::to_string(t.data.size()) +
           " entries and 0 on the others: some entries are never written (a loop bound?)";

  // Every number right, in a shuffled order.
  std::vector<double> gs = plain(g), ts = plain(t);
  std::sort(gs.begin(), gs.end());
  std::sort(ts.begin(), ts.end());
  if (close_data(gs, ts, tmax)) return label + " has the right numbers in the wrong places: an index mixed up?";
  return "";
}

std::string worst_entry(const Tensor<double>& g, const Tensor<double>& t) {
  if (!g.same_shape(t) || t.data.empty()) return "";
  std::size_t worst = 0;
  for (std::size_t k = 0; k < t.data.size(); ++k)
    if (std::abs(g.data[k] - t.data[k]) > std::abs(g.data[worst] - t.data[worst])) worst = k;
  const int i = static_cast<int>(worst) / t.cols, j = static_cast<int>(worst) % t.cols;
  return "largest difference at (" + std::to_string(i) + ", " + std::to_string(j) + "): yours " +
         number(g.data[worst]) + ", the true value " + number(t.data[worst]);
}

}  // namespace grader
