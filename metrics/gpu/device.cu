// Device discovery for the metrics' GPU path (met_gpu.h).
#include <stdio.h>

#include "metrics/gpu/util.cuh"

extern "C" int met_gpu_available(char *why, size_t size)
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
    if (size > 0)
        why[0] = '\0';
    return 1;
}

extern "C" int met_gpu_describe(char *out, size_t size)
{
    cudaDeviceProp p;
    int rc;

    if ((rc = met_gpu_check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties")) < 0)
        return rc;
    snprintf(out, size, "%s, %.1f GiB, sm_%d%d", p.name, (double)p.totalGlobalMem / (1 << 30),
             p.major, p.minor);
    return 0;
}
