# Command-line tests of `chainrule train` and `chainrule evaluate` (docs/cli.md).
# Bad options and values must exit 2 with a message naming them (tests/cli/expect.sh
# checks the exit code and a regex on the output). The end-to-end run on a slice of real
# MNIST is labelled "mnist" and skipped (exit 77) when data/mnist is missing, unless
# CHAINRULE_REQUIRE_MNIST=1.
set(CHAINRULE_EXPECT ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh)
set(CHAINRULE_CLI_MNIST ${CMAKE_SOURCE_DIR}/data/mnist)

function(chainrule_cli_test name code regex)
  add_test(NAME "cli: ${name}" COMMAND ${CHAINRULE_EXPECT} ${code} "${regex}" $<TARGET_FILE:chainrule> ${ARGN}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties("cli: ${name}" PROPERTIES LABELS cli TIMEOUT 60)
endfunction()

# Exit 2: a bad option or value, caught before any data is read.
chainrule_cli_test("train: unknown optimizer" 2 "--optimizer 'adagrad' is unknown" train --optimizer adagrad)
chainrule_cli_test("train: negative learning rate" 2 "--lr must be a positive" train --lr=-0.1)
chainrule_cli_test("train: batch 0" 2 "--batch must be at least 1" train --batch 0)
chainrule_cli_test("train: bad --validation" 2 "--validation '1.5'" train --validation 1.5)
chainrule_cli_test("train: --validation 0" 2 "--validation '0' must be 'test' or a fraction" train --validation 0)
chainrule_cli_test("train: unknown --monitor" 2 "--monitor 'accuracy' is unknown; use val_loss or val_accuracy"
  train --monitor accuracy)
chainrule_cli_test("train: negative --early-stopping" 2 "--early-stopping must be a patience in 0\\.\\.1000000 epochs"
  train --early-stopping -1)
chainrule_cli_test("train: --early-stopping not a number" 2 "--early-stopping: Value five not in range|--early-stopping.*five"
  train --early-stopping five)
chainrule_cli_test("train: negative --min-delta" 2 "--min-delta must be a number >= 0, got -0\\.5" train --min-delta -0.5)
chainrule_cli_test("train: --min-delta not a number" 2 "--min-delta.*abc" train --min-delta abc)
chainrule_cli_test("train: --help names --restore-best" 0 "--restore-best +At the end, the model holds the best epoch" train --help)
chainrule_cli_test("train: bad --hidden list" 2 "--hidden '128,x'" train --hidden 128,x)
chainrule_cli_test("train: empty --hidden entry" 2 "--hidden '128,,64'" train --hidden 128,,64)
chainrule_cli_test("train: unknown option" 2 "--bogus" train --bogus 3)
chainrule_cli_test("train: unknown injected bug" 2 "unknown bug 'nope'" train --inject-bug nope)
chainrule_cli_test("train: missing data folder" 2 "MNIST folder not found: ${CMAKE_BINARY_DIR}/no-such-mnist"
  train --data ${CMAKE_BINARY_DIR}/no-such-mnist --out ${CMAKE_BINARY_DIR}/test-tmp/cli/no-data)
chainrule_cli_test("train: missing resume checkpoint" 2 "no such checkpoint file"
  train --resume ${CMAKE_BINARY_DIR}/no-such.ckpt)
# Bounds (issue 13): thread counts libgomp cannot take, seeds that would be clamped.
chainrule_cli_test("train: --threads 100000 (crashed in GOMP_parallel)" 2 "--threads must be in 0\\.\\.256" train --threads 100000)
chainrule_cli_test("train: --threads 2000000000 (overflowed in the kernels)" 2 "--threads must be in 0\\.\\.256"
  train --threads 2000000000)
chainrule_cli_test("evaluate: --threads 100000" 2 "--threads must be in 0\\.\\.256"
  evaluate --threads 100000 --model ${CMAKE_BINARY_DIR}/no-such.ckpt)
chainrule_cli_test("train: --seed -1 is refused, not wrapped" 2 "--seed '-1' is not a seed" train --seed -1)
chainrule_cli_test("train: --seed 2^64 is refused, not clamped" 2 "--seed '18446744073709551616' is too large"
  train --seed 18446744073709551616)
# Output paths: exit 2 with an --out or --name message, never a raw filesystem error.
chainrule_cli_test("train: --name ../x is not a plain name" 2 "--name '\\.\\./x' is not a plain name" train --name ../x)
chainrule_cli_test("train: --name . is not a plain name" 2 "--name '\\.' is not a plain name" train --name .)
chainrule_cli_test("train: --out an existing file" 2 "--out: run folder '.*expect.sh' exists and is not a folder"
  train --out ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh)
chainrule_cli_test("train: --out under /proc" 2 "--out: run folder '/proc/chainrule-no-such/run': cannot create it"
  train --out /proc/chainrule-no-such/run)
chainrule_cli_test("evaluate: missing --model" 2 "--model is required" evaluate)
chainrule_cli_test("evaluate: not a checkpoint" 2 "not a chainrule checkpoint"
  evaluate --model ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.sh)

# End to end on 2000 real MNIST images: train, evaluate, resume, corrupt file, divergence.
add_test(NAME "mnist: cli train 1 epoch on 2000 images, evaluate, resume, failure exits"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/train_mnist.sh $<TARGET_FILE:chainrule> ${CHAINRULE_CLI_MNIST}
          ${CMAKE_BINARY_DIR}/test-tmp/cli/train_mnist
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("mnist: cli train 1 epoch on 2000 images, evaluate, resume, failure exits" PROPERTIES
  LABELS "mnist;cli" SKIP_RETURN_CODE 77 TIMEOUT 120)

# One run per folder: a locked folder, a folder holding a run (no MNIST needed).
add_test(NAME "cli: train: one run per folder (lock naming the PID, reuse refused)"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/run_folder.sh $<TARGET_FILE:chainrule> ${CMAKE_BINARY_DIR}/test-tmp/cli/run_folder
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("cli: train: one run per folder (lock naming the PID, reuse refused)" PROPERTIES
  LABELS cli SKIP_RETURN_CODE 77 TIMEOUT 60)

# doctor on FIFOs (a hang fails by the TIMEOUT), CRLF, header-only and cut-short files.
add_test(NAME "cli: doctor: FIFOs, CRLF, header-only history.csv, cut-short steps.csv"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/doctor_files.sh $<TARGET_FILE:chainrule> ${CMAKE_BINARY_DIR}/test-tmp/cli/doctor_files
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("cli: doctor: FIFOs, CRLF, header-only history.csv, cut-short steps.csv" PROPERTIES
  LABELS cli TIMEOUT 60)

# CHAINRULE_KERNELS (docs/cli.md, "Environment"): an unknown path is refused before any work.
add_test(NAME "cli: CHAINRULE_KERNELS=avx1024 is refused, naming the variable and its values"
  COMMAND ${CMAKE_COMMAND} -E env CHAINRULE_KERNELS=avx1024 ${CHAINRULE_EXPECT} 2
          "CHAINRULE_KERNELS=avx1024 is not a kernel path: use avx512, avx2 or portable" $<TARGET_FILE:chainrule> train
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("cli: CHAINRULE_KERNELS=avx1024 is refused, naming the variable and its values" PROPERTIES
  LABELS cli TIMEOUT 60)
