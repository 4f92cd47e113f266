// The MPI calls behind `mpirun -np P chainrule train --data-parallel`, and nothing else:
// starting and stopping MPI, and moving the shards' gradients between the ranks. The step
// itself, and the fixed order in which the shards' gradients are added, are in
// src/chainrule/train/shards.hpp. Built with MPI only when configured -DCHAINRULE_MPI=ON;
// otherwise start_mpi() refuses --data-parallel with a clear error.
#pragma once

#include <vector>

namespace chainrule::cli {

// This process's place among the ranks.
struct Ranks {
  int rank = 0;  // 0..size-1; rank 0 writes the run folder and prints
  int size = 1;  // P, the number of processes mpirun started
};

// True when this chainrule was built with MPI (-DCHAINRULE_MPI=ON).
bool mpi_built();

// MPI_Init (once) and this rank's place. Any MPI error stops every rank (MPI_ERRORS_ARE_FATAL).
// Throws UsageError in a build without MPI.
Ranks start_mpi();

// Slot r of grads (P, G) and stats (P, 2) comes from rank r, on every rank: an allgather,
// in place. Moves the numbers only; their sum is shards.cpp's, in rank order.
void allgather_shards(std::vector<float>& grads, std::vector<double>& stats);

// main's last word. Without MPI started: returns code. With MPI: code 0 ends MPI normally
// (MPI_Finalize); any other code says which rank failed and calls MPI_Abort, which makes
// mpirun stop every other rank (they may be waiting for this one), and the run exits non-zero.
int finish_mpi(int code);

}  // namespace chainrule::cli
