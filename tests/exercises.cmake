# The exercises' grader (tutorials/exercises), and the grader's own tests (label "exercises"):
#   (a) the shipped TODO files fail every exercise, with a hint and no crash;
#   (b) the solutions pass every exercise;
#   (c) each classic mistake, patched into a copy of a solution, is named by the grader's hint.
add_subdirectory(${CMAKE_SOURCE_DIR}/tutorials/exercises ${CMAKE_BINARY_DIR}/exercises)
set(CHAINRULE_EXPECT sh ${CMAKE_SOURCE_DIR}/tests/exercises/expect.sh)
set(CHAINRULE_SOLUTIONS ${CMAKE_SOURCE_DIR}/tutorials/exercises/solutions)

# (a) Every TODO file fails, with the hint that the backward has not been written.
# (Once a learner starts on an exercise, its test here fails: that is expected; ctest -LE exercises-todo.)
foreach(name dense relu sigmoid softmax_cross_entropy softmax_jacobian dropout batchnorm mse network conv2d maxpool2d)
  add_test(NAME "exercises: the TODO file fails ${name} with a hint"
           COMMAND ${CHAINRULE_EXPECT} 1 $<TARGET_FILE:chainrule_grade> ${name}
                   "${name}: FAIL" "  hint: " "still TODO")
  set_tests_properties("exercises: the TODO file fails ${name} with a hint" PROPERTIES LABELS "exercises;exercises-todo")
endforeach()
add_test(NAME "exercises: the TODO files fail all eleven, summarised"
         COMMAND ${CHAINRULE_EXPECT} 1 $<TARGET_FILE:chainrule_grade> "" "summary: 0 of 11 exercises pass")
set_tests_properties("exercises: the TODO files fail all eleven, summarised" PROPERTIES LABELS "exercises;exercises-todo")

# (b) The solutions pass every exercise, every case.
add_test(NAME "exercises: the solutions pass all eleven"
         COMMAND ${CHAINRULE_EXPECT} 0 $<TARGET_FILE:chainrule_grade_solutions> "" "summary: 11 of 11 exercises pass")
set_tests_properties("exercises: the solutions pass all eleven" PROPERTIES LABELS exercises)
add_test(NAME "exercises: an unknown name is refused"
         COMMAND ${CHAINRULE_EXPECT} 2 $<TARGET_FILE:chainrule_grade_solutions> nosuch "no exercise is called 'nosuch'")
set_tests_properties("exercises: an unknown name is refused" PROPERTIES LABELS exercises)

# (c) chainrule_exercise_mistake(MISTAKE EXERCISE FROM TO HINT): copies solutions/EXERCISE.cpp into
# the build folder with the one occurrence of FROM replaced by TO, builds a grader on it, and
# asserts that grading EXERCISE fails with HINT in the output.
function(chainrule_exercise_mistake mistake exercise from to hint)
  set(solution ${CHAINRULE_SOLUTIONS}/${exercise}.cpp)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${solution})
  file(READ ${solution} text)
  string(FIND "${text}" "${from}" first)
  string(FIND "${text}" "${from}" last REVERSE)
  set(test "exercises: the grader names ${mistake}")
  if(first EQUAL -1 OR NOT first EQUAL last)
    # The solution changed under the patch: a failing test says so, the build goes on.
    add_test(NAME "${test}" COMMAND sh -c "echo 'the patch for ${mistake} no longer applies once to solutions/${exercise}.cpp'; exit 1")
  else()
    string(REPLACE "${from}" "${to}" text "${text}")
    set(copy ${CMAKE_BINARY_DIR}/exercises/mistakes/${mistake}/${exercise}.cpp)
    file(CONFIGURE OUTPUT ${copy} CONTENT "${text}" @ONLY)
    chainrule_grader_variant(grade_${mistake} ${exercise} ${copy})
    add_test(NAME "${test}" COMMAND ${CHAINRULE_EXPECT} 1 $<TARGET_FILE:grade_${mistake}> ${exercise}
                                    "${exercise}: FAIL" "${hint}")
  endif()
  set_tests_properties("${test}" PROPERTIES LABELS exercises)
endfunction()

chainrule_exercise_mistake(dense-no-bias-grad dense
  "db(0, j) += dY(i, j);" "(void)dY(i, j);"
  "db is all zeros: did you sum dY over the batch?")
chainrule_exercise_mistake(dense-transposed-weight-grad dense
  "chainrule::matmul_tn(X, dY, dW, /*accumulate=*/true);"
  "{ Tensor<double> s; chainrule::matmul_tn(dY, X, s); for (std::size_t k = 0; k < s.size(); ++k) dW.data[k] += s.data[k]; }"
  "dW has the right numbers in the wrong places: transposed?")
chainrule_exercise_mistake(dense-input-grad-zero dense
  "if (dX) chainrule::matmul_nt(dY, W, *dX);" "if (dX) *dX = Tensor<double>(X.rows, X.cols);"
  "dX is all zeros")
chainrule_exercise_mistake(dense-bias-grad-mean dense
  "db(0, j) += dY(i, j);" "db(0, j) += dY(i, j) / dY.rows;"
  "db is the mean of dY's rows")
chainrule_exercise_mistake(dense-weight-grad-overwritten dense
  "chainrule::matmul_tn(X, dY, dW, /*accumulate=*/true);" "chainrule::matmul_tn(X, dY, dW);"
  "dW was overwritten (=), not added to (+=)")
chainrule_exercise_mistake(relu-mask-inverted relu
  "X.data[k] > 0 ? dY.data[k] : 0.0" "X.data[k] <= 0 ? dY.data[k] : 0.0"
  "the ReLU mask is inverted")
chainrule_exercise_mistake(relu-mask-missing relu
  "X.data[k] > 0 ? dY.data[k] : 0.0" "dY.data[k]"
  "the ReLU mask is missing")
chainrule_exercise_mistake(sigmoid-missing-one-minus-y sigmoid
  "dY.data[k] * Y.data[k] * (1.0 - Y.data[k])" "dY.data[k] * Y.data[k]"
  "the factor (1 - y) of sigma' = y (1 - y) is missing")
chainrule_exercise_mistake(softmax-jacobian-diagonal-only softmax_jacobian
  "P(i, k) * (dP(i, k) - dot)" "P(i, k) * (dP(i, k) - 0 * dot)"
  "only the Jacobian's diagonal")
chainrule_exercise_mistake(missing-batch-mean softmax_cross_entropy
  "(P_(i, k) - (k == labels_[i] ? 1.0 : 0.0)) / N" "(P_(i, k) - (k == labels_[i] ? 1.0 : 0.0))"
  "off by exactly the batch size N = 5: the 1/N of the mean is missing")
chainrule_exercise_mistake(softmax-ce-sign softmax_cross_entropy
  "(P_(i, k) - (k == labels_[i] ? 1.0 : 0.0)) / N" "((k == labels_[i] ? 1.0 : 0.0) - P_(i, k)) / N"
  "sign flipped")
chainrule_exercise_mistake(dropout-missing-scale dropout
  "dY.data[k] * mask_.data[k]" "(mask_.data[k] != 0 ? dY.data[k] : 0.0)"
  "the 1/keep scale is missing")
chainrule_exercise_mistake(dropout-mask-missing dropout
  "dY.data[k] * mask_.data[k]" "dY.data[k]"
  "the mask is missing")
chainrule_exercise_mistake(batchnorm-missing-mean-term batchnorm
  "const double sum_dxhat = g * sum_dy;" "const double sum_dxhat = 0 * g * sum_dy;"
  "BatchNorm's mean term is missing")
chainrule_exercise_mistake(batchnorm-missing-variance-term batchnorm
  "- xhat_(i, j) * sum_dxhat_xhat" "- 0 * xhat_(i, j) * sum_dxhat_xhat"
  "BatchNorm's variance term is missing")
chainrule_exercise_mistake(mse-missing-batch-mean mse
  "2.0 / static_cast<double>(Yhat_.size())" "2.0 / Yhat_.cols"
  "off by exactly the batch size N = 5")
chainrule_exercise_mistake(mse-missing-two mse
  "2.0 / static_cast<double>(Yhat_.size())" "1.0 / static_cast<double>(Yhat_.size())"
  "the 2 of d/du u^2 = 2u is missing")
chainrule_exercise_mistake(network-missing-batch-mean network
  "(f.P(i, k) - (k == labels[i] ? 1.0 : 0.0)) / N" "(f.P(i, k) - (k == labels[i] ? 1.0 : 0.0))"
  "dZ2 is off by exactly the batch size N = 4")
chainrule_exercise_mistake(network-relu-mask-inverted network
  "f.Z1.data[k] > 0 ? g.dH.data[k] : 0.0" "f.Z1.data[k] <= 0 ? g.dH.data[k] : 0.0"
  "dZ1: the ReLU mask is inverted")
chainrule_exercise_mistake(network-transposed-weight-grad network
  "chainrule::matmul_tn(X, g.dZ1, g.dW1);" "chainrule::matmul_tn(g.dZ1, X, g.dW1);"
  "dW1 is (128, 784) but must be (784, 128): transposed?")
chainrule_exercise_mistake(network-no-bias-grad network
  "g.db1(0, j) += g.dZ1(i, j);" "(void)g.dZ1(i, j);"
  "db1 is all zeros: did you sum dZ1 over the batch?")
chainrule_exercise_mistake(conv2d-kernel-not-flipped conv2d
  "(*dX)(n, in_.index(c, y, x)) += g * W((c * k_ + u) * k_ + v, o);"
  "(*dX)(n, in_.index(c, y, x)) += g * W((c * k_ + (k_ - 1 - u)) * k_ + (k_ - 1 - v), o);"
  "with the kernel NOT flipped")
chainrule_exercise_mistake(conv2d-weight-grad-flipped conv2d
  "dW((c * k_ + u) * k_ + v, o) += g * X(n, in_.index(c, y, x));"
  "dW((c * k_ + (k_ - 1 - u)) * k_ + (k_ - 1 - v), o) += g * X(n, in_.index(c, y, x));"
  "each filter of dW is turned by 180 degrees")
chainrule_exercise_mistake(conv2d-bias-grad-mean conv2d
  "db(0, o) += g;" "db(0, o) += g / (out_.height * out_.width);"
  "db is the mean over each channel's pixels")
chainrule_exercise_mistake(conv2d-no-bias-grad conv2d
  "db(0, o) += g;" "db(0, o) += 0 * g;"
  "db is all zeros: b[o] is added to every pixel")
chainrule_exercise_mistake(maxpool2d-overlap-overwritten maxpool2d
  "(*dX)(n, argmax_[e]) += dY.data[e];" "(*dX)(n, argmax_[e]) = dY.data[e];"
  "an entry that is the max of two windows collects both")
