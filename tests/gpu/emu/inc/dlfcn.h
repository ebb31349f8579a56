// Host stand-in for <dlfcn.h>, for the emulated GPU builds: blas.cu loads
// cuBLAS with dlopen, and here "libcublas.so.13" is the emulator's
// (emu_blas.cpp); any other library is not found.
#pragma once

#include "cublas_v2.h"

#include <cstdio>
#include <cstring>

#define RTLD_LAZY 0x1
#define RTLD_NOW 0x2
#define RTLD_LOCAL 0

static char emu_dl_error[128];

static inline void *dlopen(const char *name, int)
{
    static int handle;
    char want[32];

    snprintf(want, sizeof want, "libcublas.so.%d", CUBLAS_VER_MAJOR);
    if (name != NULL && strcmp(name, want) == 0)
        return &handle;
    snprintf(emu_dl_error, sizeof emu_dl_error, "%s: not emulated", name ? name : "(null)");
    return NULL;
}

static inline void *dlsym(void *, const char *symbol)
{
    return emu_cublas_symbol(symbol);
}

static inline char *dlerror(void)
{
    return emu_dl_error;
}
