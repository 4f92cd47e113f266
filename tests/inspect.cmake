# Command-line tests of `chainrule predict`, `export` and `inspect` (docs/inspect.md).
# Bad options and values exit 2 with one line naming the option (tests/cli/expect.sh checks the
# exit code and a regex on the output). The end-to-end run on real MNIST (train a tiny model, then
# export, inspect, predict, and recompute every gradient from the .npy files with
# tests/inspect/check_npy.py) is labelled "mnist" and skipped (exit 77) when data/mnist is missing,
# unless CHAINRULE_REQUIRE_MNIST=1.
set(CHAINRULE_INSPECT_EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh)
set(CHAINRULE_INSPECT_TMP ${CMAKE_BINARY_DIR}/test-tmp/inspect)
set(CHAINRULE_NO_CKPT ${CMAKE_BINARY_DIR}/no-such-model.ckpt)

function(chainrule_inspect_test name code regex)
  add_test(NAME "cli: ${name}" COMMAND ${CHAINRULE_INSPECT_EXPECT} ${code} "${regex}" $<TARGET_FILE:chainrule> ${ARGN}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties("cli: ${name}" PROPERTIES LABELS "cli;inspect" TIMEOUT 60)
endfunction()

# predict
chainrule_inspect_test("predict: missing --model" 2 "--model is required" predict --index 0)
chainrule_inspect_test("predict: --model file missing" 2 "--model: .*no-such-model.ckpt: no such checkpoint file"
  predict --model ${CHAINRULE_NO_CKPT} --index 0 --data ${CMAKE_SOURCE_DIR}/data/mnist)
chainrule_inspect_test("predict: neither --index nor --pgm" 2 "give --index I .* or --pgm FILE"
  predict --model ${CHAINRULE_NO_CKPT})
chainrule_inspect_test("predict: both --index and --pgm" 2 "--index excludes --pgm"
  predict --model ${CHAINRULE_NO_CKPT} --index 0 --pgm x.pgm)
chainrule_inspect_test("predict: negative --index" 2 "--index -1 must be 0 or more"
  predict --model ${CHAINRULE_NO_CKPT} --index=-1)
chainrule_inspect_test("predict: bad --split" 2 "--split: validation not in \\{test,train\\}"
  predict --model ${CHAINRULE_NO_CKPT} --index 0 --split validation)
chainrule_inspect_test("predict: missing PGM file" 2 "--pgm: .*nothing.pgm: no such PGM file"
  predict --model ${CHAINRULE_NO_CKPT} --pgm ${CMAKE_BINARY_DIR}/nothing.pgm)
chainrule_inspect_test("predict: unreadable PGM (not an image)" 2 "--pgm: .*expect.sh: not a PGM image"
  predict --model ${CHAINRULE_NO_CKPT} --pgm ${CHAINRULE_INSPECT_EXPECT})
chainrule_inspect_test("predict: PGM is a folder" 2 "--pgm: .*: not a regular file"
  predict --model ${CHAINRULE_NO_CKPT} --pgm ${CMAKE_CURRENT_SOURCE_DIR})
chainrule_inspect_test("predict: --invert without --pgm" 2 "--invert applies to --pgm images only"
  predict --model ${CHAINRULE_NO_CKPT} --index 0 --invert)
chainrule_inspect_test("predict: --help explains white on black" 0 "WHITE strokes on a BLACK background" predict --help)

# export
chainrule_inspect_test("export: missing --out" 2 "--out is required" export --model ${CHAINRULE_NO_CKPT})
chainrule_inspect_test("export: --model file missing" 2 "--model: .*no such checkpoint file"
  export --model ${CHAINRULE_NO_CKPT} --out ${CHAINRULE_INSPECT_TMP}/export-none)
chainrule_inspect_test("export: negative --digits" 2 "--digits -1 must be 0 or more"
  export --model ${CHAINRULE_NO_CKPT} --out ${CHAINRULE_INSPECT_TMP}/export-none --digits=-1)
chainrule_inspect_test("export: not a checkpoint" 2 "--model: .*not a chainrule checkpoint"
  export --model ${CHAINRULE_INSPECT_EXPECT} --out ${CHAINRULE_INSPECT_TMP}/export-none)

# inspect
chainrule_inspect_test("inspect: missing --model" 2 "--model is required" inspect --out ${CHAINRULE_INSPECT_TMP}/none)
chainrule_inspect_test("inspect: --count 0" 2 "--count 0 must be at least 1"
  inspect --model ${CHAINRULE_NO_CKPT} --count 0 --out ${CHAINRULE_INSPECT_TMP}/none)
chainrule_inspect_test("inspect: negative --index" 2 "--index -5 must be 0 or more"
  inspect --model ${CHAINRULE_NO_CKPT} --index=-5 --out ${CHAINRULE_INSPECT_TMP}/none)
chainrule_inspect_test("inspect: --model file missing" 2 "--model: .*no such checkpoint file"
  inspect --model ${CHAINRULE_NO_CKPT} --out ${CHAINRULE_INSPECT_TMP}/none)
chainrule_inspect_test("inspect: unknown injected bug" 2 "unknown bug 'nope'"
  inspect --model ${CHAINRULE_NO_CKPT} --out ${CHAINRULE_INSPECT_TMP}/none --inject-bug nope)

# End to end on real MNIST.
set(CHAINRULE_INSPECT_E2E "mnist: train a tiny model, export, inspect (gradients recomputed from the .npy files), predict")
add_test(NAME "${CHAINRULE_INSPECT_E2E}"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/inspect/inspect_mnist.sh $<TARGET_FILE:chainrule> ${CMAKE_SOURCE_DIR}/data/mnist
          ${CHAINRULE_INSPECT_TMP}/e2e
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("${CHAINRULE_INSPECT_E2E}" PROPERTIES LABELS "mnist;cli;inspect" SKIP_RETURN_CODE 77 TIMEOUT 180)
