// element.cpp compiled by nvcc: the same functor gives a host and a CUDA implementation.
#include "element.cpp"
