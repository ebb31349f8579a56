// The real kernels_fused.cu, compiled by the host C++ compiler against the
// emulator's headers (inc/). Two warnings nvcc does not give device code
// are off: its index built-ins are unsigned, and each .cu file uses only
// some of kernels_common.cuh's static helpers.
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"

#include "evaluator/engine/gpu/kernels_fused.cu"
