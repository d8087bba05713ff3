// The thrust node on Thrust's OpenMP system.
#include "nodes/thrust/omp_node.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <vector>

#include <fmt/format.h>

#include "core/host_info.hpp"
#include "hetero/error.hpp"
#include "nodes/kernel_pipeline.hpp"
#include "nodes/thrust/omp_counts.hpp"

namespace hetero::nodes {
namespace {

constexpr std::string_view kName = "thrust";
constexpr std::size_t kAlignment = 64;

// Copy sizes of the link probe and repetitions per median (a few milliseconds in all).
constexpr std::uint64_t kProbeSizes[] = {std::uint64_t{64} << 10, std::uint64_t{1} << 20,
                                         std::uint64_t{16} << 20};
constexpr int kBandwidthRepeats = 5;
constexpr int kLatencyRepeats = 25;
constexpr std::size_t kLatencyBytes = 4;

std::uint64_t free_host_memory() {
  const long pages = sysconf(_SC_AVPHYS_PAGES);
  const long page_bytes = sysconf(_SC_PAGESIZE);
  return pages > 0 && page_bytes > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_bytes)
             : 0;
}

LinkIdentity link_identity() {
  return {"thrust", thrust_omp::system_version() + " OpenMP system", detail::host_cpu_name(), ""};
}

// `rows` rows of `row_bytes`, `pitch` apart, from `from` to `to` (each the array's first byte).
void copy_rows(void* to, const void* from, std::size_t offset, std::size_t row_bytes,
               std::size_t rows, std::size_t pitch) {
  auto* destination = static_cast<std::byte*>(to) + offset;
  const auto* source = static_cast<const std::byte*>(from) + offset;
  for (std::size_t row = 0; row < rows; ++row) {
    std::memcpy(destination + row * pitch, source + row * pitch, row_bytes);
  }
}

// Seconds of the median of `repeats` memcpy calls of `bytes`.
double median_copy(void* to, const void* from, std::size_t bytes, int repeats) {
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    std::memcpy(to, from, bytes);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(seconds.begin(), seconds.begin() + repeats / 2, seconds.end());
  return std::max(seconds[static_cast<std::size_t>(repeats / 2)], 1e-9);
}

// The link into the node's memory: memcpy both ways between pageable host memory and memory of
// the node's kind (the same memory, so the pinned figures are the pageable ones).
LinkFigures measure_link() {
  const std::size_t largest = kProbeSizes[std::size(kProbeSizes) - 1];
  std::vector<std::byte> host(largest, std::byte{1}), node(largest, std::byte{2});
  LinkFigures figures;
  for (const bool to_device : {true, false}) {
    LinkDirection& direction = to_device ? figures.to_device : figures.to_host;
    void* to = to_device ? node.data() : host.data();
    const void* from = to_device ? host.data() : node.data();
    direction.latency_s = median_copy(to, from, kLatencyBytes, kLatencyRepeats);
    for (const std::uint64_t bytes : kProbeSizes) {
      const double rate =
          static_cast<double>(bytes) / median_copy(to, from, bytes, kBandwidthRepeats);
      direction.pageable_bytes_per_s[bytes] = rate;
      direction.pinned_bytes_per_s[bytes] = rate;
    }
  }
  return figures;
}

NodeInfo base_info() {
  NodeInfo info;
  info.name = std::string(kName);
  info.kind = NodeKind::device;
  info.device =
      fmt::format("{}'s OpenMP system on {} ({} OpenMP threads; thrust:omp)",
                  thrust_omp::system_version(), detail::host_cpu_name(), thrust_omp::threads());
  info.resource = "host-cpu";
  info.concurrency = ThrustOmpNode::kQueues;
  info.available = true;
  return info;
}

}  // namespace

// Host memory of the node's own, aligned for vector loads; counted against the node's cap.
class ThrustOmpNode::Space final : public MemorySpace {
 public:
  std::string_view name() const override { return "thrust:omp"; }
  void* allocate(std::size_t bytes) override {
    if (bytes == 0) return nullptr;
    claim(bytes);
    void* pointer = ::operator new (bytes, std::align_val_t{kAlignment}, std::nothrow);
    if (pointer == nullptr) {
      release(bytes);
      throw OutOfMemory(fmt::format("thrust:omp: an allocation of {} bytes failed: out of memory; "
                                    "use smaller tiles (--tile) or a lower cap (--device-memory)",
                                    bytes),
                        bytes);
    }
    return pointer;
  }
  void deallocate(void* pointer, std::size_t bytes) noexcept override {
    if (pointer == nullptr) return;
    ::operator delete (pointer, std::align_val_t{kAlignment});
    release(bytes);
  }
  void copy_from_host(void* dst, const void* src, std::size_t bytes) override {
    if (bytes != 0) std::memcpy(dst, src, bytes);
  }
  void copy_to_host(void* dst, const void* src, std::size_t bytes) override {
    if (bytes != 0) std::memcpy(dst, src, bytes);
  }
};

// The system's side of the device pipeline: each command runs as it is enqueued, on the node's
// thread (a kernel on every OpenMP thread), and is timed on the trace clock.
class ThrustOmpNode::Device final : public KernelDevice {
 public:
  explicit Device(Space& space)
      : space_(space), full_wave_(thrust_omp::threads() * kElementsPerThread) {}

  /// Runs every tile `work` gives the node through the shared pipeline.
  void run(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
    pipeline_.run(launch, work, trace);
  }

  int queues() const override { return kQueues; }
  /// The same for every kernel (ThrustOmpNode::full_wave).
  std::int64_t full_wave(const backend::KernelDefinition& /*kernel*/) const override {
    return full_wave_;
  }
  MemorySpace& space() override { return space_; }
  void begin(const backend::Launch& launch, TraceLane& lane) override {
    std::string why;
    if (!can_run(*launch.kernel, why)) throw Error(why);
    lane_ = &lane;
  }
  DeviceCommandPtr copy(int /*queue*/, void* device, void* host, const CopyRegion& region,
                        bool to_device) override {
    const std::int64_t begin = lane_->now_ns();
    copy_to(to_device ? device : host, to_device ? host : device, region);
    return std::make_shared<Done>(begin, lane_->now_ns(), std::nullopt);
  }
  void copy_to_host_now(const void* device, void* host, const CopyRegion& region) override {
    copy_to(host, device, region);
  }
  DeviceCommandPtr launch(int /*queue*/, const backend::Launch& launch,
                          const backend::TileRange& tile,
                          std::span<const backend::ArgumentBinding> arguments,
                          std::span<const DeviceCommandPtr> /*after: done already*/) override {
    const std::int64_t begin = lane_->now_ns();
    const double units = launch.kernel->thrust_omp(tile, arguments);
    std::optional<std::uint64_t> counted;
    if (units >= 0) counted = static_cast<std::uint64_t>(std::llround(units));
    return std::make_shared<Done>(begin, lane_->now_ns(), counted);
  }
  void flush(int /*queue*/) override {}
  void drain() noexcept override {}
  /// A Thrust implementation indexes from the binding's data as element 0, as a CUDA one does.
  bool takes_windows() const override { return true; }

  static bool can_run(const backend::KernelDefinition& kernel, std::string& why) {
    if (kernel.thrust_omp) return true;
    why = fmt::format(
        "node 'thrust:omp' runs Thrust implementations for the OpenMP system and kernel '{}' has "
        "none (it has {})",
        kernel.name, kernel.families());
    return false;
  }

 private:
  // A command that ran when it was enqueued.
  class Done final : public DeviceCommand {
   public:
    Done(std::int64_t begin, std::int64_t end, std::optional<std::uint64_t> work)
        : begin_(begin), end_(end), work_(work) {}
    void wait(std::string_view /*what*/) override {}
    std::pair<std::int64_t, std::int64_t> interval(std::int64_t now_ns) const override {
      return {std::min(begin_, now_ns), std::min(end_, now_ns)};
    }
    std::optional<std::uint64_t> work_units() const override { return work_; }

   private:
    std::int64_t begin_, end_;
    std::optional<std::uint64_t> work_;
  };

  static void copy_to(void* to, const void* from, const CopyRegion& region) {
    copy_rows(to, from, region.offset, region.row_bytes, region.rows,
              region.rows <= 1 ? 0 : region.pitch);
  }

  Space& space_;
  std::int64_t full_wave_;
  TraceLane* lane_ = nullptr;
  KernelPipeline pipeline_{*this};  // last: it goes first
};

ThrustOmpNode::ThrustOmpNode(const NodeOptions& options)
    : info_(base_info()), space_(std::make_unique<Space>()) {
  space_->set_limit(options.memory.of(free_host_memory()));
  device_ = std::make_unique<Device>(*space_);
  info_.link = probe_or_cache(LinkLookup::cached);
}

ThrustOmpNode::~ThrustOmpNode() = default;

MemorySpace* ThrustOmpNode::memory_space() {
  return space_.get();
}

std::int64_t ThrustOmpNode::full_wave(const backend::KernelDefinition& kernel) const {
  return device_->full_wave(kernel);
}

bool ThrustOmpNode::can_run(const backend::KernelDefinition& kernel, std::string& why) const {
  return Device::can_run(kernel, why);
}

void ThrustOmpNode::launch(const backend::Launch& launch, WorkSource& work, NodeTrace& trace) {
  device_->run(launch, work, trace);
}

NodeInfo ThrustOmpNode::describe() {
  NodeInfo info = base_info();
  info.link = known_link(link_identity(), Staging::pageable).value_or(unmeasured_link());
  return info;
}

Link ThrustOmpNode::probe() {
  return probe_or_cache(LinkLookup::remeasure);
}

Link ThrustOmpNode::probe_or_cache(LinkLookup lookup) {
  return hetero::device_link(link_identity(), Staging::pageable, lookup, &measure_link);
}

}  // namespace hetero::nodes
