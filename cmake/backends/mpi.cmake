# mpi remote node: under `mpirun -np N hetero ...`, rank 0 dispatches and ranks 1..N-1 compute
# as one remote node. Enabled when an MPI library with its C API is found (Debian:
# libopenmpi-dev and openmpi-bin); hetero uses the C API from C++ (MPI::MPI_CXX, without the
# deprecated C++ bindings). mpirun is not needed to build, only to run the node and its tests.
hetero_backend_wanted(MPI wanted)
set(found FALSE)
set(detail "no MPI library found (install libopenmpi-dev and openmpi-bin)")
if(wanted)
  set(MPI_CXX_SKIP_MPICXX ON)
  find_package(MPI COMPONENTS CXX QUIET)
  if(MPI_CXX_FOUND)
    set(found TRUE)
    # Which library, from its mpi.h: "Open MPI 4.1", "MPICH 4.0", else "MPI".
    set(library "MPI")
    find_file(HETERO_MPI_HEADER mpi.h PATHS ${MPI_CXX_INCLUDE_DIRS} NO_DEFAULT_PATH)
    mark_as_advanced(HETERO_MPI_HEADER)
    if(HETERO_MPI_HEADER)
      file(STRINGS "${HETERO_MPI_HEADER}" version_lines
           REGEX "^#define (OMPI_MAJOR_VERSION|OMPI_MINOR_VERSION|MPICH_VERSION) ")
      if(version_lines MATCHES "OMPI_MAJOR_VERSION ([0-9]+)")
        set(major ${CMAKE_MATCH_1})
        string(REGEX MATCH "OMPI_MINOR_VERSION ([0-9]+)" minor "${version_lines}")
        set(library "Open MPI ${major}.${CMAKE_MATCH_1}")
      elseif(version_lines MATCHES "MPICH_VERSION \"([0-9]+\\.[0-9]+)")
        set(library "MPICH ${CMAKE_MATCH_1}")
      endif()
    endif()
    set(detail "${library} (MPI ${MPI_CXX_VERSION})")
    if(MPIEXEC_EXECUTABLE)
      string(APPEND detail ", ${MPIEXEC_EXECUTABLE}")
    else()
      string(APPEND detail ", no mpirun found: the mpi tests will not run")
    endif()
  endif()
endif()
hetero_resolve_option(MPI ${found} "${detail}")
hetero_add_backend(mpi remote ${HETERO_HAVE_MPI} "${HETERO_WHY_MPI}" mpi)
if(HETERO_HAVE_MPI)
  # A static library links MPI::MPI_CXX, so consumers of the installed package need it too.
  if(NOT HETERO_MODULES)
    set_property(GLOBAL APPEND PROPERTY HETERO_PACKAGE_DEPENDENCIES
                 "find_dependency(MPI COMPONENTS CXX)")
  endif()
  # For tests/mpi: the launcher and the flags it needs here (Open MPI refuses root without
  # --allow-run-as-root, and more ranks than cores without --oversubscribe).
  set(launcher_flags "")
  if(HETERO_WHY_MPI MATCHES "^Open MPI")
    set(launcher_flags --allow-run-as-root --oversubscribe)
  endif()
  set_property(GLOBAL PROPERTY HETERO_MPIEXEC "${MPIEXEC_EXECUTABLE}")
  set_property(GLOBAL PROPERTY HETERO_MPIEXEC_FLAGS "${launcher_flags}")
endif()
