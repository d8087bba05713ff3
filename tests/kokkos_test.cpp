// Tests of the kokkos node beyond the per-backend suite: the execution space it reports, its
// Kokkos::deep_copy transfers, and one Kokkos shared by several nodes and threads.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <regex>
#include <set>

#include "hetero/backend/dispatcher.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

// "Kokkos 3.4.1 Serial execution space, concurrency 1" inside the node's device string.
const std::regex kSpacePattern(
    R"(Kokkos \d+\.\d+\.\d+ (Serial|OpenMP|Threads|HPX|Cuda|HIP|SYCL|OpenMPTarget) execution space, concurrency (\d+))");

// The parameter is the backend under test, so `ctest -R kokkos` selects these tests.
class KokkosTest : public test::OnEachNode {
 protected:
  const std::string& kokkos() const { return node(); }
};

JobSpec small_job(Precision precision = Precision::fp64, Mode mode = Mode::exact) {
  return test::region_job({-2.1, 0.7, -1.25, 1.25}, 123, 77, 400, precision, mode);
}

TEST_P(KokkosTest, ReportsItsExecutionSpaceAndConcurrency) {
  const std::unique_ptr<Node> node = NodeRegistry::builtin().create(kokkos());
  const NodeInfo& info = node->info();
  std::smatch match;
  ASSERT_TRUE(std::regex_search(info.device, match, kSpacePattern)) << info.device;
  const int space_concurrency = std::stoi(match[2].str());
  EXPECT_GE(space_concurrency, 1) << info.device;
  if (match[1] == "Serial") {
    EXPECT_EQ(space_concurrency, 1) << info.device;
  }
  // Kokkos parallelises inside a tile; the node records on one lane. A host space occupies
  // as many hardware threads as Kokkos runs, and can no longer change that once it runs.
  EXPECT_EQ(node->lanes(), 1);
  EXPECT_EQ(info.concurrency, info.kind == NodeKind::host ? space_concurrency : 1);
  EXPECT_FALSE(info.adjustable_workers);
  // Once Kokkos runs, describing the backend gives what the node reports.
  EXPECT_EQ(NodeRegistry::builtin().describe(kokkos()).device, info.device);

  JobRequest request;
  request.width = 40;
  request.height = 30;
  const RunResult result = test::run_on({kokkos()}, resolve_job(request));
  ASSERT_EQ(result.report.nodes.size(), 1U);
  EXPECT_EQ(result.report.nodes.front().device, info.device);
}

TEST_P(KokkosTest, TwoKokkosNodesInOneRunMatchSerial) {
  const JobSpec spec = small_job();
  const std::vector<std::uint32_t> reference = test::reference_counts(spec);
  for (const std::string_view policy_name : policy_names()) {
    const RunResult result =
        test::run_on({kokkos(), kokkos()}, spec, parse_policy(policy_name), 211);
    EXPECT_EQ(result.counts, reference) << policy_name;
    ASSERT_EQ(result.report.nodes.size(), 2U);
    EXPECT_EQ(result.report.nodes[0].tiles + result.report.nodes[1].tiles, result.report.tiles);
    if (parse_policy(policy_name) == Policy::static_split) {
      EXPECT_GT(result.report.nodes[0].tiles, 0);
      EXPECT_GT(result.report.nodes[1].tiles, 0);
    }
  }
}

TEST_P(KokkosTest, AlongsideThreadsMatchesSerialInEveryPrecisionAndMode) {
  for (const Precision precision : {Precision::fp64, Precision::fp32}) {
    for (const Mode mode : {Mode::exact, Mode::fma}) {
      const JobSpec spec = small_job(precision, mode);
      const std::vector<std::uint32_t> reference = test::reference_counts(spec);
      for (const Policy policy : {Policy::dynamic, Policy::static_split}) {
        const RunResult result = test::run_on({kokkos(), "threads"}, spec, policy, 150);
        EXPECT_EQ(result.counts, reference)
            << to_string(precision) << " " << to_string(mode) << " " << to_string(policy);
        if (policy == Policy::static_split) {
          EXPECT_GT(result.report.nodes.front().tiles, 0);
        }
      }
    }
  }
}

TEST_P(KokkosTest, NodesOnManyThreadsShareOneKokkos) {
  // Independent dispatchers on separate threads create and run kokkos nodes at once: Kokkos
  // starts once and every launch still computes its own counts.
  const JobSpec spec = small_job(Precision::fp32, Mode::fma);
  const std::vector<std::uint32_t> reference = test::reference_counts(spec);
  std::vector<std::future<Counts>> runs;
  for (int i = 0; i < 4; ++i) {
    runs.push_back(std::async(std::launch::async, [&, i] {
      return test::run_on({kokkos()}, spec, i % 2 == 0 ? Policy::dynamic : Policy::static_split,
                          64 + 31 * i)
          .counts;
    }));
  }
  for (auto& run : runs) EXPECT_EQ(run.get(), reference);
}

INSTANTIATE_TEST_SUITE_P(Kokkos, KokkosTest, ::testing::Values(std::string("kokkos")),
                         test::node_test_name);

}  // namespace
}  // namespace hetero
