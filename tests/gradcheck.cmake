# The gradient checker on many seeds (label "gradcheck"): correct code passes on every
# seed, and the checker keeps its teeth (tests/gradcheck/teeth.cpp). The asan preset runs
# fewer seeds (CHAINRULE_GRADCHECK_SEEDS): it looks for memory errors, not numerical ones.
set(CHAINRULE_GRADCHECK_SEEDS 200 CACHE STRING "How many seeds the gradcheck tests sweep (from seed 1)")
add_executable(chainrule_gradcheck_teeth ${CMAKE_CURRENT_SOURCE_DIR}/gradcheck/teeth.cpp)
target_link_libraries(chainrule_gradcheck_teeth PRIVATE chainrule_core)

set(last ${CHAINRULE_GRADCHECK_SEEDS})
# Four slices, so that ctest -j runs them side by side.
math(EXPR quarter "(${last} + 3) / 4")
foreach(slice RANGE 0 3)
  math(EXPR from "${slice} * ${quarter} + 1")
  math(EXPR to "(${slice} + 1) * ${quarter}")
  if(to GREATER last)
    set(to ${last})
  endif()
  if(from GREATER to)
    continue()
  endif()
  add_test(NAME "gradcheck: seeds ${from}-${to}: every check passes on correct code"
           COMMAND chainrule gradcheck --seeds ${from}-${to})
  set_tests_properties("gradcheck: seeds ${from}-${to}: every check passes on correct code" PROPERTIES
    LABELS gradcheck TIMEOUT 600)
  add_test(NAME "gradcheck: seeds ${from}-${to}: 1e-6 slips and every gradient bug fail"
           COMMAND chainrule_gradcheck_teeth ${from} ${to})
  set_tests_properties("gradcheck: seeds ${from}-${to}: 1e-6 slips and every gradient bug fail" PROPERTIES
    LABELS gradcheck TIMEOUT 600)
endforeach()

# The suites kept out of the standard one (whose counts the tutorials quote), on the same seeds,
# one test each (tests/gradcheck/suites.cpp): the activations (sigmoid, tanh, leaky ReLU); weight
# decay's L2 penalty, alone and in the 6-5-3 network; the BatchNorm choices (eps 1e-3, momentum
# 0.01, before and after the activation), where the batchnorm-missing-mean-term bug must fail every seed.
add_executable(chainrule_gradcheck_suite ${CMAKE_CURRENT_SOURCE_DIR}/gradcheck/suites.cpp)
target_link_libraries(chainrule_gradcheck_suite PRIVATE chainrule_core)
foreach(pair "activations|activations on seeds 1-${last}: every check passes on correct code"
             "penalty|L2 penalty on seeds 1-${last}: every check passes on correct code"
             "batchnorm|batchnorm choices on seeds 1-${last}: every check passes, the mean-term bug fails")
  string(FIND "${pair}" "|" bar)
  string(SUBSTRING "${pair}" 0 ${bar} suite)
  math(EXPR rest "${bar} + 1")
  string(SUBSTRING "${pair}" ${rest} -1 what)
  add_test(NAME "gradcheck: ${what}" COMMAND chainrule_gradcheck_suite ${suite} 1 ${last})
  set_tests_properties("gradcheck: ${what}" PROPERTIES LABELS gradcheck TIMEOUT 600)
endforeach()
