# --shards P, the one-process side of data parallelism (train/shards.hpp), in every build:
# bad values exit 2 naming the option; on real MNIST (tests/mpi/shards_mnist.sh) --shards 1 is
# the plain run, --shards 2 stays within float rounding of it, is recorded in the settings only
# when not 1, and resumes bit-exact. Without -DCHAINRULE_MPI=ON, --data-parallel is refused.
function(chainrule_shards_test name code regex)  # as chainrule_cli_test (tests/cli.cmake)
  add_test(NAME "cli: ${name}" COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh ${code} "${regex}"
    $<TARGET_FILE:chainrule> ${ARGN} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties("cli: ${name}" PROPERTIES LABELS cli TIMEOUT 60)
endfunction()
chainrule_shards_test("train: --shards 0" 2 "--shards must be in 1\\.\\.1024, got 0" train --shards 0)
chainrule_shards_test("train: --shards 5000" 2 "--shards must be in 1\\.\\.1024, got 5000" train --shards 5000)
chainrule_shards_test("train: --shards above --batch" 2 "--shards 16 is more than --batch 8" train --shards 16 --batch 8)
chainrule_shards_test("train: --shards with --dropout" 2 "--shards / --data-parallel cannot be combined with --dropout"
  train --shards 2 --dropout 0.2)
chainrule_shards_test("train: --shards with --batchnorm" 2 "--shards / --data-parallel cannot be combined with --batchnorm"
  train --shards 2 --batchnorm)
chainrule_shards_test("train: --shards with --inject-bug" 2 "cannot be combined with --inject-bug missing-batch-mean"
  train --shards 2 --inject-bug missing-batch-mean)
if(NOT CHAINRULE_MPI)
  chainrule_shards_test("train: --data-parallel in a build without MPI" 2 "--data-parallel: this chainrule was built without MPI"
    train --data-parallel)
endif()
add_test(NAME "mnist: cli --shards: = plain for 1, within rounding for 2, recorded only when not 1, resume bit-exact"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/mpi/shards_mnist.sh $<TARGET_FILE:chainrule> ${CMAKE_SOURCE_DIR}/data/mnist
          ${CMAKE_BINARY_DIR}/test-tmp/cli/shards_mnist
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("mnist: cli --shards: = plain for 1, within rounding for 2, recorded only when not 1, resume bit-exact"
  PROPERTIES LABELS "mnist;cli" SKIP_RETURN_CODE 77 TIMEOUT 300)

# A sharded step allocates nothing after the first ones (label "perf", as tests/perf.cmake).
add_executable(chainrule_shards_alloc ${CMAKE_CURRENT_SOURCE_DIR}/perf/test_shards_alloc.cpp)
target_link_libraries(chainrule_shards_alloc PRIVATE chainrule_core doctest::doctest)
add_test(NAME "perf: a sharded training step allocates nothing after the first ones" COMMAND chainrule_shards_alloc
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("perf: a sharded training step allocates nothing after the first ones" PROPERTIES LABELS perf)
