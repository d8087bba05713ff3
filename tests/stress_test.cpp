// Stress: many random jobs (regions, sizes, tile sizes, policies, node sets) back to back and
// in parallel, every checksum checked against the plain loop. HETERO_SOAK_SECONDS=N turns it into a
// soak run of N seconds (outside CI).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <thread>

#include "test_support.hpp"

namespace hetero {
namespace {

// Room for the axes (at most 2 x 160 doubles) and a smallest piece (4096 pixels) per lane.
constexpr std::uint64_t kAxesAndSmallestPieces = 320 * 8 + 2 * 4096 * 4;

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
  // Room for the axes and smallest pieces, and at random a little more: often less than whole
  // tiles want.
  std::uniform_int_distribution<std::uint64_t> extra(
      0, 2 * static_cast<std::uint64_t>(job.spec.pixels()));
  if (coin(random) || coin(random))
    job.options.memory.bytes = kAxesAndSmallestPieces + extra(random);
  return job;
}

// A job on one device node alone whose single tile cannot fit its memory cap: the node must cut
// it into pieces.
RandomJob job_in_pieces(std::mt19937_64& random, const std::vector<std::string>& devices) {
  RandomJob job = random_job(random, devices);
  job.spec.width = job.spec.height = 160;  // 25600 pixels: 100 KiB of counts in one tile
  job.nodes = {job.nodes.front()};
  job.tile = job.spec.pixels();
  job.options.memory.bytes = kAxesAndSmallestPieces;
  return job;
}

std::vector<std::string> device_backends(const std::vector<std::string>& available) {
  std::vector<std::string> devices;
  for (const std::string& name : available) {
    if (NodeRegistry::builtin().describe(name).kind == NodeKind::device) devices.push_back(name);
  }
  return devices;
}

struct StreamCounts {
  int jobs = 0;
  int forced_into_pieces = 0;  ///< device-only jobs made to need pieces
  int in_pieces = 0;           ///< jobs in which a device node cut tiles into pieces
};

// Runs jobs until `jobs` are done (or `deadline` passes when soaking), every 8th on a device node
// alone with tiles that cannot fit its cap when `devices` is not empty; checks each against the
// plain loop.
StreamCounts run_jobs(std::uint64_t seed, int jobs, std::chrono::steady_clock::time_point deadline,
                      bool soak, const std::vector<std::string>& available,
                      const std::vector<std::string>& devices) {
  std::mt19937_64 random(seed);
  StreamCounts counts;
  while (soak ? std::chrono::steady_clock::now() < deadline : counts.jobs < jobs) {
    const bool forced = !devices.empty() && counts.jobs % 8 == 7;
    const RandomJob job = forced ? job_in_pieces(random, devices) : random_job(random, available);
    const RunResult result = test::run_on(job.nodes, job.spec, job.policy, job.tile, job.options);
    const std::vector<std::uint32_t> reference = test::reference_counts(job.spec);
    EXPECT_EQ(result.report.checksum, checksum(reference))
        << job.spec.width << "x" << job.spec.height << " policy " << to_string(job.policy)
        << " tile " << job.tile << " on " << job.nodes.size() << " nodes, first "
        << job.nodes.front();
    const bool pieces =
        std::any_of(result.report.nodes.begin(), result.report.nodes.end(),
                    [](const NodeReport& node) { return node.pieces > node.tiles; });
    if (forced) {
      EXPECT_TRUE(pieces) << job.nodes.front() << " ran a " << job.spec.pixels()
                          << "-pixel tile whole under a cap of " << kAxesAndSmallestPieces
                          << " bytes";
      ++counts.forced_into_pieces;
    }
    if (pieces) ++counts.in_pieces;
    ++counts.jobs;
  }
  return counts;
}

TEST(Stress, RandomJobsBackToBackAndInParallelMatchThePlainLoop) {
  const std::vector<std::string> available = test::available_backends();
  const char* soak_env = std::getenv("HETERO_SOAK_SECONDS");
  const bool soak = soak_env != nullptr && std::atoi(soak_env) > 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(soak ? std::atoi(soak_env) : 0);

  const std::vector<std::string> devices = device_backends(available);
  const StreamCounts back_to_back = run_jobs(2013, 40, deadline, soak, available, devices);
  std::vector<StreamCounts> parallel(4);
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < parallel.size(); ++t) {
    workers.emplace_back(
        [&, t] { parallel[t] = run_jobs(7000 + t, 10, deadline, soak, available, devices); });
  }
  for (std::thread& worker : workers) worker.join();
  StreamCounts all = back_to_back;
  for (const StreamCounts& stream : parallel) {
    if (!soak) {
      EXPECT_EQ(stream.jobs, 10);
    }
    all.jobs += stream.jobs;
    all.forced_into_pieces += stream.forced_into_pieces;
    all.in_pieces += stream.in_pieces;
  }
  std::printf(
      "stress: %d jobs back to back, %d in 4 parallel streams, on %zu backends; %d with tiles "
      "cut into pieces by a device memory cap (%d made to)\n",
      back_to_back.jobs, all.jobs - back_to_back.jobs, available.size(), all.in_pieces,
      all.forced_into_pieces);
  if (!soak) {
    EXPECT_EQ(back_to_back.jobs, 40);
  }
  EXPECT_GE(all.in_pieces, all.forced_into_pieces);
  if (!devices.empty()) {
    EXPECT_GT(all.forced_into_pieces, 0) << "no job was made to need pieces";
  }
}

}  // namespace
}  // namespace hetero
