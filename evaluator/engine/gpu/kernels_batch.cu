// Kernels of a continuous-batching step (declared in gpu.h): n rows, each
// a token of some sequence (slot) at some position, go through the decoder
// together. Every kernel is deterministic (fixed-order reductions, no
// atomics) and has a CPU reference that tests/gpu/test_kernels.c compares.
//
// KV caches: the caches of one layer for all slots, slot s's (ctx, kvdim)
// block starting at base + s * slot_stride floats; row r of a step is
// slot[r], pos[r] (device int32 (n) each).
#include <cuda_runtime.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "evaluator/engine/gpu/kernels_common.cuh"
#include "evaluator/engine/gpu/launch.cuh"

// --- bias: out (T, rows) += bias (rows) ---------------------------------

static __global__ void add_bias_kernel(float *out, const float *bias, int rows)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    pdl_enter();
    if (i < rows)
        out[(size_t)blockIdx.y * rows + i] += bias[i];
}

extern "C" int eng_gpu_add_bias(float *d_out, const float *d_bias, int T, int rows)
{
    dim3 grid((unsigned)((rows + 255) / 256), (unsigned)T);

    if (T <= 0 || T > 65535)
        return as_error_set(AS_EINVAL, "add_bias: %d rows", T);
    pdl_launch(add_bias_kernel, grid, 256, 0, d_out, d_bias, rows);
    return launched("add_bias");
}

// --- gather: out (k, cols) = x (n, cols)[idx[i]] --------------------------

static __global__ void gather_rows_kernel(float *out, const float *x, const int32_t *idx, int cols)
{
    float *dst = out + (size_t)blockIdx.x * cols;
    const float *src;

    pdl_enter();
    src = x + (size_t)idx[blockIdx.x] * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x)
        dst[c] = src[c];
}

extern "C" int eng_gpu_gather_rows(float *d_out, const float *d_x, const int32_t *d_idx, int k,
                                   int cols)
{
    if (k <= 0)
        return as_error_set(AS_EINVAL, "gather_rows: %d rows", k);
    pdl_launch(gather_rows_kernel, k, 256, 0, d_out, d_x, d_idx, cols);
    return launched("gather_rows");
}

// --- KV scatter: row r's k, v (n, kvdim) to position pos[r] of slot[r] ---

static __global__ void kv_scatter_kernel(float *kc, float *vc, const float *k, const float *v,
                                         const int32_t *slot, const int32_t *pos,
                                         size_t slot_stride, int kvdim)
{
    int r = blockIdx.y, i = blockIdx.x * blockDim.x + threadIdx.x;
    size_t dst = (size_t)slot[r] * slot_stride + (size_t)pos[r] * kvdim + i;

    if (i < kvdim) {
        kc[dst] = k[(size_t)r * kvdim + i];
        vc[dst] = v[(size_t)r * kvdim + i];
    }
}

extern "C" int eng_gpu_kv_scatter(float *d_kc, float *d_vc, const float *d_k, const float *d_v,
                                  const int32_t *d_slot, const int32_t *d_pos, int n,
                                  size_t slot_stride, int kvdim)
{
    dim3 grid((unsigned)((kvdim + 255) / 256), (unsigned)n);

    if (n <= 0 || n > 65535)
        return as_error_set(AS_EINVAL, "kv_scatter: %d rows", n);
    kv_scatter_kernel<<<grid, 256, 0, eng_gpu_cur_stream()>>>(d_kc, d_vc, d_k, d_v, d_slot, d_pos,
                                                              slot_stride, kvdim);
    return launched("kv_scatter");
}

// --- multi-row decode attention ------------------------------------------
// One block per (head h, row r): q, out (n, n_heads, hd); row r attends to
// positions [t0, pos[r]] of its slot's cache, t0 = pos[r] + 1 - window when
// a window (> 0) is shorter than that, else 0. GQA group g = h / (n_heads
// / n_kv). The arithmetic is eng_gpu_attention_decode's, row by row.

static __global__ void attention_rows_kernel(float *out, const float *q, const float *kc,
                                             const float *vc, const int32_t *slot,
                                             const int32_t *pos, size_t slot_stride, int n_heads,
                                             int n_kv, int hd, int window, float scale)
{
    __shared__ float red[33];
    int h = blockIdx.x, r = blockIdx.y, g = h / (n_heads / n_kv), p = pos[r];
    int t0 = window > 0 && p + 1 > window ? p + 1 - window : 0;
    size_t base = (size_t)slot[r] * slot_stride + (size_t)g * hd;
    size_t row = ((size_t)r * n_heads + h) * hd;

    attend_head(out + row, q + row, kc + base, vc + base, (size_t)n_kv * hd, hd, t0, p + 1, scale,
                red);
}

extern "C" int eng_gpu_attention_rows(float *d_out, const float *d_q, const float *d_kc,
                                      const float *d_vc, const int32_t *d_slot,
                                      const int32_t *d_pos, int n, size_t slot_stride, int n_heads,
                                      int n_kv, int head_dim, int window, float scale)
{
    int threads = (head_dim + WARP - 1) / WARP * WARP;
    dim3 grid((unsigned)n_heads, (unsigned)n);

    if (threads > 1024 || n_kv <= 0 || n_heads % n_kv != 0 || n <= 0 || n > 65535 || window < 0)
        return as_error_set(AS_EINVAL, "attention_rows: bad shape (rows %d, heads %d, kv %d, "
                            "head_dim %d, window %d)", n, n_heads, n_kv, head_dim, window);
    attention_rows_kernel<<<grid, threads, 0, eng_gpu_cur_stream()>>>(
        d_out, d_q, d_kc, d_vc, d_slot, d_pos, slot_stride, n_heads, n_kv, head_dim, window, scale);
    return launched("attention_rows");
}

// --- split-context (flash-decoding) multi-row attention ------------------
// Row r attends to L = pos[r] + 1 - t0 positions (t0 as above). When L is at
// most SPLIT_MIN (or there is one split, S = 1), block (h, r, 0) computes it
// as attention_rows_kernel does and the other blocks of the row return.
// Otherwise chunk c of split_chunk(L, S) positions starting at t0 + c *
// chunk goes to block (h, r, c), which writes its partial to part (n,
// n_heads, S, hd + 2):
// [max, sum of exponentials, hd unnormalised weighted values]; then
// attention_combine_kernel merges the row's partials in chunk order.

#define PART_STRIDE(hd) ((size_t)(hd) + 2)

// Positions per chunk of a long row of L positions split at most S ways.
static __device__ int split_chunk(int L, int S)
{
    int c = (L + S - 1) / S;

    return c > ENG_GPU_SPLIT_CHUNK ? c : ENG_GPU_SPLIT_CHUNK;
}

static __device__ int row_t0(int p, int window)
{
    return window > 0 && p + 1 > window ? p + 1 - window : 0;
}

static __global__ void attention_split_kernel(float *out, float *part, const float *q,
                                              const float *kc, const float *vc,
                                              const int32_t *slot, const int32_t *pos,
                                              size_t slot_stride, int n_heads, int n_kv, int hd,
                                              int window, float scale)
{
    __shared__ float red[33];
    int h = blockIdx.x, r = blockIdx.y, c = blockIdx.z, S = gridDim.z;
    int g = h / (n_heads / n_kv), p = pos[r], t0 = row_t0(p, window), L = p + 1 - t0;
    size_t base = (size_t)slot[r] * slot_stride + (size_t)g * hd;
    size_t row = ((size_t)r * n_heads + h) * hd;
    int chunk, a, b, i = threadIdx.x;
    float m, l, acc, *pt;

    if (L <= ENG_GPU_SPLIT_MIN || S == 1) {
        if (c == 0)
            attend_head(out + row, q + row, kc + base, vc + base, (size_t)n_kv * hd, hd, t0, p + 1,
                        scale, red);
        return;
    }
    chunk = split_chunk(L, S);
    a = t0 + c * chunk;
    if (a > p)
        return;
    b = a + chunk < p + 1 ? a + chunk : p + 1;
    acc = attend_part(q + row, kc + base, vc + base, (size_t)n_kv * hd, hd, a, b, scale, red, &m,
                      &l);
    pt = part + (((size_t)r * n_heads + h) * S + c) * PART_STRIDE(hd);
    if (i == 0) {
        pt[0] = m;
        pt[1] = l;
    }
    if (i < hd)
        pt[2 + i] = acc;
}

// One block per (head h, row r) of long rows: out = sum_c acc_c exp(m_c -
// M) / sum_c l_c exp(m_c - M), M = max_c m_c, over the row's chunks in order.
static __global__ void attention_combine_kernel(float *out, const float *part,
                                                const int32_t *pos, int n_heads, int hd,
                                                int window, int S)
{
    int h = blockIdx.x, r = blockIdx.y, i = threadIdx.x, p = pos[r];
    int L = p + 1 - row_t0(p, window), chunk, nc, c;
    const float *pr = part + ((size_t)r * n_heads + h) * S * PART_STRIDE(hd);
    float M = -FLT_MAX, l = 0.0f, acc = 0.0f;

    if (L <= ENG_GPU_SPLIT_MIN)
        return;
    chunk = split_chunk(L, S);
    nc = (L + chunk - 1) / chunk;
    for (c = 0; c < nc; c++)
        M = fmaxf(M, pr[c * PART_STRIDE(hd)]);
    for (c = 0; c < nc; c++) {
        const float *pc = pr + c * PART_STRIDE(hd);
        float w = expf(pc[0] - M);

        l += pc[1] * w;
        if (i < hd)
            acc += pc[2 + i] * w;
    }
    if (i < hd)
        out[((size_t)r * n_heads + h) * hd + i] = acc / l;
}

extern "C" int eng_gpu_attention_splits(int ctx)
{
    int s = (ctx + ENG_GPU_SPLIT_CHUNK - 1) / ENG_GPU_SPLIT_CHUNK;

    if (ctx <= ENG_GPU_SPLIT_MIN)
        return 1;
    return s < ENG_GPU_SPLIT_MAX ? s : ENG_GPU_SPLIT_MAX;
}

extern "C" size_t eng_gpu_attention_part_floats(int n, int n_heads, int head_dim, int ctx)
{
    return (size_t)n * n_heads * eng_gpu_attention_splits(ctx) * PART_STRIDE(head_dim);
}

extern "C" int eng_gpu_attention_rows_split(float *d_out, float *d_part, const float *d_q,
                                            const float *d_kc, const float *d_vc,
                                            const int32_t *d_slot, const int32_t *d_pos, int n,
                                            size_t slot_stride, int n_heads, int n_kv,
                                            int head_dim, int window, float scale, int ctx)
{
    int threads = (head_dim + WARP - 1) / WARP * WARP, S = eng_gpu_attention_splits(ctx), rc;
    dim3 grid((unsigned)n_heads, (unsigned)n, (unsigned)S), rows((unsigned)n_heads, (unsigned)n);
    cudaStream_t st = eng_gpu_cur_stream();

    if (threads > 1024 || n_kv <= 0 || n_heads % n_kv != 0 || n <= 0 || n > 65535 ||
        window < 0 || ctx <= 0)
        return as_error_set(AS_EINVAL, "attention_rows_split: bad shape (rows %d, heads %d, kv "
                            "%d, head_dim %d, window %d, ctx %d)", n, n_heads, n_kv, head_dim,
                            window, ctx);
    attention_split_kernel<<<grid, threads, 0, st>>>(d_out, d_part, d_q, d_kc, d_vc, d_slot, d_pos,
                                                     slot_stride, n_heads, n_kv, head_dim, window,
                                                     scale);
    if ((rc = launched("attention_split")) < 0 || S == 1)
        return rc;
    attention_combine_kernel<<<rows, threads, 0, st>>>(d_out, d_part, d_pos, n_heads, head_dim,
                                                       window, S);
    return launched("attention_combine");
}

// --- per-row argmax and log-softmax at a target --------------------------
// One block of 1024 threads per row of logits (k, vocab). The max is the
// argmax's value; the sum of exp(x - max) is taken in double, each thread
// over a fixed stride, then a fixed tree, so it is deterministic.

#define AL_THREADS 1024

static __global__ void argmax_logprob_kernel(int32_t *amax, double *lp, const float *logits,
                                             const int32_t *target, int vocab)
{
    __shared__ float sv[AL_THREADS];
    __shared__ int si[AL_THREADS];
    __shared__ double sd[AL_THREADS];
    const float *x = logits + (size_t)blockIdx.x * vocab;
    int best = block_argmax(x, vocab, sv, si), t = target != NULL ? target[blockIdx.x] : -1;
    double max = x[best], sum = 0.0;

    if (threadIdx.x == 0)
        amax[blockIdx.x] = best;
    if (t < 0) {
        if (target != NULL && threadIdx.x == 0)
            lp[blockIdx.x] = 0.0;
        return;
    }
    for (int i = threadIdx.x; i < vocab; i += blockDim.x)
        sum += exp((double)x[i] - max);
    sd[threadIdx.x] = sum;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s)
            sd[threadIdx.x] += sd[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        lp[blockIdx.x] = (double)x[t] - max - log(sd[0]);
}

extern "C" int eng_gpu_argmax_logprob(int32_t *d_argmax, double *d_logprob, const float *d_logits,
                                      const int32_t *d_target, int k, int vocab)
{
    if (k <= 0 || vocab <= 0)
        return as_error_set(AS_EINVAL, "argmax_logprob: %d rows of %d", k, vocab);
    argmax_logprob_kernel<<<k, AL_THREADS, 0, eng_gpu_cur_stream()>>>(d_argmax, d_logprob, d_logits,
                                                                      d_target, vocab);
    return launched("argmax_logprob");
}
