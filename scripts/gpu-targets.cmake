# The GPU targets of the GPU check, each measured from the files the bench stage wrote in
# RESULTS, printed as one line: target, value, threshold, PASS or FAIL, and the command that
# measured it. Run: cmake -DRESULTS=dir -DSIZE=n -DMAX_ITER=n -P scripts/gpu-targets.cmake
# A target whose file is missing is FAIL ("not measured"). Exits non-zero when one fails.
cmake_minimum_required(VERSION 3.25)
set(render "hetero render --preset full --width ${SIZE} --height ${SIZE} --max-iter ${MAX_ITER}")
set(failed 0)

# Reads `path` (a list of keys and indices) of the JSON file `file` into `out`; empty when the
# file or the value is missing.
function(json_value out file)
  set(value "")
  if(EXISTS "${file}")
    file(READ "${file}" json)
    string(JSON value ERROR_VARIABLE error GET "${json}" ${ARGN})
    if(error)
      set(value "")
    endif()
  endif()
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# Prints one target's line; `comparison` is GREATER_EQUAL or LESS_EQUAL.
function(report name value comparison threshold command)
  if(value STREQUAL "")
    set(verdict FAIL)
    set(shown "not measured")
  else()
    string(REGEX MATCH "^[0-9]+(\\.[0-9]*)?(e[-+]?[0-9]+)?" number "${value}")
    execute_process(COMMAND awk "BEGIN { v = ${number}; t = ${threshold};
                                         ok = (\"${comparison}\" == \"GREATER_EQUAL\") ? v >= t : v <= t;
                                         printf \"%s %.3f\", ok ? \"PASS\" : \"FAIL\", v }"
                    OUTPUT_VARIABLE result)
    separate_arguments(result)
    list(GET result 0 verdict)
    list(GET result 1 shown)
  endif()
  if(verdict STREQUAL "FAIL")
    set(failed 1 PARENT_SCOPE)
  endif()
  string(REPLACE "GREATER_EQUAL" ">=" sign "${comparison}")
  string(REPLACE "LESS_EQUAL" "<=" sign "${sign}")
  message("  ${verdict}  ${name}: ${shown} (target ${sign} ${threshold})   [${command}]")
endfunction()

message("GPU targets (${SIZE}x${SIZE}, max-iter ${MAX_ITER}; rates count performed iterations):")
foreach(mode fma exact)
  json_value(giters "${RESULTS}/render-cuda-${mode}.json" giters_per_s)
  if(mode STREQUAL "fma")
    set(threshold 2500)
  else()
    set(threshold 2000)
  endif()
  report("cuda fp32 ${mode} Giter/s" "${giters}" GREATER_EQUAL ${threshold}
         "${render} --precision fp32 --mode ${mode} --backend cuda --json F, median of 3")
endforeach()
json_value(giters "${RESULTS}/render-cuda-fp64-exact.json" giters_per_s)
report("cuda fp64 exact Giter/s" "${giters}" GREATER_EQUAL 1000
       "${render} --precision fp64 --mode exact --backend cuda --json F")

# The pinned device-to-host bandwidth at the largest size the probe copied, in GB/s.
set(pinned "")
json_value(sizes "${RESULTS}/probe.json" links 0 link to_host_bytes_per_s_by_size pinned)
if(NOT sizes STREQUAL "")
  string(JSON count LENGTH "${sizes}")
  set(largest 0)
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON size MEMBER "${sizes}" ${i})
    if(size GREATER largest)
      set(largest ${size})
      string(JSON bytes_per_s GET "${sizes}" ${size})
    endif()
  endforeach()
  execute_process(COMMAND awk "BEGIN { printf \"%.3f\", ${bytes_per_s} / 1e9 }"
                  OUTPUT_VARIABLE pinned)
endif()
report("pinned device-to-host GB/s" "${pinned}" GREATER_EQUAL 40 "hetero probe --backend cuda --json")

# End to end against kernel time: the run's wall time over the union of its kernels' intervals.
set(worst "")
foreach(mode fma exact)
  json_value(wall "${RESULTS}/render-cuda-${mode}.json" wall_s)
  json_value(busy "${RESULTS}/render-cuda-${mode}.json" nodes 0 busy_s)
  if(NOT wall STREQUAL "" AND NOT busy STREQUAL "")
    execute_process(COMMAND awk "BEGIN { r = ${wall} / ${busy}; w = \"${worst}\";
                                         printf \"%.4f\", (w == \"\" || r > w) ? r : w }"
                    OUTPUT_VARIABLE worst)
  endif()
endforeach()
report("cuda end-to-end / kernel time" "${worst}" LESS_EQUAL 1.15
       "${render} --precision fp32 --backend cuda --json F (both modes, the worse)")

# CPU and GPU together under auto: efficiency against the sum of each alone, with the CPU
# taking at least 0.8x its share of the throughput (a run that drops the CPU does not count).
set(together "${RESULTS}/render-together.json")
json_value(efficiency "${together}" efficiency)
json_value(ideal "${together}" ideal_giters_per_s)
set(cpu_ok "")
foreach(i 0 1)
  json_value(name "${together}" nodes ${i} name)
  if(name STREQUAL "threads")
    json_value(share "${together}" nodes ${i} iteration_share)
    json_value(model "${together}" nodes ${i} model_giters_per_s)
    if(NOT share STREQUAL "" AND NOT model STREQUAL "" AND NOT ideal STREQUAL "")
      execute_process(COMMAND awk "BEGIN { print (${share} > 0 && ${share} >= 0.8 * ${model} / ${ideal}) ? 1 : 0 }"
                      OUTPUT_VARIABLE cpu_ok)
      string(STRIP "${cpu_ok}" cpu_ok)
    endif()
  endif()
endforeach()
if(NOT cpu_ok STREQUAL "1")
  set(efficiency "")
endif()
report("cuda+threads efficiency (CPU share >= 0.8x its throughput share)" "${efficiency}"
       GREATER_EQUAL 0.9 "${render} --precision fp32 --backend cuda,threads --policy auto --json F, after a calibrating run")

if(failed)
  message(FATAL_ERROR "gpu-check: some targets were not met (above)")
endif()
