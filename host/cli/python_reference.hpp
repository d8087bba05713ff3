// The seed preset in pure Python, run and timed here: `hetero compare --python`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hetero::cli {

/// What the pure-Python run gave: its time and its sum, or why there is none.
struct PythonReference {
  bool ran = false;
  std::string why_not;  ///< no python3, the run failed, or it passed the time cap
  double seconds = 0;   ///< the loops' own time, as the script measures it
  std::uint64_t sum = 0;
};

/// Runs tools/seed_python.py (built into the tool) with python3 for at most `cap`.
PythonReference run_python_reference(std::chrono::seconds cap);

}  // namespace hetero::cli
