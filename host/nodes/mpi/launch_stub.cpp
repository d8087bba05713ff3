// The MPI entry hook of a build without the mpi node: it refuses to run as N copies under mpirun.
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "hetero/registry.hpp"
#include "hetero/settings.hpp"
#include "launch.hpp"

namespace hetero::nodes::mpi {
namespace {

int env_int(const char* first, const char* second, int fallback) {
  for (const char* variable : {first, second}) {
    if (const char* text = std::getenv(variable)) return std::atoi(text);
  }
  return fallback;
}

}  // namespace

std::optional<int> launch(int& argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).rfind("--rank-backend", 0) == 0) {
      hetero::detail::log_warning(
          "error: --rank-backend names what the ranks of an MPI job compute with, and no MPI "
          "launcher started this program (this hetero has no mpi node): drop --rank-backend");
      return 2;
    }
  }
  const int size = env_int("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", 1);
  if (size < 2) return std::nullopt;
  if (env_int("OMPI_COMM_WORLD_RANK", "PMI_RANK", 0) == 0) {
    const Backend* backend = NodeRegistry::builtin().find("mpi");
    const std::string why = backend != nullptr ? backend->not_built_reason : "not built";
    hetero::detail::log_warning(fmt::format(
        "error: this hetero has no mpi node ({}): run it without mpirun, or rebuild it with MPI",
        why));
  }
  return 1;
}

void set_rank_backend(std::string /*name*/) {}

}  // namespace hetero::nodes::mpi
