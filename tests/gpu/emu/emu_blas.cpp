// The cuBLAS calls of inc/cublas_v2.h on the host: C = alpha op(A) op(B) +
// beta C in column-major storage, float32 accumulation in the order of k,
// as a job on the handle's stream (emu_submit), so a GEMM issued on a
// stream being captured runs at each launch of the graph and one issued
// on another stream runs at once. It checks what cuBLAS would refuse
// (leading dimensions too small, types it does not pair, no workspace in
// a capture) and that every matrix is device memory.
#include <cublas_v2.h>

#include "emu.h"

#include <cuda_bf16.h>

struct emu_blas {
    cudaStream_t stream;
    void *ws;
    size_t ws_bytes;
};

cublasStatus_t cublasCreate_v2(cublasHandle_t *h)
{
    *h = new emu_blas();
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t h)
{
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

// As cuBLAS does, a new stream drops the workspace set before.
cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s)
{
    h->stream = s;
    h->ws = NULL;
    h->ws_bytes = 0;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t h, void *ws, size_t bytes)
{
    if (bytes > 0 && emu_device_buffer(ws) == NULL) {
        emu_violation("cublasSetWorkspace: the workspace is not device memory");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    h->ws = ws;
    h->ws_bytes = bytes;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t)
{
    return CUBLAS_STATUS_SUCCESS;
}

static float load(const void *p, cudaDataType t, size_t i)
{
    if (t == CUDA_R_32F)
        return ((const float *)p)[i];
    uint32_t bits = (uint32_t)((const uint16_t *)p)[i] << 16;
    return __uint_as_float(bits);
}

// Element (r, c) of op(X) for X stored column-major with leading dimension ld.
static size_t at(cublasOperation_t op, int r, int c, int ld)
{
    return op == CUBLAS_OP_N ? (size_t)c * ld + r : (size_t)r * ld + c;
}

static cublasStatus_t gemm(const char *name, cublasHandle_t h, cublasOperation_t ta,
                           cublasOperation_t tb, int m, int n, int k, float alpha, const void *a,
                           cudaDataType at_, int lda, const void *b, cudaDataType bt, int ldb,
                           float beta, float *c, int ldc)
{
    if (h == NULL)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0 || lda < std::max(1, ta == CUBLAS_OP_N ? m : k) ||
        ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m)) {
        emu_violation("%s: m %d n %d k %d with lda %d ldb %d ldc %d", name, m, n, k, lda, ldb,
                      ldc);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    emu_check_pointer(a, name, 1);
    emu_check_pointer(b, name, 2);
    emu_check_pointer(c, name, 3);
    if (m == 0 || n == 0)
        return CUBLAS_STATUS_SUCCESS;
    if (h->ws_bytes == 0)
        emu_violation("%s without a workspace: cuBLAS would allocate one, which a graph "
                      "capture does not allow", name);
    emu_submit(h->stream, [=] {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float sum = 0.0f;

                for (int p = 0; p < k; p++)
                    sum = fmaf(load(a, at_, at(ta, i, p, lda)), load(b, bt, at(tb, p, j, ldb)),
                               sum);
                float *out = c + (size_t)j * ldc + i;
                *out = beta == 0.0f ? alpha * sum : alpha * sum + beta * *out;
            }
    });
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                              int n, int k, const float *alpha, const float *a, int lda,
                              const float *b, int ldb, const float *beta, float *c, int ldc)
{
    return gemm("cublasSgemm", h, ta, tb, m, n, k, *alpha, a, CUDA_R_32F, lda, b, CUDA_R_32F,
                ldb, *beta, c, ldc);
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void *alpha, const void *a, cudaDataType at_,
                            int lda, const void *b, cudaDataType bt, int ldb, const void *beta,
                            void *c, cudaDataType ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t)
{
    bool half_in = (at_ == CUDA_R_16BF && bt == CUDA_R_16BF) ||
                   (at_ == CUDA_R_32F && bt == CUDA_R_32F);

    if (!half_in || ct != CUDA_R_32F || compute != CUBLAS_COMPUTE_32F) {
        emu_violation("cublasGemmEx: types %d x %d -> %d, compute %d not emulated", (int)at_,
                      (int)bt, (int)ct, (int)compute);
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return gemm("cublasGemmEx", h, ta, tb, m, n, k, *(const float *)alpha, a, at_, lda, b, bt,
                ldb, *(const float *)beta, (float *)c, ldc);
}

void *emu_cublas_symbol(const char *symbol)
{
    static const struct {
        const char *name;
        void *fn;
    } table[] = {
        {"cublasCreate_v2", (void *)cublasCreate_v2},
        {"cublasDestroy_v2", (void *)cublasDestroy_v2},
        {"cublasSetStream_v2", (void *)cublasSetStream_v2},
        {"cublasSetWorkspace_v2", (void *)cublasSetWorkspace_v2},
        {"cublasSetMathMode", (void *)cublasSetMathMode},
        {"cublasSgemm_v2", (void *)cublasSgemm_v2},
        {"cublasGemmEx", (void *)cublasGemmEx},
    };

    for (auto &e : table)
        if (strcmp(e.name, symbol) == 0)
            return e.fn;
    return NULL;
}
