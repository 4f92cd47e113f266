# Real MNIST end to end (label "mnist"): loads data/mnist from the source tree.
# Skipped (exit 77) when the files are absent, unless CHAINRULE_REQUIRE_MNIST=1 is set;
# tools/fetch_mnist.sh downloads them.
add_executable(chainrule_mnist_e2e ${CMAKE_CURRENT_SOURCE_DIR}/mnist/test_mnist_e2e.cpp)
target_link_libraries(chainrule_mnist_e2e PRIVATE chainrule_core doctest::doctest)
target_compile_definitions(chainrule_mnist_e2e PRIVATE CHAINRULE_MNIST_DIR="${CMAKE_SOURCE_DIR}/data/mnist"
  CHAINRULE_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp")
add_test(NAME "mnist: real MNIST files load with the known counts and labels" COMMAND chainrule_mnist_e2e
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("mnist: real MNIST files load with the known counts and labels" PROPERTIES
  LABELS mnist SKIP_RETURN_CODE 77)

# The IDX size limit must fire before any payload is allocated: a program that counts
# allocations (it replaces operator new, so it cannot share the unit-test program).
add_executable(chainrule_idx_alloc ${CMAKE_CURRENT_SOURCE_DIR}/mnist/test_idx_alloc.cpp)
target_link_libraries(chainrule_idx_alloc PRIVATE chainrule_core doctest::doctest)
target_compile_definitions(chainrule_idx_alloc PRIVATE CHAINRULE_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp")
add_test(NAME "unit: idx: headers declaring huge sizes are refused without allocating" COMMAND chainrule_idx_alloc
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})

# --early-stopping and --restore-best on real MNIST: a 50-epoch 784-512-256-10 run that stops early.
add_executable(chainrule_early_stopping_mnist ${CMAKE_CURRENT_SOURCE_DIR}/mnist/test_early_stopping_mnist.cpp)
target_link_libraries(chainrule_early_stopping_mnist PRIVATE chainrule_core doctest::doctest)
target_compile_definitions(chainrule_early_stopping_mnist PRIVATE CHAINRULE_MNIST_DIR="${CMAKE_SOURCE_DIR}/data/mnist"
  CHAINRULE_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp")
add_test(NAME "mnist: --early-stopping stops a 50-epoch 784-512-256-10 run and restores the best weights"
  COMMAND chainrule_early_stopping_mnist WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("mnist: --early-stopping stops a 50-epoch 784-512-256-10 run and restores the best weights"
  PROPERTIES LABELS mnist SKIP_RETURN_CODE 77 TIMEOUT 300)
