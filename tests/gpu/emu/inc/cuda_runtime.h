// Host stand-in for <cuda_runtime.h>, for the emulated kernel test only:
// the device features that kernels_fused.cu, kernels_gemv.cu and
// kernels_attention.cu use, mapped onto the fiber emulator (emu.cpp).
// Its directory comes first on the include path, so the kernels compiled
// as C++ see this header and never CUDA's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <math.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// One copy per launch, shared by the fibers of the block that runs.
#define __shared__ static
#define __restrict__ __restrict

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct uint3e {
    unsigned x, y, z;
};
extern uint3e threadIdx, blockIdx;
extern dim3 gridDim, blockDim;

struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
struct alignas(16) float4 {
    float x, y, z, w;
};

typedef int cudaStream_t;
typedef int cudaError_t;
enum { cudaSuccess = 0 };

static inline cudaError_t cudaGetLastError(void)
{
    return cudaSuccess;
}

static inline const char *cudaGetErrorString(cudaError_t)
{
    return "emulated";
}

// The emulator (emu.cpp). emu_shfl's mode: 0 index, 1 xor, 2 down.
enum { EMU_SHFL_IDX, EMU_SHFL_XOR, EMU_SHFL_DOWN };
void emu_launch(dim3 grid, dim3 block, std::function<void()> body, bool pdl, const char *name);
void emu_syncthreads(void);
float emu_shfl(float v, int mode, int arg);
void emu_pdl_enter(void);
void emu_misaligned(const void *p);

static inline void __syncthreads(void)
{
    emu_syncthreads();
}

static inline float __shfl_sync(unsigned, float v, int src)
{
    return emu_shfl(v, EMU_SHFL_IDX, src);
}

static inline float __shfl_xor_sync(unsigned, float v, int mask)
{
    return emu_shfl(v, EMU_SHFL_XOR, mask);
}

static inline float __shfl_down_sync(unsigned, float v, int delta)
{
    return emu_shfl(v, EMU_SHFL_DOWN, delta);
}

template <class T> static inline T __ldg(const T *p)
{
    return *p;
}

// 16-byte loads fault on the device when misaligned; the emulator reports them.
static inline uint4 __ldg(const uint4 *p)
{
    if ((uintptr_t)p % 16)
        emu_misaligned(p);
    return *p;
}

static inline float4 __ldg(const float4 *p)
{
    if ((uintptr_t)p % 16)
        emu_misaligned(p);
    return *p;
}

static inline float __uint_as_float(uint32_t u)
{
    float f;

    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t __float_as_uint(float f)
{
    uint32_t u;

    memcpy(&u, &f, 4);
    return u;
}

using std::max;
using std::min;
