// The decoder's CUDA kernels (declared in gpu.h). Each one computes exactly
// what its CPU reference in ops.c computes, with float32 arithmetic and
// float32 accumulation; weights may be float32, bfloat16 or float16.
// These are the first, correct versions that issue 8's fast engine builds
// on: one launch per operation, no fusion, each on the calling thread's
// stream (gpu.h's eng_gpu_stream_use) so that a batch can capture them;
// those a batched step uses (embed, rmsnorm) are programmatic dependents
// there (launch.cuh).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <float.h>
#include <stdint.h>

#include "evaluator/engine/gpu/kernels_common.cuh"
#include "evaluator/engine/gpu/launch.cuh"

// Element i of a weight array in 'dtype', as float32.
static __device__ __forceinline__ float load_w(const void *w, int dtype, size_t i)
{
    if (dtype == ENG_GPU_BF16)
        return __uint_as_float((uint32_t)((const uint16_t *)w)[i] << 16);
    if (dtype == ENG_GPU_F16)
        return __half2float(((const __half *)w)[i]);
    return ((const float *)w)[i];
}

// --- embedding gather: out (T, cols) = table (vocab, cols)[ids[t]] ------

static __global__ void embed_kernel(float *out, const void *table, int dtype, const int32_t *ids,
                                    int cols)
{
    int t = blockIdx.x;
    size_t row;

    pdl_enter();
    row = (size_t)ids[t] * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
        out[(size_t)t * cols + c] = load_w(table, dtype, row + c);
}

extern "C" int eng_gpu_embed(float *d_out, const void *d_table, int dtype, const int32_t *d_ids,
                             int T, int cols)
{
    pdl_launch(embed_kernel, T, 256, 0, d_out, d_table, dtype, d_ids, cols);
    return launched("embed");
}

// --- RMSNorm: out (rows, n) = x * rsqrt(mean(x^2) + eps) * w (n) ---------

static __global__ void rmsnorm_kernel(float *out, const float *x, const void *w, int dtype, int n,
                                      float eps)
{
    __shared__ float red[33];
    const float *xr = x + (size_t)blockIdx.x * n;
    float *orow = out + (size_t)blockIdx.x * n;
    float ss = 0.0f, scale;

    pdl_enter();
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        ss += xr[i] * xr[i];
    ss = block_sum(ss, red);
    scale = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        orow[i] = xr[i] * scale * load_w(w, dtype, i);
}

extern "C" int eng_gpu_rmsnorm(float *d_out, const float *d_x, const void *d_w, int dtype, int rows,
                               int n, float eps)
{
    pdl_launch(rmsnorm_kernel, rows, 256, 0, d_out, d_x, d_w, dtype, n, eps);
    return launched("rmsnorm");
}

// --- RoPE, half-split pairs (x[i], x[i + d/2]): x (T, n_heads, head_dim) --

static __global__ void rope_kernel(float *x, const int32_t *pos, const float *inv_freq, int n_heads,
                                   int head_dim)
{
    int t = blockIdx.x, half = head_dim / 2;

    for (int j = threadIdx.x; j < n_heads * half; j += blockDim.x) {
        int h = j / half, i = j % half;
        float *v = x + ((size_t)t * n_heads + h) * head_dim;
        float angle = (float)pos[t] * inv_freq[i];
        float c = cosf(angle), s = sinf(angle);
        float x1 = v[i], x2 = v[i + half];

        v[i] = x1 * c - x2 * s;
        v[i + half] = x2 * c + x1 * s;
    }
}

extern "C" int eng_gpu_rope(float *d_x, const int32_t *d_pos, const float *d_inv_freq, int T,
                            int n_heads, int head_dim)
{
    rope_kernel<<<T, 256, 0, eng_gpu_cur_stream()>>>(d_x, d_pos, d_inv_freq, n_heads, head_dim);
    return launched("rope");
}

// --- SwiGLU: out (n) = silu(gate) * up -----------------------------------

static __global__ void swiglu_kernel(float *out, const float *gate, const float *up, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    if (i < n)
        out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

extern "C" int eng_gpu_swiglu(float *d_out, const float *d_gate, const float *d_up, int n)
{
    swiglu_kernel<<<(n + 255) / 256, 256, 0, eng_gpu_cur_stream()>>>(d_out, d_gate, d_up, n);
    return launched("swiglu");
}

// --- argmax: out = first index of the largest of x (n) --------------------

static __global__ void argmax_kernel(int32_t *out, const float *x, int n)
{
    __shared__ float sv[1024];
    __shared__ int si[1024];
    int best = block_argmax(x, n, sv, si);

    if (threadIdx.x == 0)
        *out = best;
}

extern "C" int eng_gpu_argmax(int32_t *d_out, const float *d_x, int n)
{
    argmax_kernel<<<1, 1024, 0, eng_gpu_cur_stream()>>>(d_out, d_x, n);
    return launched("argmax");
}

// --- GEMV: out (rows) = W (rows, cols) . x (cols) [+ bias] ----------------
// One warp per row; lanes stride the row so a warp reads contiguous memory.

static __global__ void gemv_kernel(float *out, const void *w, int dtype, const float *x,
                                   const float *bias, int rows, int cols)
{
    int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    float sum = 0.0f;

    if (row >= rows)
        return;
    for (int c = lane; c < cols; c += WARP)
        sum += load_w(w, dtype, (size_t)row * cols + c) * x[c];
    sum = warp_sum(sum);
    if (lane == 0)
        out[row] = sum + (bias != NULL ? bias[row] : 0.0f);
}

extern "C" int eng_gpu_gemv(float *d_out, const void *d_w, int dtype, const float *d_x,
                            const float *d_bias, int rows, int cols)
{
    int rows_per_block = 8, blocks = (rows + rows_per_block - 1) / rows_per_block;

    gemv_kernel<<<blocks, rows_per_block * WARP, 0, eng_gpu_cur_stream()>>>(d_out, d_w, dtype, d_x,
                                                                            d_bias, rows, cols);
    return launched("gemv");
}

// --- residual add: x (n) += y (n) ----------------------------------------

static __global__ void add_kernel(float *x, const float *y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    if (i < n)
        x[i] += y[i];
}

extern "C" int eng_gpu_add(float *d_x, const float *d_y, int n)
{
    add_kernel<<<(n + 255) / 256, 256, 0, eng_gpu_cur_stream()>>>(d_x, d_y, n);
    return launched("add");
}

// --- KV-cache append: caches (ctx, kvdim), row pos = k, v (kvdim) --------

static __global__ void kv_append_kernel(float *kc, float *vc, const float *k, const float *v,
                                        size_t row, int kvdim)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    if (i < kvdim) {
        kc[row + i] = k[i];
        vc[row + i] = v[i];
    }
}

extern "C" int eng_gpu_kv_append(float *d_kcache, float *d_vcache, const float *d_k,
                                 const float *d_v, int pos, int kvdim)
{
    kv_append_kernel<<<(kvdim + 255) / 256, 256, 0, eng_gpu_cur_stream()>>>(
        d_kcache, d_vcache, d_k, d_v, (size_t)pos * kvdim, kvdim);
    return launched("kv_append");
}
