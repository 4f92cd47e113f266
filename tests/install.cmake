# The installed package works (label "install"): install this build into a temporary prefix,
# then configure, build and run docs/example against it with find_package(chainrule), as
# another project would. Four tests that run in this order (fixtures); the last checks the
# program's output. No network: everything comes from this build and the system.
set(CHAINRULE_INSTALL_TMP ${CMAKE_BINARY_DIR}/test-tmp/install)
set(CHAINRULE_INSTALL_PREFIX ${CHAINRULE_INSTALL_TMP}/prefix)
set(CHAINRULE_EXAMPLE_BUILD ${CHAINRULE_INSTALL_TMP}/example)

# chainrule_install_test(NAME SETS NEEDS COMMAND...): one step; SETS and NEEDS are fixtures ("" for none).
function(chainrule_install_test name sets needs)
  add_test(NAME "install: ${name}" COMMAND ${ARGN})
  set_tests_properties("install: ${name}" PROPERTIES LABELS install TIMEOUT 120
    FIXTURES_SETUP "${sets}" FIXTURES_REQUIRED "${needs}")
endfunction()

chainrule_install_test("cmake --install into test-tmp/install/prefix" chainrule_installed ""
  ${CMAKE_COMMAND} --install ${CMAKE_BINARY_DIR} --prefix ${CHAINRULE_INSTALL_PREFIX})

# The example gets this build's compiler, build type and flags: under the asan preset its
# program must link the sanitizer runtimes that the installed library was compiled for.
chainrule_install_test("docs/example configures with find_package(chainrule)" chainrule_example_configured
  chainrule_installed
  ${CMAKE_COMMAND} --fresh -S ${CMAKE_SOURCE_DIR}/docs/example -B ${CHAINRULE_EXAMPLE_BUILD} -G ${CMAKE_GENERATOR}
  -DCMAKE_PREFIX_PATH=${CHAINRULE_INSTALL_PREFIX} -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
  -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE} -DCMAKE_CXX_FLAGS=${CMAKE_CXX_FLAGS}
  -DCMAKE_EXE_LINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS})

chainrule_install_test("docs/example builds" chainrule_example_built chainrule_example_configured
  ${CMAKE_COMMAND} --build ${CHAINRULE_EXAMPLE_BUILD})

chainrule_install_test("docs/example runs: Dense forward and backward are exact" "" chainrule_example_built
  ${CHAINRULE_EXAMPLE_BUILD}/dense_example)
set_tests_properties("install: docs/example runs: Dense forward and backward are exact" PROPERTIES
  PASS_REGULAR_EXPRESSION "dL/dW\\(2,1\\): backward 72, central difference 72\nchainrule example: forward, backward and the central difference agree"
  FAIL_REGULAR_EXPRESSION "MISMATCH;ERROR;runtime error")
