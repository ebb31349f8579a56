// Host stand-in for <cuda_bf16.h> (see cuda_runtime.h here).
#pragma once

#include "cuda_runtime.h"

struct __nv_bfloat16 {
    unsigned short x;
};

// As cuda_bf16.hpp's host path: NaN becomes 0x7fff, anything else is
// rounded to nearest even.
static inline __nv_bfloat16 __float2bfloat16_rn(float f)
{
    uint32_t u = __float_as_uint(f);
    __nv_bfloat16 r;

    if ((u & 0x7fffffffu) > 0x7f800000u)
        r.x = 0x7fffu;
    else
        r.x = (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    return r;
}

static inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b)
{
    return b.x;
}
