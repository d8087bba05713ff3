# OpenCL device node: enabled when the OpenCL headers and an ICD loader are found (Debian:
# ocl-icd-opencl-dev and opencl-headers). Devices are looked up at run time, so a build machine
# without an OpenCL platform still builds the node; it then reports itself unavailable.
hetero_backend_wanted(OPENCL wanted)
set(found FALSE)
set(detail "no OpenCL headers or ICD loader found (install ocl-icd-opencl-dev and opencl-headers)")
if(wanted)
  find_package(OpenCL QUIET)
  if(OpenCL_FOUND)
    set(found TRUE)
    if(OpenCL_LIBRARY MATCHES "libOpenCL")
      set(loader "ICD loader")
    else()
      set(loader "library ${OpenCL_LIBRARY}")
    endif()
    set(detail "OpenCL ${OpenCL_VERSION_STRING} ${loader}")
  endif()
endif()
hetero_resolve_option(OPENCL ${found} "${detail}")
hetero_add_backend(opencl device ${HETERO_HAVE_OPENCL} "${HETERO_WHY_OPENCL}" opencl)
if(HETERO_HAVE_OPENCL)
  # The node's API level: OpenCL 1.2 runs on every ICD that matters (PoCL, NVIDIA, AMD, Intel).
  set(HETERO_OPENCL_TARGET_VERSION 120)
  # A static library links OpenCL::OpenCL, so consumers of the installed package need it too.
  if(NOT HETERO_MODULES)
    set_property(GLOBAL APPEND PROPERTY HETERO_PACKAGE_DEPENDENCIES "find_dependency(OpenCL)")
  endif()
endif()
