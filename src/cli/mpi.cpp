#include "mpi.hpp"

#include <climits>
#include <cstdio>
#include <iostream>
#include <string>

#include "commands.hpp"

#ifdef CHAINRULE_HAVE_MPI
#include <mpi.h>
#endif

namespace chainrule::cli {

#ifdef CHAINRULE_HAVE_MPI

namespace {
bool started = false;
Ranks ranks;
}  // namespace

bool mpi_built() { return true; }

Ranks start_mpi() {
  if (!started) {
    // Whole lines on stderr (line-buffered, and std::cerr no longer flushing at every <<), so
    // that the messages of several ranks do not interleave in the middle of a line.
    std::setvbuf(stderr, nullptr, _IOLBF, BUFSIZ);
    std::cerr.unsetf(std::ios_base::unitbuf);
    MPI_Init(nullptr, nullptr);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);  // an MPI error stops every rank
    MPI_Comm_rank(MPI_COMM_WORLD, &ranks.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks.size);
    started = true;
  }
  return ranks;
}

void allgather_shards(std::vector<float>& grads, std::vector<double>& stats) {
  const auto P = static_cast<std::size_t>(ranks.size);
  const std::size_t G = grads.size() / P;
  if (G > static_cast<std::size_t>(INT_MAX))
    throw std::invalid_argument("--data-parallel: " + std::to_string(G) + " gradient floats per rank are more than "
                                "one MPI message holds (2^31 - 1); give smaller --hidden sizes");
  // MPI_IN_PLACE: rank r's own slot r is already in the buffer; the others arrive beside it.
  MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, grads.data(), static_cast<int>(G), MPI_FLOAT, MPI_COMM_WORLD);
  MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, stats.data(), 2, MPI_DOUBLE, MPI_COMM_WORLD);
}

int finish_mpi(int code) {
  if (!started) return code;
  if (code == 0) {
    MPI_Finalize();
    return 0;
  }
  std::cerr << ("chainrule: rank " + std::to_string(ranks.rank) + " of " + std::to_string(ranks.size) +
                " failed (exit code " + std::to_string(code) + "); stopping every rank\n")
            << std::flush;
  MPI_Abort(MPI_COMM_WORLD, code);
  return code;  // not reached: MPI_Abort ends this process
}

#else  // built without MPI

bool mpi_built() { return false; }

Ranks start_mpi() {
  throw UsageError("--data-parallel: this chainrule was built without MPI; install Open MPI (apt-get install "
                   "libopenmpi-dev openmpi-bin), configure with -DCHAINRULE_MPI=ON (cmake --preset mpi) and run it "
                   "under mpirun; or use --shards P for the same numbers in one process");
}

void allgather_shards(std::vector<float>&, std::vector<double>&) {}

int finish_mpi(int code) { return code; }

#endif

}  // namespace chainrule::cli
