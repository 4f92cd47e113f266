# --init, --init-gain, --batchnorm before|after, --bn-momentum, --bn-eps and `chainrule summary`.
# Bad values exit 2 naming the option; tests/cli/choices.sh checks summary's counts by hand and
# (on real MNIST) trains, resumes and loads runs with each choice.
chainrule_cli_test("train: --init unknown" 2 "--init: unknown init 'kaiming'; use auto, he, glorot, lecun, normal:STD or uniform:A"
  train --init kaiming)
chainrule_cli_test("train: --init normal:-1" 2 "--init: init 'normal:-1': STD must be a positive number" train --init normal:-1)
chainrule_cli_test("train: --init uniform without A" 2 "--init: init 'uniform' needs its number: uniform:A" train --init uniform)
chainrule_cli_test("train: --init-gain with auto" 2 "--init-gain applies only to --init he or --init glorot, not to 'auto'"
  train --init-gain 2)
chainrule_cli_test("train: --init-gain 0" 2 "--init-gain must be a positive number, got 0" train --init he --init-gain 0)
chainrule_cli_test("train: --batchnorm middle" 2 "--batchnorm 'middle': use before or after" train --batchnorm middle)
chainrule_cli_test("train: --bn-momentum 0" 2 "--bn-momentum must be in \\(0, 1\\]" train --batchnorm --bn-momentum 0)
chainrule_cli_test("train: --bn-momentum 1.5" 2 "--bn-momentum must be in \\(0, 1\\].*got 1.5" train --batchnorm --bn-momentum 1.5)
chainrule_cli_test("train: --bn-eps 0" 2 "--bn-eps must be a positive number, got 0" train --batchnorm --bn-eps 0)
chainrule_cli_test("train: --bn-eps without --batchnorm" 2 "need BatchNorm layers: add --batchnorm" train --bn-eps 1e-3)
chainrule_cli_test("summary: --model with --hidden" 2 "--hidden cannot be combined with --model" summary --model x.ckpt --hidden 64)
chainrule_cli_test("summary: a missing --model" 2 "--model: no-such.ckpt: no such checkpoint file" summary --model no-such.ckpt)
chainrule_cli_test("summary: bad --hidden" 2 "--hidden '128,x'" summary --hidden 128,x)
chainrule_cli_test("summary: too large a network" 2 "above the limit of 4 GiB" summary --hidden 1000000,1000000)
chainrule_cli_test("summary: bad --batchnorm" 2 "--batchnorm 'sideways': use before or after" summary --batchnorm sideways)

add_test(NAME "mnist: cli summary counts by hand; --init and BatchNorm choices train, resume bit-exact and load"
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/choices.sh $<TARGET_FILE:chainrule> ${CHAINRULE_CLI_MNIST}
          ${CMAKE_BINARY_DIR}/test-tmp/cli/choices
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties("mnist: cli summary counts by hand; --init and BatchNorm choices train, resume bit-exact and load" PROPERTIES
  LABELS "mnist;cli" SKIP_RETURN_CODE 77 TIMEOUT 300)
