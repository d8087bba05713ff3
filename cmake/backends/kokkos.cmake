# Kokkos node: a user's Kokkos (Kokkos_ROOT, Kokkos_DIR) or Debian's libtrilinos-kokkos-dev,
# found by cmake/FindKokkosShim.cmake as the imported target hetero::kokkos.
hetero_backend_wanted(KOKKOS wanted)
set(found FALSE)
set(detail "Kokkos not found (install libtrilinos-kokkos-dev, or give -DKokkos_ROOT=<prefix>)")
if(wanted)
  find_package(KokkosShim QUIET)
  if(KokkosShim_FOUND)
    # Kokkos' backend names as its execution spaces spell them.
    set(spaces "")
    foreach(device IN LISTS KokkosShim_DEVICES)
      string(TOUPPER "${device}" device)
      if(device STREQUAL "OPENMP")
        list(APPEND spaces OpenMP)
      elseif(device STREQUAL "OPENMPTARGET")
        list(APPEND spaces OpenMPTarget)
      elseif(device MATCHES "^(SYCL|HPX|HIP)$")
        list(APPEND spaces ${device})
      else()
        string(SUBSTRING "${device}" 0 1 first)
        string(SUBSTRING "${device}" 1 -1 rest)
        string(TOLOWER "${rest}" rest)
        list(APPEND spaces "${first}${rest}")
      endif()
    endforeach()
    string(REPLACE ";" ", " spaces "${spaces}")
    set(device_spaces ${KokkosShim_DEVICES})
    list(FILTER device_spaces INCLUDE REGEX "^(CUDA|HIP|SYCL|OPENMPTARGET)$")
    get_filename_component(compiler "${CMAKE_CXX_COMPILER}" REALPATH)
    get_filename_component(kokkos_compiler "${KokkosShim_CXX_COMPILER}" REALPATH)
    if(device_spaces AND KokkosShim_CXX_COMPILER AND NOT compiler STREQUAL kokkos_compiler)
      # Device code in hetero's node needs the compiler Kokkos was built with (nvcc_wrapper).
      set(detail "Kokkos ${KokkosShim_VERSION} (${spaces}) needs hetero configured with -DCMAKE_CXX_COMPILER=${KokkosShim_CXX_COMPILER}")
    elseif(KokkosShim_SOURCE STREQUAL "config")
      set(found TRUE)
      set(detail "Kokkos ${KokkosShim_VERSION} (${spaces}) from ${KokkosShim_LOCATION}")
    else()
      set(found TRUE)
      set(detail "Kokkos ${KokkosShim_VERSION} (${spaces})")
    endif()
  elseif(KokkosShim_REASON)
    set(detail "${KokkosShim_REASON}")
  endif()
endif()
hetero_resolve_option(KOKKOS ${found} "${detail}")
hetero_add_backend(kokkos host ${HETERO_HAVE_KOKKOS} "${HETERO_WHY_KOKKOS}" kokkos)

if(HETERO_HAVE_KOKKOS AND NOT HETERO_MODULES)
  # The library is static: its consumers link hetero::kokkos too, so the installed package
  # config loads this find module from beside itself and finds the same Kokkos.
  install(FILES "${CMAKE_CURRENT_LIST_DIR}/../FindKokkosShim.cmake"
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hetero)
  set(kokkos_dependency "")
  if(KokkosShim_SOURCE STREQUAL "config")
    string(APPEND kokkos_dependency
      "if(NOT DEFINED Kokkos_DIR AND NOT DEFINED Kokkos_ROOT)\n"
      "  set(KokkosShim_KOKKOS_DIR \"${KokkosShim_LOCATION}\")\n"
      "endif()\n")
  endif()
  string(APPEND kokkos_dependency
    "list(PREPEND CMAKE_MODULE_PATH \"\${CMAKE_CURRENT_LIST_DIR}\")\n"
    "find_dependency(KokkosShim)\n"
    "list(POP_FRONT CMAKE_MODULE_PATH)\n"
    "unset(KokkosShim_KOKKOS_DIR)")
  set_property(GLOBAL APPEND PROPERTY HETERO_PACKAGE_DEPENDENCIES "${kokkos_dependency}")
endif()
