// The OpenCL link probe.
#include "link_probe.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "runtime.hpp"

namespace hetero::nodes::opencl {
namespace {

// Copy sizes of the bandwidth probe, and repetitions per median: about 0.1 s on a CPU device.
constexpr std::uint64_t kProbeSizes[] = {std::uint64_t{64} << 10, std::uint64_t{1} << 20,
                                         std::uint64_t{16} << 20};
constexpr int kBandwidthRepeats = 5;
constexpr int kLatencyRepeats = 15;
constexpr std::size_t kLatencyBytes = 4;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

enum class Direction : std::uint8_t { to_device, to_host };

// Seconds one blocking copy of `bytes` between `host` and the start of `device_buffer` takes.
double time_copy(cl_command_queue queue, cl_mem device_buffer, void* host, std::size_t bytes,
                 Direction direction) {
  const auto begin = std::chrono::steady_clock::now();
  if (direction == Direction::to_device) {
    check(clEnqueueWriteBuffer(queue, device_buffer, CL_TRUE, 0, bytes, host, 0, nullptr, nullptr),
          "probe write");
  } else {
    check(clEnqueueReadBuffer(queue, device_buffer, CL_TRUE, 0, bytes, host, 0, nullptr, nullptr),
          "probe read");
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
}

// Median seconds of `repeats` copies after one untimed warm-up copy.
double median_copy(cl_command_queue queue, cl_mem device_buffer, void* host, std::size_t bytes,
                   Direction direction, int repeats) {
  time_copy(queue, device_buffer, host, bytes, direction);
  std::vector<double> seconds;
  seconds.reserve(static_cast<std::size_t>(repeats));
  for (int i = 0; i < repeats; ++i) {
    seconds.push_back(time_copy(queue, device_buffer, host, bytes, direction));
  }
  return median(std::move(seconds));
}

// Host memory the driver allocates (CL_MEM_ALLOC_HOST_PTR, pinned where the driver pins it),
// mapped for the host while this object lives.
class PinnedHostBuffer {
 public:
  PinnedHostBuffer(cl_context context, cl_command_queue queue, std::size_t bytes) : queue_(queue) {
    cl_int status = CL_SUCCESS;
    buffer_.reset(clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, nullptr,
                                 &status));
    check(status, "probe clCreateBuffer(CL_MEM_ALLOC_HOST_PTR)");
    data_ = clEnqueueMapBuffer(queue, buffer_.get(), CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes,
                               0, nullptr, nullptr, &status);
    check(status, "probe clEnqueueMapBuffer");
  }
  ~PinnedHostBuffer() {
    clEnqueueUnmapMemObject(queue_, buffer_.get(), data_, 0, nullptr, nullptr);
    clFinish(queue_);
  }
  PinnedHostBuffer(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;
  void* data() const { return data_; }

 private:
  cl_command_queue queue_;
  Memory buffer_;
  void* data_ = nullptr;
};

}  // namespace

LinkFigures measure_link(const DeviceSummary& summary) {
  const std::vector<Device> devices = discover_devices(nullptr);
  const Device& device = find_device(devices, summary);
  const Context context = create_context(device);
  const Queue queue = create_profiling_queue(context.get(), device);

  std::uint64_t largest = kProbeSizes[std::size(kProbeSizes) - 1];
  if (summary.max_allocation_bytes > 0) largest = std::min(largest, summary.max_allocation_bytes);
  cl_int status = CL_SUCCESS;
  const Memory device_buffer(
      clCreateBuffer(context.get(), CL_MEM_READ_WRITE, largest, nullptr, &status));
  check(status, "probe clCreateBuffer");
  const PinnedHostBuffer pinned(context.get(), queue.get(), largest);
  std::vector<unsigned char> pageable(largest, 1);
  std::memset(pinned.data(), 1, largest);

  LinkFigures figures;
  for (const Direction direction : {Direction::to_device, Direction::to_host}) {
    LinkDirection& out = direction == Direction::to_device ? figures.to_device : figures.to_host;
    out.latency_s = median_copy(queue.get(), device_buffer.get(), pageable.data(), kLatencyBytes,
                                direction, kLatencyRepeats);
    for (const std::uint64_t size : kProbeSizes) {
      const std::uint64_t bytes = std::min(size, largest);
      out.pageable_bytes_per_s[bytes] =
          static_cast<double>(bytes) / median_copy(queue.get(), device_buffer.get(),
                                                   pageable.data(), bytes, direction,
                                                   kBandwidthRepeats);
      out.pinned_bytes_per_s[bytes] =
          static_cast<double>(bytes) / median_copy(queue.get(), device_buffer.get(), pinned.data(),
                                                   bytes, direction, kBandwidthRepeats);
    }
  }
  return figures;
}

LinkIdentity link_identity(const DeviceSummary& device) {
  return {"opencl", device.platform, device.name, device.driver};
}

Link device_link(const DeviceSummary& device, LinkLookup lookup) {
  return hetero::device_link(link_identity(device), Staging::pageable, lookup,
                             [&device] { return measure_link(device); });
}

}  // namespace hetero::nodes::opencl
