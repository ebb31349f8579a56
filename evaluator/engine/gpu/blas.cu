// Matrix products through cuBLAS for prefill and batched decode (gpu.h):
// out (T, rows) = x (T, cols) . W (rows, cols)^T, all row-major. In cuBLAS's
// column-major terms W is a (cols, rows) matrix with lda = cols, x a
// (cols, T) matrix and out a (rows, T) matrix, so out = op_T(W) . x.
//
// cuBLAS is loaded with dlopen on first use, not linked: libcublasLt holds
// about 94 KB of thread-local storage, which a linked library adds to every
// thread's stack, and the web server's threads (civetweb's, 100 KB stacks)
// could then no longer start. Loaded later, its TLS is allocated apart.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern "C" {
#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
}
#include "evaluator/engine/gpu/stream.cuh"

// cuBLAS's recommended workspace on Hopper; also ample on Ampere.
#define WORKSPACE_BYTES ((size_t)32 << 20)

struct eng_gpu_blas {
    cublasHandle_t h;
    cudaStream_t stream;     // the stream h is bound to
    void *ws;                // fixed workspace: no allocation inside a graph capture
};

// cublasGemmEx's C signature (C++ sees an overload besides it).
typedef cublasStatus_t (*gemm_ex_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                     int, int, const void *, const void *, cudaDataType, int,
                                     const void *, cudaDataType, int, const void *, void *,
                                     cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);

// The cuBLAS entry points assay uses, from the loaded library.
static struct {
    decltype(&cublasCreate_v2) create;
    decltype(&cublasDestroy_v2) destroy;
    decltype(&cublasSetStream_v2) set_stream;
    decltype(&cublasSetWorkspace_v2) set_workspace;
    decltype(&cublasSetMathMode) set_math_mode;
    decltype(&cublasSgemm_v2) sgemm;
    gemm_ex_fn gemm_ex;
    char err[256];           // why loading failed, or ""
} api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void api_load(void)
{
    char name[32];
    void *lib;

    snprintf(name, sizeof name, "libcublas.so.%d", CUBLAS_VER_MAJOR);
    if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        snprintf(api.err, sizeof api.err, "cannot load %s: %s", name, dlerror());
        return;
    }
    api.create = (decltype(api.create))dlsym(lib, "cublasCreate_v2");
    api.destroy = (decltype(api.destroy))dlsym(lib, "cublasDestroy_v2");
    api.set_stream = (decltype(api.set_stream))dlsym(lib, "cublasSetStream_v2");
    api.set_workspace = (decltype(api.set_workspace))dlsym(lib, "cublasSetWorkspace_v2");
    api.set_math_mode = (decltype(api.set_math_mode))dlsym(lib, "cublasSetMathMode");
    api.sgemm = (decltype(api.sgemm))dlsym(lib, "cublasSgemm_v2");
    api.gemm_ex = (decltype(api.gemm_ex))dlsym(lib, "cublasGemmEx");
    if (!api.create || !api.destroy || !api.set_stream || !api.set_workspace ||
        !api.set_math_mode || !api.sgemm || !api.gemm_ex)
        snprintf(api.err, sizeof api.err, "%s lacks a function assay needs", name);
}

static int blas_check(cublasStatus_t st, const char *what)
{
    if (st != CUBLAS_STATUS_SUCCESS)
        return as_error_set(AS_EGPU, "%s: cuBLAS status %d", what, (int)st);
    return 0;
}

static int set_workspace(eng_gpu_blas *b)
{
    return blas_check(api.set_workspace(b->h, b->ws, WORKSPACE_BYTES), "cublasSetWorkspace");
}

// Bind b's handle to the current stream. cublasSetStream drops the
// workspace, so it is set again each time: the same workspace on every
// stream keeps cuBLAS's choice of kernels, and so results, the same.
static int bind(eng_gpu_blas *b)
{
    cudaStream_t s = eng_gpu_cur_stream();
    int rc;

    if (s == b->stream)
        return 0;
    if ((rc = blas_check(api.set_stream(b->h, s), "cublasSetStream")) < 0 ||
        (rc = set_workspace(b)) < 0)
        return rc;
    b->stream = s;
    return 0;
}

extern "C" int eng_gpu_blas_new(eng_gpu_blas **out)
{
    eng_gpu_blas *b = (eng_gpu_blas *)calloc(1, sizeof *b);
    cudaError_t e;
    int rc;

    *out = NULL;
    if (b == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    pthread_once(&api_once, api_load);
    if (api.err[0] != '\0') {
        free(b);
        return as_error_set(AS_EGPU, "cuBLAS: %s", api.err);
    }
    if ((e = cudaMalloc(&b->ws, WORKSPACE_BYTES)) != cudaSuccess) {
        free(b);
        return as_error_set(AS_EGPU, "cuBLAS workspace: %s", cudaGetErrorString(e));
    }
    if ((rc = blas_check(api.create(&b->h), "cublasCreate")) < 0) {
        cudaFree(b->ws);
        free(b);
        return rc;
    }
    b->stream = 0;           // where a new handle is bound
    // Float32 GEMMs in float32 (no TF32 tensor-core rounding): the 1e-5
    // tolerance against the CPU reference depends on it.
    if ((rc = blas_check(api.set_math_mode(b->h, CUBLAS_DEFAULT_MATH), "cublasSetMathMode")) < 0 ||
        (rc = set_workspace(b)) < 0 || (rc = bind(b)) < 0) {
        eng_gpu_blas_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

extern "C" void eng_gpu_blas_free(eng_gpu_blas *b)
{
    if (b == NULL)
        return;
    if (b->h != NULL)
        api.destroy(b->h);
    cudaFree(b->ws);
    free(b);
}

// xh (n) = x rounded to bfloat16, nearest even.
static __global__ void to_bf16_kernel(__nv_bfloat16 *xh, const float *x, size_t n)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;

    if (i < n)
        xh[i] = __float2bfloat16_rn(x[i]);
}

extern "C" int eng_gpu_gemm(eng_gpu_blas *b, float *d_out, const void *d_w, int dtype,
                            const float *d_x, uint16_t *d_xh, int T, int rows, int cols, int acc)
{
    const float one = 1.0f, beta = acc ? 1.0f : 0.0f;
    size_t n = (size_t)T * cols;
    cudaError_t e;
    int rc;

    if ((rc = bind(b)) < 0)
        return rc;
    if (dtype == ENG_GPU_F32)
        return blas_check(api.sgemm(b->h, CUBLAS_OP_T, CUBLAS_OP_N, rows, T, cols, &one,
                                      (const float *)d_w, cols, d_x, cols, &beta, d_out, rows),
                          "sgemm");
    if (dtype != ENG_GPU_BF16)
        return as_error_set(AS_EUNSUPPORTED, "gemm: float16 weights are not supported on the GPU yet");
    to_bf16_kernel<<<(unsigned)((n + 255) / 256), 256, 0, eng_gpu_cur_stream()>>>(
        (__nv_bfloat16 *)d_xh, d_x, n);
    if ((e = cudaGetLastError()) != cudaSuccess)
        return as_error_set(AS_EGPU, "to_bf16: %s", cudaGetErrorString(e));
    return blas_check(api.gemm_ex(b->h, CUBLAS_OP_T, CUBLAS_OP_N, rows, T, cols, &one, d_w,
                                   CUDA_R_16BF, cols, d_xh, CUDA_R_16BF, cols, &beta, d_out,
                                   CUDA_R_32F, rows, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                      "gemm bf16");
}
