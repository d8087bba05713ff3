# kokkos node: not part of this version of the tree yet.
hetero_resolve_option(KOKKOS FALSE "no kokkos node in this version of hetero")
hetero_add_backend(kokkos host FALSE "${HETERO_WHY_KOKKOS}")
