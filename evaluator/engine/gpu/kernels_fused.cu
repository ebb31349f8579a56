// Kernels that follow the fused products of a batched step (declared in
// gpu.h): batch_gpu.c multiplies by q|k|v and by gate|up as one matrix
// each, and these kernels take the concatenated rows apart, so a layer
// costs fewer launches (each a few microseconds of a decode step that
// must fit in about a millisecond). The arithmetic per element is that of
// the separate kernels' CPU references: eng_rope, eng_swiglu.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "evaluator/engine/gpu/kernels_common.cuh"
#include "evaluator/engine/gpu/launch.cuh"

// --- RoPE of q and k, k and v into the caches ----------------------------
// Row r = blockIdx.y; its elements are numbered [q (nh * hd) | k (nkv * hd)
// | v (nkv * hd)], one thread each. Dimension d of a head: d < half is
// x[d] c - x[d + half] s, half <= d < 2 half is x[d] c + x[d - half] s,
// and the last of an odd head_dim is copied, as eng_rope leaves it.

static __device__ __forceinline__ float rotated(const float *head, int d, int hd, float pos,
                                                const float *inv_freq)
{
    int half = hd / 2, i = d < half ? d : d - half;
    float angle, c, s;

    if (d >= 2 * half)
        return head[d];
    angle = pos * inv_freq[i];
    c = cosf(angle);
    s = sinf(angle);
    return d < half ? head[d] * c - head[d + half] * s : head[d] * c + head[i] * s;
}

// Element i of a KV cache of float32, or of bfloat16 bits (nearest even).
static __device__ __forceinline__ void kv_put(float *c, size_t i, float x)
{
    c[i] = x;
}

static __device__ __forceinline__ void kv_put(uint16_t *c, size_t i, float x)
{
    c[i] = __bfloat16_as_ushort(__float2bfloat16_rn(x));
}

template <typename KV>
static __global__ void qkv_rope_scatter_kernel(float *q_out, KV *kc, KV *vc, const float *qkv,
                                               const int32_t *slot, const int32_t *pos,
                                               const float *inv_freq, size_t slot_stride, int nh,
                                               int nkv, int hd)
{
    int r = blockIdx.y, j = blockIdx.x * blockDim.x + threadIdx.x;
    int qdim = nh * hd, kvdim = nkv * hd;
    const float *row = qkv + (size_t)r * (qdim + 2 * kvdim);
    size_t dst;
    float p;

    pdl_enter();
    dst = (size_t)slot[r] * slot_stride + (size_t)pos[r] * kvdim;
    p = (float)pos[r];
    if (j < qdim)
        q_out[(size_t)r * qdim + j] = rotated(row + j / hd * hd, j % hd, hd, p, inv_freq);
    else if (j < qdim + kvdim)
        kv_put(kc, dst + j - qdim, rotated(row + j / hd * hd, j % hd, hd, p, inv_freq));
    else if (j < qdim + 2 * kvdim)
        kv_put(vc, dst + j - qdim - kvdim, row[j]);
}

extern "C" int eng_gpu_qkv_rope_scatter(float *d_q_out, void *d_kc, void *d_vc, int kv_dtype,
                                        const float *d_qkv, const int32_t *d_slot,
                                        const int32_t *d_pos, const float *d_inv_freq, int n,
                                        size_t slot_stride, int n_heads, int n_kv, int head_dim)
{
    long width = ((long)n_heads + 2L * n_kv) * head_dim;
    dim3 grid((unsigned)((width + 255) / 256), (unsigned)n);

    if (n <= 0 || n > 65535 || n_heads <= 0 || n_kv <= 0 || head_dim <= 0 || width > INT32_MAX ||
        (kv_dtype != ENG_GPU_F32 && kv_dtype != ENG_GPU_BF16))
        return as_error_set(AS_EINVAL, "qkv_rope_scatter: %d rows of %d + 2 x %d heads of %d, "
                            "KV cache dtype %d", n, n_heads, n_kv, head_dim, kv_dtype);
    if (kv_dtype == ENG_GPU_BF16)
        pdl_launch(qkv_rope_scatter_kernel<uint16_t>, grid, 256, 0, d_q_out, (uint16_t *)d_kc,
                   (uint16_t *)d_vc, d_qkv, d_slot, d_pos, d_inv_freq, slot_stride, n_heads, n_kv,
                   head_dim);
    else
        pdl_launch(qkv_rope_scatter_kernel<float>, grid, 256, 0, d_q_out, (float *)d_kc,
                   (float *)d_vc, d_qkv, d_slot, d_pos, d_inv_freq, slot_stride, n_heads, n_kv,
                   head_dim);
    return launched("qkv_rope_scatter");
}

// --- SwiGLU of [gate | up] rows ------------------------------------------

static __global__ void swiglu_rows_kernel(float *out, const float *gu, int I)
{
    int r = blockIdx.y, i = blockIdx.x * blockDim.x + threadIdx.x;
    const float *g = gu + (size_t)r * 2 * I;

    pdl_enter();
    if (i < I)
        out[(size_t)r * I + i] = g[i] / (1.0f + expf(-g[i])) * g[I + i];
}

extern "C" int eng_gpu_swiglu_rows(float *d_out, const float *d_gu, int n, int I)
{
    dim3 grid((unsigned)((I + 255) / 256), (unsigned)n);

    if (n <= 0 || n > 65535 || I <= 0)
        return as_error_set(AS_EINVAL, "swiglu_rows: %d rows of %d", n, I);
    pdl_launch(swiglu_rows_kernel, grid, 256, 0, d_out, d_gu, I);
    return launched("swiglu_rows");
}
