// Tests of the mpi node that need no mpirun: its availability outside an MPI job (tests/mpi/
// runs the node itself under mpirun; projection_test.cpp tests the projection).
#include <gtest/gtest.h>

#include <cstdlib>

#include "hetero/backend/node.hpp"
#include "hetero/hetero.hpp"

namespace hetero {
namespace {

TEST(MpiNode, IsUnavailableOutsideMpirunAndSaysWhy) {
  const Backend* backend = NodeRegistry::builtin().find("mpi");
  ASSERT_NE(backend, nullptr);
  if (!backend->built) GTEST_SKIP() << "mpi node not built: " << backend->not_built_reason;
  if (std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr) {
    GTEST_SKIP() << "running under an MPI launcher";
  }
  const NodeInfo info = NodeRegistry::builtin().describe("mpi");
  EXPECT_FALSE(info.available);
  EXPECT_EQ(info.kind, NodeKind::remote);
  EXPECT_NE(info.reason.find("mpirun with 2 or more ranks"), std::string::npos) << info.reason;
  EXPECT_THROW(NodeRegistry::builtin().create("mpi"), UsageError);
}

}  // namespace
}  // namespace hetero
