# --activation end to end (tests/cli/activation_mnist.sh): tanh, sigmoid and leaky_relu runs
# resume bit-exact and load in evaluate/predict/export/inspect; a version-1 checkpoint from
# before --activation (tests/cli/fixtures/v1-784-3-10.ckpt) loads as ReLU.
add_test(NAME "mnist: cli --activation: train, resume bit-exact, load; an old checkpoint loads as relu"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/activation_mnist.sh $<TARGET_FILE:chainrule> ${CHAINRULE_CLI_MNIST}
          ${CMAKE_BINARY_DIR}/test-tmp/cli/activation_mnist
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("mnist: cli --activation: train, resume bit-exact, load; an old checkpoint loads as relu" PROPERTIES
  LABELS "mnist;cli" SKIP_RETURN_CODE 77 TIMEOUT 300)
chainrule_cli_test("train: --activation unknown" 2 "--activation: unknown activation 'gelu'; use relu, sigmoid, tanh or leaky_relu"
  train --activation gelu)
