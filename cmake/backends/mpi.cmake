# mpi node: not part of this version of the tree yet.
hetero_resolve_option(MPI FALSE "no mpi node in this version of hetero")
hetero_add_backend(mpi remote FALSE "${HETERO_WHY_MPI}")
