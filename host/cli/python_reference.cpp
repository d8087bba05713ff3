// Running the embedded pure-Python seed with a time cap.
#include "cli/python_reference.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "seed_python_source.hpp"

namespace hetero::cli {
namespace {

// The first "python3" on PATH, or empty.
std::filesystem::path find_python() {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
  std::string_view rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    const std::string_view folder = rest.substr(0, rest.find(':'));
    rest.remove_prefix(std::min(rest.size(), folder.size() + 1));
    const std::filesystem::path candidate = std::filesystem::path(folder) / "python3";
    if (!folder.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

}  // namespace

PythonReference run_python_reference(std::chrono::seconds cap) {
  PythonReference result;
  const std::filesystem::path python = find_python();
  if (python.empty()) {
    result.why_not = "python3 is not on PATH";
    return result;
  }
  std::string script_path =
      (std::filesystem::temp_directory_path() / "hetero-seed-python-XXXXXX").string();
  const int descriptor = ::mkstemp(script_path.data());
  if (descriptor < 0) {
    result.why_not = "no temporary file for the script";
    return result;
  }
  ::close(descriptor);
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove{script_path};
  std::ofstream(script_path) << kSeedPythonSource;

  // coreutils' timeout ends the run at the cap (exit status 124).
  const std::string command =
      fmt::format("timeout {} '{}' '{}' 2>/dev/null", cap.count(), python.string(), script_path);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) {
    result.why_not = "python3 could not be started";
    return result;
  }
  std::string output;
  std::array<char, 256> chunk{};
  while (std::fgets(chunk.data(), chunk.size(), pipe.get()) != nullptr) output += chunk.data();
  const int status = ::pclose(pipe.release());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 124) {
    result.why_not = fmt::format("it did not finish within {} s", cap.count());
    return result;
  }
  try {
    const auto json = nlohmann::json::parse(output);
    result.seconds = json.at("seconds").get<double>();
    result.sum = json.at("sum").get<std::uint64_t>();
    result.ran = status == 0;
  } catch (const std::exception&) {
    result.ran = false;
  }
  if (!result.ran) result.why_not = "the pure-Python run failed";
  return result;
}

}  // namespace hetero::cli
