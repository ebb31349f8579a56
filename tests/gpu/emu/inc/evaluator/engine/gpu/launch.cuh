// Emulated evaluator/engine/gpu/launch.cuh: the same interface, found
// before the real one on the include path. pdl_launch marks the launch as
// a programmatic dependent where the real one would, so the emulator
// checks pdl_enter's placement: every thread calls it, touches no device
// buffer before it and does not return before it.
#ifndef AS_ENG_LAUNCH_CUH
#define AS_ENG_LAUNCH_CUH

#include <cuda_runtime.h>

#include "evaluator/engine/gpu/stream.cuh"

int eng_gpu_cur_pdl(void);

static inline void pdl_enter(void)
{
    emu_pdl_enter();
}

static inline void pdl_prefetch_l2(const void *)
{
}

// On the current stream as launch.cuh does; a programmatic dependent only
// where eng_gpu_cur_pdl allows it, as there. A macro, so that reports name
// the kernel (the first argument: a template's has commas).
#define pdl_launch(...) emu_pdl_launch(emu_kernel_name(#__VA_ARGS__), __VA_ARGS__)

template <typename... P, typename... A>
static void emu_pdl_launch(const char *name, void (*kernel)(P...), dim3 grid, dim3 block,
                           size_t smem, A... args)
{
    emu_launch_kernel(kernel, name, grid, block, smem, eng_gpu_cur_stream(),
                      eng_gpu_cur_pdl() != 0, args...);
}

#endif
