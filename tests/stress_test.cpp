// Stress: many random jobs (regions, sizes, tile sizes, policies, node sets) back to back and
// in parallel, every checksum checked against serial. HETERO_SOAK_SECONDS=N turns it into a
// soak run of N seconds (outside CI).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <thread>

#include "test_support.hpp"

namespace hetero {
namespace {

struct RandomJob {
  JobSpec spec;
  std::vector<std::string> nodes;
  Policy policy = Policy::dynamic;
  std::int64_t tile = 0;
  NodeOptions options;  ///< device nodes: sometimes a memory cap that cuts tiles into pieces
};

RandomJob random_job(std::mt19937_64& random, const std::vector<std::string>& available) {
  std::uniform_real_distribution<double> centre_x(-2.0, 0.5), centre_y(-1.2, 1.2);
  std::uniform_real_distribution<double> log_scale(-10.0, 0.6);
  std::uniform_int_distribution<int> side(1, 160), iterations(1, 400), coin(0, 1);
  const double half = std::pow(10.0, log_scale(random)) / 2;
  const double cx = centre_x(random), cy = centre_y(random);
  RandomJob job;
  job.spec = test::region_job(
      {cx - half, cx + half, cy - half, cy + half}, side(random), side(random), iterations(random),
      coin(random) ? Precision::fp64 : Precision::fp32, coin(random) ? Mode::exact : Mode::fma);
  const std::vector<std::string_view> policies = policy_names();
  job.policy = parse_policy(
      policies[std::uniform_int_distribution<std::size_t>(0, policies.size() - 1)(random)]);
  std::uniform_int_distribution<std::int64_t> tile(0, job.spec.pixels());
  job.tile = coin(random) ? 0 : tile(random);
  std::vector<std::string> pool = available;
  std::shuffle(pool.begin(), pool.end(), random);
  const std::size_t count =
      std::uniform_int_distribution<std::size_t>(1, std::min<std::size_t>(3, pool.size()))(random);
  job.nodes.assign(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(count));
  // Room for the axes (at most 2 x 160 doubles) and a smallest piece per lane, and at random a
  // little more: often less than whole tiles want.
  std::uniform_int_distribution<std::uint64_t> extra(
      0, 2 * static_cast<std::uint64_t>(job.spec.pixels()));
  if (coin(random) || coin(random))
    job.options.memory.bytes = 320 * 8 + 2 * 4096 * 4 + extra(random);
  return job;
}

// Runs jobs until `jobs` are done (or `deadline` passes when soaking); returns how many ran and
// adds to `in_pieces` those in which a device node cut tiles into pieces.
int run_jobs(std::uint64_t seed, int jobs, std::chrono::steady_clock::time_point deadline,
             bool soak, const std::vector<std::string>& available, std::atomic<int>& in_pieces) {
  std::mt19937_64 random(seed);
  int done = 0;
  while (soak ? std::chrono::steady_clock::now() < deadline : done < jobs) {
    const RandomJob job = random_job(random, available);
    const RunResult result = test::run_on(job.nodes, job.spec, job.policy, job.tile, job.options);
    const std::vector<std::uint32_t> reference = test::serial_counts(job.spec);
    EXPECT_EQ(result.report.checksum, checksum(reference))
        << job.spec.width << "x" << job.spec.height << " policy " << to_string(job.policy)
        << " tile " << job.tile << " on " << job.nodes.size() << " nodes, first "
        << job.nodes.front();
    if (std::any_of(result.report.nodes.begin(), result.report.nodes.end(),
                    [](const NodeReport& node) { return node.pieces > node.tiles; })) {
      ++in_pieces;
    }
    ++done;
  }
  return done;
}

TEST(Stress, RandomJobsBackToBackAndInParallelMatchSerial) {
  const std::vector<std::string> available = test::available_backends();
  const char* soak_env = std::getenv("HETERO_SOAK_SECONDS");
  const bool soak = soak_env != nullptr && std::atoi(soak_env) > 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(soak ? std::atoi(soak_env) : 0);

  std::atomic<int> in_pieces{0};
  const int back_to_back = run_jobs(2013, 40, deadline, soak, available, in_pieces);
  std::atomic<int> parallel{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      parallel +=
          run_jobs(7000 + static_cast<std::uint64_t>(t), 10, deadline, soak, available, in_pieces);
    });
  }
  for (std::thread& worker : workers) worker.join();
  std::printf(
      "stress: %d jobs back to back, %d in 4 parallel streams, on %zu backends; %d with tiles "
      "cut into pieces by a device memory cap\n",
      back_to_back, parallel.load(), available.size(), in_pieces.load());
  EXPECT_GE(back_to_back + parallel.load(), 80);
}

}  // namespace
}  // namespace hetero
