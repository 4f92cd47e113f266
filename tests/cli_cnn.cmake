# Convolutional networks on the command line: `chainrule gradcheck` prints the convolution
# and pooling checks after the standard suite, each suite with its verdict and margin lines.
chainrule_cli_test("gradcheck: the convolution and pooling checks pass" 0
  "^10 of 10 convolution and pooling checks passed$" gradcheck)
chainrule_cli_test("gradcheck: LeNet-5 is checked" 0 "^network LeNet-5  PASS$" gradcheck --seed 2)
chainrule_cli_test("gradcheck: the activation checks pass" 0 "^7 of 7 activation checks passed$" gradcheck --seed 3)
# A bug in Dense reaches the convolutional networks (their dense layers come from parts<T>()),
# and the standard suite's verdict line stays what lessons quote.
add_test(NAME "cli: gradcheck: dense-no-bias-grad also fails the convolutional networks"
         COMMAND ${CMAKE_SOURCE_DIR}/tests/bugs/check_gradcheck_bug.sh $<TARGET_FILE:chainrule> dense-no-bias-grad 1
                 "^8 of 11 checks passed; a FAIL row" "^network conv-relu-maxpool-dense \\(every entry\\)  FAIL"
                 "^  dense3\\.b .*FAIL" "^8 of 10 convolution and pooling checks passed; a FAIL row")
set_tests_properties("cli: gradcheck: dense-no-bias-grad also fails the convolutional networks" PROPERTIES LABELS cli)

# --model lenet5 and --layers end to end (tests/cli/cnn_mnist.sh).
add_test(NAME "mnist: cli --model lenet5 / --layers: train, resume bit-exact, load everywhere, bad lists"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/cnn_mnist.sh $<TARGET_FILE:chainrule> ${CHAINRULE_CLI_MNIST}
          ${CMAKE_BINARY_DIR}/test-tmp/cli/cnn_mnist
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("mnist: cli --model lenet5 / --layers: train, resume bit-exact, load everywhere, bad lists" PROPERTIES
  LABELS "mnist;cli" SKIP_RETURN_CODE 77 TIMEOUT 300)
