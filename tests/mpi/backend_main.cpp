// The mpi test binary: rank 0 of an MPI job runs the tests, the other ranks serve the mpi node
// with the kernels of the per-backend kernel suite.
#include <gtest/gtest.h>

#include "hetero/heat.hpp"
#include "test_kernels.hpp"

int main(int argc, char** argv) {
  using namespace hetero::test;
  if (const std::optional<int> status = hetero::Runtime::serve(
          argc, argv, saxpy_kernel(), reverse_add_kernel(), scale_rows_kernel(), blend_kernel(),
          blur_kernel(), dot_kernel(), max_fold_kernel(), hetero::heat_kernel())) {
    return *status;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
