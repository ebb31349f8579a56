// Device helpers shared by the engine's kernel files (kernels*.cu): the
// calling thread's stream (stream.cuh), launch-error translation, warp and
// block reductions in a fixed order (so results never depend on timing)
// and first-index argmax.
#ifndef AS_ENG_KERNELS_COMMON_CUH
#define AS_ENG_KERNELS_COMMON_CUH

#include <cuda_runtime.h>
#include <float.h>
#include <stdint.h>

extern "C" {
#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
}
#include "evaluator/engine/gpu/stream.cuh"

#define WARP 32

// 0, or AS_EGPU naming 'what' when the last launch failed.
static inline int launched(const char *what)
{
    cudaError_t e = cudaGetLastError();

    if (e != cudaSuccess)
        return as_error_set(AS_EGPU, "%s: %s", what, cudaGetErrorString(e));
    return 0;
}

static __device__ __forceinline__ float warp_sum(float v)
{
    for (int o = WARP / 2; o > 0; o /= 2)
        v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024);
// every thread gets the result. 'red' is shared scratch of 33 floats.
static __device__ float block_sum(float v, float *red)
{
    int lane = threadIdx.x % WARP, wid = threadIdx.x / WARP, nw = blockDim.x / WARP;

    v = warp_sum(v);
    __syncthreads();                 // red may still be read from a previous call
    if (lane == 0)
        red[wid] = v;
    __syncthreads();
    if (wid == 0) {
        v = lane < nw ? red[lane] : 0.0f;
        v = warp_sum(v);
        if (lane == 0)
            red[32] = v;
    }
    __syncthreads();
    return red[32];
}

// Keep (v, i) when it beats (*bv, *bi): larger, or equal at a lower index.
static __device__ __forceinline__ void better(float *bv, int *bi, float v, int i)
{
    if (v > *bv || (v == *bv && i < *bi)) {
        *bv = v;
        *bi = i;
    }
}

// Index of the largest of x (n), the first on ties (0 when none beats
// -FLT_MAX), for a block of a power-of-two number of threads, at most 1024;
// every thread gets it. sv, si: shared scratch of blockDim.x entries.
static __device__ int block_argmax(const float *x, int n, float *sv, int *si)
{
    float bv = -FLT_MAX;
    int bi = n;

    for (int i = threadIdx.x; i < n; i += blockDim.x)
        better(&bv, &bi, x[i], i);
    sv[threadIdx.x] = bv;
    si[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) {
            better(&bv, &bi, sv[threadIdx.x + s], si[threadIdx.x + s]);
            sv[threadIdx.x] = bv;
            si[threadIdx.x] = bi;
        }
        __syncthreads();
    }
    return si[0] < n ? si[0] : 0;
}

#endif
