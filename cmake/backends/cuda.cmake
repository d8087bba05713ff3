# cuda node: not part of this version of the tree yet.
hetero_resolve_option(CUDA FALSE "no cuda node in this version of hetero")
hetero_add_backend(cuda device FALSE "${HETERO_WHY_CUDA}")
hetero_add_backend(thrust device FALSE "${HETERO_WHY_CUDA}")
