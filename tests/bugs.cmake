# The signature of every injectable bug (docs/bugs.md), asserted.
set(CHAINRULE_BUG_TESTS ${CMAKE_SOURCE_DIR}/tests/bugs)

# Bugs in a backward pass: chainrule gradcheck must fail, on the rows the table names.
function(chainrule_gradcheck_bug bug)
  add_test(NAME "bugs: gradcheck catches ${bug}"
           COMMAND ${CHAINRULE_BUG_TESTS}/check_gradcheck_bug.sh $<TARGET_FILE:chainrule> ${bug} 1 ${ARGN})
  set_tests_properties("bugs: gradcheck catches ${bug}" PROPERTIES LABELS bugs)
endfunction()
chainrule_gradcheck_bug(dense-no-bias-grad "^  dense\\.b .*FAIL.*all zeros" "^  dense2\\.b .*FAIL")
chainrule_gradcheck_bug(dense-transposed-weight-grad "^  dense\\.W .*1\\.0e\\+00 .*FAIL" "^  dense1\\.W .*FAIL")
chainrule_gradcheck_bug(missing-batch-mean "^  Z +\\(5, 4\\) .*6\\.7e-01 .*FAIL" "^  dense1\\.W .*6\\.0e-01 .*FAIL")
chainrule_gradcheck_bug(softmax-ce-sign "^  Z +\\(5, 4\\) .*1\\.0e\\+00 .*FAIL" "^  dZ .*FAIL")
chainrule_gradcheck_bug(relu-mask-inverted "^relu \\(relu\\) +FAIL" "^  dense1\\.W .*FAIL")
chainrule_gradcheck_bug(dropout-missing-scale "^dropout .*FAIL" "^  X +\\(6, 5\\) .*3\\.3e-01 .*FAIL" "10 of 11 checks passed")
chainrule_gradcheck_bug(batchnorm-missing-mean-term "^batchnorm .*FAIL" "10 of 11 checks passed")

# The harmless one: y > 0 exactly when x > 0, so the mask is the same and every check passes.
add_test(NAME "bugs: relu-mask-from-output is harmless"
         COMMAND ${CHAINRULE_BUG_TESTS}/check_gradcheck_bug.sh $<TARGET_FILE:chainrule> relu-mask-from-output 0
                 "11 of 11 checks passed")
set_tests_properties("bugs: relu-mask-from-output is harmless" PROPERTIES LABELS bugs)

# Bugs in the training pipeline: train states the finding, doctor names it first (real MNIST).
function(chainrule_pipeline_bug bug finding)
  set(name "bugs: ${bug} is diagnosed as ${finding}")
  add_test(NAME "${name}"
           COMMAND ${CHAINRULE_BUG_TESTS}/check_pipeline_bug.sh $<TARGET_FILE:chainrule> ${CMAKE_SOURCE_DIR}/data/mnist
                   ${CMAKE_BINARY_DIR}/test-tmp ${bug} ${finding})
  set_tests_properties("${name}" PROPERTIES LABELS "bugs;mnist" SKIP_RETURN_CODE 77 TIMEOUT 300)
endfunction()
chainrule_pipeline_bug(none none)
chainrule_pipeline_bug(inputs-not-normalised initial-loss-high)
chainrule_pipeline_bug(labels-misaligned chance-level)
chainrule_pipeline_bug(lr-too-high updates-too-large)
chainrule_pipeline_bug(dead-init dead-relus)
chainrule_pipeline_bug(grads-not-zeroed gradients-growing)
chainrule_pipeline_bug(adam-no-bias-correction adam-first-step)
