# tools/sweep.sh on real MNIST (label "mnist"): a 2 x 2 x 1 grid, --limit 500, 1 epoch; sweep.csv
# is checked against each run's history.csv and drawn by tools/plots/sweep.gp. Skipped without MNIST.
add_test(NAME "mnist: sweep.sh runs a 2x2x1 grid and writes one sweep.csv row per run; sweep.gp draws it"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/sweep_mnist.sh ${CMAKE_SOURCE_DIR} $<TARGET_FILE:chainrule>
          ${CMAKE_SOURCE_DIR}/data/mnist ${CMAKE_BINARY_DIR}/test-tmp/cli/sweep_mnist
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("mnist: sweep.sh runs a 2x2x1 grid and writes one sweep.csv row per run; sweep.gp draws it"
  PROPERTIES LABELS "mnist;cli" SKIP_RETURN_CODE 77 TIMEOUT 300)
