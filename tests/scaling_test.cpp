// The timing summary every measurement reports: order statistics, mean, sample standard
// deviation and the runs as they ran.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "hetero/error.hpp"
#include "hetero/scaling.hpp"

namespace hetero {
namespace {

TEST(TimingSummary, KeepsTheRunsInOrderWithTheirMeanAndSampleDeviation) {
  const std::vector<double> runs = {0.30, 0.10, 0.20, 0.60};
  const TimingSummary summary = summarize(runs);
  EXPECT_EQ(summary.runs_s, runs);
  EXPECT_DOUBLE_EQ(summary.min_s, 0.10);
  EXPECT_DOUBLE_EQ(summary.max_s, 0.60);
  EXPECT_DOUBLE_EQ(summary.median_s, 0.25);
  EXPECT_DOUBLE_EQ(summary.mean_s, 0.30);
  // Squared deviations 0 + 0.04 + 0.01 + 0.09 = 0.14, over n - 1 = 3.
  EXPECT_NEAR(summary.stddev_s, std::sqrt(0.14 / 3), 1e-15);
  EXPECT_TRUE(summary.noisy);
}

TEST(TimingSummary, OneRunHasNoDeviationAndNoRunIsAnError) {
  const TimingSummary one = summarize({0.5});
  EXPECT_DOUBLE_EQ(one.mean_s, 0.5);
  EXPECT_DOUBLE_EQ(one.median_s, 0.5);
  EXPECT_EQ(one.stddev_s, 0.0);
  EXPECT_FALSE(one.noisy);
  EXPECT_THROW(summarize({}), Error);
}

}  // namespace
}  // namespace hetero
