// The hetero tool with the MPI launch hook in front of its main(), for the mpirun tests while
// host/cli/main.cpp does not call the hook itself (tests/mpi/CMakeLists.txt picks which).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/signals.hpp"
#include "hetero/error.hpp"
#include "hetero/version.hpp"
#include "nodes/mpi/launch.hpp"

#define main hetero_cli_main
#include "cli/main.cpp"
#undef main

int main(int argc, char** argv) {
  if (const std::optional<int> status = hetero::nodes::mpi::launch(argc, argv)) return *status;
  return hetero_cli_main(argc, argv);
}
