// The CUDA stream the calling thread's kernels, copies and GEMMs go on:
// the one set with gpu.h's eng_gpu_stream_use, or 0 (the legacy default
// stream) when none is set. Defined in device.cu; .cu files only.
#ifndef AS_ENG_STREAM_CUH
#define AS_ENG_STREAM_CUH

#include <cuda_runtime.h>

cudaStream_t eng_gpu_cur_stream(void);

#endif
