// The MPI entry hook of a build with the mpi node. With modules, it loads hetero-mpi.so (and the
// MPI library) only when an MPI launcher started the program or argv has --rank-backend.
#include <fmt/format.h>

#include "core/modules.hpp"
#include "hetero/settings.hpp"
#include "launch.hpp"

namespace hetero::nodes::mpi {

std::optional<int> launch(int& argc, char** argv) {
#if !HETERO_MODULES
  return join_mpi_job(argc, argv);
#else
  if (!mpi_job_asked(argc, argv)) return std::nullopt;
  const detail::LoadedModule& module = detail::load_module("mpi");
  if (module.entry == nullptr) {
    hetero::detail::log_warning(fmt::format(
        "error: an MPI job needs the mpi module, which cannot load ({}): install it, or run "
        "without mpirun and --rank-backend",
        module.error));
    return 1;
  }
  return module.entry->join_mpi_job(argc, argv);
#endif
}

void set_rank_backend(std::string name) {
#if !HETERO_MODULES
  set_remote_rank_backend(std::move(name));
#else
  detail::require_module("mpi").set_remote_rank_backend(std::move(name));
#endif
}

}  // namespace hetero::nodes::mpi
