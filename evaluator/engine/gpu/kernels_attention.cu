// Decode attention with GQA (declared in gpu.h): eng_gpu_attention_decode,
// eng_gpu_attention_rows and its split-context form
// eng_gpu_attention_rows_split. The CPU reference, per query head, is
// ops.h's eng_attend: out = sum_t softmax_t(q . k_t * scale) v_t.
//
// Shapes: q, out (n, n_heads, hd); position t of kv head g is the hd
// floats at k + t * n_kv * hd + g * hd of its row's cache (likewise v);
// query head h reads kv head h / (n_heads / n_kv).
//
// One block of ATT_WARPS warps per (row, kv head g, group of at most
// att_cfg::heads of g's query heads; one group unless g has more), so each
// K and V row is read from memory once for all the query heads that share
// it. The block's positions are cut into tiles of att_cfg::tile
// consecutive positions, tile j going to warp j % ATT_WARPS. Lane l of a
// warp holds dimensions l, l + 32, ... of q, k and v (lanes past hd hold
// 0): the warp loads the whole tile of K and V first (independent loads,
// in flight together), then per query head sums the tile's dot products
// across lanes with shuffles and folds the tile into that head's online
// softmax (running max, sum of exponentials, accumulator), which each warp
// keeps for itself: no barrier in the position loop. At the end the
// warps' states go through shared memory and are merged in warp order.
// Every sum has a fixed order and there are no atomics, so the same
// inputs give the same bits on every run; eng_gpu_attention_decode,
// eng_gpu_attention_rows and the unsplit rows of the split form run the
// same code and agree bit for bit.
//
// A block: 256 threads, at most 128 registers each (two blocks an SM; no
// spills with nvcc 13 for sm_80 and sm_90), 9.5 KB (head_dim <= 32),
// 18.5 KB (<= 64), 36.5 KB (<= 128) or 36.25 KB (<= 256) of shared memory.
#include <cuda_runtime.h>
#include <float.h>
#include <stdint.h>

#include "evaluator/engine/gpu/kernels_common.cuh"
#include "evaluator/engine/gpu/launch.cuh"

#define ATT_WARPS 8
#define ATT_THREADS (ATT_WARPS * WARP)
#define ATT_HD_MAX 256

// A block's shape for head dimensions of at most 32 * DPL: lanes hold DPL
// dimensions, a warp takes 'tile' positions at a time (tile * DPL = 16 or
// 8 floats of K and of V per lane in flight) and a block serves at most
// 'heads' query heads (their accumulators live in registers).
template <int DPL> struct att_cfg {
    static constexpr int tile = DPL >= 4 ? 16 / DPL : 8;
    static constexpr int heads = DPL == 8 ? 4 : 8;
    static_assert(heads * WARP * DPL % ATT_THREADS == 0, "stage_q: whole rounds");
};

// The warps' final states, merged after the position loop.
template <int DPL> struct att_smem {
    float m[ATT_WARPS][att_cfg<DPL>::heads];
    float l[ATT_WARPS][att_cfg<DPL>::heads];
    float acc[ATT_WARPS][att_cfg<DPL>::heads][WARP * DPL];
};

#define FULL_MASK 0xffffffffu

// Fold positions t .. t + TILE - 1 (those below b; kt, vt hold their keys
// and values, this lane's dimensions) into one query head's online
// softmax state for query q (WARP * DPL floats in shared memory, 0 past
// hd): the running max m and accumulator acc (this lane's dimensions) are
// the warp's, l is the sum of exponentials over the positions of this
// lane's group (below).
//
// The TILE dot products are summed across the warp as a reduce-scatter:
// at each halving step a lane keeps half of its partial sums and adds the
// partner's matching half (TILE - 1 shuffles in all), so that the LPP =
// WARP / TILE lanes of group lane / LPP end with position t + lane / LPP's
// partial, which log2(LPP) more steps complete. Each lane then computes
// one exponential; the tile's max takes log2(TILE) shuffles and each
// lane gets every position's weight by one broadcast per position. Every
// lane of a group computes the same sums in the same order, and the max is
// exact, so all lanes hold the same m and, within a group, the same l.
template <int DPL>
static __device__ __forceinline__ void fold_tile(float *m, float *l, float (&acc)[DPL],
                                                 const float *q,
                                                 const float (&kt)[att_cfg<DPL>::tile][DPL],
                                                 const float (&vt)[att_cfg<DPL>::tile][DPL],
                                                 int t, int b, float scale)
{
    constexpr int TILE = att_cfg<DPL>::tile, LPP = WARP / TILE;
    int lane = threadIdx.x % WARP;
    float qv[DPL], dot[TILE], s, mt, corr, p;

#pragma unroll
    for (int i = 0; i < DPL; i++)
        qv[i] = q[lane + WARP * i];
#pragma unroll
    for (int j = 0; j < TILE; j++) {
        dot[j] = 0.0f;
#pragma unroll
        for (int i = 0; i < DPL; i++)
            dot[j] = fmaf(qv[i], kt[j][i], dot[j]);
    }
#pragma unroll
    for (int n = TILE, o = WARP / 2; n > 1; n /= 2, o /= 2) {
        bool up = (lane & o) != 0;

#pragma unroll
        for (int j = 0; j < n / 2; j++) {
            float send = up ? dot[j] : dot[j + n / 2], keep = up ? dot[j + n / 2] : dot[j];

            dot[j] = keep + __shfl_xor_sync(FULL_MASK, send, o);
        }
    }
#pragma unroll
    for (int o = LPP / 2; o > 0; o /= 2)
        dot[0] += __shfl_xor_sync(FULL_MASK, dot[0], o);
    s = t + lane / LPP < b ? dot[0] * scale : -FLT_MAX;
    mt = s;
#pragma unroll
    for (int o = WARP / 2; o >= LPP; o /= 2)
        mt = fmaxf(mt, __shfl_xor_sync(FULL_MASK, mt, o));
    mt = fmaxf(*m, mt);
    corr = expf(*m - mt);
    p = expf(s - mt);
    *l = *l * corr + p;
#pragma unroll
    for (int i = 0; i < DPL; i++)
        acc[i] *= corr;
#pragma unroll
    for (int j = 0; j < TILE; j++) {
        float pj = __shfl_sync(FULL_MASK, p, j * LPP);

#pragma unroll
        for (int i = 0; i < DPL; i++)
            acc[i] = fmaf(pj, vt[j][i], acc[i]);
    }
    *m = mt;
}

// sq[h] = query head h < nh of q (nh, hd), zero past hd and for h >= nh
// (every load issued before the first store); a barrier follows before it
// is read.
template <int DPL>
static __device__ void stage_q(float (*sq)[WARP * DPL], const float *q, int hd, int nh)
{
    constexpr int PER = att_cfg<DPL>::heads * WARP * DPL / ATT_THREADS;
    float x[PER];

#pragma unroll
    for (int k = 0; k < PER; k++) {
        int e = threadIdx.x + k * ATT_THREADS, h = e / (WARP * DPL), d = e % (WARP * DPL);

        x[k] = h < nh && d < hd ? q[(size_t)h * hd + d] : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < PER; k++) {
        int e = threadIdx.x + k * ATT_THREADS;

        sq[e / (WARP * DPL)][e % (WARP * DPL)] = x[k];
    }
}

// One element of a KV cache as float32: the cache holds float32, or
// bfloat16 (its bits in a uint16_t) for bfloat16 models.
static __device__ __forceinline__ float kv_elem(const float *p)
{
    return __ldg(p);
}

static __device__ __forceinline__ float kv_elem(const uint16_t *p)
{
    return __uint_as_float((uint32_t)__ldg((const unsigned short *)p) << 16);
}

// Attention of nh query heads sq (staged by stage_q) over positions [a, b)
// (not empty) of one kv head's keys k and values v (position t at t *
// stride; KV float or bfloat16 bits). With
// part NULL, out (nh, hd) gets the result; otherwise head h's partial
// [max, sum of exponentials, hd unnormalised weighted values] goes to
// part + h * part_step. Called by all ATT_THREADS threads of the block.
template <int DPL, typename KV>
static __device__ void attend_group(float *out, float *part, size_t part_step,
                                    const float (*sq)[WARP * DPL], const KV *__restrict__ k,
                                    const KV *__restrict__ v, size_t stride, int hd, int nh,
                                    int a, int b, float scale)
{
    constexpr int TILE = att_cfg<DPL>::tile, GH = att_cfg<DPL>::heads;
    __shared__ att_smem<DPL> sm;
    int lane = threadIdx.x % WARP, w = threadIdx.x / WARP;
    float m[GH], l[GH], acc[GH][DPL];

#pragma unroll
    for (int h = 0; h < GH; h++) {
        m[h] = -FLT_MAX;
        l[h] = 0.0f;
#pragma unroll
        for (int i = 0; i < DPL; i++)
            acc[h][i] = 0.0f;
    }
    for (int t = a + w * TILE; t < b; t += ATT_WARPS * TILE) {
        float kt[TILE][DPL], vt[TILE][DPL];

#pragma unroll
        for (int j = 0; j < TILE; j++) {
            // Past b, a tile reloads position b - 1; its score is masked.
            size_t at = (size_t)(t + j < b ? t + j : b - 1) * stride;

#pragma unroll
            for (int i = 0; i < DPL; i++) {
                int d = lane + WARP * i;

                kt[j][i] = d < hd ? kv_elem(k + at + d) : 0.0f;
                vt[j][i] = d < hd ? kv_elem(v + at + d) : 0.0f;
            }
        }
#pragma unroll
        for (int h = 0; h < GH; h++)
            if (h < nh)
                fold_tile<DPL>(&m[h], &l[h], acc[h], sq[h], kt, vt, t, b, scale);
    }
#pragma unroll
    for (int h = 0; h < GH; h++) {
        // The warp's sum of exponentials: one lane of each group.
        for (int o = WARP / 2; o >= WARP / TILE; o /= 2)
            l[h] += __shfl_xor_sync(FULL_MASK, l[h], o);
        if (lane == 0) {
            sm.m[w][h] = m[h];
            sm.l[w][h] = l[h];
        }
#pragma unroll
        for (int i = 0; i < DPL; i++)
            sm.acc[w][h][lane + WARP * i] = acc[h][i];
    }
    __syncthreads();
    for (int e = threadIdx.x; e < nh * hd; e += ATT_THREADS) {
        int h = e / hd, d = e % hd;
        float M = -FLT_MAX, L = 0.0f, A = 0.0f;

        for (int u = 0; u < ATT_WARPS; u++)
            M = fmaxf(M, sm.m[u][h]);
        for (int u = 0; u < ATT_WARPS; u++) {
            float c = expf(sm.m[u][h] - M);

            L += sm.l[u][h] * c;
            A += sm.acc[u][h][d] * c;
        }
        if (part == NULL) {
            out[(size_t)h * hd + d] = A / L;
        } else {
            float *pt = part + (size_t)h * part_step;

            if (d == 0) {
                pt[0] = M;
                pt[1] = L;
            }
            pt[2 + d] = A;
        }
    }
}

// --- the attention kernel ------------------------------------------------
// Block (x, r, c): x = g * hc + j is the j-th group of at most hb of kv
// head g's query heads (hc groups per kv head), r the row, c the chunk.
// Rows attend to [t0, pos[r]] of slot slot[r] (t0 = pos[r] + 1 - window
// when a window is shorter than that, else 0), or, with pos NULL (one row,
// eng_gpu_attention_decode), to [t0, t1) of the caches at kc, vc. With S =
// gridDim.z splits, a row of more than ENG_GPU_SPLIT_MIN positions is cut
// into chunks of split_chunk(L, S) positions, chunk c going to block c,
// which writes partials to part (n, n_heads, S, hd + 2) for
// attention_combine_kernel; other rows are computed whole by block c = 0.

#define PART_STRIDE(hd) ((size_t)(hd) + 2)

struct att_args {
    float *out, *part;
    const float *q;
    const void *kc, *vc;                     // float, or bfloat16 bits with kv_bf16
    int kv_bf16;
    const int32_t *slot, *pos;
    size_t slot_stride;
    int n_heads, n_kv, hd, window, hc, hb, t0, t1;
    float scale;
};

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

template <int DPL, typename KV>
static __global__ void __launch_bounds__(ATT_THREADS, 2) attention_kernel(att_args A)
{
    int G = A.n_heads / A.n_kv, g = blockIdx.x / A.hc;
    int h0 = g * G + (int)(blockIdx.x % A.hc) * A.hb, nh = min(A.hb, (g + 1) * G - h0);
    int r = blockIdx.y, c = blockIdx.z, S = gridDim.z, a = A.t0, b = A.t1, p;
    size_t kv = (size_t)g * A.hd, row = ((size_t)r * A.n_heads + h0) * A.hd, slot;
    __shared__ float sq[att_cfg<DPL>::heads][WARP * DPL];
    float *part = NULL;

    pdl_enter();
    p = A.pos != NULL ? A.pos[r] : 0;
    slot = A.pos != NULL ? (size_t)A.slot[r] : 0;
    // q is loaded while pos and slot are, before the row's span is known.
    stage_q<DPL>(sq, A.q + row, A.hd, nh);
    if (A.pos != NULL) {
        a = row_t0(p, A.window);
        b = p + 1;
        kv += slot * A.slot_stride;
    }
    __syncthreads();
    if (S > 1 && b - a > ENG_GPU_SPLIT_MIN) {
        int chunk = split_chunk(b - a, S), e = a + c * chunk;

        if (e >= b)
            return;
        part = A.part + (((size_t)r * A.n_heads + h0) * S + c) * PART_STRIDE(A.hd);
        a = e;
        b = min(e + chunk, b);
    } else if (c > 0) {
        return;
    }
    attend_group<DPL, KV>(A.out + row, part, (size_t)S * PART_STRIDE(A.hd), sq,
                          (const KV *)A.kc + kv, (const KV *)A.vc + kv, (size_t)A.n_kv * A.hd,
                          A.hd, nh, a, b, A.scale);
}

// Launch attention_kernel for 'rows' rows and S splits, for head
// dimensions up to 32 * DPL.
template <int DPL> static void launch_dpl(att_args A, int rows, int S)
{
    int G = A.n_heads / A.n_kv, hc = (G + att_cfg<DPL>::heads - 1) / att_cfg<DPL>::heads;
    dim3 grid((unsigned)(A.n_kv * hc), (unsigned)rows, (unsigned)S);

    A.hc = hc;
    A.hb = (G + hc - 1) / hc;
    if (A.kv_bf16)
        pdl_launch(attention_kernel<DPL, uint16_t>, grid, ATT_THREADS, 0, A);
    else
        pdl_launch(attention_kernel<DPL, float>, grid, ATT_THREADS, 0, A);
}

static int launch(att_args A, int rows, int S, const char *what)
{
    if (A.hd <= 32)
        launch_dpl<1>(A, rows, S);
    else if (A.hd <= 64)
        launch_dpl<2>(A, rows, S);
    else if (A.hd <= 128)
        launch_dpl<4>(A, rows, S);
    else
        launch_dpl<8>(A, rows, S);
    return launched(what);
}

// 0 when the shape is one the kernels take, else AS_EINVAL naming 'what'.
static int check_shape(const char *what, int n, int n_heads, int n_kv, int hd, int window)
{
    if (hd < 1 || hd > ATT_HD_MAX || n_kv <= 0 || n_heads < n_kv || n_heads % n_kv != 0 || n <= 0 ||
        n > 65535 || window < 0)
        return as_error_set(AS_EINVAL, "%s: bad shape (rows %d, heads %d, kv %d, head_dim %d, "
                            "window %d)", what, n, n_heads, n_kv, hd, window);
    return 0;
}

extern "C" int eng_gpu_attention_decode(float *d_out, const float *d_q, const float *d_k,
                                        const float *d_v, int n_heads, int n_kv, int head_dim,
                                        int t0, int t1, float scale)
{
    att_args A = {d_out, NULL, d_q, d_k, d_v, 0, NULL, NULL, 0, n_heads, n_kv, head_dim, 0, 0, 0,
                  t0, t1, scale};
    int rc;

    if ((rc = check_shape("attention", 1, n_heads, n_kv, head_dim, 0)) < 0)
        return rc;
    if (t0 < 0 || t1 <= t0)
        return as_error_set(AS_EINVAL, "attention: bad positions %d..%d", t0, t1);
    return launch(A, 1, 1, "attention_decode");
}

// AS_EINVAL unless 'dtype' is one a KV cache may have.
static int check_kv(const char *what, int dtype)
{
    if (dtype != ENG_GPU_F32 && dtype != ENG_GPU_BF16)
        return as_error_set(AS_EINVAL, "%s: KV cache dtype %d", what, dtype);
    return 0;
}

extern "C" int eng_gpu_attention_rows(float *d_out, const float *d_q, const void *d_kc,
                                      const void *d_vc, int kv_dtype, const int32_t *d_slot,
                                      const int32_t *d_pos, int n, size_t slot_stride, int n_heads,
                                      int n_kv, int head_dim, int window, float scale)
{
    att_args A = {d_out, NULL, d_q, d_kc, d_vc, kv_dtype == ENG_GPU_BF16, d_slot, d_pos,
                  slot_stride, n_heads, n_kv, head_dim, window, 0, 0, 0, 0, scale};
    int rc;

    if ((rc = check_shape("attention_rows", n, n_heads, n_kv, head_dim, window)) < 0 ||
        (rc = check_kv("attention_rows", kv_dtype)) < 0)
        return rc;
    return launch(A, n, 1, "attention_rows");
}

// --- split-context (flash-decoding) form ---------------------------------
// One block per (head h, row r) of long rows: out = sum_c acc_c exp(m_c -
// M) / sum_c l_c exp(m_c - M), M = max_c m_c, over the row's chunks in order.
static __global__ void attention_combine_kernel(float *out, const float *part,
                                                const int32_t *pos, int n_heads, int hd,
                                                int window, int S)
{
    int h = blockIdx.x, r = blockIdx.y, i = threadIdx.x, p, L, chunk, nc, c;
    const float *pr = part + ((size_t)r * n_heads + h) * S * PART_STRIDE(hd);
    float M = -FLT_MAX, l = 0.0f, acc = 0.0f;

    pdl_enter();
    p = pos[r];
    L = p + 1 - row_t0(p, window);
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

// Splits of a launch of n rows: the fewest that give ENG_GPU_SPLIT_FILL
// (row, query head, split) triples, within eng_gpu_attention_splits(ctx).
static int launch_splits(int n, int n_heads, int ctx)
{
    int most = eng_gpu_attention_splits(ctx);
    long need = ((long)ENG_GPU_SPLIT_FILL + (long)n * n_heads - 1) / ((long)n * n_heads);

    return need < most ? (int)need : most;
}

// Bounds n * n_heads * launch_splits(n, ...) from above for every launch
// of at most n rows: it is at most n * n_heads * splits(ctx), and
// (launch_splits - 1) * n * n_heads < ENG_GPU_SPLIT_FILL.
extern "C" size_t eng_gpu_attention_part_floats(int n, int n_heads, int head_dim, int ctx)
{
    size_t rows = (size_t)n * n_heads, most = rows * (size_t)eng_gpu_attention_splits(ctx);
    size_t fill = rows + ENG_GPU_SPLIT_FILL;

    return (most < fill ? most : fill) * PART_STRIDE(head_dim);
}

extern "C" int eng_gpu_attention_rows_split(float *d_out, float *d_part, const float *d_q,
                                            const void *d_kc, const void *d_vc, int kv_dtype,
                                            const int32_t *d_slot, const int32_t *d_pos, int n,
                                            size_t slot_stride, int n_heads, int n_kv,
                                            int head_dim, int window, float scale, int ctx)
{
    att_args A = {d_out, d_part, d_q, d_kc, d_vc, kv_dtype == ENG_GPU_BF16, d_slot, d_pos,
                  slot_stride, n_heads, n_kv, head_dim, window, 0, 0, 0, 0, scale};
    int threads = (head_dim + WARP - 1) / WARP * WARP, S, rc;

    if ((rc = check_shape("attention_rows_split", n, n_heads, n_kv, head_dim, window)) < 0 ||
        (rc = check_kv("attention_rows_split", kv_dtype)) < 0)
        return rc;
    if (ctx <= 0)
        return as_error_set(AS_EINVAL, "attention_rows_split: context %d", ctx);
    S = launch_splits(n, n_heads, ctx);
    if ((rc = launch(A, n, S, "attention_split")) < 0 || S == 1)
        return rc;
    pdl_launch(attention_combine_kernel, dim3((unsigned)n_heads, (unsigned)n), threads, 0, d_out,
               d_part, d_pos, n_heads, head_dim, window, S);
    return launched("attention_combine");
}
