// The grader's hints: given the learner's gradient g and the true one t (from the library's
// own backward, or a formula where the library has none), name the classic mistake whose
// signature g fits, entry by entry. An empty string: no known signature fits.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "chainrule/tensor.hpp"

namespace grader {

using chainrule::Tensor;

// A known wrong answer: what a given mistake would have produced, and what to say.
struct Candidate {
  Tensor<double> value;
  std::string message;
};

struct HintContext {
  int N = 0;                                            // the batch size
  std::vector<std::pair<double, std::string>> factors;  // other telling factors: {C, "..."}
  std::vector<Candidate> candidates;                    // this tensor's known mistakes
  std::string zero_message;                             // what to say when g is all zeros
  std::string column_constant_message;                  // when g - t is constant down each column
};

// True when every entry of a and b agree to within 1e-9 of the larger scale.
bool close(const Tensor<double>& a, const Tensor<double>& b);

// A shape problem or a non-finite entry ("dX is (0, 0) but must be (5, 4): ..."), or "".
std::string check_shape(const std::string& label, const Tensor<double>& g, int rows, int cols);

// The closest classic mistake, or "" when g == t or no signature fits.
std::string diagnose(const std::string& label, const Tensor<double>& g, const Tensor<double>& t,
                     const HintContext& ctx);

// Where g and t differ most: "largest difference at (2, 1): yours 0.31, the true value 0.12".
std::string worst_entry(const Tensor<double>& g, const Tensor<double>& t);

}  // namespace grader
