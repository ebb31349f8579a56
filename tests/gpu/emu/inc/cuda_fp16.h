// Host stand-in for <cuda_fp16.h> (see cuda_runtime.h here); g++'s
// _Float16 does the conversion.
#pragma once

#include "cuda_runtime.h"

struct __half {
    unsigned short x;
};

static inline __half __ushort_as_half(unsigned short u)
{
    __half h;

    h.x = u;
    return h;
}

static inline float __half2float(__half h)
{
    _Float16 f;

    memcpy(&f, &h.x, 2);
    return (float)f;
}
