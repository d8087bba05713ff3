# Find module for Kokkos: gives the clean imported target hetero::kokkos, from a user's own
# Kokkos through its package config, or from Debian's libtrilinos-kokkos-dev through a shim.
#
# Order:
#   1. find_package(Kokkos CONFIG): a Kokkos given with Kokkos_ROOT, Kokkos_DIR or
#      CMAKE_PREFIX_PATH, used as it is when its Kokkos::kokkos target is sound.
#   2. The shim: Debian's package config (trilinos 13.2, Kokkos 3.4.1) exports the include
#      folder <libdir>/../include, which does not exist; the shim finds the real headers
#      (Kokkos_Core.hpp, /usr/include/trilinos on Debian) and libkokkoscore with
#      find_path/find_library and makes an imported library of them. When the user named a
#      Kokkos_ROOT, the shim only stands in for a broken package config under it; a Kokkos_ROOT
#      without one is reported instead of quietly using another Kokkos.
#
# Inputs (optional): Kokkos_ROOT, Kokkos_DIR; KokkosShim_KOKKOS_DIR, a package config folder
# recorded by an installed hetero so its consumers find the same Kokkos.
# Results: KokkosShim_FOUND, KokkosShim_VERSION (e.g. 3.4.1), KokkosShim_DEVICES (enabled
# backends in Kokkos' spelling, e.g. SERIAL or OPENMP;CUDA), KokkosShim_SOURCE ("config" or
# "shim"), KokkosShim_LOCATION (package config folder or header folder), KokkosShim_CXX_COMPILER
# (the compiler a package config asks for; empty for the shim), KokkosShim_REASON (why Kokkos
# was not found), and the target hetero::kokkos.

include(FindPackageHandleStandardArgs)

# _kokkos_shim_read_header(<include dir>): version and enabled backends from KokkosCore_config.h.
function(_kokkos_shim_read_header include_dir)
  set(_kokkos_shim_header_version "" PARENT_SCOPE)
  set(_kokkos_shim_header_devices "" PARENT_SCOPE)
  set(header "${include_dir}/KokkosCore_config.h")
  if(NOT EXISTS "${header}")
    return()
  endif()
  file(STRINGS "${header}" version_line REGEX "^#define KOKKOS_VERSION [0-9]+")
  if(version_line MATCHES "KOKKOS_VERSION ([0-9]+)")
    math(EXPR major "${CMAKE_MATCH_1} / 10000")
    math(EXPR minor "${CMAKE_MATCH_1} / 100 % 100")
    math(EXPR patch "${CMAKE_MATCH_1} % 100")
    set(_kokkos_shim_header_version "${major}.${minor}.${patch}" PARENT_SCOPE)
  endif()
  file(STRINGS "${header}" device_lines
       REGEX "^#define KOKKOS_ENABLE_(SERIAL|OPENMP|THREADS|CUDA|HIP|SYCL|HPX|OPENMPTARGET)$")
  set(devices "")
  foreach(line IN LISTS device_lines)
    string(REGEX REPLACE "^#define KOKKOS_ENABLE_" "" device "${line}")
    list(APPEND devices "${device}")
  endforeach()
  set(_kokkos_shim_header_devices "${devices}" PARENT_SCOPE)
endfunction()

# _kokkos_shim_try_config(): find_package(Kokkos CONFIG) and a verdict on its target.
# Sets _kokkos_shim_config_ok, _kokkos_shim_config_why, _kokkos_shim_config_dir (the folder
# of the package config it loaded), and Kokkos_* from the package config.
function(_kokkos_shim_try_config)
  # Kokkos' package config forces CMAKE_CXX_EXTENSIONS OFF into the cache when the project
  # leaves it unset; a local value keeps that decision out of the configure until the config
  # is known to be usable (applied below, as Kokkos asks, when it is).
  set(CMAKE_CXX_EXTENSIONS OFF)
  if(NOT DEFINED Kokkos_DIR AND DEFINED KokkosShim_KOKKOS_DIR)
    set(Kokkos_DIR "${KokkosShim_KOKKOS_DIR}")
  endif()
  find_package(Kokkos CONFIG QUIET)
  set(ok FALSE)
  set(why "")
  if(NOT Kokkos_FOUND)
    set(why "no KokkosConfig.cmake found")
  elseif(NOT TARGET Kokkos::kokkos)
    set(why "the package config in ${Kokkos_DIR} defines no Kokkos::kokkos target")
  else()
    set(ok TRUE)
    get_target_property(includes Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
    foreach(dir IN LISTS includes)
      if(NOT dir MATCHES "\\$<" AND NOT IS_DIRECTORY "${dir}")
        set(ok FALSE)
        set(why "the package config in ${Kokkos_DIR} exports the include folder ${dir}, which does not exist")
        break()
      endif()
    endforeach()
  endif()
  set(_kokkos_shim_config_ok ${ok} PARENT_SCOPE)
  set(_kokkos_shim_config_why "${why}" PARENT_SCOPE)
  set(_kokkos_shim_config_dir "${Kokkos_DIR}" PARENT_SCOPE)
  foreach(var IN ITEMS Kokkos_FOUND Kokkos_VERSION Kokkos_DEVICES Kokkos_INCLUDE_DIRS
                       Kokkos_LIBRARY_DIRS Kokkos_CXX_COMPILER KOKKOS_USE_CXX_EXTENSIONS)
    if(DEFINED ${var})
      set(${var} "${${var}}" PARENT_SCOPE)
    endif()
  endforeach()
endfunction()

if(TARGET hetero::kokkos)
  # Found before: the results were kept with the target.
  foreach(_kokkos_shim_var IN ITEMS VERSION DEVICES SOURCE LOCATION CXX_COMPILER)
    get_target_property(KokkosShim_${_kokkos_shim_var} hetero::kokkos
                        INTERFACE_KOKKOS_SHIM_${_kokkos_shim_var})
  endforeach()
  find_package_handle_standard_args(KokkosShim
    REQUIRED_VARS KokkosShim_LOCATION VERSION_VAR KokkosShim_VERSION)
  return()
endif()

set(KokkosShim_REASON "")
set(KokkosShim_SOURCE "")
set(KokkosShim_LOCATION "")
set(KokkosShim_DEVICES "")
set(KokkosShim_VERSION "")
set(KokkosShim_CXX_COMPILER "")

_kokkos_shim_try_config()
# A Kokkos_ROOT the user named: the shim may stand in for a broken package config under it,
# never for a Kokkos found elsewhere.
set(_kokkos_shim_root "")
if(DEFINED Kokkos_ROOT)
  set(_kokkos_shim_root "${Kokkos_ROOT}")
elseif(DEFINED ENV{Kokkos_ROOT})
  set(_kokkos_shim_root "$ENV{Kokkos_ROOT}")
endif()
set(_kokkos_shim_outside_root FALSE)
if(_kokkos_shim_root)
  get_filename_component(_kokkos_shim_root_real "${_kokkos_shim_root}" REALPATH)
  get_filename_component(_kokkos_shim_dir_real "${_kokkos_shim_config_dir}" REALPATH)
  string(FIND "${_kokkos_shim_dir_real}/" "${_kokkos_shim_root_real}/" _kokkos_shim_at)
  if(NOT _kokkos_shim_config_dir OR NOT _kokkos_shim_at EQUAL 0)
    set(_kokkos_shim_outside_root TRUE)
  endif()
endif()

if(_kokkos_shim_config_ok AND NOT _kokkos_shim_outside_root)
  set(KokkosShim_SOURCE config)
  set(KokkosShim_LOCATION "${_kokkos_shim_config_dir}")
  set(KokkosShim_DEVICES "${Kokkos_DEVICES}")
  set(KokkosShim_VERSION "${Kokkos_VERSION}")
  set(KokkosShim_CXX_COMPILER "${Kokkos_CXX_COMPILER}")
  get_target_property(_kokkos_shim_includes Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
  foreach(_kokkos_shim_dir IN LISTS _kokkos_shim_includes)
    _kokkos_shim_read_header("${_kokkos_shim_dir}")
    if(_kokkos_shim_header_version)
      set(KokkosShim_VERSION "${_kokkos_shim_header_version}")
      break()
    endif()
  endforeach()
  # What Kokkos' own package config does for a Kokkos built without compiler extensions.
  if(DEFINED KOKKOS_USE_CXX_EXTENSIONS AND NOT KOKKOS_USE_CXX_EXTENSIONS AND
     (NOT DEFINED CMAKE_CXX_EXTENSIONS OR CMAKE_CXX_EXTENSIONS))
    message(STATUS "Kokkos in ${_kokkos_shim_config_dir} is built without C++ extensions: setting CMAKE_CXX_EXTENSIONS=OFF")
    set(CMAKE_CXX_EXTENSIONS OFF CACHE BOOL "" FORCE)
  endif()
  add_library(hetero::kokkos INTERFACE IMPORTED)
  set_target_properties(hetero::kokkos PROPERTIES INTERFACE_LINK_LIBRARIES Kokkos::kokkos)
elseif(_kokkos_shim_outside_root)
  # The user asked for that Kokkos: say so rather than take another.
  set(KokkosShim_REASON "Kokkos_ROOT=${_kokkos_shim_root} holds no KokkosConfig.cmake (give the prefix Kokkos was installed to)")
else()
  # The shim, over Debian's layout (or any Kokkos installed without a usable package config).
  find_path(KokkosShim_INCLUDE_DIR NAMES Kokkos_Core.hpp
            HINTS ${Kokkos_INCLUDE_DIRS} ${_kokkos_shim_root}
            PATH_SUFFIXES include/trilinos include trilinos kokkos
            DOC "Folder holding Kokkos_Core.hpp")
  find_library(KokkosShim_CORE_LIBRARY NAMES kokkoscore trilinos_kokkoscore
               HINTS ${Kokkos_LIBRARY_DIRS} ${_kokkos_shim_root}
               PATH_SUFFIXES lib lib64 ${CMAKE_LIBRARY_ARCHITECTURE} DOC "The Kokkos core library")
  mark_as_advanced(KokkosShim_INCLUDE_DIR KokkosShim_CORE_LIBRARY)
  if(NOT KokkosShim_INCLUDE_DIR OR NOT KokkosShim_CORE_LIBRARY)
    set(KokkosShim_REASON "Kokkos not found (install libtrilinos-kokkos-dev, or give -DKokkos_ROOT=<prefix>)")
  else()
    _kokkos_shim_read_header("${KokkosShim_INCLUDE_DIR}")
    set(KokkosShim_VERSION "${_kokkos_shim_header_version}")
    set(KokkosShim_DEVICES "${_kokkos_shim_header_devices}")
    set(_kokkos_shim_device_backends ${KokkosShim_DEVICES})
    list(FILTER _kokkos_shim_device_backends INCLUDE REGEX "^(CUDA|HIP|SYCL|OPENMPTARGET)$")
    if(NOT KokkosShim_VERSION)
      set(KokkosShim_REASON "${KokkosShim_INCLUDE_DIR} has no KokkosCore_config.h with a KOKKOS_VERSION")
    elseif(_kokkos_shim_device_backends)
      # A device backend needs Kokkos' own compiler setup, which only its package config has.
      set(KokkosShim_REASON "the Kokkos in ${KokkosShim_INCLUDE_DIR} enables ${_kokkos_shim_device_backends}; give its package config with -DKokkos_DIR=<dir>")
    else()
      set(KokkosShim_SOURCE shim)
      set(KokkosShim_LOCATION "${KokkosShim_INCLUDE_DIR}")
      set(_kokkos_shim_links "")
      if("OPENMP" IN_LIST KokkosShim_DEVICES)
        find_package(OpenMP COMPONENTS CXX QUIET)
        if(NOT OpenMP_CXX_FOUND)
          set(KokkosShim_REASON "the Kokkos in ${KokkosShim_INCLUDE_DIR} enables OpenMP, which this compiler lacks")
        endif()
        list(APPEND _kokkos_shim_links OpenMP::OpenMP_CXX)
      endif()
      if("THREADS" IN_LIST KokkosShim_DEVICES)
        find_package(Threads QUIET)
        list(APPEND _kokkos_shim_links Threads::Threads)
      endif()
      list(APPEND _kokkos_shim_links ${CMAKE_DL_LIBS})
      if(NOT KokkosShim_REASON)
        add_library(hetero::kokkos UNKNOWN IMPORTED)
        set_target_properties(hetero::kokkos PROPERTIES
          IMPORTED_LOCATION "${KokkosShim_CORE_LIBRARY}"
          INTERFACE_INCLUDE_DIRECTORIES "${KokkosShim_INCLUDE_DIR}"
          INTERFACE_COMPILE_FEATURES cxx_std_14
          INTERFACE_LINK_LIBRARIES "${_kokkos_shim_links}")
      else()
        set(KokkosShim_SOURCE "")
        set(KokkosShim_LOCATION "")
      endif()
    endif()
  endif()
endif()

if(TARGET hetero::kokkos)
  foreach(_kokkos_shim_var IN ITEMS VERSION DEVICES SOURCE LOCATION CXX_COMPILER)
    set_property(TARGET hetero::kokkos PROPERTY
                 INTERFACE_KOKKOS_SHIM_${_kokkos_shim_var} "${KokkosShim_${_kokkos_shim_var}}")
  endforeach()
endif()
if(NOT KokkosShim_LOCATION AND NOT KokkosShim_REASON)
  set(KokkosShim_REASON "Kokkos not found (install libtrilinos-kokkos-dev, or give -DKokkos_ROOT=<prefix>)")
endif()
find_package_handle_standard_args(KokkosShim
  REQUIRED_VARS KokkosShim_LOCATION VERSION_VAR KokkosShim_VERSION REASON_FAILURE_MESSAGE "${KokkosShim_REASON}")
