# opencl node: not part of this version of the tree yet.
hetero_resolve_option(OPENCL FALSE "no opencl node in this version of hetero")
hetero_add_backend(opencl device FALSE "${HETERO_WHY_OPENCL}")
