# Command-line tests of evaluate, predict, export and inspect on crafted inputs: checkpoints
# that declare huge networks, a 4 GiB sparse file of zeros, non-finite weights, out-of-range
# fields, bad --out folders, empty and corrupt MNIST files. Each must exit 2 with a message
# naming the file or the option. make_checkpoints (tests/fuzz/make_checkpoints.cpp) writes the
# files; none needs the real MNIST. Outside sanitizer builds every command runs under
# `ulimit -v` (1 GiB), so a huge allocation fails the test instead of swapping.
set(CHAINRULE_IO_DIR ${CMAKE_BINARY_DIR}/test-tmp/cli-io)
set(CHAINRULE_IO_FILES ${CHAINRULE_IO_DIR}/files)
set(CHAINRULE_IO_OUT ${CHAINRULE_IO_DIR}/out)

add_executable(chainrule_make_checkpoints ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/make_checkpoints.cpp)
target_link_libraries(chainrule_make_checkpoints PRIVATE chainrule_core)
add_test(NAME "cli: io: make the crafted files" COMMAND chainrule_make_checkpoints ${CHAINRULE_IO_FILES} --sparse)
set_tests_properties("cli: io: make the crafted files" PROPERTIES FIXTURES_SETUP chainrule_io_files LABELS cli)
# The 4 GiB sparse file goes once the tests are done (a copy of the build tree would fill it in).
add_test(NAME "cli: io: remove the sparse file" COMMAND ${CMAKE_COMMAND} -E rm -f ${CHAINRULE_IO_FILES}/zeros-4g.ckpt)
set_tests_properties("cli: io: remove the sparse file" PROPERTIES FIXTURES_CLEANUP chainrule_io_files LABELS cli)

if(CMAKE_CXX_FLAGS MATCHES "sanitize=address")
  set(CHAINRULE_IO_LIMIT "")  # ASan reserves terabytes of address space
else()
  set(CHAINRULE_IO_LIMIT "ulimit -v 1048576 &&")
endif()

# chainrule_io_test(NAME CODE REGEX ARGS...): chainrule ARGS must exit CODE with output matching REGEX.
function(chainrule_io_test name code regex)
  add_test(NAME "cli: io: ${name}"
    COMMAND bash -c "${CHAINRULE_IO_LIMIT} exec \"$@\"" chainrule-io
            ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh ${code} "${regex}" $<TARGET_FILE:chainrule> ${ARGN}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties("cli: io: ${name}" PROPERTIES FIXTURES_REQUIRED chainrule_io_files LABELS cli TIMEOUT 60)
endfunction()

# chainrule_io_json_test(NAME ARGS...): chainrule ARGS must exit 0 and print valid JSON
# (checked with python3; skipped without it).
function(chainrule_io_json_test name)
  add_test(NAME "cli: io: ${name}"
    COMMAND bash -c "command -v python3 >/dev/null || exit 77; out=$(\"$@\") || exit 1; printf '%s\\n' \"$out\"; \
python3 -c 'import json, sys; json.loads(sys.argv[1])' \"$out\"" chainrule-io $<TARGET_FILE:chainrule> ${ARGN}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties("cli: io: ${name}" PROPERTIES FIXTURES_REQUIRED chainrule_io_files LABELS cli TIMEOUT 60
    SKIP_RETURN_CODE 77)
endfunction()

set(F ${CHAINRULE_IO_FILES})
set(MNIST20 ${F}/mnist-20)
set(NO_MNIST ${F}/no-such-mnist)

# Every reader of a checkpoint refuses it before building the network. predict gets no MNIST
# folder: the model is checked first.
foreach(bad IN ITEMS huge-hidden deep-wide shape-mismatch zeros-4g nan-weights)
  if(bad STREQUAL "huge-hidden")
    set(why "huge-hidden.ckpt: the checkpoint declares a 784-1048576-10 network, which needs 4 tensors, but it holds only 0")
  elseif(bad STREQUAL "deep-wide")
    set(why "deep-wide.ckpt: the checkpoint declares a 784-30000-30000-...-30000-10 \\(64 hidden layers\\) network, which needs 130 tensors")
  elseif(bad STREQUAL "shape-mismatch")
    set(why "shape-mismatch.ckpt: the checkpoint declares a 784-1048576-10 network, whose tensor 1 is 'dense1.W' \\(784, 1048576\\), but the file holds 'dense1.W' \\(784, 2\\)")
  elseif(bad STREQUAL "zeros-4g")
    set(why "zeros-4g.ckpt: not a chainrule checkpoint")
  else()
    set(why "nan-weights.ckpt: the checkpoint holds non-finite values \\(NaN or Inf\\) in dense1.W \\(1 of 1568\\): the run diverged")
  endif()
  chainrule_io_test("evaluate: ${bad}" 2 "--model: .*${why}"
    evaluate --model ${F}/${bad}.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/evaluate-${bad})
  chainrule_io_test("predict: ${bad}" 2 "--model: .*${why}" predict --model ${F}/${bad}.ckpt --index 0 --data ${NO_MNIST})
  chainrule_io_test("export: ${bad}" 2 "--model: .*${why}" export --model ${F}/${bad}.ckpt --out ${CHAINRULE_IO_OUT}/export-${bad})
  chainrule_io_test("inspect: ${bad}" 2 "--model: .*${why}"
    inspect --model ${F}/${bad}.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/inspect-${bad})
endforeach()
chainrule_io_test("predict: Inf in a bias" 2 "--model: .*inf-weights.ckpt: the checkpoint holds non-finite values \\(NaN or Inf\\) in dense2.b"
  predict --model ${F}/inf-weights.ckpt --pgm ${F}/digit.pgm --json)
chainrule_io_test("predict --json: weights so large the output overflows" 2
  "--model: .*huge-weights.ckpt: the network's output for this image is not finite"
  predict --model ${F}/huge-weights.ckpt --pgm ${F}/digit.pgm --json)
chainrule_io_json_test("evaluate --json: an overflowing output is still valid JSON"
  evaluate --model ${F}/huge-weights.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/evaluate-huge-weights --json)
chainrule_io_test("evaluate: an overflowing output is explained" 0 "note: the test loss is not finite"
  evaluate --model ${F}/huge-weights.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/evaluate-huge-weights-note --json)
chainrule_io_json_test("predict --json is valid JSON" predict --model ${F}/valid-784-2-10.ckpt --pgm ${F}/digit.pgm --json)
chainrule_io_json_test("evaluate --json is valid JSON"
  evaluate --model ${F}/valid-784-2-10.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/evaluate-json --json)

# Fields out of range, and models that do not fit MNIST.
chainrule_io_test("evaluate: optimizer step count INT64_MAX" 2
  "--model: .*steps-int64-max.ckpt: malformed checkpoint \\(optimizer step count 9223372036854775807 is outside 0..9007199254740992"
  evaluate --model ${F}/steps-int64-max.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/evaluate-steps)
chainrule_io_test("evaluate: unknown init" 2 "--model: .*unknown-init.ckpt: the checkpoint names a bad init: unknown init 'kaiming'"
  evaluate --model ${F}/unknown-init.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/evaluate-init)
chainrule_io_test("evaluate: 3 classes" 2 "--model: .*three-classes.ckpt has 3 output classes, MNIST has 10"
  evaluate --model ${F}/three-classes.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/evaluate-classes)
chainrule_io_test("inspect: 3 classes" 2 "--model: .*three-classes.ckpt has 3 output classes"
  inspect --model ${F}/three-classes.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/inspect-classes)
chainrule_io_test("evaluate: --threads 100000" 2 "--threads must be in 0\\.\\.256"
  evaluate --model ${F}/valid-784-2-10.ckpt --threads 100000)

# MNIST files: 0 images, a flipped bit in a .gz.
chainrule_io_test("evaluate: a test file of 0 images" 2 "mnist-empty/t10k-images-idx3-ubyte: holds 0 images"
  evaluate --model ${F}/valid-784-2-10.ckpt --data ${F}/mnist-empty --out ${CHAINRULE_IO_OUT}/evaluate-empty)
chainrule_io_test("evaluate: a .gz with one flipped bit" 2 "t10k-images-idx3-ubyte.gz: corrupt gzip data \\(zlib: "
  evaluate --model ${F}/valid-784-2-10.ckpt --data ${F}/mnist-flipped-gz --out ${CHAINRULE_IO_OUT}/evaluate-gz)

# --out: an existing file, a place that cannot hold a folder, a folder that cannot be written.
chainrule_io_test("evaluate: --out is a file" 2 "--out: '.*digit.pgm' exists and is not a folder"
  evaluate --model ${F}/valid-784-2-10.ckpt --data ${MNIST20} --out ${F}/digit.pgm)
chainrule_io_test("evaluate: --out under /proc" 2 "--out: cannot create the folder '/proc/chainrule-no-such/x'"
  evaluate --model ${F}/valid-784-2-10.ckpt --data ${MNIST20} --out /proc/chainrule-no-such/x)
chainrule_io_test("evaluate: --out is /proc/self" 2 "--out: .*/proc/self"
  evaluate --model ${F}/valid-784-2-10.ckpt --data ${MNIST20} --out /proc/self)

# The valid files work, so the refusals above are about what was crafted into the others.
chainrule_io_test("evaluate: the valid checkpoint" 0 "test accuracy"
  evaluate --model ${F}/valid-784-2-10.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/evaluate-valid)
chainrule_io_test("predict: the valid checkpoint" 0 "answer: [0-9]" predict --model ${F}/valid-784-2-10.ckpt --pgm ${F}/digit.pgm)
chainrule_io_test("export: the valid checkpoint" 0 "dense1.W.npy" export --model ${F}/valid-784-2-10.ckpt --out ${CHAINRULE_IO_OUT}/export-valid)
chainrule_io_test("inspect: the valid checkpoint" 0 "wrote .* files"
  inspect --model ${F}/valid-784-2-10.ckpt --data ${MNIST20} --out ${CHAINRULE_IO_OUT}/inspect-valid)

# Allocation: crafted checkpoints are refused before anything the size of their network is
# allocated (a program of its own: it replaces operator new).
add_executable(chainrule_checkpoint_alloc ${CMAKE_CURRENT_SOURCE_DIR}/mnist/test_checkpoint_alloc.cpp)
target_link_libraries(chainrule_checkpoint_alloc PRIVATE chainrule_core doctest::doctest)
target_compile_definitions(chainrule_checkpoint_alloc PRIVATE CHAINRULE_TEST_TMP="${CMAKE_BINARY_DIR}/test-tmp")
add_test(NAME "unit: checkpoint: crafted checkpoints are refused without allocating" COMMAND chainrule_checkpoint_alloc
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})

# --resume checks a checkpoint before anything is built from it: its weights must be finite.
chainrule_io_test("train --resume: NaN weights are refused before training" 2 "nan-weights.ckpt: the checkpoint holds non-finite values"
  train --resume ${F}/nan-weights.ckpt --data ${F}/mnist-20 --epochs 50 --out ${CMAKE_BINARY_DIR}/test-tmp/cli-io/resume-nan)
