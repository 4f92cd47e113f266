# --weight-decay, --optimizer adamw and --lr-schedule end to end (tests/cli/optim_mnist.sh): recorded
# in config.txt and the checkpoints, resume bit-exact with each, weight decay lowers the weights' norm.
add_test(NAME "mnist: cli --weight-decay, adamw, --lr-schedule: recorded, resume bit-exact, lower weight norm"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/optim_mnist.sh $<TARGET_FILE:chainrule> ${CHAINRULE_CLI_MNIST}
          ${CMAKE_BINARY_DIR}/test-tmp/cli/optim_mnist
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("mnist: cli --weight-decay, adamw, --lr-schedule: recorded, resume bit-exact, lower weight norm"
  PROPERTIES LABELS "mnist;cli" SKIP_RETURN_CODE 77 TIMEOUT 300)

# Bad values exit 2 before any data is read, naming the option and how to write it.
chainrule_cli_test("train: negative --weight-decay" 2 "--weight-decay must be a number >= 0 \\(0 = off\\), got -0.1; e.g. --weight-decay 0.0005"
  train --weight-decay -0.1)
chainrule_cli_test("train: --weight-decay nan" 2 "--weight-decay must be a number >= 0"
  train --weight-decay nan)
chainrule_cli_test("train: --weight-decay not a number" 2 "--weight-decay"
  train --weight-decay abc)
chainrule_cli_test("train: --lr-schedule step:0:0.5" 2 "--lr-schedule 'step:0:0.5': EVERY must be a whole number of epochs in 1..1000000, got '0'; e.g. step:10:0.5"
  train --lr-schedule step:0:0.5)
chainrule_cli_test("train: --lr-schedule step:2:1.5" 2 "--lr-schedule 'step:2:1.5': FACTOR must be a number in \\(0, 1\\)"
  train --lr-schedule step:2:1.5)
chainrule_cli_test("train: --lr-schedule step:2" 2 "--lr-schedule 'step:2': write step:EVERY:FACTOR, e.g. step:10:0.5"
  train --lr-schedule step:2)
chainrule_cli_test("train: --lr-schedule plateau:x:y" 2 "--lr-schedule 'plateau:x:y': PATIENCE must be a whole number of epochs"
  train --lr-schedule plateau:x:y)
chainrule_cli_test("train: --lr-schedule plateau:2:y" 2 "--lr-schedule 'plateau:2:y': FACTOR must be a number in \\(0, 1\\)"
  train --lr-schedule plateau:2:y)
chainrule_cli_test("train: --lr-schedule cosine:0" 2 "--lr-schedule 'cosine:0': T must be a whole number of epochs"
  train --lr-schedule cosine:0)
chainrule_cli_test("train: --lr-schedule unknown" 2 "--lr-schedule 'exponential' is not a schedule; use constant, step:EVERY:FACTOR, cosine\\[:T\\] or plateau:PATIENCE:FACTOR"
  train --lr-schedule exponential)
chainrule_cli_test("train: --optimizer unknown names adamw" 2 "--optimizer 'adagrad' is unknown; use sgd, momentum, adam or adamw"
  train --optimizer adagrad)
chainrule_cli_test("train: --help shows --weight-decay" 0 "--weight-decay FLOAT=0 +Weight decay lambda >= 0" train --help)
chainrule_cli_test("train: --help shows --lr-schedule" 0 "--lr-schedule TEXT=constant +The rate of each epoch" train --help)
