// The entry hook a program calls first in main() to take part in an MPI job as hetero's ranks.
#pragma once

#include <optional>
#include <string>

namespace hetero::nodes::mpi {

/// Call first thing in main(): `if (auto status = hetero::nodes::mpi::launch(argc, argv))
/// return *status;`. Removes `--rank-backend NAME` (or `--rank-backend=NAME`: the local
/// backend every remote rank computes with, default threads) from argv, then:
///  - not started by an MPI launcher: returns nullopt, and the mpi node reports itself
///    unavailable;
///  - rank 0 of an MPI job: starts MPI and returns nullopt: the program goes on and may use
///    the mpi node; the other ranks are told to finish when the program exits;
///  - any other rank: serves rank 0 until it is done, then returns the exit status.
/// Errors are printed as one line, and a non-zero status is returned. A build without MPI
/// returns nullopt, or 1 with a message (on rank 0) when an MPI launcher started it with more
/// than one rank. Calling it again does nothing more.
std::optional<int> launch(int& argc, char** argv);

/// Sets the local backend of the remote ranks, like `--rank-backend` (rank 0, before the mpi
/// node is created).
void set_rank_backend(std::string name);

}  // namespace hetero::nodes::mpi
