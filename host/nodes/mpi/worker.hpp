// The remote side of the mpi node: the loop every rank other than 0 runs.
#pragma once

#include "runtime.hpp"

namespace hetero::nodes::mpi {

/// Serves rank 0 until it says shutdown: answers link probes, creates the local node it is
/// configured with, rebuilds each job from its spec, computes the tiles it is sent with that
/// node (one tile per local worker at a time, the rest queued), and sends each tile's counts
/// back with its timings on this rank's clock. While a job runs it sends a heartbeat every
/// 0.5 s; a local failure is reported to rank 0 in one line (rank 0 then ends the job).
/// Only this thread calls MPI. Returns the process's exit status.
///
/// Test hooks (environment): HETERO_MPI_TEST_EXIT_RANK=N makes rank N exit with status 3 right
/// after its first result; HETERO_MPI_TEST_STALL_RANK=N makes rank N stop answering after it.
int run_remote_worker(Runtime& runtime);

}  // namespace hetero::nodes::mpi
