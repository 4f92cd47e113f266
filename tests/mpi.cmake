# Data-parallel training under MPI (label "mpi"), only in a build with -DCHAINRULE_MPI=ON
# (cmake --preset mpi; tools/test.sh runs it when Open MPI is installed). Each test is one
# call of tests/mpi/data_parallel.sh against real MNIST (2000 images, one epoch):
# mpirun -np P --data-parallel and --shards P in one process give bit-identical weights.
if(CHAINRULE_MPI)
  find_program(CHAINRULE_MPIRUN NAMES mpirun mpiexec REQUIRED)
  function(chainrule_mpi_test name check ranks)
    add_test(NAME "mpi: ${name}"
      COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/mpi/data_parallel.sh $<TARGET_FILE:chainrule> ${CMAKE_SOURCE_DIR}/data/mnist
              ${CMAKE_BINARY_DIR}/test-tmp/mpi/${check}-${ranks} ${check} ${ranks}
      WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    # RUN_SERIAL: the ranks already fill the two cores.
    set_tests_properties("mpi: ${name}" PROPERTIES LABELS "mpi;mnist" SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL ON)
  endfunction()
  chainrule_mpi_test("mpirun -np 2 --data-parallel = --shards 2, bit for bit" same 2)
  chainrule_mpi_test("mpirun -np 4 --data-parallel = --shards 4, bit for bit (oversubscribed)" same 4)
  chainrule_mpi_test("resume 2 ranks' checkpoint with 2 ranks and with one process, bit-exact" resume 2)
  chainrule_mpi_test("killing one of 2 ranks ends the run within 10 s, non-zero" kill 2)
  chainrule_mpi_test("a rank that fails stops every rank, naming the rank" fail 2)
  chainrule_mpi_test("--shards other than the number of ranks is refused" mismatch 2)
endif()
