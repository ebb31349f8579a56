// Device discovery and memory for the engine's GPU path (gpu.h): thin
// wrappers that turn CUDA errors into AS_EGPU with the CUDA message.
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

extern "C" {
#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
}

static int gpu_check(cudaError_t e, const char *what)
{
    if (e != cudaSuccess)
        return as_error_set(AS_EGPU, "%s: %s", what, cudaGetErrorString(e));
    return 0;
}

extern "C" int eng_gpu_available(char *why, size_t size)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);

    if (e != cudaSuccess) {
        snprintf(why, size, "%s", cudaGetErrorString(e));
        return 0;
    }
    if (n == 0) {
        snprintf(why, size, "no CUDA device");
        return 0;
    }
    why[0] = '\0';
    return 1;
}

extern "C" int eng_gpu_describe(char *out, size_t size)
{
    cudaDeviceProp p;
    int rc;

    if ((rc = gpu_check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties")) < 0)
        return rc;
    snprintf(out, size, "%s, %.1f GiB, sm_%d%d", p.name, (double)p.totalGlobalMem / (1 << 30),
             p.major, p.minor);
    return 0;
}

extern "C" int eng_gpu_alloc(void **d_ptr, size_t bytes)
{
    *d_ptr = NULL;
    return gpu_check(cudaMalloc(d_ptr, bytes ? bytes : 1), "cudaMalloc");
}

extern "C" void eng_gpu_free(void *d_ptr)
{
    if (d_ptr != NULL)
        cudaFree(d_ptr);
}

extern "C" int eng_gpu_upload(void *d_dst, const void *src, size_t bytes)
{
    return gpu_check(cudaMemcpy(d_dst, src, bytes, cudaMemcpyHostToDevice), "upload");
}

extern "C" int eng_gpu_download(void *dst, const void *d_src, size_t bytes)
{
    return gpu_check(cudaMemcpy(dst, d_src, bytes, cudaMemcpyDeviceToHost), "download");
}

extern "C" int eng_gpu_sync(void)
{
    return gpu_check(cudaDeviceSynchronize(), "kernel");
}

struct eng_gpu_timer {
    cudaEvent_t start, stop;
};

extern "C" int eng_gpu_timer_new(eng_gpu_timer **out)
{
    eng_gpu_timer *t = (eng_gpu_timer *)calloc(1, sizeof *t);
    int rc;

    *out = NULL;
    if (t == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = gpu_check(cudaEventCreate(&t->start), "cudaEventCreate")) < 0) {
        free(t);
        return rc;
    }
    if ((rc = gpu_check(cudaEventCreate(&t->stop), "cudaEventCreate")) < 0) {
        cudaEventDestroy(t->start);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

extern "C" void eng_gpu_timer_free(eng_gpu_timer *t)
{
    if (t == NULL)
        return;
    cudaEventDestroy(t->start);
    cudaEventDestroy(t->stop);
    free(t);
}

extern "C" int eng_gpu_timer_start(eng_gpu_timer *t)
{
    return gpu_check(cudaEventRecord(t->start, 0), "cudaEventRecord");
}

extern "C" int eng_gpu_timer_stop(eng_gpu_timer *t, double *ms)
{
    float f = 0.0f;
    int rc;

    *ms = 0.0;
    if ((rc = gpu_check(cudaEventRecord(t->stop, 0), "cudaEventRecord")) < 0 ||
        (rc = gpu_check(cudaEventSynchronize(t->stop), "kernel")) < 0 ||
        (rc = gpu_check(cudaGetLastError(), "kernel")) < 0 ||
        (rc = gpu_check(cudaEventElapsedTime(&f, t->start, t->stop), "cudaEventElapsedTime")) < 0)
        return rc;
    *ms = f;
    return 0;
}
