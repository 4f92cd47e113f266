# Performance guarantees that are tests, not benchmarks (label "perf"). Timings are
# never tested (they depend on the machine); tools/bench.sh measures them.
#
# A training step allocates nothing after the first ones: a program that counts every
# operator new (it replaces operator new, so it cannot share the unit-test program).
add_executable(chainrule_step_alloc ${CMAKE_CURRENT_SOURCE_DIR}/perf/test_step_alloc.cpp)
target_link_libraries(chainrule_step_alloc PRIVATE chainrule_core doctest::doctest)
add_test(NAME "perf: a training step allocates nothing after the first ones" COMMAND chainrule_step_alloc
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("perf: a training step allocates nothing after the first ones" PROPERTIES LABELS perf)
