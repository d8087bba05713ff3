// Host CPU name, hardware threads and peak memory.
#include "host_info.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <optional>
#include <string_view>
#include <thread>

#include "file_text.hpp"

namespace hetero::detail {

namespace {

// The value of the first whole "model name" line of `cpuinfo` (a line cut off at its end does
// not count), if it has one.
std::optional<std::string> model_name(std::string_view cpuinfo) {
  for (std::size_t start = 0, end; (end = cpuinfo.find('\n', start)) != std::string_view::npos;
       start = end + 1) {
    const std::string_view line = cpuinfo.substr(start, end - start);
    const std::size_t colon = line.find(':');
    if (line.starts_with("model name") && colon != std::string_view::npos &&
        colon + 2 <= line.size()) {
      return std::string(line.substr(colon + 2));
    }
  }
  return std::nullopt;
}

std::string read_cpu_name() {
  // The first CPU's record names it near its top: reading only that much spares the kernel
  // generating (and sampling the clock of) every other CPU's record.
  constexpr std::size_t kFirstRecordHead = 512;
  if (const std::optional<std::string> head = read_file_text("/proc/cpuinfo", kFirstRecordHead)) {
    if (std::optional<std::string> name = model_name(*head)) return *name;
  }
  return model_name(proc_cpuinfo()).value_or("unknown CPU");
}

}  // namespace

const std::string& proc_cpuinfo() {
  // Read once: the first read of /proc/cpuinfo in a process is slow in a VM (the kernel
  // samples each CPU's clock).
  static const std::string text = read_file_text("/proc/cpuinfo").value_or(std::string());
  return text;
}

std::string host_cpu_name() {
  static const std::string name = read_cpu_name();  // /proc/cpuinfo is slow to read in a VM
  return name;
}

int host_hardware_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return count;
  }
  const unsigned count = std::thread::hardware_concurrency();
  return count > 0 ? static_cast<int>(count) : 1;
}

std::uint64_t peak_resident_bytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
}

}  // namespace hetero::detail
