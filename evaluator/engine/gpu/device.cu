// Device discovery and memory for the engine's GPU path (gpu.h): thin
// wrappers that turn CUDA errors into AS_EGPU with the CUDA message.
#include <cuda_runtime.h>
#include <stdio.h>

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
