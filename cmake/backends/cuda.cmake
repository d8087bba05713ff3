# CUDA and Thrust device nodes: enabled when a CUDA compiler (nvcc) and the CUDA toolkit are
# found. No GPU or driver is needed to build: both nodes link the static CUDA runtime and look
# for devices at run time, reporting themselves unavailable with the driver's reason.
#
# Settings a user may give:
#   CMAKE_CUDA_COMPILER       nvcc to use; /usr/local/cuda/bin/nvcc when none is given and it exists
#   CMAKE_CUDA_ARCHITECTURES  GPU architectures to compile for; defaults to 90 (H100, H200): one
#                             architecture keeps the build short; e.g. -DCMAKE_CUDA_ARCHITECTURES=80;90
#                             or =native to target the GPUs of the build machine
hetero_backend_wanted(CUDA wanted)
set(found FALSE)
set(detail "no CUDA compiler found (install the CUDA toolkit or set CMAKE_CUDA_COMPILER to nvcc)")
if(wanted)
  # check_language() looks for nvcc through CUDACXX, then PATH.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)
  endif()
  # nvcc compiles host code with the same compiler as the rest of hetero.
  if(NOT CMAKE_CUDA_HOST_COMPILER AND NOT DEFINED ENV{CUDAHOSTCXX})
    set(CMAKE_CUDA_HOST_COMPILER "${CMAKE_CXX_COMPILER}" CACHE FILEPATH "Host compiler of nvcc")
  endif()
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
    set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING "CUDA architectures to compile for (90: H100, H200)")
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER AND DEFINED ENV{CUDACXX})
    string(CONCAT detail "$ENV{CUDACXX} does not build a CUDA test program with host compiler "
                         "${CMAKE_CUDA_HOST_COMPILER} (see CMakeFiles/CMakeError.log)")
  endif()
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit QUIET)
    if(NOT CUDAToolkit_FOUND)
      set(detail "nvcc ${CMAKE_CUDA_COMPILER_VERSION} found but not the CUDA toolkit's libraries")
    elseif(NOT TARGET CUDA::cudart_static)
      set(detail "the CUDA toolkit ${CUDAToolkit_VERSION} has no static runtime (libcudart_static)")
    else()
      # The nodes' .cu files are C++20 like the rest of hetero when nvcc accepts it with this
      # host compiler, else C++17 (they include no public header that needs C++20).
      include(CheckSourceCompiles)
      set(CMAKE_REQUIRED_FLAGS "-std=c++20")
      check_source_compiles(CUDA "#include <span>
        __global__ void probe(int* p) { if constexpr (__cplusplus >= 202002L) *p = 1; }
        int main() { return 0; }" HETERO_NVCC_ACCEPTS_CXX20)
      unset(CMAKE_REQUIRED_FLAGS)
      if(HETERO_NVCC_ACCEPTS_CXX20)
        set(HETERO_CUDA_STD_FLAG "-std=c++20")
      else()
        set(HETERO_CUDA_STD_FLAG "-std=c++17")
      endif()
      set(found TRUE)
      string(REPLACE ";" " " architectures "${CMAKE_CUDA_ARCHITECTURES}")
      set(detail "CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${architectures}")
    endif()
  endif()
endif()
hetero_resolve_option(CUDA ${found} "${detail}")
# One module, hetero-cuda.so, holds both nodes: they share its CUDA helpers and one CUDA runtime.
hetero_add_backend(cuda device ${HETERO_HAVE_CUDA} "${HETERO_WHY_CUDA}" cuda)
hetero_add_backend(thrust device ${HETERO_HAVE_CUDA} "${HETERO_WHY_CUDA}" cuda)
if(HETERO_HAVE_CUDA)
  # Device code follows the workload contract: no contraction (fused multiply-adds only where a
  # kernel writes fma()), IEEE division and square roots, no flush of denormals.
  set(HETERO_CUDA_FLAGS ${HETERO_CUDA_STD_FLAG} --fmad=false -prec-div=true -prec-sqrt=true
                        -ftz=false)
  # A static library links CUDA::cudart_static, so consumers of the installed package need the
  # toolkit's CMake package too (no driver is needed to link). The module links it itself.
  if(NOT HETERO_MODULES)
    set_property(GLOBAL APPEND PROPERTY HETERO_PACKAGE_DEPENDENCIES "find_dependency(CUDAToolkit)")
  endif()
endif()
