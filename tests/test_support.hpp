// Helpers shared by the test files: running a job on named backends and the serial reference,
// a checking WorkSource, and a scoped environment with empty caches.
#pragma once

#include <stdlib.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "core/mandelbrot_launch.hpp"
#include "hetero/backend/dispatcher.hpp"
#include "hetero/hetero.hpp"

namespace hetero::test {

/// Runs `spec` on the named backends together under `policy`.
inline RunResult run_on(const std::vector<std::string>& names, const JobSpec& spec,
                        Policy policy = Policy::dynamic, std::int64_t tile = 0,
                        const NodeOptions& options = {}) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (const std::string& name : names) {
    nodes.push_back(NodeRegistry::builtin().create(name, options));
  }
  Dispatcher dispatcher(std::move(nodes));
  RunOptions run_options;
  run_options.policy = policy;
  run_options.tile_pixels = tile;
  return dispatcher.run(Job(spec), run_options);
}

/// Runs `job` on `node` alone, as the dispatcher does: the public Mandelbrot kernel with the
/// node's tile kernel, its counts written to `counts`.
inline void run_job_on(Node& node, const Job& job, WorkSource& work,
                       std::span<std::uint32_t> counts, NodeTrace& trace) {
  node.launch(hetero::detail::mandelbrot_launch(job, node.info().tile_kernel, counts), work, trace);
}

/// One step of the plain loop from (x, y), written as the workload contract spells it; returns
/// the new point's squared magnitude.
template <class Real>
Real plain_step(Real& x, Real& y, Real cx, Real cy, Mode mode) {
  Real next_x, next_y, magnitude;
  if (mode == Mode::exact) {
    next_x = (x * x - y * y) + cx;
    next_y = (Real(2) * x) * y + cy;
    magnitude = next_x * next_x + next_y * next_y;
  } else {
    next_x = std::fma(x, x, std::fma(-y, y, cx));
    next_y = std::fma(Real(2) * x, y, cy);
    magnitude = std::fma(next_x, next_x, next_y * next_y);
  }
  x = next_x;
  y = next_y;
  return magnitude;
}

/// The counts of one point by the workload contract, written out here on purpose: a plain
/// loop that shares no code with hetero's kernels, so every backend (serial too) is checked
/// against an independent reference. Built with -ffp-contract=off like the library.
template <class Real>
std::uint32_t plain_point(Real cx, Real cy, std::uint32_t max_iter, Mode mode) {
  Real x = 0;
  Real y = 0;
  for (std::uint32_t i = 0; i < max_iter; ++i) {
    if (plain_step(x, y, cx, cy, mode) > Real(4)) return i;
  }
  return max_iter;
}

/// The reference counts of `spec`: plain_point over the job's host-computed axes, row-major.
inline std::vector<std::uint32_t> reference_counts(const JobSpec& spec) {
  const Job job(spec);
  std::vector<std::uint32_t> counts;
  counts.reserve(static_cast<std::size_t>(spec.pixels()));
  for (std::int64_t row = 0; row < spec.height; ++row) {
    for (std::int64_t column = 0; column < spec.width; ++column) {
      const double cx = job.xs()[static_cast<std::size_t>(column)];
      const double cy = job.ys()[static_cast<std::size_t>(row)];
      counts.push_back(spec.precision == Precision::fp64
                           ? plain_point<double>(cx, cy, spec.max_iter, spec.mode)
                           : plain_point<float>(static_cast<float>(cx), static_cast<float>(cy),
                                                spec.max_iter, spec.mode));
    }
  }
  return counts;
}

/// The seed preset's known result (fp64, exact), computed by an implementation that shares no
/// code with hetero: the tutorial's validation sum, and the FNV-1a 64 hash of the counts as
/// little-endian 32-bit words in row-major order.
inline constexpr std::uint64_t kSeedSum = 51214485;
inline constexpr const char* kSeedHash = "05921abe36eb7d1b";

/// A request for preset `preset` at the given size, limit, precision and mode.
inline JobRequest sized_request(const std::string& preset, std::int64_t width, std::int64_t height,
                                std::int64_t max_iter, Precision precision, Mode mode) {
  JobRequest request;
  request.preset = preset;
  request.width = width;
  request.height = height;
  request.max_iter = max_iter;
  request.precision = precision;
  request.mode = mode;
  return request;
}

/// A region job of the given size and limits.
inline JobSpec region_job(Region region, std::int64_t width, std::int64_t height,
                          std::int64_t max_iter, Precision precision = Precision::fp64,
                          Mode mode = Mode::exact) {
  JobRequest request = sized_request("region", width, height, max_iter, precision, mode);
  request.region = region;
  return resolve_job(request);
}

/// A job of preset `preset` at the given size and limits.
inline JobSpec preset_job(const std::string& preset, std::int64_t width, std::int64_t height,
                          std::int64_t max_iter, Precision precision, Mode mode) {
  return resolve_job(sized_request(preset, width, height, max_iter, precision, mode));
}

/// A region job centred on (x, y), `scale` wide.
inline JobSpec centred_job(double x, double y, double scale, std::int64_t width,
                           std::int64_t height, std::int64_t max_iter, Precision precision,
                           Mode mode) {
  JobRequest request = sized_request("region", width, height, max_iter, precision, mode);
  request.center_x = x;
  request.center_y = y;
  request.view_width = scale;
  return resolve_job(request);
}

/// Names of backends that can run here, for building combinations.
inline std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const Backend& backend : NodeRegistry::builtin().backends()) {
    if (NodeRegistry::builtin().describe(backend.name).available) names.push_back(backend.name);
  }
  return names;
}

/// A suite run once per node entry (its parameter): a node unavailable here is skipped with the
/// reason it gives.
class OnEachNode : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const NodeInfo info = NodeRegistry::builtin().describe(node());
    if (!info.available) GTEST_SKIP() << node() << " is unavailable: " << info.reason;
  }
  const std::string& node() const { return GetParam(); }
};

/// Every backend, and the thrust node's OpenMP system (thrust:omp) beside its GPU one: the nodes
/// a per-backend suite runs on.
inline std::vector<std::string> backends_and_systems() {
  std::vector<std::string> names = NodeRegistry::builtin().names();
  if (std::find(names.begin(), names.end(), "thrust") != names.end()) {
    names.push_back("thrust:omp");
  }
  return names;
}

/// A node entry as a test's name: thrust:omp is thrust_omp.
inline std::string node_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), ':', '_');
  return name;
}

/// Hands out tiles as a policy would (a fixed list, or one at a time), asks to stop once
/// `stop_after` tiles are completed, and checks at each completed() that the tile's counts are
/// already in host memory and equal to `expected`.
class CheckedWork final : public WorkSource {
 public:
  CheckedWork(std::vector<Tile> tiles, bool self_scheduling, std::span<const std::uint32_t> counts,
              std::span<const std::uint32_t> expected, std::size_t stop_after)
      : tiles_(std::move(tiles)),
        self_scheduling_(self_scheduling),
        counts_(counts),
        expected_(expected),
        stop_after_(stop_after),
        completions_(tiles_.size(), 0) {}

  bool self_scheduling() const override { return self_scheduling_; }
  std::span<const Tile> assigned() const override {
    return self_scheduling_ ? std::span<const Tile>() : std::span<const Tile>(tiles_);
  }
  std::optional<Tile> next() override {
    if (stop_requested() || handed_out_ == tiles_.size()) return std::nullopt;
    return tiles_[handed_out_++];
  }
  bool stop_requested() const override { return completed_ >= stop_after_; }
  void completed(const Tile& tile) override {
    ++completed_;
    ++completions_.at(static_cast<std::size_t>(tile.index));
    const auto first = counts_.begin() + tile.begin;
    if (!std::equal(first, first + tile.size(), expected_.begin() + tile.begin)) ++wrong_;
  }

  std::size_t completed_count() const { return completed_; }
  std::size_t wrong_tiles() const { return wrong_; }
  const std::vector<int>& completions() const { return completions_; }

 private:
  std::vector<Tile> tiles_;
  bool self_scheduling_;
  std::span<const std::uint32_t> counts_, expected_;
  std::size_t stop_after_;
  std::size_t handed_out_ = 0, completed_ = 0, wrong_ = 0;
  std::vector<int> completions_;
};

/// The whole content of `file` ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Sets (or, with nullopt, unsets) an environment variable for the object's lifetime. Tests
/// run one at a time in their process, so nothing reads the environment meanwhile.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;  // NOLINT(concurrency-mt-unsafe)
    set(value);
  }
  ~ScopedEnv() { set(old_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void set(const std::optional<std::string>& value) const {
    if (value) {
      setenv(name_, value->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    } else {
      unsetenv(name_);  // NOLINT(concurrency-mt-unsafe)
    }
  }
  const char* name_;
  std::optional<std::string> old_;
};

/// A fresh directory under the system's temporary directory.
inline std::filesystem::path make_temporary_directory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "hetero-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

/// What `action` tells the application's log (hetero::set_log_sink), one line each; the library
/// must print nothing on stderr meanwhile.
template <typename Action>
std::string log_of(Action&& action) {
  std::string lines;
  set_log_sink([&](std::string_view line) { lines.append(line).append("\n"); });
  ::testing::internal::CaptureStderr();
  action();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << "the library printed on its own";
  set_log_sink({});
  return lines;
}

/// The cache directory of this test process (tests/hermetic_cache.cpp): HETERO_CACHE_DIR points
/// there from before main, so no test touches the user's own cache.
std::filesystem::path hermetic_cache_directory();

/// Points XDG_CACHE_HOME at a fresh temporary directory for the object's lifetime (and hides
/// HETERO_CACHE_DIR, which would take precedence), so hetero's caches start empty.
class ScopedCacheHome {
 public:
  ScopedCacheHome() = default;
  ~ScopedCacheHome() {
    std::error_code error;
    std::filesystem::remove_all(directory_, error);
  }
  ScopedCacheHome(const ScopedCacheHome&) = delete;
  ScopedCacheHome& operator=(const ScopedCacheHome&) = delete;
  /// The link cache as hetero finds it under this home.
  std::filesystem::path links_file() const { return directory_ / "hetero" / "links.json"; }

 private:
  std::filesystem::path directory_ = make_temporary_directory();
  ScopedEnv xdg_{"XDG_CACHE_HOME", directory_.string()};
  ScopedEnv hetero_{"HETERO_CACHE_DIR", std::nullopt};
};

// Expects `run` to throw UsageError with one line holding every one of `needles`.
template <class Run>
void expect_one_line_error(Run run, const std::vector<std::string>& needles) {
  try {
    run();
    FAIL() << "no error";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const std::string& needle : needles) {
      EXPECT_NE(message.find(needle), std::string::npos) << needle << " in: " << message;
    }
  }
}

}  // namespace hetero::test
