// The mpi test binary: rank 0 of an MPI job runs the tests, the other ranks serve the mpi node.
#include <gtest/gtest.h>

#include "nodes/mpi/launch.hpp"

int main(int argc, char** argv) {
  if (const std::optional<int> status = hetero::nodes::mpi::launch(argc, argv)) return *status;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
