// Host CPU name, hardware threads and peak memory.
#include "host_info.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sstream>
#include <thread>

#include "file_text.hpp"

namespace hetero::detail {

namespace {

std::string read_cpu_name() {
  std::istringstream cpuinfo(proc_cpuinfo());
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
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
