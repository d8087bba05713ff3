# simd node: not part of this version of the tree yet.
hetero_resolve_option(SIMD FALSE "no simd node in this version of hetero")
hetero_add_backend(simd host FALSE "${HETERO_WHY_SIMD}")
