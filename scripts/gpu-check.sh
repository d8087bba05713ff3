#!/usr/bin/env bash
# GPU check: builds hetero with the cuda and thrust nodes on a machine with an NVIDIA GPU, runs
# the GPU tests (none may skip there), compute-sanitizer over them, the GPU benchmarks, prints a
# table of the cuda and thrust nodes against the host CPU on the full preset, and each GPU
# target as PASS or FAIL with the command that measured it (scripts/gpu-targets.cmake). The
# driver is checked against the toolkit before anything else.
#
# The GPU machine needs only the CUDA toolkit (nvcc, its runtime, Thrust), CMake >= 3.25,
# a C++20 compiler and a driver: no package manager and no network. What hetero's build needs
# besides (GoogleTest, fmt, CLI11, nlohmann/json, and libpng/zlib or Google Benchmark when the
# machine lacks them) is carried in a folder prepared beforehand on a Debian 12 machine that
# has hetero's packages (scripts/install-deps.sh):
#
#   1. on the Debian machine:  scripts/gpu-check.sh --prepare build-gpu-deps
#      (about 7 MB; build-gpu-deps/ is ignored by git like every build* folder)
#   2. carry the working tree together with build-gpu-deps/ to the GPU machine, e.g.
#        rsync -a --exclude 'build/' --exclude 'build-*/' ./ gpu:hetero/
#        rsync -a build-gpu-deps gpu:hetero/
#      A runner that copies the tree by git's rules skips ignored folders: name build-gpu-deps
#      among the paths it must carry.
#   3. on the GPU machine:  scripts/gpu-check.sh            (uses ./build-gpu-deps if present)
#      or in parts, each within a time limit:
#        scripts/gpu-check.sh --stages build
#        scripts/gpu-check.sh --stages test,sanitize
#        scripts/gpu-check.sh --stages bench --results DIR
#
# What the folder holds and how the run uses it:
#   src/googletest    Debian's GoogleTest source (/usr/src/googletest), built and installed into
#                     <build>/deps-prefix on the GPU machine at the first run
#   prefix/           header-only packages with their CMake configs: fmt (as FMT_HEADER_ONLY),
#                     CLI11, nlohmann_json; always first on CMAKE_PREFIX_PATH
#   fallback-png/     Debian's static libpng and zlib (position independent, old glibc symbols
#                     only), used only when the machine cannot link -lpng itself: hetero's PNG
#                     output is not optional
#   fallback-benchmark/  Debian's Google Benchmark 1.7.1 shared library (needs glibc >= 2.32 and
#                     the libstdc++ of GCC >= 12), used only when the machine has none; when it
#                     cannot be used, hetero-bench is left out and said so
#
# Run-mode options:
#   --deps DIR        the prepared folder (default: build-gpu-deps when it exists, else none:
#                     every dependency must then be installed on the machine)
#   --build DIR       build folder (default: build/gpu-check)
#   --results DIR     where reports, logs and the table are written (default: <build>/results)
#   --stages LIST     comma-separated subset of build,test,sanitize,bench (default: all)
#   --isolated        find nothing in system prefixes but the CUDA toolkit: what a bare GPU
#                     machine sees (to try the carried folder on a machine that has packages)
#   --size N          image side of the table's runs (default 8192)
#   --max-iter N      iteration limit of the table's runs (default 10000)
#   --dry-run         print the stages, what each runs and its time budget; run nothing
#
# Each stage runs on its own, timed; a stage that fails is reported and the next one still runs.
# The summary at the end gives every stage's status and seconds against its budget (4 minutes in
# all, the GPU machine's start-up aside), and the exit status is non-zero when one failed.
# Environment: CUDA_ARCHITECTURES (default: 90, H100/H200 only, the quickest build), JOBS (build
# jobs, default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

die() {
  echo "gpu-check: $*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# --prepare DIR: gather the dependencies from this Debian machine.
# ---------------------------------------------------------------------------------------------
prepare() {
  local dir=$1
  local multiarch
  multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  local lib=/usr/lib/${multiarch}
  local need=(/usr/src/googletest/CMakeLists.txt /usr/include/fmt/core.h /usr/include/CLI/CLI.hpp
              /usr/include/nlohmann/json.hpp /usr/share/cmake/CLI11/CLI11Config.cmake
              /usr/share/cmake/nlohmann_json/nlohmann_jsonConfig.cmake /usr/include/png.h
              "${lib}/libpng16.a" /usr/include/zlib.h "${lib}/libz.a"
              /usr/include/benchmark/benchmark.h "${lib}/libbenchmark.so.1.7.1"
              "${lib}/cmake/benchmark/benchmarkConfig.cmake")
  local file
  for file in "${need[@]}"; do
    [ -e "$file" ] || die "--prepare needs $file: run scripts/install-deps.sh first"
  done
  rm -rf "$dir"
  mkdir -p "$dir/src" "$dir/prefix/include" "$dir/prefix/lib/cmake/fmt" "$dir/prefix/share/cmake"

  cp -a /usr/src/googletest "$dir/src/googletest"

  # fmt: the headers, used header-only, with a small package config of their own.
  cp -a /usr/include/fmt "$dir/prefix/include/fmt"
  local fmt_version
  fmt_version=$(sed -n 's/^#define FMT_VERSION \([0-9]*\).*/\1/p' /usr/include/fmt/core.h)
  fmt_version="$((fmt_version / 10000)).$((fmt_version / 100 % 100)).$((fmt_version % 100))"
  cat >"$dir/prefix/lib/cmake/fmt/fmt-config.cmake" <<'EOF'
# fmt as a header-only package (FMT_HEADER_ONLY), carried for hetero's GPU check.
get_filename_component(_fmt_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET fmt::fmt)
  add_library(fmt::fmt INTERFACE IMPORTED)
  set_target_properties(fmt::fmt PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_fmt_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS "FMT_HEADER_ONLY=1")
  add_library(fmt::fmt-header-only INTERFACE IMPORTED)
  set_target_properties(fmt::fmt-header-only PROPERTIES INTERFACE_LINK_LIBRARIES fmt::fmt)
endif()
unset(_fmt_prefix)
EOF
  cat >"$dir/prefix/lib/cmake/fmt/fmt-config-version.cmake" <<EOF
# Version of the carried fmt headers.
set(PACKAGE_VERSION "${fmt_version}")
if(PACKAGE_FIND_VERSION AND PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
EOF

  # CLI11 and nlohmann/json: header-only, with Debian's relocatable package configs.
  cp -a /usr/include/CLI "$dir/prefix/include/CLI"
  cp -a /usr/include/nlohmann "$dir/prefix/include/nlohmann"
  cp -a /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json "$dir/prefix/share/cmake/"

  # libpng and zlib, static, as a prefix FindPNG and FindZLIB search.
  mkdir -p "$dir/fallback-png/include" "$dir/fallback-png/lib"
  cp -L /usr/include/png.h /usr/include/pngconf.h /usr/include/pnglibconf.h /usr/include/zlib.h \
    /usr/include/zconf.h "$dir/fallback-png/include/"
  cp -L "${lib}/libpng16.a" "$dir/fallback-png/lib/libpng.a"
  cp -L "${lib}/libz.a" "$dir/fallback-png/lib/libz.a"

  # Google Benchmark: Debian's shared library, with its relocatable package config.
  local bench="$dir/fallback-benchmark"
  mkdir -p "$bench/include" "$bench/lib/${multiarch}/cmake"
  cp -a /usr/include/benchmark "$bench/include/benchmark"
  cp -a "${lib}"/libbenchmark.so* "${lib}/libbenchmark_main.a" "$bench/lib/${multiarch}/"
  cp -a "${lib}/cmake/benchmark" "$bench/lib/${multiarch}/cmake/benchmark"

  cat >"$dir/README" <<EOF
Dependencies carried for hetero's scripts/gpu-check.sh, gathered from $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release)
on $(date -u +%Y-%m-%d). See the header of scripts/gpu-check.sh for their use.
EOF
  echo "gpu-check: prepared $dir ($(du -sh "$dir" | cut -f1)); carry it with the working tree"
}

# ---------------------------------------------------------------------------------------------
# Run mode.
# ---------------------------------------------------------------------------------------------
deps=""
build=build/gpu-check
results=""
stages="build,test,sanitize,bench"
isolated=0
dry_run=0
size=8192
max_iter=10000

while [ $# -gt 0 ]; do
  case "$1" in
    --prepare)
      [ $# -ge 2 ] || die "--prepare needs a folder"
      prepare "$2"
      exit 0
      ;;
    --deps) deps=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --isolated) isolated=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    --size) size=$2; shift 2 ;;
    --max-iter) max_iter=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1'; see scripts/gpu-check.sh --help" ;;
  esac
done
if [ -z "$deps" ] && [ -d build-gpu-deps ]; then deps="build-gpu-deps"; fi
if [ -n "$deps" ]; then
  [ -d "$deps/prefix" ] || die "$deps is not a folder made by --prepare"
  deps=$(cd "$deps" && pwd)
fi
for stage in ${stages//,/ }; do
  case "$stage" in build | test | sanitize | bench) ;; *) die "unknown stage '$stage'" ;; esac
done
has_stage() { [[ ",$stages," == *",$1,"* ]]; }

# Seconds each stage may take on an H100/H200 with 16 cores: 4 minutes in all.
declare -A budget=([build]=120 [test]=45 [sanitize]=40 [bench]=35)
declare -A what=(
  [build]="configure and build hetero-cli, hetero_tests and hetero-bench for sm_${CUDA_ARCHITECTURES:-90}"
  [test]="ctest -R 'cuda|thrust' (none may skip); the CPU-only suite is left out"
  [sanitize]="compute-sanitizer memcheck and initcheck over the device-node tests, racecheck and synccheck over one"
  [bench]="hetero-bench (cuda, thrust), the link probe, the ${size}x${size} table, the targets"
)
if [ "$dry_run" -eq 1 ]; then
  total=0
  echo "gpu-check --dry-run: stages, in order, with their time budgets"
  for stage in ${stages//,/ }; do
    printf '  %-9s %4d s  %s\n' "$stage" "${budget[$stage]}" "${what[$stage]}"
    total=$((total + budget[$stage]))
  done
  printf '  %-9s %4d s  (budget: 240 s of the 15 minutes of device time)\n' total "$total"
  exit 0
fi
mkdir -p "$build"
build=$(cd "$build" && pwd)
results=${results:-$build/results}
mkdir -p "$results"
results=$(cd "$results" && pwd)
jobs=${JOBS:-$(nproc)}

cuda_home=${CUDA_HOME:-${CUDA_PATH:-/usr/local/cuda}}
export PATH="$cuda_home/bin:$PATH"
command -v nvcc >/dev/null || die "no nvcc in PATH or $cuda_home/bin: install the CUDA toolkit or set CUDA_HOME"
command -v cmake >/dev/null || die "no cmake: install CMake >= 3.25"
cxx=${CXX:-$(command -v c++ || command -v g++ || true)}
[ -n "$cxx" ] || die "no C++ compiler: install g++ or set CXX"

gpu_count=0
if command -v nvidia-smi >/dev/null; then
  gpu_count=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
fi
echo "== gpu-check: $(nvcc --version | sed -n 's/^Cuda compilation tools, //p'), $(cmake --version | head -1), $($cxx --version | head -1)"
if [ "$gpu_count" -gt 0 ]; then
  nvidia-smi -L
  nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.max,pcie.link.width.max \
    --format=csv,noheader || true
  # The driver first: a toolkit newer than the driver builds everything and runs nothing.
  if ! query=$("$cuda_home/bin/__nvcc_device_query" 2>&1); then
    die "the driver ($(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)) cannot run code of $(nvcc --version | sed -n 's/^Cuda compilation tools, //p'): ${query}; install a newer driver or an older toolkit"
  fi
else
  echo "gpu-check: nvidia-smi finds no GPU: only the build stage can run here"
fi
# shellcheck disable=SC2317  # used by the stages
needs_gpu() {
  [ "$gpu_count" -gt 0 ] || die "stage '$1' needs a GPU and nvidia-smi finds none"
}

# Links a tiny program against `lib` (with `header`); true when the machine has it.
system_has() {
  local header=$1 lib=$2
  [ "$isolated" -eq 0 ] || return 1
  printf '#include <%s>\nint main() { return 0; }\n' "$header" |
    "$cxx" -x c++ - "-l$lib" -o "$build/.probe" >/dev/null 2>&1
}

# ---- build ----------------------------------------------------------------------------------
prefix_path=()
configure_args=()
# hetero-bench needs Google Benchmark; without it everything else still builds.
bench_flag=OFF
bench_state="left out: no Google Benchmark on this machine nor in the carried folder"
if system_has benchmark/benchmark.h benchmark; then
  echo "gpu-check: Google Benchmark: the machine's own"
  bench_flag=ON
fi
if [ -n "$deps" ]; then
  deps_prefix="$build/deps-prefix"
  if [ ! -f "$deps_prefix/.googletest-built" ] && has_stage build; then
    echo "== building GoogleTest from $deps/src/googletest"
    cmake -S "$deps/src/googletest" -B "$build/deps/googletest" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_PREFIX="$deps_prefix" -DCMAKE_CXX_COMPILER="$cxx" >"$results/googletest.log" 2>&1 ||
      { cat "$results/googletest.log"; die "GoogleTest does not configure"; }
    if ! { cmake --build "$build/deps/googletest" -j "$jobs" && cmake --install "$build/deps/googletest"; } \
        >>"$results/googletest.log" 2>&1; then
      tail -30 "$results/googletest.log"
      die "GoogleTest does not build"
    fi
    touch "$deps_prefix/.googletest-built"
  fi
  prefix_path+=("$deps_prefix" "$deps/prefix")
  if system_has png.h png && system_has zlib.h z; then
    echo "gpu-check: libpng and zlib: the machine's own"
  else
    echo "gpu-check: libpng and zlib: carried (static, $deps/fallback-png)"
    prefix_path+=("$deps/fallback-png")
  fi
  if [ "$bench_flag" = OFF ] && [ -d "$deps/fallback-benchmark" ]; then
    echo "gpu-check: Google Benchmark: carried (Debian's shared library)"
    prefix_path+=("$deps/fallback-benchmark")
    bench_flag=ON
  fi
fi
if [ "$isolated" -eq 1 ]; then
  # Only the carried folder and the CUDA toolkit (found through nvcc) are searched.
  configure_args+=(-DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF -DCMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH=OFF
                   "-DCUDAToolkit_ROOT=$cuda_home")
fi
# The environment variable, so that the package test's consumer project finds them too.
CMAKE_PREFIX_PATH=$(IFS=:; echo "${prefix_path[*]}${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}")
export CMAKE_PREFIX_PATH
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja "-DCMAKE_MAKE_PROGRAM=$(command -v ninja)"); fi
default_arch=90

# shellcheck disable=SC2317  # called by name, "stage_$stage"
stage_build() {
  echo "== configure ($build)"
  cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DHETERO_ENABLE_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-$default_arch}" \
    -DHETERO_BUILD_TESTS=ON -DHETERO_BUILD_BENCHMARKS="$bench_flag" "${configure_args[@]}" \
    >"$results/configure.log" 2>&1 || { cat "$results/configure.log"; die "configure failed"; }
  sed -n '/hetero .* configuration/,/benchmarks:/p' "$results/configure.log"
  echo "== build (-j $jobs)"
  start=$(date +%s)
  cmake --build "$build" -j "$jobs" --target hetero-cli hetero_tests
  if [ "$bench_flag" = ON ]; then
    if cmake --build "$build" -j "$jobs" --target hetero-bench >"$results/bench-build.log" 2>&1 &&
        "$build/bench/hetero-bench" --benchmark_list_tests >/dev/null 2>&1; then
      bench_state="built"
    else
      rm -f "$build/bench/hetero-bench"
      bench_state="left out: it does not build, link or load here (see $results/bench-build.log)"
    fi
  fi
  echo "gpu-check: built in $(($(date +%s) - start)) s; hetero-bench ${bench_state}"
}
hetero="$build/host/hetero"
tests="$build/tests/hetero_tests"

# ---- test -----------------------------------------------------------------------------------
# shellcheck disable=SC2317  # called by name, "stage_$stage"
stage_test() {
  needs_gpu test
  echo "== GPU tests (ctest -R 'cuda|thrust'; the CPU-only suite runs in CI, not here)"
  "$hetero" devices | tee "$results/devices.txt"
  ctest --test-dir "$build" -R "cuda|thrust" -j 4 --output-on-failure | tee "$results/gpu-tests.log"
  if grep -q "(Skipped)\|Not Run" "$results/gpu-tests.log"; then
    die "GPU tests were skipped on a machine with a GPU (see $results/gpu-tests.log)"
  fi
}

# ---- sanitize -------------------------------------------------------------------------------
# shellcheck disable=SC2317  # called by name, "stage_$stage"
stage_sanitize() {
  needs_gpu sanitize
  sanitizer=$(command -v compute-sanitizer || true)
  if [ -z "$sanitizer" ]; then
    echo "gpu-check: no compute-sanitizer in $cuda_home/bin: sanitizer runs left out"
  else
    # The CUDA nodes' own tests (the kernel and array suites on every device node stay out of
    # the stage's budget: ctest runs them in the test stage).
    filter='DeviceNodes/CudaDeviceTest.*:DeviceNodes/DeviceNodeTest.*'
    filter+=':Backends/BackendTest.MatchesThePlainLoopInEveryPrecisionAndMode/cuda'
    filter+=':Backends/BackendTest.MatchesThePlainLoopInEveryPrecisionAndMode/thrust'
    filter+=':Nodes/DeviceMemory.*/cuda:Nodes/DeviceMemory.*/thrust-*thrust_omp'
    # The refill kernel shares a pixel counter and a reduction in shared memory: racecheck and
    # synccheck look at it on one short test (a few tiles, fp64 exact, both policies).
    shared='DeviceNodes/DeviceNodeTest.TileIsCompletedOnlyOnceItsCountsAreOnTheHost/cuda'
    # Every tool runs; its findings (exit 86) are told apart from tests failing under it.
    local findings=() tool status log
    for tool in memcheck initcheck racecheck synccheck; do
      echo "== compute-sanitizer --tool $tool"
      extra=()
      if [ "$tool" = memcheck ]; then extra=(--leak-check full); fi
      tool_filter=$filter
      if [ "$tool" = racecheck ] || [ "$tool" = synccheck ]; then tool_filter=$shared; fi
      log="$results/sanitizer-$tool.log"
      status=0
      "$sanitizer" --tool "$tool" "${extra[@]}" --error-exitcode 86 \
        "$tests" --gtest_filter="$tool_filter" --gtest_brief=1 >"$log" 2>&1 || status=$?
      grep -E "ERROR SUMMARY|LEAK SUMMARY|PASSED|FAILED" "$log" | tail -4 || true
      case $status in
        0) ;;
        86) tail -40 "$log"; findings+=("$tool found errors") ;;
        *) tail -40 "$log"; findings+=("tests failed, or $tool did not start (exit $status)") ;;
      esac
    done
    if [ ${#findings[@]} -gt 0 ]; then
      die "compute-sanitizer: $(IFS=';'; echo "${findings[*]}") (logs: $results/sanitizer-*.log)"
    fi
  fi
}

# ---- bench ----------------------------------------------------------------------------------
# Prints "sum hash giters wall busy transfer gbps lanes kind" of a hetero.report JSON file.
cat >"$build/report-fields.cmake" <<'EOF'
file(READ "${REPORT}" json)
set(fields)
foreach(path "checksum;sum" "checksum;hash" "giters_per_s" "wall_s" "nodes;0;busy_s"
             "nodes;0;transfer_s" "nodes;0;copy_gb_per_s" "nodes;0;lanes" "nodes;0;kind")
  string(JSON value GET "${json}" ${path})
  list(APPEND fields "${value}")
endforeach()
list(JOIN fields " " line)
execute_process(COMMAND "${CMAKE_COMMAND}" -E echo "${line}")
EOF
# shellcheck disable=SC2317  # used by the stages
report_fields() { cmake -DREPORT="$1" -P "$build/report-fields.cmake"; }

# shellcheck disable=SC2317  # called by name, "stage_$stage"
stage_bench() {
  needs_gpu bench
  if [ -x "$build/bench/hetero-bench" ]; then
    echo "== hetero-bench (cuda, thrust)"
    "$build/bench/hetero-bench" --backend=cuda,thrust --size=2048 --max-iter=1000 \
      --benchmark_out="$results/hetero-bench.json" --benchmark_out_format=json |
      tee "$results/hetero-bench.txt"
  else
    echo "gpu-check: hetero-bench was not built (see the build stage)"
  fi

  echo "== link probe (cuda: latency, GB/s by copy size from pageable and pinned memory)"
  "$hetero" probe --backend cuda | tee "$results/probe.txt"
  "$hetero" probe --backend cuda --json >"$results/probe.json"

  # The CPU's row: simd's plain loop (every iteration performed, the fastest host node) where this
  # build has simd, else threads; once, in exact mode (threads takes tens of seconds a run).
  local cpu=threads cpu_options=()
  # (grep reads the whole list: with -q it would stop early, and the closed pipe fail the test)
  if "$hetero" devices | grep -E '^simd +host +available' >/dev/null; then
    cpu=simd cpu_options=(--kernel simd)
  fi
  echo "== full preset ${size}x${size}, max-iter ${max_iter}, fp32: each cuda and thrust run is the median of 3; $cpu once, exact mode"
  table="$results/table.txt"
  {
    printf '%-8s %-6s %14s %-16s %9s %10s %9s %8s %10s\n' backend mode "checksum sum" hash \
      "Giter/s" "kernel s" "copy s" "GB/s" "e2e/kernel"
  } >"$table"
  status=0
  for mode in fma exact; do
    reference=""
    # cuda-per_pixel: the cuda node with its former one-thread-per-pixel kernel, for comparison.
    backends=(cuda cuda-per_pixel thrust)
    if [ "$mode" = exact ]; then backends+=("$cpu"); fi
    for backend in "${backends[@]}"; do
      runs=3
      if [ "$backend" = "$cpu" ] || [ "$backend" = cuda-per_pixel ]; then runs=1; fi
      kernel=refill
      if [ "$backend" = cuda-per_pixel ]; then kernel=per_pixel; fi
      options=()
      if [ "$backend" = "$cpu" ]; then options=("${cpu_options[@]}"); fi
      best="" walls=()
      for ((i = 1; i <= runs; i++)); do
        out="$results/render-$backend-$mode-$i.json"
        if ! HETERO_CUDA_KERNEL=$kernel "$hetero" render --preset full --width "$size" \
            --height "$size" --max-iter "$max_iter" --precision fp32 --mode "$mode" \
            --backend "${backend%-per_pixel}" "${options[@]}" --quiet --json "$out" \
            2>"$results/render-$backend-$mode.err"; then
          cat "$results/render-$backend-$mode.err" >&2
          status=1
          continue 2
        fi
        read -r _ _ _ wall _ <<<"$(report_fields "$out")"
        walls+=("$wall $out")
      done
      best=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(((runs + 1) / 2))p" | cut -d' ' -f2)
      cp "$best" "$results/render-$backend-$mode.json"
      read -r sum hash giters wall busy transfer gbps _ <<<"$(report_fields "$best")"
      # A device node's kernel and copy times are the union of its streams' intervals; a host
      # node's are the mean over its workers (the report gives both so).
      awk -v b="$backend" -v m="$mode" -v sum="$sum" -v hash="$hash" -v g="$giters" -v w="$wall" \
        -v k="$busy" -v c="$transfer" -v gbps="$gbps" 'BEGIN {
          printf "%-8s %-6s %14s %-16s %9.2f %10.4f %9.4f %8s %10s\n", b, m, sum, hash, g, k, c,
                 (gbps > 0 ? sprintf("%.1f", gbps) : "-"), (k > 0 ? sprintf("%.3f", w / k) : "-")
        }' >>"$table"
      if [ -z "$reference" ]; then
        reference="$sum $hash"
      elif [ "$reference" != "$sum $hash" ]; then
        echo "gpu-check: $backend $mode checksum $sum $hash differs from $reference" >&2
        status=1
      fi
    done
  done
  echo
  cat "$table"
  echo "kernel s / copy s: a device node's are the union of its streams' intervals; the $cpu"
  echo "node's are the mean over its workers. e2e/kernel: wall time over kernel time."

  echo "== fp64 exact on cuda, and cuda with threads under auto (a calibrating run first)"
  local shape=(--preset full --width "$size" --height "$size" --max-iter "$max_iter" --quiet)
  "$hetero" render "${shape[@]}" --precision fp64 --mode exact --backend cuda \
    --json "$results/render-cuda-fp64-exact.json" || status=1
  "$hetero" render "${shape[@]}" --precision fp32 --backend cuda,threads --policy auto \
    --json "$results/render-together-calibration.json" &&
    "$hetero" render "${shape[@]}" --precision fp32 --backend cuda,threads --policy auto \
      --json "$results/render-together.json" || status=1
  echo
  cmake -DRESULTS="$results" -DSIZE="$size" -DMAX_ITER="$max_iter" \
    -P "$root/scripts/gpu-targets.cmake" 2>&1 | tee "$results/targets.txt" || status=1
  echo "results: $results"
  [ "$status" -eq 0 ] || die "some runs failed, their checksums differ or targets were missed (see above)"
}

# ---- the stages, each timed; a failed one does not stop the next -------------------------------
summary=()
failed=0
for stage in ${stages//,/ }; do
  start=$(date +%s)
  set +e
  (set -e; "stage_$stage")
  status=$?
  set -e
  seconds=$(($(date +%s) - start))
  verdict=PASS
  if [ "$status" -ne 0 ]; then verdict=FAIL; failed=1; fi
  summary+=("$(printf '%-9s %s %5d s (budget %d s)' "$stage" "$verdict" "$seconds" "${budget[$stage]}")")
  echo "gpu-check: stage $stage: $verdict in $seconds s"
done
echo
echo "gpu-check summary (results: $results)"
printf '  %s\n' "${summary[@]}"
exit "$failed"
