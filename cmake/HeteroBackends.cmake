# Backend options: each HETERO_ENABLE_<X> is ON, OFF or AUTO, resolved once into
# HETERO_HAVE_<X> plus a reason, and summarised at the end of the configure.

set_property(GLOBAL PROPERTY HETERO_SUMMARY_LINES "")
set_property(GLOBAL PROPERTY HETERO_ENABLED_BACKENDS "")
set_property(GLOBAL PROPERTY HETERO_BACKEND_ENTRIES "")

# hetero_backend_option(<X> <doc>): declares the tri-state cache option HETERO_ENABLE_<X>.
function(hetero_backend_option name doc)
  set(HETERO_ENABLE_${name} AUTO CACHE STRING "${doc} (ON, OFF or AUTO)")
  set_property(CACHE HETERO_ENABLE_${name} PROPERTY STRINGS ON OFF AUTO)
  string(TOUPPER "${HETERO_ENABLE_${name}}" value)
  if(NOT value MATCHES "^(ON|OFF|AUTO)$")
    message(FATAL_ERROR "HETERO_ENABLE_${name}=${HETERO_ENABLE_${name}}: use ON, OFF or AUTO")
  endif()
endfunction()

# hetero_backend_wanted(<X> <out>): false when the user turned the option OFF.
function(hetero_backend_wanted name out)
  string(TOUPPER "${HETERO_ENABLE_${name}}" value)
  if(value STREQUAL "OFF")
    set(${out} FALSE PARENT_SCOPE)
  else()
    set(${out} TRUE PARENT_SCOPE)
  endif()
endfunction()

# hetero_resolve_option(<X> <found> <detail>): sets HETERO_HAVE_<X> in the caller.
# ON with <found> false stops the configure; AUTO follows <found>; OFF disables.
# <detail> says what was found, or why not.
function(hetero_resolve_option name found detail)
  string(TOUPPER "${HETERO_ENABLE_${name}}" value)
  if(value STREQUAL "OFF")
    set(have FALSE)
    set(why "disabled by HETERO_ENABLE_${name}=OFF")
  elseif(found)
    set(have TRUE)
    set(why "${detail}")
  elseif(value STREQUAL "ON")
    message(FATAL_ERROR "HETERO_ENABLE_${name}=ON but ${detail}; install it or set HETERO_ENABLE_${name}=AUTO")
  else()
    set(have FALSE)
    set(why "${detail}")
  endif()
  set(HETERO_HAVE_${name} ${have} PARENT_SCOPE)
  set(HETERO_WHY_${name} "${why}" PARENT_SCOPE)
  if(have)
    set(state "enabled ")
  else()
    set(state "disabled")
  endif()
  set_property(GLOBAL APPEND PROPERTY HETERO_SUMMARY_LINES "  ${name}|${state}|${why}")
endfunction()

# hetero_add_backend(<name> <host|device|remote> <built> <reason> [<module>]): records a node
# backend for the generated registry; a backend that is not built is still listed, with its
# reason. With HETERO_MODULES on, a backend given a <module> lives in the shared module
# hetero-<module>.so, which the library loads when the backend is first described or used.
function(hetero_add_backend name kind built reason)
  string(REPLACE "\"" "'" reason "${reason}")
  set_property(GLOBAL APPEND PROPERTY HETERO_ALL_BACKENDS ${name})
  if(NOT built)
    set_property(GLOBAL APPEND PROPERTY HETERO_BACKEND_ENTRIES
      "HETERO_DISABLED_BACKEND(${name}, ${kind}, \"${reason}\")")
    return()
  endif()
  set_property(GLOBAL APPEND PROPERTY HETERO_ENABLED_BACKENDS ${name})
  if(HETERO_MODULES AND ARGC GREATER 4)
    set(module "${ARGV4}")
    set_property(GLOBAL APPEND PROPERTY HETERO_BACKEND_ENTRIES
      "HETERO_MODULE_BACKEND(${name}, ${kind}, \"${module}\")")
    set_property(GLOBAL APPEND PROPERTY HETERO_MODULE_${module}_BACKENDS ${name})
  else()
    set_property(GLOBAL APPEND PROPERTY HETERO_BACKEND_ENTRIES "HETERO_BACKEND(${name})")
  endif()
endfunction()

# hetero_add_module_kernels(<module> <names>...): host tile kernels the backend module <module>
# registers when it loads (e.g. simd's), so the library knows their names before loading it.
function(hetero_add_module_kernels module)
  if(NOT HETERO_MODULES)
    return()
  endif()
  foreach(kernel IN LISTS ARGN)
    set_property(GLOBAL APPEND PROPERTY HETERO_BACKEND_ENTRIES
      "HETERO_MODULE_KERNEL(\"${kernel}\", \"${module}\")")
  endforeach()
endfunction()

# hetero_node_target(<module> <out>): the target a backend's sources go into: the shared module
# hetero-<module>.so (made on first call) when HETERO_MODULES is on, else the library itself.
# A module links the library and sees its private headers; it is built into
# ${HETERO_MODULE_BUILD_DIR} and installed into <libdir>/hetero, beside the library.
function(hetero_node_target module out)
  if(NOT HETERO_MODULES)
    set(${out} hetero PARENT_SCOPE)
    return()
  endif()
  set(target hetero_module_${module})
  if(NOT TARGET ${target})
    add_library(${target} SHARED "${PROJECT_SOURCE_DIR}/host/nodes/module_entry.cpp")
    set_target_properties(${target} PROPERTIES
      PREFIX "" OUTPUT_NAME "hetero-${module}" LIBRARY_OUTPUT_DIRECTORY "${HETERO_MODULE_BUILD_DIR}"
      POSITION_INDEPENDENT_CODE ON INSTALL_RPATH "$ORIGIN/.." INSTALL_RPATH_USE_LINK_PATH ON
      BUILD_WITH_INSTALL_RPATH ON)
    target_include_directories(${target} PRIVATE
      "${PROJECT_SOURCE_DIR}/host" "${PROJECT_SOURCE_DIR}/kernels" "${HETERO_GENERATED_DIR}/private"
      "${HETERO_GENERATED_DIR}/modules/${module}")
    target_link_libraries(${target} PRIVATE hetero hetero_build_flags fmt::fmt
                                            nlohmann_json::nlohmann_json)
    install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/hetero)
    set_property(GLOBAL APPEND PROPERTY HETERO_MODULES_BUILT ${module})
  endif()
  set(${out} ${target} PARENT_SCOPE)
endfunction()

# hetero_write_module_entries(): each module's list of the backends its entry point registers.
function(hetero_write_module_entries)
  get_property(modules GLOBAL PROPERTY HETERO_MODULES_BUILT)
  foreach(module IN LISTS modules)
    get_property(backends GLOBAL PROPERTY HETERO_MODULE_${module}_BACKENDS)
    set(text "// Generated by CMake: the backends of module ${module}; do not edit.\n")
    foreach(backend IN LISTS backends)
      string(APPEND text "HETERO_BACKEND(${backend})\n")
    endforeach()
    file(CONFIGURE OUTPUT "${HETERO_GENERATED_DIR}/modules/${module}/module_backends.inc"
         CONTENT "${text}")
  endforeach()
endfunction()

# hetero_write_backend_list(<file>): writes the X-macro list the node registry includes.
function(hetero_write_backend_list file)
  get_property(entries GLOBAL PROPERTY HETERO_BACKEND_ENTRIES)
  set(text "// Generated by CMake from the backend options, in registration order; do not edit.\n")
  foreach(entry IN LISTS entries)
    string(APPEND text "${entry}\n")
  endforeach()
  file(CONFIGURE OUTPUT "${file}" CONTENT "${text}")
endfunction()

function(hetero_print_summary)
  get_property(lines GLOBAL PROPERTY HETERO_SUMMARY_LINES)
  get_property(enabled GLOBAL PROPERTY HETERO_ENABLED_BACKENDS)
  message(STATUS "")
  message(STATUS "hetero ${PROJECT_VERSION} configuration")
  message(STATUS "  build type: ${CMAKE_BUILD_TYPE}   compiler: ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
  message(STATUS "  option   state     detail")
  foreach(line IN LISTS lines)
    string(REPLACE "|" ";" parts "${line}")
    list(GET parts 0 name)
    list(GET parts 1 state)
    list(GET parts 2 why)
    string(LENGTH "${name}" len)
    math(EXPR pad "9 - ${len}")
    string(REPEAT " " ${pad} spaces)
    message(STATUS "${name}${spaces}${state}  ${why}")
  endforeach()
  string(REPLACE ";" ", " enabled "${enabled}")
  message(STATUS "  nodes built: ${enabled}")
  message(STATUS "  tests: ${HETERO_BUILD_TESTS}   benchmarks: ${HETERO_BUILD_BENCHMARKS}")
  message(STATUS "")
endfunction()

# hetero_depend_on_modules(<target>): building <target> (a program that loads the modules, such
# as the hetero tool) builds every module too.
function(hetero_depend_on_modules target)
  get_property(modules GLOBAL PROPERTY HETERO_MODULES_BUILT)
  foreach(module IN LISTS modules)
    add_dependencies(${target} hetero_module_${module})
  endforeach()
endfunction()

# hetero_link_modules(<target>): links every backend module into <target> (the test and bench
# programs, which reach into the nodes' own sources). The library still opens each module by
# dlopen when a backend is first used, and gets the copy already loaded.
function(hetero_link_modules target)
  get_property(modules GLOBAL PROPERTY HETERO_MODULES_BUILT)
  foreach(module IN LISTS modules)
    target_link_libraries(${target} PRIVATE hetero_module_${module})
  endforeach()
endfunction()
