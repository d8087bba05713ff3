// The OpenCL link probe and its on-disk cache.
#include "link_probe.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hetero/model.hpp"
#include "runtime.hpp"

namespace hetero::nodes::opencl {
namespace {

// Copy sizes of the bandwidth probe, and repetitions per median: about 0.1 s on a CPU device.
constexpr std::uint64_t kProbeSizes[] = {std::uint64_t{64} << 10, std::uint64_t{1} << 20,
                                         std::uint64_t{16} << 20};
constexpr int kBandwidthRepeats = 5;
constexpr int kLatencyRepeats = 15;
constexpr std::size_t kLatencyBytes = 4;
constexpr std::string_view kCacheFormat = "hetero-links-1";

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

std::string cache_key(const DeviceSummary& device) {
  return "opencl|" + device.identity();
}

// Prints `message` on stderr unless this process already printed it.
void report_once(const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string> reported;
  const std::lock_guard lock(mutex);
  if (reported.insert(message).second) std::cerr << "hetero: " << message << '\n';
}

// Figures measured in this process that the cache could not keep, by cache key.
std::mutex memo_mutex;
std::map<std::string, Link> unsaved_links;

nlohmann::json to_json(const std::map<std::uint64_t, double>& table) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [bytes, rate] : table) out[std::to_string(bytes)] = rate;
  return out;
}

nlohmann::json to_json(const LinkDirection& direction) {
  return {{"latency_s", direction.latency_s},
          {"pageable_bytes_per_s", to_json(direction.pageable_bytes_per_s)},
          {"pinned_bytes_per_s", to_json(direction.pinned_bytes_per_s)}};
}

bool positive_finite(const nlohmann::json& value) {
  return value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() > 0;
}

// Reads a table written by to_json; false when it is malformed or empty.
bool read_table(const nlohmann::json& json, std::map<std::uint64_t, double>& table) {
  if (!json.is_object() || json.empty()) return false;
  for (const auto& [key, value] : json.items()) {
    std::uint64_t bytes = 0;
    const auto parsed = std::from_chars(key.data(), key.data() + key.size(), bytes);
    if (parsed.ec != std::errc() || parsed.ptr != key.data() + key.size() || bytes == 0 ||
        !positive_finite(value)) {
      return false;
    }
    table[bytes] = value.get<double>();
  }
  return true;
}

bool read_direction(const nlohmann::json& json, LinkDirection& direction) {
  if (!json.is_object() || !json.contains("latency_s") || !positive_finite(json["latency_s"])) {
    return false;
  }
  direction.latency_s = json["latency_s"].get<double>();
  return json.contains("pageable_bytes_per_s") && json.contains("pinned_bytes_per_s") &&
         read_table(json["pageable_bytes_per_s"], direction.pageable_bytes_per_s) &&
         read_table(json["pinned_bytes_per_s"], direction.pinned_bytes_per_s);
}

// The cache file's content, or an empty object when it is absent. Sets `problem` when the file
// exists but is not a cache hetero can read.
nlohmann::json read_cache(const std::filesystem::path& file, std::string& problem) {
  std::error_code error;
  if (!std::filesystem::exists(file, error)) return nlohmann::json::object();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    problem = fmt::format("link cache {} cannot be read", file.string());
    return nlohmann::json::object();
  }
  nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() ||
      (json.contains("links") && !json["links"].is_object())) {
    problem = fmt::format("link cache {} is corrupt (not a JSON object with a 'links' object)",
                          file.string());
    return nlohmann::json::object();
  }
  if (json.contains("format") && json["format"] != kCacheFormat) {
    problem = fmt::format("link cache {} has format {} where {} was expected", file.string(),
                          json["format"].dump(), kCacheFormat);
    return nlohmann::json::object();
  }
  return json;
}

// The cached figures of `device` in `cache`; nullopt when there are none or they are unusable
// (then `problem` says why, except when the entry is simply absent).
std::optional<LinkFigures> cached_figures(const nlohmann::json& cache,
                                          const std::filesystem::path& file,
                                          const DeviceSummary& device, std::string& problem) {
  if (!cache.contains("links")) return std::nullopt;
  const nlohmann::json& links = cache["links"];
  const std::string key = cache_key(device);
  if (!links.contains(key)) return std::nullopt;
  const nlohmann::json& entry = links[key];
  if (!entry.is_object()) {
    problem = fmt::format("link cache {} is corrupt: the entry of {} is not an object",
                          file.string(), device.name);
    return std::nullopt;
  }
  const auto field = [&](const char* name) {
    return entry.contains(name) && entry[name].is_string() ? entry[name].get<std::string>()
                                                           : std::string("(missing)");
  };
  if (field("platform") != device.platform || field("device") != device.name ||
      field("driver") != device.driver) {
    problem = fmt::format(
        "link cache {} does not match {}: its entry is for '{}' on '{}' with driver '{}'",
        file.string(), device.describe(), field("device"), field("platform"), field("driver"));
    return std::nullopt;
  }
  LinkFigures figures;
  if (!entry.contains("to_device") || !entry.contains("to_host") ||
      !read_direction(entry["to_device"], figures.to_device) ||
      !read_direction(entry["to_host"], figures.to_host)) {
    problem = fmt::format("link cache {} is corrupt: the figures of {} are incomplete",
                          file.string(), device.name);
    return std::nullopt;
  }
  return figures;
}

// Writes `figures` into the cache, keeping every other entry, through a temporary file renamed
// over the old one. Entries of the same device with another driver are dropped.
bool store_figures(const std::filesystem::path& file, nlohmann::json cache,
                   const DeviceSummary& device, const LinkFigures& figures, std::string& problem) {
  // Whatever the old file held, what is written is a well-formed cache.
  if (!cache.is_object()) cache = nlohmann::json::object();
  cache["format"] = kCacheFormat;
  if (!cache.contains("links") || !cache["links"].is_object()) {
    cache["links"] = nlohmann::json::object();
  }
  nlohmann::json& links = cache["links"];
  const std::string key = cache_key(device);
  std::vector<std::string> stale;
  for (const auto& [other_key, entry] : links.items()) {
    // Compared as JSON values, so an entry with fields of another type is simply not a match.
    if (other_key != key && entry.is_object() &&
        entry.value("backend", nlohmann::json()) == "opencl" &&
        entry.value("platform", nlohmann::json()) == device.platform &&
        entry.value("device", nlohmann::json()) == device.name) {
      stale.push_back(other_key);
    }
  }
  for (const std::string& other_key : stale) links.erase(other_key);
  links[key] = {{"backend", "opencl"},
                {"platform", device.platform},
                {"device", device.name},
                {"driver", device.driver},
                {"measured_unix_s", static_cast<std::int64_t>(std::time(nullptr))},
                {"to_device", to_json(figures.to_device)},
                {"to_host", to_json(figures.to_host)}};

  std::error_code error;
  std::filesystem::create_directories(file.parent_path(), error);
  const std::filesystem::path temporary =
      file.parent_path() / fmt::format(".{}.{}.tmp", file.filename().string(), ::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << cache.dump(2) << '\n';
    out.close();
    if (!out) {
      std::filesystem::remove(temporary, error);
      problem = fmt::format("link cache {} cannot be written; check its directory's permissions",
                            file.string());
      return false;
    }
  }
  std::filesystem::rename(temporary, file, error);
  if (error) {
    std::filesystem::remove(temporary, error);
    problem = fmt::format("link cache {} cannot be replaced: {}", file.string(), error.message());
    return false;
  }
  return true;
}

}  // namespace

Link LinkFigures::link() const {
  Link link;
  link.zero_copy = false;
  link.to_device_latency_s = to_device.latency_s;
  link.to_host_latency_s = to_host.latency_s;
  if (!to_device.pageable_bytes_per_s.empty()) {
    link.to_device_bytes_per_s = to_device.pageable_bytes_per_s.rbegin()->second;
  }
  if (!to_host.pageable_bytes_per_s.empty()) {
    link.to_host_bytes_per_s = to_host.pageable_bytes_per_s.rbegin()->second;
  }
  return link;
}

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

std::filesystem::path link_cache_file() {
  return cache_directory() / "links.json";
}

Link device_link(const DeviceSummary& device, LinkLookup lookup) {
  const std::filesystem::path file = link_cache_file();
  const std::string memo_key = file.string() + '\n' + cache_key(device);
  std::string problem;
  nlohmann::json cache = read_cache(file, problem);
  if (lookup == LinkLookup::cached) {
    if (problem.empty()) {
      if (auto figures = cached_figures(cache, file, device, problem)) {
        Link link = figures->link();
        link.source = "cache";
        return link;
      }
    }
    if (!problem.empty()) report_once(problem + "; measuring the link again");
    const std::lock_guard lock(memo_mutex);
    if (const auto it = unsaved_links.find(memo_key); it != unsaved_links.end()) return it->second;
  }

  const LinkFigures figures = measure_link(device);
  Link link = figures.link();
  link.source = "probe";
  problem.clear();
  const bool stored = store_figures(file, std::move(cache), device, figures, problem);
  if (!stored) report_once(problem);
  const std::lock_guard lock(memo_mutex);
  if (stored) {
    unsaved_links.erase(memo_key);
  } else {
    unsaved_links[memo_key] = link;
  }
  return link;
}

}  // namespace hetero::nodes::opencl
