// The heat workload through the public API.
#include "hetero/heat.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/heat_checkpoint.hpp"
#include "hetero/error.hpp"
#include "hetero/output.hpp"
#include "hetero/workload.hpp"

namespace hetero {
namespace {

constexpr const char* kHeatOpenCL = R"(
__kernel void heat_step(__global const float* in, __global float* out, float alpha, long width,
                        long height) {
  const long x = get_global_id(0), y = get_global_id(1), i = y * width + x;
  const float u = in[i];
  if (x == 0 || y == 0 || x == width - 1 || y == height - 1) {
    out[i] = u;
    return;
  }
  const float sum = in[i - 1] + in[i + 1] + in[i - width] + in[i + width];
  out[i] = u + alpha * (sum - 4.0f * u);
})";

// Adds one step's report to the run's.
void add_step(Report& total, const Report& step) {
  if (total.nodes.empty()) {
    total = step;
    return;
  }
  total.tiles += step.tiles;
  total.iterations += step.iterations;
  for (std::size_t i = 0; i < total.nodes.size() && i < step.nodes.size(); ++i) {
    NodeReport& node = total.nodes[i];
    const NodeReport& more = step.nodes[i];
    node.tiles += more.tiles;
    node.pieces += more.pieces;
    node.pixels += more.pixels;
    node.iterations += more.iterations;
    node.busy_s += more.busy_s;
    node.transfer_s += more.transfer_s;
    node.idle_s += more.idle_s;
    node.bytes_to_device += more.bytes_to_device;
    node.bytes_to_host += more.bytes_to_host;
    for (const TransferCause cause :
         {TransferCause::read_miss, TransferCause::halo, TransferCause::write_back,
          TransferCause::eviction, TransferCause::control}) {
      node.transfers.of(cause) += TransferBytes(more.transfers).of(cause);
    }
    node.transfers.peer += more.transfers.peer;
    node.peak_device_bytes = std::max(node.peak_device_bytes, more.peak_device_bytes);
    if (node.failure.empty()) node.failure = more.failure;
  }
  for (const std::string& note : step.notes) {
    if (std::find(total.notes.begin(), total.notes.end(), note) == total.notes.end()) {
      total.notes.push_back(note);
    }
  }
}

// Rates and shares of the whole run, from its sums and its wall time.
void finish_report(Report& report, double wall_s) {
  report.wall_s = wall_s;
  report.giters = wall_s > 0 ? static_cast<double>(report.iterations) / wall_s * 1e-9 : 0;
  for (NodeReport& node : report.nodes) {
    node.giters = wall_s > 0 ? static_cast<double>(node.iterations) / wall_s * 1e-9 : 0;
    node.tile_share =
        report.tiles > 0 ? static_cast<double>(node.tiles) / static_cast<double>(report.tiles) : 0;
    node.iteration_share = report.iterations > 0 ? static_cast<double>(node.iterations) /
                                                       static_cast<double>(report.iterations)
                                                 : 0;
    const double moved = static_cast<double>(node.bytes_to_device + node.bytes_to_host);
    node.copy_gbps = node.transfer_s > 0 ? moved / node.transfer_s * 1e-9 : 0;
  }
}

// Writes the field after `step` to `file` whole (a temporary file renamed into place).
void write_checkpoint(const std::filesystem::path& file, std::int64_t width, std::int64_t height,
                      std::int64_t step, std::span<const float> field) {
  const std::string bytes = detail::encode_heat_checkpoint(width, height, step, field);
  OutputFile out(file);
  out.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.commit();
}

// The field of `from` (a checkpoint of the step before `step`), written to the checkpoint file.
void checkpoint(const HeatCheckpoints& checkpoints, const Array2D<float>& from, std::int64_t step) {
  const auto host = from.acquire_read();
  write_checkpoint(checkpoints.file, from.width(), from.height(), step,
                   std::span<const float>(host.view().data,
                                          static_cast<std::size_t>(from.width() * from.height())));
}

}  // namespace

HeatCheckpoint read_heat_checkpoint(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw UsageError(
        fmt::format("cannot read the checkpoint '{}': {}", file.string(), std::strerror(errno)));
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return detail::parse_heat_checkpoint(bytes, file.string());
}

void validate(const HeatSpec& spec) {
  if (spec.width < 3 || spec.height < 3) {
    throw UsageError(
        fmt::format("--size {}x{}: the grid needs at least 3x3 cells (a boundary and an inside)",
                    spec.width, spec.height));
  }
  if (spec.steps < 1 || spec.steps > HeatSpec::kMaxSteps) {
    throw UsageError(
        fmt::format("--steps {}: give 1 to {} steps", spec.steps, HeatSpec::kMaxSteps));
  }
  std::uint64_t cells = 0, bytes = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(spec.width),
                             static_cast<std::uint64_t>(spec.height), &cells) ||
      __builtin_mul_overflow(cells, 3 * sizeof(float), &bytes) || !fits_in_host_memory(bytes)) {
    throw UsageError(fmt::format(
        "--size {}x{}: its fields need {} MiB and the host has {} MiB available; use a smaller "
        "grid",
        spec.width, spec.height, bytes >> 20, available_host_bytes() >> 20));
  }
}

std::vector<float> heat_initial_field(std::int64_t width, std::int64_t height) {
  std::vector<float> field(static_cast<std::size_t>(width * height), 0.0F);
  const std::int64_t radius = std::max<std::int64_t>(1, std::min(width, height) / 8);
  for (std::int64_t y = 0; y < height; ++y) {
    for (std::int64_t x = 0; x < width; ++x) {
      const std::int64_t dx = x - width / 2, dy = y - height / 2;
      float& cell = field[static_cast<std::size_t>(y * width + x)];
      if (y == 0) {
        cell = 1.0F;
      } else if (x == 0) {
        cell = 0.5F;
      } else if (dx * dx + dy * dy <= radius * radius) {
        cell = 1.0F;
      }
    }
  }
  return field;
}

const Kernel<Tile2D, View2D<const float>, View2D<float>, float, std::int64_t, std::int64_t>&
heat_kernel() {
  static const auto kernel =
      Kernel<Tile2D, View2D<const float>, View2D<float>, float, std::int64_t, std::int64_t>("heat")
          .host([](Tile2D tile, View2D<const float> in, View2D<float> out, float alpha,
                   std::int64_t width, std::int64_t height) {
            for (std::int64_t y = tile.y_begin; y < tile.y_end; ++y) {
              for (std::int64_t x = tile.x_begin; x < tile.x_end; ++x) {
                const float u = in(x, y);
                if (x == 0 || y == 0 || x == width - 1 || y == height - 1) {
                  out(x, y) = u;
                  continue;
                }
                const float sum = in(x - 1, y) + in(x + 1, y) + in(x, y - 1) + in(x, y + 1);
                out(x, y) = u + alpha * (sum - 4.0F * u);
              }
            }
          })
          .opencl(kHeatOpenCL, "heat_step")
          .exact();
  return kernel;
}

namespace {

// Static bands under a static policy on several nodes: every node's rows in proportion to its
// share, kept from step to step so that only halo rows cross links. A node that lags in each of
// the last kSteps steps (its rows took longer, per row, than the others' by more than kMinGain
// of the step: noise does not move rows) gives rows to the faster ones, half-way to the split
// the median rates balance (damped: no swinging back and forth), and only when the steps left
// gain more than moving the rows over the device links costs.
class BandPlan {
 public:
  static constexpr double kMinGain = 0.1;
  static constexpr std::size_t kSteps = 3;

  BandPlan(const std::vector<NodeInfo>& nodes, std::int64_t width, std::int64_t height)
      : nodes_(nodes),
        row_bytes_(static_cast<double>(width) * sizeof(float)),
        width_(width),
        height_(height) {
    for (const NodeInfo& node : nodes_) shares_.push_back(std::max(1, node.concurrency));
  }
  const std::vector<double>& shares() const { return shares_; }

  // Learns from a step's run; returns a note when rows move for the next steps.
  std::optional<std::string> after_step(const LaunchResult& run, std::int64_t steps_left) {
    const std::size_t n = nodes_.size();
    std::vector<double> finish(n, 0), rows(n, 0), per_row(n, 0);
    for (const TraceEvent& event : run.trace.events) {
      const auto i = static_cast<std::size_t>(event.node);
      if (i < n) finish[i] = std::max(finish[i], static_cast<double>(event.end_ns) * 1e-9);
    }
    for (std::size_t i = 0; i < n; ++i) {
      rows[i] = static_cast<double>(run.report.nodes[i].pixels) / static_cast<double>(width_);
      if (rows[i] <= 0 || finish[i] <= 0) return std::nullopt;  // a node idle: nothing to learn
      per_row[i] = finish[i] / rows[i];
    }
    const Split now = split(per_row, rows);
    history_.push_back({per_row, now.slowest, now.imbalance});
    if (history_.size() > kSteps) history_.erase(history_.begin());
    if (history_.size() < kSteps) return std::nullopt;
    for (const Step& step : history_) {
      if (step.slowest != now.slowest || step.imbalance <= kMinGain) return std::nullopt;
    }
    std::vector<double> median(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<double> recent;
      for (const Step& step : history_) recent.push_back(step.per_row[i]);
      std::nth_element(recent.begin(), recent.begin() + kSteps / 2, recent.end());
      median[i] = recent[kSteps / 2];
    }
    const Split target = split(median, rows);
    std::vector<double> next(n);
    double cost = 0;
    for (std::size_t i = 0; i < n; ++i) {
      next[i] = (rows[i] + target.rows[i]) / 2;
      const Link& link = nodes_[i].link;
      if (!link.zero_copy && link.to_device_bytes_per_s > 0) {
        cost += std::abs(next[i] - rows[i]) * row_bytes_ / link.to_device_bytes_per_s +
                link.to_device_latency_s;
      }
    }
    const double gain =
        (split_time(median, rows) - split_time(median, next)) * static_cast<double>(steps_left);
    if (gain <= cost) return std::nullopt;
    shares_ = next;
    history_.clear();  // the new bands are measured afresh
    std::vector<std::string> moves;
    for (std::size_t i = 0; i < n; ++i) {
      moves.push_back(fmt::format("{} {:.0f} -> {:.0f}", nodes_[i].name, rows[i], next[i]));
    }
    return fmt::format(
        "rows moved from {}, which lagged {} steps in a row ({}): {:.4f} s gained over the {} "
        "steps left, against {:.4f} s to move them",
        nodes_[now.slowest].name, kSteps, fmt::join(moves, ", "), gain, steps_left, cost);
  }

 private:
  struct Split {
    std::vector<double> rows;  // the rows that equalise the nodes' times
    double step_s = 0;         // the step's time with them
    std::size_t slowest = 0;   // the node that takes longest with the rows it has
    double imbalance = 0;      // the share of the step the balanced rows would save
  };
  struct Step {
    std::vector<double> per_row;
    std::size_t slowest = 0;
    double imbalance = 0;
  };

  // The step's time with `rows`: the slowest node's.
  static double split_time(const std::vector<double>& per_row, const std::vector<double>& rows) {
    double time = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) time = std::max(time, per_row[i] * rows[i]);
    return time;
  }

  Split split(const std::vector<double>& per_row, const std::vector<double>& rows) const {
    Split result;
    double inverse = 0;
    for (const double seconds : per_row) inverse += 1.0 / seconds;
    result.step_s = static_cast<double>(height_) / inverse;
    double slowest = 0;
    for (std::size_t i = 0; i < per_row.size(); ++i) {
      result.rows.push_back(static_cast<double>(height_) / per_row[i] / inverse);
      if (per_row[i] * rows[i] > slowest) {
        slowest = per_row[i] * rows[i];
        result.slowest = i;
      }
    }
    result.imbalance = slowest > 0 ? (slowest - result.step_s) / slowest : 0;
    return result;
  }

  std::vector<NodeInfo> nodes_;
  double row_bytes_;
  std::int64_t width_, height_;
  std::vector<double> shares_;
  std::vector<Step> history_;  // the last kSteps steps
};

// The field a run starts from, and its step: step 0's, or the checkpoint's to resume from.
HeatCheckpoint starting_point(const HeatSpec& spec, const HeatCheckpoints& checkpoints) {
  if (!checkpoints.resume) {
    return {spec.width, spec.height, 0, heat_initial_field(spec.width, spec.height)};
  }
  HeatCheckpoint start = read_heat_checkpoint(checkpoints.file);
  if (start.width != spec.width || start.height != spec.height) {
    throw UsageError(fmt::format("the checkpoint '{}' is of a {}x{} grid, not {}x{}",
                                 checkpoints.file.string(), start.width, start.height, spec.width,
                                 spec.height));
  }
  if (start.step > spec.steps) {
    throw UsageError(fmt::format("the checkpoint '{}' is after step {}, past --steps {}",
                                 checkpoints.file.string(), start.step, spec.steps));
  }
  return start;
}

}  // namespace

HeatResult run_heat(Runtime& runtime, const HeatSpec& spec, LaunchOptions options,
                    const HeatCheckpoints& checkpoints) {
  validate(spec);
  HeatCheckpoint start = starting_point(spec, checkpoints);
  // An unwritable checkpoint file is refused now, not after the first steps.
  if (!checkpoints.file.empty()) OutputFile(checkpoints.file).stream().flush();
  const std::int64_t width = spec.width, height = spec.height;
  const auto clock_start = std::chrono::steady_clock::now();
  Array2D<float> a(width, height, "heat field A"), b(width, height, "heat field B");
  std::copy(start.field.begin(), start.field.end(), a.acquire_write().view().data);
  start.field = {};

  HeatResult result;
  result.first_step = start.step;
  Array2D<float>* from = &a;
  Array2D<float>* to = &b;
  std::optional<BandPlan> bands;
  if (options.policy == Policy::static_split && runtime.nodes().size() > 1 &&
      options.shares.empty()) {
    bands.emplace(runtime.nodes(), width, height);
  }
  for (std::int64_t step = start.step; step < spec.steps; ++step) {
    try {
      if (bands) options.shares = bands->shares();
      const LaunchResult run =
          runtime.run(heat_kernel(), Grid2D{width, height}, read_halo(*from, 1), write(*to),
                      kHeatAlpha, width, height, options);
      add_step(result.report, run.report);
      std::vector<TransferBytes>& bytes = result.step_transfers.emplace_back();
      std::vector<std::int64_t>& rows = result.step_rows.emplace_back();
      for (const NodeReport& node : run.report.nodes) {
        bytes.push_back(node.transfers);
        rows.push_back(node.pixels / width);
      }
      if (bands) {
        if (auto moved = bands->after_step(run, spec.steps - step - 1)) {
          result.report.notes.push_back(fmt::format("after step {}: {}", step + 1, *moved));
        }
      }
    } catch (const Cancelled&) {
      // The step in progress is lost; the last complete one is kept.
      if (!checkpoints.file.empty()) checkpoint(checkpoints, *from, step);
      throw;
    }
    std::swap(from, to);
    const std::int64_t done = step + 1;
    if (!checkpoints.file.empty() && checkpoints.every > 0 && done % checkpoints.every == 0) {
      checkpoint(checkpoints, *from, done);
    }
  }
  {
    const auto host = from->acquire_read();
    result.field.assign(host.view().data, host.view().data + width * height);
  }
  result.report.kernel = "heat";
  result.report.job.preset = "heat";
  result.report.job.width = width;
  result.report.job.height = height;
  result.report.checksum = field_checksum(result.field);
  finish_report(
      result.report,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count());
  return result;
}

}  // namespace hetero
