// Emulated evaluator/engine/gpu/launch.cuh: the same interface, found
// before the real one on the include path. pdl_launch marks the launch as
// a programmatic dependent, so the emulator checks pdl_enter's placement:
// every thread calls it, touches no device buffer before it and does not
// return before it.
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

template <typename... P, typename... A>
static void pdl_launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t, A... args)
{
    emu_launch(grid, block, [=] { kernel(args...); }, true, __PRETTY_FUNCTION__);
}

#endif
