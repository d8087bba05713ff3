// Facts about the host machine that nodes and reports print.
#pragma once

#include <cstdint>
#include <string>

namespace hetero::detail {

/// The text of /proc/cpuinfo, read once per process (empty where it cannot be read).
const std::string& proc_cpuinfo();
/// The CPU's model name (from /proc/cpuinfo), or "unknown CPU".
std::string host_cpu_name();
/// Hardware threads this process may run on.
int host_hardware_threads();
/// Peak resident memory of this process so far, in bytes.
std::uint64_t peak_resident_bytes();

}  // namespace hetero::detail
