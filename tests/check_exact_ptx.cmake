# Checks the PTX of the CUDA and Thrust kernels (-DPTX=file|file...): in each exact-mode entry
# (template argument Arith::exact, "ArithE0E" in its mangled name) every f32/f64 mul, add and sub
# carries .rn, which forbids ptxas to fuse them, and there is no fma; each fma-mode entry
# ("ArithE1E") has fma.rn; every entry of one mode has its twin of the other (the same name but
# for the mode), so no instantiation goes unchecked; and no device function outside the entries
# (.func, not inlined) does f32/f64 arithmetic, whose mode no entry name would tell. Fails naming
# the function and the instruction.

cmake_minimum_required(VERSION 3.25)  # as the project; script mode needs it for IN_LIST

# The unqualified name of a mangled nested name (_ZN<len><id>...<len><id>I... -> the last <id>).
function(unqualified_name mangled out)
  string(REGEX REPLACE "^_ZN(K)?" "" rest "${mangled}")
  set(name "${mangled}")
  while(rest MATCHES "^([0-9]+)")
    set(length "${CMAKE_MATCH_1}")
    string(LENGTH "${length}" digits)
    string(SUBSTRING "${rest}" ${digits} ${length} name)
    math(EXPR skip "${digits} + ${length}")
    string(SUBSTRING "${rest}" ${skip} -1 rest)
  endwhile()
  set(${out} "${name}" PARENT_SCOPE)
endfunction()

# One list item per function, from its .entry or .func line to the next one (PTX's own ';'
# escaped first; declarations, '.extern .func ...;', are not definitions and are dropped).
set(functions "")
string(REPLACE "|" ";" files "${PTX}")
foreach(file IN LISTS files)
  file(READ "${file}" ptx)
  string(REPLACE ";" "<semicolon>" ptx "${ptx}")
  string(REGEX REPLACE "\n\\.extern \\.func [^\n]*" "" ptx "${ptx}")
  string(REPLACE ".entry " ";.entry " ptx "${ptx}")
  string(REGEX REPLACE "\n((\\.visible |\\.weak )?\\.func )" "\n;\\1" ptx "${ptx}")
  list(POP_FRONT ptx)  # what precedes the first function
  list(APPEND functions ${ptx})
endforeach()

set(exact_names "")
set(fused_names "")
set(kernels "")
foreach(function IN LISTS functions)
  if(function MATCHES "^\\.entry ([^(]+)")
    set(name "${CMAKE_MATCH_1}")
    if(name MATCHES "ArithE0E")
      if(function MATCHES "[ \t](fma\\.[a-z0-9.]+)")
        message(FATAL_ERROR "exact-mode kernel ${name} contracts: ${CMAKE_MATCH_1}")
      endif()
      if(function MATCHES "[ \t]((mul|add|sub)(\\.(ftz|sat))*\\.f(32|64))[ \t]")
        message(FATAL_ERROR "exact-mode kernel ${name} has ${CMAKE_MATCH_1} without .rn: ptxas "
                            "may fuse it (build with --fmad=false)")
      endif()
      list(APPEND exact_names "${name}")
    elseif(name MATCHES "ArithE1E")
      if(NOT function MATCHES "fma\\.rn\\.f(32|64)")
        message(FATAL_ERROR "fma-mode kernel ${name} has no fma.rn: the check does not read the "
                            "kernels it means to")
      endif()
      list(APPEND fused_names "${name}")
    else()
      continue()
    endif()
    unqualified_name("${name}" kernel)
    list(APPEND kernels "${kernel}")
  else()
    string(REGEX MATCH "\\.func[ \t]+(\\([^)]*\\)[ \t]*)?([A-Za-z0-9_$.]+)" _ "${function}")
    set(name "${CMAKE_MATCH_2}")
    if(function MATCHES "[ \t]((fma|mul|add|sub)(\\.[a-z0-9]+)*\\.f(32|64))[ \t]")
      message(FATAL_ERROR "device function ${name} has ${CMAKE_MATCH_1} outside any kernel: no "
                          "entry name tells its mode (force-inline it into its kernels)")
    endif()
  endif()
endforeach()

# Each exact-mode entry has its fma-mode twin, and the other way round.
function(expect_twins names mode from twins twin_mode to)
  foreach(name IN LISTS ${names})
    string(REPLACE "${from}" "${to}" twin "${name}")
    if(NOT twin IN_LIST ${twins})
      message(FATAL_ERROR "${mode} kernel ${name} has no ${twin_mode} twin ${twin}")
    endif()
  endforeach()
endfunction()
expect_twins(exact_names exact-mode ArithE0E fused_names fma-mode ArithE1E)
expect_twins(fused_names fma-mode ArithE1E exact_names exact-mode ArithE0E)

list(LENGTH exact_names exact)
list(LENGTH fused_names fused)
if(exact EQUAL 0 OR fused EQUAL 0)
  message(FATAL_ERROR "${PTX}: ${exact} exact-mode and ${fused} fma-mode kernels found; expected both")
endif()
list(REMOVE_DUPLICATES kernels)
list(JOIN kernels ", " kernels)
message(STATUS "${exact} exact-mode kernels carry .rn on every mul/add/sub and no fma; "
               "${fused} fma-mode kernels have their fma.rn (${kernels})")
