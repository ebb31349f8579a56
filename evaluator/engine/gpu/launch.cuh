// Launching kernels as programmatic dependents (Hopper's programmatic
// dependent launch): a kernel launched with pdl_launch may be scheduled
// while the kernel before it on the stream is still running, and waits in
// pdl_enter for that kernel to complete before it touches memory. A
// decode step is a chain of a few hundred short dependent kernels; this
// hides the launch gap between them (about a microsecond each, a sizeable
// part of a step that should take about a millisecond) and lets a kernel
// start pulling its weights into L2 while the previous one finishes.
//
// The contract: every kernel launched with pdl_launch calls pdl_enter in
// every thread before any memory access that depends on earlier work, and
// before any return. A block that exited without waiting would let its
// grid complete before the grid it depends on, and the next kernel's wait
// (which covers only its direct predecessor) would then not cover that
// one. Kernels launched the ordinary way are unaffected: they start after
// everything before them has finished, as always.
//
// Used only on streams made by eng_gpu_stream_new (a batch's; never the
// legacy default stream) on devices of compute capability 9.0 or later,
// unless ASSAY_GPU_PDL=0 when the stream was made; otherwise pdl_launch is
// an ordinary launch and pdl_enter returns at once.
#ifndef AS_ENG_LAUNCH_CUH
#define AS_ENG_LAUNCH_CUH

#include <cuda_runtime.h>

#include "evaluator/engine/gpu/stream.cuh"

// 1 when kernels on the calling thread's current stream may be launched
// as programmatic dependents (device.cu).
int eng_gpu_cur_pdl(void);

static __device__ __forceinline__ void pdl_enter(void)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// Ask L2 for the 128-byte line at p: for data no earlier kernel writes
// (weights), so it may run before pdl_enter.
static __device__ __forceinline__ void pdl_prefetch_l2(const void *p)
{
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
}

// kernel<<<grid, block, smem, current stream>>>(args...), as a
// programmatic dependent where the contract above allows. Launch errors
// are left for cudaGetLastError (kernels_common.cuh's launched()).
template <typename... P, typename... A>
static void pdl_launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, A... args)
{
    cudaLaunchAttribute at;
    cudaLaunchConfig_t cfg = {};

    at.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at.val.programmaticStreamSerializationAllowed = 1;
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = eng_gpu_cur_stream();
    cfg.attrs = &at;
    cfg.numAttrs = eng_gpu_cur_pdl() ? 1 : 0;
    (void)cudaLaunchKernelEx(&cfg, kernel, args...);
}

#endif
