// The entry hook a program calls first in main() to take part in an MPI job as hetero's ranks.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

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

/// Whether this process may be asked to take part in an MPI job: an MPI launcher's variable is
/// set (OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE, as the mpi runtime reads them), or argv
/// has --rank-backend.
inline bool mpi_job_asked(int argc, char** argv) {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).starts_with("--rank-backend")) return true;
  }
  return false;
}

/// Sets the local backend of the remote ranks, like `--rank-backend` (rank 0, before the mpi
/// node is created).
void set_rank_backend(std::string name);

/// The hook's work, in the mpi node's own sources (module hetero-mpi.so when the build has
/// modules): launch() hands over to it when an MPI launcher started the program or argv has
/// `--rank-backend`, so that a program run without MPI never loads the MPI library.
std::optional<int> join_mpi_job(int& argc, char** argv);
/// set_rank_backend's work, in the mpi node's own sources.
void set_remote_rank_backend(std::string name);

}  // namespace hetero::nodes::mpi
