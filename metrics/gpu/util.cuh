// Helpers shared by the metrics' .cu files (private to metrics/gpu/): CUDA
// errors as AS_EGPU, and a device buffer plus event timer that clean up
// after themselves on every return path.
#ifndef MET_GPU_UTIL_CUH
#define MET_GPU_UTIL_CUH

#include <cuda_runtime.h>

extern "C" {
#include "common/error.h"
#include "metrics/gpu/met_gpu.h"
}

static inline int met_gpu_check(cudaError_t e, const char *what)
{
    if (e != cudaSuccess)
        return as_error_set(AS_EGPU, "%s: %s", what, cudaGetErrorString(e));
    return 0;
}

// Device memory freed when it goes out of scope.
struct met_dbuf {
    void *p = nullptr;
    ~met_dbuf()
    {
        if (p != nullptr)
            cudaFree(p);
    }
    int alloc(size_t bytes)
    {
        return met_gpu_check(cudaMalloc(&p, bytes ? bytes : 1), "cudaMalloc");
    }
};

// Four events splitting a call into copy in, kernel and copy out.
struct met_timer {
    cudaEvent_t ev[4] = {nullptr, nullptr, nullptr, nullptr};
    ~met_timer()
    {
        for (int i = 0; i < 4; i++)
            if (ev[i] != nullptr)
                cudaEventDestroy(ev[i]);
    }
    int init()
    {
        for (int i = 0; i < 4; i++) {
            int rc = met_gpu_check(cudaEventCreate(&ev[i]), "cudaEventCreate");
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    int mark(int i)
    {
        return met_gpu_check(cudaEventRecord(ev[i], 0), "cudaEventRecord");
    }
    // Wait for the last event and fill 't' (may be NULL).
    int finish(met_gpu_times *t)
    {
        float ms[3];
        int rc = met_gpu_check(cudaEventSynchronize(ev[3]), "kernel");
        for (int i = 0; i < 3 && rc == 0; i++)
            rc = met_gpu_check(cudaEventElapsedTime(&ms[i], ev[i], ev[i + 1]),
                               "cudaEventElapsedTime");
        if (rc == 0 && t != NULL) {
            t->h2d_ms = ms[0];
            t->kernel_ms = ms[1];
            t->d2h_ms = ms[2];
        }
        return rc;
    }
};

#endif
