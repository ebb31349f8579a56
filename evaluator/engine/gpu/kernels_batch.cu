// Kernels of a continuous-batching step (declared in gpu.h): n rows, each
// a token of some sequence (slot) at some position, go through the decoder
// together (their attention is in kernels_attention.cu). Every kernel is
// deterministic (fixed-order reductions, no atomics) and has a CPU
// reference that tests/gpu/test_kernels.c compares.
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
