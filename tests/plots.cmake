# Plot tests (label `plots`): every gnuplot script in tools/plots/ and tools/plot.sh, run on the
# hand-made run folders in tests/plots/fixtures/ (written by tests/plots/fixtures/make_fixtures.py).
# The checks live in tests/plots/check_plot.sh; without gnuplot they are reported as skipped.
#   ctest -L plots
set(CHAINRULE_PLOT_CHECK ${CMAKE_CURRENT_LIST_DIR}/plots/check_plot.sh)
set(CHAINRULE_PLOT_FIXTURES ${CMAKE_CURRENT_LIST_DIR}/plots/fixtures)
set(CHAINRULE_PLOT_WORK ${CMAKE_BINARY_DIR}/test-tmp/plots)

# add_plot_test(NAME CHECK ARGS...): one ctest entry "plots: NAME".
function(add_plot_test name)
  add_test(NAME "plots: ${name}" COMMAND bash ${CHAINRULE_PLOT_CHECK} ${ARGN})
  set_tests_properties("plots: ${name}" PROPERTIES
    LABELS plots
    SKIP_RETURN_CODE 77
    TIMEOUT 120
    ENVIRONMENT "PLOTS_DIR=${CMAKE_SOURCE_DIR}/tools/plots;PLOT_SH=${CMAKE_SOURCE_DIR}/tools/plot.sh")
endfunction()

# Each script draws a real PNG from its fixture.
set(_run ${CHAINRULE_PLOT_FIXTURES}/run)
foreach(pair IN ITEMS loss:history accuracy:history loss_accuracy:history grad_stats:steps grad_norms:steps
                      confusion:confusion misclassified:misclassified digits:digits weights:weights1)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 script)
  list(GET pair 1 input)
  add_plot_test("${script}.gp renders a PNG" render ${script}.gp ${_run}/${input}.csv ${CHAINRULE_PLOT_WORK}/render-${script})
endforeach()

# Any number of layers: a 784-512-256-10 net with batch normalisation (8 parameter tensors, 2 ReLUs).
add_plot_test("grad_norms.gp takes any number of tensors" render grad_norms.gp
  ${CHAINRULE_PLOT_FIXTURES}/deep/steps.csv ${CHAINRULE_PLOT_WORK}/deep-grad_norms)
add_plot_test("grad_stats.gp takes any number of tensors" render grad_stats.gp
  ${CHAINRULE_PLOT_FIXTURES}/deep/steps.csv ${CHAINRULE_PLOT_WORK}/deep-grad_stats)
add_plot_test("weights.gp lays out 128 hidden units as 16 x 8 tiles" weights-128 ${CHAINRULE_PLOT_WORK}/weights-128)
# signals.gp on a real steps.csv with the act_std and dz_std columns (fixtures/signals/: 784-128x6-10
# with sigmoid, chainrule train --hidden 128,128,128,128,128,128 --activation sigmoid --log-grads 10
# --epochs 1 --limit 10000); plot.sh draws it beside grad_stats and grad_norms.
add_plot_test("signals.gp renders a PNG" render signals.gp ${CHAINRULE_PLOT_FIXTURES}/signals/steps.csv
  ${CHAINRULE_PLOT_WORK}/render-signals)
add_plot_test("plot.sh draws signals from a steps.csv with signal columns" plot-signals
  ${CHAINRULE_PLOT_FIXTURES}/signals ${CHAINRULE_PLOT_WORK}/plot-signals)

# A script given a file that is not there fails and names it.
foreach(script IN ITEMS loss accuracy loss_accuracy grad_stats grad_norms signals confusion misclassified digits weights)
  add_plot_test("${script}.gp fails on a missing file" script-missing-input ${script}.gp
    ${CHAINRULE_PLOT_WORK}/missing-${script})
endforeach()

# tools/plot.sh
add_plot_test("plot.sh draws all pictures of a run" plot-all ${_run} ${CHAINRULE_PLOT_WORK}/plot-all)
add_plot_test("plot.sh --svg writes SVG files" plot-svg ${_run} ${CHAINRULE_PLOT_WORK}/plot-svg)
add_plot_test("plot.sh --term prints the curves" plot-term ${_run} ${CHAINRULE_PLOT_WORK}/plot-term)
add_plot_test("plot.sh skips pictures whose file is missing" plot-partial ${_run} ${CHAINRULE_PLOT_WORK}/plot-partial)
add_plot_test("plot.sh names a missing run folder" plot-missing-dir ${CHAINRULE_PLOT_WORK}/plot-missing-dir)
add_plot_test("plot.sh fails when nothing can be drawn" plot-empty-dir ${CHAINRULE_PLOT_WORK}/plot-empty-dir)
add_plot_test("plot.sh without gnuplot gives the apt-get line" plot-no-gnuplot ${CHAINRULE_PLOT_WORK}/plot-no-gnuplot)

# A run trained without a validation split (empty val_loss and val_accuracy): training curves only.
foreach(script IN ITEMS loss accuracy loss_accuracy)
  add_plot_test("${script}.gp draws a run without validation" render ${script}.gp
    ${CHAINRULE_PLOT_FIXTURES}/no_val/history.csv ${CHAINRULE_PLOT_WORK}/no-val-${script})
endforeach()
