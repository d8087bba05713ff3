# SIMD host node: enabled when Google Highway's CMake package is found (Debian: libhwy-dev).
# The kernel is compiled for every instruction set Highway targets on this architecture and
# dispatched at run time, so the build machine's CPU does not limit the binary.
hetero_backend_wanted(SIMD wanted)
set(found FALSE)
set(detail "Google Highway 1.x not found (install libhwy-dev)")
if(wanted)
  find_package(hwy 1.0 QUIET)
  if(hwy_FOUND AND TARGET hwy::hwy)
    set(found TRUE)
    set(detail "Highway ${hwy_VERSION}")
  endif()
endif()
hetero_resolve_option(SIMD ${found} "${detail}")
hetero_add_backend(simd host ${HETERO_HAVE_SIMD} "${HETERO_WHY_SIMD}" simd)
# The simd module registers these host tile kernels (threads and openmp run them too).
hetero_add_module_kernels(simd simd-cycles simd simd-shortcuts)
if(HETERO_HAVE_SIMD)
  # A static library links hwy::hwy, so consumers of the installed package need it too.
  if(NOT HETERO_MODULES)
    set_property(GLOBAL APPEND PROPERTY HETERO_PACKAGE_DEPENDENCIES "find_dependency(hwy)")
  endif()
endif()
