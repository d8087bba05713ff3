# Checks the PTX of the CUDA and Thrust kernels (-DPTX=file|file...): in each exact-mode entry
# (template argument Arith::exact, "ArithE0E" in its mangled name) every f32/f64 mul, add and sub
# carries .rn, which forbids ptxas to fuse them, and there is no fma; each fma-mode entry
# ("ArithE1E") has fma.rn. Fails naming the entry and the instruction.

# One list item per entry, from its .entry line to the next one (PTX's own ';' escaped first).
set(entries "")
string(REPLACE "|" ";" files "${PTX}")
foreach(file IN LISTS files)
  file(READ "${file}" ptx)
  string(REPLACE ";" "<semicolon>" ptx "${ptx}")
  string(REPLACE ".entry " ";.entry " ptx "${ptx}")
  list(POP_FRONT ptx)  # what precedes the first entry
  list(APPEND entries ${ptx})
endforeach()
set(exact 0)
set(fused 0)
foreach(entry IN LISTS entries)
  string(REGEX MATCH "\\.entry ([^(]+)" _ "${entry}")
  set(name "${CMAKE_MATCH_1}")
  if(name MATCHES "ArithE0E")
    math(EXPR exact "${exact} + 1")
    if(entry MATCHES "[ \t](fma\\.[a-z0-9.]+)")
      message(FATAL_ERROR "exact-mode kernel ${name} contracts: ${CMAKE_MATCH_1}")
    endif()
    if(entry MATCHES "[ \t]((mul|add|sub)(\\.(ftz|sat))*\\.f(32|64))[ \t]")
      message(FATAL_ERROR "exact-mode kernel ${name} has ${CMAKE_MATCH_1} without .rn: ptxas may "
                          "fuse it (build with --fmad=false)")
    endif()
  elseif(name MATCHES "ArithE1E")
    if(NOT entry MATCHES "fma\\.rn\\.f(32|64)")
      message(FATAL_ERROR "fma-mode kernel ${name} has no fma.rn: the check does not read the "
                          "kernels it means to")
    endif()
    math(EXPR fused "${fused} + 1")
  endif()
endforeach()
if(exact EQUAL 0 OR fused EQUAL 0)
  message(FATAL_ERROR "${PTX}: ${exact} exact-mode and ${fused} fma-mode kernels found; expected both")
endif()
message(STATUS "${exact} exact-mode kernels carry .rn on every mul/add/sub and no fma; "
               "${fused} fma-mode kernels have their fma.rn")
