// The MPI entry hook's work: starts MPI under a launcher and sends every rank but 0 to its worker
// loop.
#include "launch.hpp"

#include <exception>
#include <string_view>

#include <fmt/format.h>

#include "hetero/error.hpp"
#include "hetero/settings.hpp"
#include "runtime.hpp"
#include "worker.hpp"

namespace hetero::nodes::mpi {
namespace {

constexpr std::string_view kRankBackendFlag = "--rank-backend";

// Removes --rank-backend NAME / --rank-backend=NAME from argv; returns NAME, "" if absent.
// Throws UsageError when the flag has no value.
std::optional<std::string> take_rank_backend(int& argc, char** argv) {
  std::optional<std::string> name;
  int out = 1;
  for (int in = 1; in < argc; ++in) {
    const std::string_view arg = argv[in];
    if (arg == kRankBackendFlag) {
      if (in + 1 >= argc) throw UsageError("--rank-backend: expected a backend name");
      name = argv[++in];
      continue;
    }
    if (arg.starts_with(kRankBackendFlag) && arg.size() > kRankBackendFlag.size() &&
        arg[kRankBackendFlag.size()] == '=') {
      name = std::string(arg.substr(kRankBackendFlag.size() + 1));
      continue;
    }
    argv[out++] = argv[in];
  }
  if (out < argc) argv[out] = nullptr;
  argc = out;
  if (name && name->empty()) throw UsageError("--rank-backend: expected a backend name");
  return name;
}

}  // namespace

std::optional<int> join_mpi_job(int& argc, char** argv) {
  Runtime& runtime = Runtime::instance();
  try {
    const std::optional<std::string> rank_backend = take_rank_backend(argc, argv);
    if (rank_backend) runtime.set_rank_backend(*rank_backend);
    runtime.start(argc, argv);
    if (rank_backend && !runtime.started()) {
      throw UsageError(
          "--rank-backend names what the ranks of an MPI job compute with, and no MPI launcher "
          "started this program: run it under mpirun with --backend mpi, or drop --rank-backend");
    }
  } catch (const UsageError& e) {
    hetero::detail::log_warning(fmt::format("error: {}", e.what()));
    return 2;
  } catch (const std::exception& e) {
    hetero::detail::log_warning(fmt::format("error: {}", e.what()));
    return 1;
  }
  if (!runtime.started() || runtime.rank() == 0) return std::nullopt;
  try {
    return run_remote_worker(runtime);
  } catch (const std::exception& e) {
    runtime.abort_all(e.what());
  }
}

void set_remote_rank_backend(std::string name) {
  Runtime::instance().set_rank_backend(std::move(name));
}

}  // namespace hetero::nodes::mpi
