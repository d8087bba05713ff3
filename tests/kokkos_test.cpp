// Tests of the kokkos node beyond the per-backend suite: the execution space it reports, its
// Kokkos::deep_copy transfers, and one Kokkos shared by several nodes and threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "hetero/backend/dispatcher.hpp"
#include "test_support.hpp"

namespace hetero {
namespace {

// The execution space and its concurrency, as the node's device string names them.
struct SpaceText {
  std::string space;
  int concurrency = 0;
};

// Reads "Kokkos 3.4.1 Serial execution space, concurrency 1" inside `device`; nullopt when it
// is not there in that form, or names a space Kokkos does not have.
std::optional<SpaceText> space_text(const std::string& device) {
  static constexpr std::string_view kSpaces[] = {"Serial", "OpenMP", "Threads", "HPX",
                                                 "Cuda",   "HIP",    "SYCL",    "OpenMPTarget"};
  const std::size_t at = device.find("Kokkos ");
  if (at == std::string::npos) return std::nullopt;
  std::istringstream in(device.substr(at + 7));
  int major = 0, minor = 0, patch = 0;
  char dot1 = 0, dot2 = 0;
  SpaceText text;
  std::string execution, space, concurrency;
  if (!(in >> major >> dot1 >> minor >> dot2 >> patch >> text.space >> execution >> space >>
        concurrency >> text.concurrency)) {
    return std::nullopt;
  }
  const bool known =
      std::find(std::begin(kSpaces), std::end(kSpaces), text.space) != std::end(kSpaces);
  if (dot1 != '.' || dot2 != '.' || execution != "execution" || space != "space," ||
      concurrency != "concurrency" || !known) {
    return std::nullopt;
  }
  return text;
}

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
  const std::optional<SpaceText> text = space_text(info.device);
  ASSERT_TRUE(text) << info.device;
  const int space_concurrency = text->concurrency;
  EXPECT_GE(space_concurrency, 1) << info.device;
  if (text->space == "Serial") {
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
