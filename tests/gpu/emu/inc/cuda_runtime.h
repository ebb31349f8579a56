// Host stand-in for <cuda_runtime.h>, for the emulated GPU builds only:
// the device features and runtime calls that the engine's and the
// metrics' .cu files use, mapped onto the fiber emulator (emu.cpp) and the
// emulated runtime (emu_runtime.cpp). Its directory comes first on the
// include path, so the .cu files, turned into C++ by cu2cpp.py, see this
// header and never CUDA's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <math.h>
#include <tuple>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// One copy per kernel, shared by the fibers of the block that runs (blocks
// run one after another).
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

// --- Runtime types and calls (emu_runtime.cpp) ---------------------------

typedef struct emu_stream *cudaStream_t;   // NULL: the legacy default stream
typedef struct emu_event *cudaEvent_t;
typedef struct emu_graph *cudaGraph_t;
typedef struct emu_graph *cudaGraphExec_t;

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorNotReady = 600,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
    cudaErrorStreamCaptureWrongThread = 908,
} cudaError_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
};

enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};

enum cudaDeviceAttr { cudaDevAttrComputeCapabilityMajor = 75 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

#define cudaStreamNonBlocking 0x01

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    int major, minor;
};

cudaError_t cudaGetLastError(void);
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDevice(int *dev);
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev);
cudaError_t cudaMalloc(void **p, size_t bytes);
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long flags);
cudaError_t cudaGraphDestroy(cudaGraph_t g);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s);
cudaError_t cudaEventCreate(cudaEvent_t *ev);
cudaError_t cudaEventDestroy(cudaEvent_t ev);
cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t s);
cudaError_t cudaEventSynchronize(cudaEvent_t ev);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t stop);
cudaError_t emu_func_set_smem(const void *func, int bytes);

template <class T>
static inline cudaError_t cudaFuncSetAttribute(T *func, cudaFuncAttribute, int value)
{
    return emu_func_set_smem((const void *)func, value);
}

template <class T> static inline cudaError_t cudaMalloc(T **p, size_t bytes)
{
    return cudaMalloc((void **)p, bytes);
}

// --- The emulator (emu.cpp) -----------------------------------------------

// emu_shfl's mode: 0 index, 1 xor, 2 down.
enum { EMU_SHFL_IDX, EMU_SHFL_XOR, EMU_SHFL_DOWN };
// Run 'body' as a kernel of grid x block threads with 'smem' bytes of
// dynamic shared memory on stream 's' (recorded instead when s is being
// captured); 'pdl': launched as a programmatic dependent; 'func' names
// the kernel for cudaFuncSetAttribute's limits.
void emu_launch(dim3 grid, dim3 block, size_t smem, cudaStream_t s, std::function<void()> body,
                bool pdl, const char *name, const void *func);
// Report a kernel argument that points at host memory or a freed buffer.
void emu_check_pointer(const void *p, const char *kernel, int arg);
void emu_syncthreads(void);
uint64_t emu_shfl(uint64_t v, int mode, int arg);
void emu_pdl_enter(void);
void emu_misaligned(const void *p);
void *emu_dyn_smem(void);
// The kernel's name in the text of a launch's arguments: up to the first
// comma outside template brackets. Kept for the life of the process.
const char *emu_kernel_name(const char *launch_args);

template <class A> static inline void emu_check_arg(const A &a, const char *kernel, int i)
{
    if constexpr (std::is_pointer_v<A>)
        emu_check_pointer((const void *)a, kernel, i);
}

// Launch 'kernel' (named 'name' in reports) with 'args' converted to its
// parameter types and copied at the launch, as CUDA does; every pointer
// among them must be device memory.
template <typename... P, typename... A>
static inline void emu_launch_kernel(void (*kernel)(P...), const char *name, dim3 grid,
                                     dim3 block, size_t smem, cudaStream_t s, bool pdl,
                                     A... args)
{
    std::tuple<std::decay_t<P>...> t(args...);
    int i = 0;

    std::apply([&](const auto &...a) { (emu_check_arg(a, name, i++), ...); }, t);
    emu_launch(grid, block, smem, s, [kernel, t] { std::apply(kernel, t); }, pdl, name,
               (const void *)kernel);
}

// kernel<<<grid, block, smem, stream>>>(args) as cu2cpp.py writes it.
template <typename... P> struct emu_launcher_t {
    void (*kernel)(P...);
    const char *name;
    dim3 grid, block;
    size_t smem;
    cudaStream_t s;

    template <typename... A> void operator()(A... args) const
    {
        emu_launch_kernel(kernel, name, grid, block, smem, s, false, args...);
    }
};

template <typename... P>
static inline emu_launcher_t<P...> emu_launcher(void (*kernel)(P...), const char *name, dim3 grid,
                                                dim3 block, size_t smem = 0, cudaStream_t s = 0)
{
    return {kernel, name, grid, block, smem, s};
}

// --- Device built-ins --------------------------------------------------------

static inline void __syncthreads(void)
{
    emu_syncthreads();
}

// Warps run in lock step at every shuffle, vote and __syncwarp: a barrier
// of the warp's 32 fibers.
static inline void __syncwarp(unsigned = 0xffffffffu)
{
    (void)emu_shfl(0, EMU_SHFL_IDX, 0);
}

template <class T> static inline T emu_shfl_t(T v, int mode, int arg)
{
    static_assert(sizeof(T) <= 8, "shuffle of more than 8 bytes");
    uint64_t bits = 0;
    T r;

    memcpy(&bits, &v, sizeof v);
    bits = emu_shfl(bits, mode, arg);
    memcpy(&r, &bits, sizeof r);
    return r;
}

template <class T> static inline T __shfl_sync(unsigned, T v, int src)
{
    return emu_shfl_t(v, EMU_SHFL_IDX, src);
}

template <class T> static inline T __shfl_xor_sync(unsigned, T v, int mask)
{
    return emu_shfl_t(v, EMU_SHFL_XOR, mask);
}

template <class T> static inline T __shfl_down_sync(unsigned, T v, unsigned delta)
{
    return emu_shfl_t(v, EMU_SHFL_DOWN, (int)delta);
}

unsigned emu_ballot(bool pred);

static inline unsigned __ballot_sync(unsigned, int pred)
{
    return emu_ballot(pred != 0);
}

static inline int __any_sync(unsigned, int pred)
{
    return emu_ballot(pred != 0) != 0;
}

static inline int __popc(unsigned v)
{
    return __builtin_popcount(v);
}

// Fibers switch only at barriers, so a read-modify-write is atomic.
template <class T> static inline T atomicAdd(T *p, T v)
{
    T old = *p;

    *p = old + v;
    return old;
}

// The host's double arithmetic is IEEE round-to-nearest, as these are.
static inline double __dadd_rn(double a, double b)
{
    return a + b;
}

static inline double __dmul_rn(double a, double b)
{
    return a * b;
}

static inline double __ddiv_rn(double a, double b)
{
    return a / b;
}

static inline double __dsqrt_rn(double a)
{
    return sqrt(a);
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
