// Sampling on the device (declared in gpu.h): per row i < k of logits
// (k, vocab), out[i] = the token that sample.h's eng_sample_u chooses with
// temperature temp[i], top_k[i], top_p[i] and draw u[i] (device arrays of
// k each); a row whose temperature is not > 0 takes the argmax (the first
// index of the largest, as eng_gpu_argmax_logprob).
//
// The specification (sample.c): candidates ordered highest logit first,
// lower id on ties; the first top_k of them (all when top_k is 0 or >=
// vocab); p_i = expf((l_i - max) / T) in float; Z = their sum in double;
// with top_p < 1 the shortest prefix whose sum S_j reaches top_p * Z,
// renormalised (Z' = its sum); then r = u * Z' and the first candidate of
// the prefix with S_j > r, else its last one.
//
// How, without sorting the vocabulary: one block per row. The order is
// that of a 32-bit key per logit (order-preserving, -0 tied with +0) then
// the id. A pass finds the max; a pass sorts every token into 16 "ladder"
// bins by a = (l - max) / T (finer near the max, where the mass is) and
// sums each bin's count and mass. Each search (the top_k-th candidate,
// the top-p cut, the draw) is the first candidate whose running count or
// mass reaches a target: the ladder names the bin it lies in; a bin (with
// the bins before it, as many as fit) of at most SP_CAP tokens is copied
// into shared memory, sorted there by (key, id), and its running sums
// taken in order, which answers this and usually the later searches (they
// lie at or before it); a larger bin is cut 16 ways by key range, one
// pass each, until a part fits or is a single key (tied logits: equal
// probabilities, so the position within them is arithmetic and one more
// pass finds the id). A typical row costs three passes over its logits.
//
// Determinism: per-thread sums over a fixed set of elements, combined in a
// fixed order (no floating-point atomics), so a row gives the same token
// every run and in or out of a CUDA graph. The one atomic is an integer
// counter handing out shared-memory slots whose order the sort discards.
//
// Agreement with the CPU: the candidates, their order and the float
// arguments of exp are the same; p_i is (float)exp((double)a), the
// correctly rounded expf, which the C library's expf equals except on rare
// arguments (glibc: about 6e-5 of them, off by one float ulp). The sums
// are taken in another order. So the GPU chooses the CPU's token except
// when a threshold (top_p * Z against a prefix S_j, or r against S_j)
// lies within delta of that prefix, where delta = vocab * 2^-52 * Z (the
// two orders' double rounding) plus sum_i |p_gpu_i - p_cpu_i| (zero
// unless expf misrounds), i.e. within about 1e-10 of Z for a vocabulary
// of 262,144 when no probability differs. tests/gpu/test_sample_gpu.c
// counts the mismatches and checks each is such a case.
//
// Logits must be finite or -inf (not all -inf); vocab <= 2^24.
#include <cuda_runtime.h>
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "evaluator/engine/gpu/kernels_common.cuh"

#define SP_THREADS 256
#define SP_BINS 16
#define SP_CAP 4096                          // tokens a shared-memory window holds
#define SP_HIST_BYTES (SP_BINS * SP_THREADS * (sizeof(double) + sizeof(int)))
#define SP_WIN_BYTES (SP_CAP * (sizeof(unsigned long long) + sizeof(double)))
#define SP_DYN_BYTES (SP_HIST_BYTES > SP_WIN_BYTES ? SP_HIST_BYTES : SP_WIN_BYTES)
#define SP_EXP_MIN (-104.0f)                 // expf is 0 in float below this

typedef unsigned long long u64;

// What a search looks for: the first candidate whose running count
// reaches the target, or whose running mass reaches / exceeds it.
enum { BY_COUNT, MASS_GE, MASS_GT };

// A candidate, (key << 32 | id), and the count and mass of the candidates
// up to it, itself included.
struct sp_hit {
    u64 kid;
    double cnt, mass;
};

// The block's state for its row (shared memory).
struct sp_row {
    const float *x;
    int n;
    float top, t;
    float thr[SP_BINS];                      // ladder: bin(a) = #{j : a < thr[j]}; thr[15] = -inf
    int cnt[SP_BINS];                        // tokens per ladder bin
    double cum_c[SP_BINS], cum_m[SP_BINS];   // count and mass up to each bin, inclusive
    int sub_c[SP_BINS];                      // a pass's histogram
    double sub_m[SP_BINS];
    int wn, wvalid, wslot;                   // the window: tokens, usable, slots taken
    double wc0, wm0;                         // count and mass before it
    sp_hit hit;
    u64 red64[SP_THREADS];
    double redd[SP_THREADS];
    int redi[SP_THREADS];
};

// Order key: ascending key = descending logit; -0 ties with +0.
static __device__ __forceinline__ unsigned sp_key(float l)
{
    unsigned b = __float_as_uint(l == 0.0f ? 0.0f : l);

    return (b & 0x80000000u) ? b : ~b & 0x7fffffffu;
}

static __device__ __forceinline__ float sp_logit(unsigned key)
{
    return __uint_as_float((key & 0x80000000u) ? key : ~key & 0x7fffffffu);
}

// The argument of exp for logit l, as sample.c computes it (float).
static __device__ __forceinline__ float sp_arg(const sp_row &s, float l)
{
    return (l - s.top) / s.t;
}

// expf(a), correctly rounded (see the top of the file).
static __device__ __forceinline__ float sp_exp(float a)
{
    return a < SP_EXP_MIN ? 0.0f : (float)exp((double)a);
}

static __device__ __forceinline__ int sp_bin(const sp_row &s, float a)
{
    int b = 0;

    for (int step = SP_BINS / 2; step > 0; step /= 2)
        if (a < s.thr[b + step - 1])
            b += step;
    return b;
}

static __device__ __forceinline__ bool sp_reached(int how, double cnt, double mass, double target)
{
    return how == BY_COUNT ? cnt >= target : how == MASS_GE ? mass >= target : mass > target;
}

// f(i, x[i]) for this thread's elements of x (n): groups of 4 consecutive
// elements, group g to thread g % SP_THREADS, in increasing g, whether
// or not the row is 16-byte aligned (so sums do not depend on alignment).
template <typename F>
static __device__ __forceinline__ void sp_each(const float *x, int n, F f)
{
    bool vec = ((uintptr_t)x & 15) == 0;
    int groups = (n + 3) / 4;

    for (int g = threadIdx.x; g < groups; g += SP_THREADS) {
        int i = 4 * g;

        if (vec && i + 3 < n) {
            float4 v = __ldg((const float4 *)x + g);

            f(i, v.x);
            f(i + 1, v.y);
            f(i + 2, v.z);
            f(i + 3, v.w);
        } else {
            for (int e = i; e < n && e < i + 4; e++)
                f(e, __ldg(x + e));
        }
    }
}

// The largest v over the block; every thread gets it.
static __device__ u64 sp_max64(sp_row &s, u64 v)
{
    s.red64[threadIdx.x] = v;
    __syncthreads();
    for (int o = SP_THREADS / 2; o > 0; o /= 2) {
        if (threadIdx.x < o && s.red64[threadIdx.x + o] > s.red64[threadIdx.x])
            s.red64[threadIdx.x] = s.red64[threadIdx.x + o];
        __syncthreads();
    }
    v = s.red64[0];
    __syncthreads();
    return v;
}

// The exclusive prefix sum of v over the threads, in thread order.
static __device__ int sp_scan_int(sp_row &s, int v)
{
    int t = threadIdx.x;

    s.redi[t] = v;
    __syncthreads();
    for (int o = 1; o < SP_THREADS; o *= 2) {
        int add = t >= o ? s.redi[t - o] : 0;

        __syncthreads();
        s.redi[t] += add;
        __syncthreads();
    }
    v = s.redi[t] - v;
    __syncthreads();
    return v;
}

// Histogram pass: each element that bin() puts in [0, SP_BINS) adds its
// count and probability to that bin, into s.sub_c / s.sub_m. Per-thread
// bins in shared memory (hm, hc: SP_BINS x SP_THREADS), then bin by bin
// over the threads in a fixed order. Overwrites the window.
template <typename B>
static __device__ void sp_hist(sp_row &s, double *hm, int *hc, B bin)
{
    int t = threadIdx.x, lane = t % WARP, w = t / WARP;

    for (int b = 0; b < SP_BINS; b++) {
        hm[b * SP_THREADS + t] = 0.0;
        hc[b * SP_THREADS + t] = 0;
    }
    if (t == 0)
        s.wvalid = 0;
    sp_each(s.x, s.n, [&](int, float l) {
        float a;
        int b = bin(l, &a);

        if (b >= 0) {
            hm[b * SP_THREADS + t] += sp_exp(a);
            hc[b * SP_THREADS + t] += 1;
        }
    });
    __syncthreads();
    for (int b = w; b < SP_BINS; b += SP_THREADS / WARP) {
        double m = 0.0;
        int c = 0;

        for (int j = lane; j < SP_THREADS; j += WARP) {
            m += hm[b * SP_THREADS + j];
            c += hc[b * SP_THREADS + j];
        }
        for (int o = WARP / 2; o > 0; o /= 2) {
            m += __shfl_down_sync(0xffffffffu, m, o);
            c += __shfl_down_sync(0xffffffffu, c, o);
        }
        if (lane == 0) {
            s.sub_m[b] = m;
            s.sub_c[b] = c;
        }
    }
    __syncthreads();
}

// Copy the elements that in() selects (at most SP_CAP; c0 tokens of mass
// m0 come before them) into the window, sorted by (key, id), with their
// running mass (from m0, in order) in wc.
template <typename In>
static __device__ void sp_compact(sp_row &s, u64 *wk, double *wc, In in, double c0, double m0)
{
    int t = threadIdx.x, n, p2 = 1, chunk, a, z;
    double run = 0.0, off;

    if (t == 0)
        s.wslot = 0;
    __syncthreads();
    sp_each(s.x, s.n, [&](int i, float l) {
        if (in(l)) {
            int at = atomicAdd(&s.wslot, 1);

            if (at < SP_CAP)
                wk[at] = (u64)sp_key(l) << 32 | (unsigned)i;
        }
    });
    __syncthreads();
    n = s.wslot < SP_CAP ? s.wslot : SP_CAP;
    while (p2 < n)
        p2 *= 2;
    for (int i = n + t; i < p2; i += SP_THREADS)
        wk[i] = ~0ull;
    __syncthreads();
    for (int k = 2; k <= p2; k *= 2)                 // bitonic sort, ascending
        for (int j = k / 2; j > 0; j /= 2) {
            for (int i = t; i < p2; i += SP_THREADS) {
                int o = i ^ j;

                if (o > i) {
                    u64 x = wk[i], y = wk[o];

                    if ((i & k) == 0 ? x > y : x < y) {
                        wk[i] = y;
                        wk[o] = x;
                    }
                }
            }
            __syncthreads();
        }
    chunk = (n + SP_THREADS - 1) / SP_THREADS;
    a = t * chunk < n ? t * chunk : n;
    z = a + chunk < n ? a + chunk : n;
    for (int i = a; i < z; i++) {
        run += sp_exp(sp_arg(s, sp_logit((unsigned)(wk[i] >> 32))));
        wc[i] = run;
    }
    s.redd[t] = run;
    __syncthreads();
    if (t == 0) {                        // chunk offsets, in order: sums stay monotone
        off = m0;
        for (int j = 0; j < SP_THREADS; j++) {
            double v = s.redd[j];

            s.redd[j] = off;
            off += v;
        }
        s.wn = n;
        s.wc0 = c0;
        s.wm0 = m0;
        s.wvalid = n > 0;
    }
    __syncthreads();
    off = s.redd[t];
    for (int i = a; i < z; i++)
        wc[i] = off + wc[i];
    __syncthreads();
}

// Thread 0: the first window entry whose running count / mass reaches
// 'target' (the last entry when none does) into s.hit.
static __device__ void sp_search(sp_row &s, const u64 *wk, const double *wc, int how, double target)
{
    int lo = 0, hi = s.wn - 1;

    if (threadIdx.x != 0)
        return;
    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (sp_reached(how, s.wc0 + mid + 1, wc[mid], target))
            hi = mid;
        else
            lo = mid + 1;
    }
    s.hit.kid = wk[lo];
    s.hit.cnt = s.wc0 + lo + 1;
    s.hit.mass = wc[lo];
}

// c tokens share key 'key' (more than fit the window); c0 tokens of mass
// m0 come before them. Their probabilities are equal, so the answer's
// place among them is arithmetic; its id is found by one pass, the place
// counted over contiguous chunks of ids in order.
static __device__ void sp_ties(sp_row &s, unsigned key, int c, double c0, double m0, int how,
                               double target)
{
    __shared__ int place;
    int t = threadIdx.x, chunk = (s.n + SP_THREADS - 1) / SP_THREADS, mine = 0, before;
    int a = t * chunk < s.n ? t * chunk : s.n, z = a + chunk < s.n ? a + chunk : s.n;
    double p = sp_exp(sp_arg(s, sp_logit(key)));

    if (t == 0) {
        int lo = 0, hi = c - 1;

        while (lo < hi) {
            int mid = (lo + hi) / 2;

            if (sp_reached(how, c0 + mid + 1, m0 + (mid + 1) * p, target))
                hi = mid;
            else
                lo = mid + 1;
        }
        place = lo;
        s.hit.cnt = c0 + lo + 1;
        s.hit.mass = m0 + (lo + 1) * p;
    }
    for (int i = a; i < z; i++)
        mine += sp_key(__ldg(s.x + i)) == key;
    before = sp_scan_int(s, mine);       // syncs, so 'place' is seen
    if (place >= before && place < before + mine)
        for (int i = a, seen = before; i < z; i++)
            if (sp_key(__ldg(s.x + i)) == key && seen++ == place)
                s.hit.kid = (u64)key << 32 | (unsigned)i;
    __syncthreads();
}

// Cut ladder bin b (count c > SP_CAP; c0 tokens of mass m0 before it) by
// key range until the part holding the target fits the window or is one
// key, and answer from that part.
static __device__ void sp_refine(sp_row &s, double *dyn, int b, int how, double target)
{
    double c0 = s.cum_c[b] - s.cnt[b], m0 = b > 0 ? s.cum_m[b - 1] : 0.0;
    unsigned lo, hi;
    u64 lo_neg = 0, hi_max = 0;
    int c = s.cnt[b];

    sp_each(s.x, s.n, [&](int, float l) {
        u64 k = sp_key(l);

        if (sp_bin(s, sp_arg(s, l)) == b) {
            lo_neg = lo_neg > (0xffffffffull - k) ? lo_neg : 0xffffffffull - k;
            hi_max = hi_max > k ? hi_max : k;
        }
    });
    lo = (unsigned)(0xffffffffull - sp_max64(s, lo_neg));
    hi = (unsigned)sp_max64(s, hi_max);
    while (c > SP_CAP && lo < hi) {
        unsigned width = (hi - lo) / SP_BINS + 1, l0 = lo;
        double cc = c0, mm = m0;
        int sel = -1, last = 0;

        sp_hist(s, dyn, (int *)(dyn + SP_BINS * SP_THREADS), [&](float l, float *a) {
            unsigned k = sp_key(l);

            if (k < l0 || k > hi)
                return -1;
            *a = sp_arg(s, l);
            return (int)((k - l0) / width);
        });
        for (int j = 0; j < SP_BINS && sel < 0; j++) {
            if (s.sub_c[j] > 0)
                last = j;
            if (sp_reached(how, cc + s.sub_c[j], mm + s.sub_m[j], target))
                sel = j;
            else {
                cc += s.sub_c[j];
                mm += s.sub_m[j];
            }
        }
        if (sel < 0) {                   // rounding: the last part that has tokens
            sel = last;
            cc = c0;
            mm = m0;
            for (int j = 0; j < sel; j++) {
                cc += s.sub_c[j];
                mm += s.sub_m[j];
            }
        }
        c0 = cc;
        m0 = mm;
        c = s.sub_c[sel];
        lo = l0 + (unsigned)sel * width;
        hi = hi - lo < width - 1 ? hi : lo + width - 1;
    }
    if (c > SP_CAP) {
        sp_ties(s, lo, c, c0, m0, how, target);
        return;
    }
    sp_compact(s, (u64 *)dyn, dyn + SP_CAP, [&](float l) {
        unsigned k = sp_key(l);

        return k >= lo && k <= hi;
    }, c0, m0);
    sp_search(s, (u64 *)dyn, dyn + SP_CAP, how, target);
    __syncthreads();
}

// The first candidate whose running count / mass reaches 'target' into
// s.hit; false (s.hit untouched) when no ladder bin reaches it.
static __device__ bool sp_find(sp_row &s, double *dyn, int how, double target)
{
    u64 *wk = (u64 *)dyn;
    double *wc = dyn + SP_CAP;
    int b, a, fit;

    if (s.wvalid && !sp_reached(how, s.wc0, s.wm0, target) &&
        sp_reached(how, s.wc0 + s.wn, wc[s.wn - 1], target)) {
        sp_search(s, wk, wc, how, target);
        __syncthreads();
        return true;
    }
    for (b = 0; b < SP_BINS && (s.cnt[b] == 0 || !sp_reached(how, s.cum_c[b], s.cum_m[b], target));
         b++)
        ;
    if (b == SP_BINS)
        return false;
    if (s.cnt[b] > SP_CAP) {
        sp_refine(s, dyn, b, how, target);
        return true;
    }
    for (a = b, fit = s.cnt[b]; a > 0 && fit + s.cnt[a - 1] <= SP_CAP; a--)
        fit += s.cnt[a - 1];
    sp_compact(s, wk, wc, [&](float l) {
        int k = sp_bin(s, sp_arg(s, l));

        return k >= a && k <= b;
    }, s.cum_c[a] - s.cnt[a], a > 0 ? s.cum_m[a - 1] : 0.0);
    sp_search(s, wk, wc, how, target);
    __syncthreads();
    return true;
}

// The last token in the order (lowest logit, then highest id).
static __device__ u64 sp_last(sp_row &s)
{
    u64 best = 0;

    sp_each(s.x, s.n, [&](int i, float l) {
        u64 kid = (u64)sp_key(l) << 32 | (unsigned)i;

        best = kid > best ? kid : best;
    });
    return sp_max64(s, best);
}

// Max logit, the ladder's thresholds and its per-bin counts and masses.
static __device__ void sp_ladder(sp_row &s, double *dyn)
{
    u64 kmin_neg = 0, kfin = 0;
    float span;

    sp_each(s.x, s.n, [&](int, float l) {
        u64 k = sp_key(l);

        kmin_neg = kmin_neg > 0xffffffffull - k ? kmin_neg : 0xffffffffull - k;
        if (l > -INFINITY)
            kfin = kfin > k + 1 ? kfin : k + 1;
    });
    kmin_neg = sp_max64(s, kmin_neg);
    kfin = sp_max64(s, kfin);
    if (threadIdx.x == 0) {
        s.top = sp_logit((unsigned)(0xffffffffull - kmin_neg));
        span = kfin > 0 ? (s.top - sp_logit((unsigned)(kfin - 1))) / s.t : 0.0f;
        span = span < -SP_EXP_MIN ? span : -SP_EXP_MIN;
        if (!(span > 0.0f))
            span = 0.0f;
        for (int j = 0; j < SP_BINS - 1; j++)    // narrow near the max, where the mass is
            s.thr[j] = -span * ((float)((j + 1) * (j + 1)) / (float)((SP_BINS - 1) * (SP_BINS - 1)));
        s.thr[SP_BINS - 1] = -INFINITY;
    }
    __syncthreads();
    sp_hist(s, dyn, (int *)(dyn + SP_BINS * SP_THREADS), [&](float l, float *a) {
        *a = sp_arg(s, l);
        return sp_bin(s, *a);
    });
    if (threadIdx.x == 0) {
        double c = 0.0, m = 0.0;

        for (int b = 0; b < SP_BINS; b++) {
            s.cnt[b] = s.sub_c[b];
            c += s.sub_c[b];
            m += s.sub_m[b];
            s.cum_c[b] = c;
            s.cum_m[b] = m;
        }
    }
    __syncthreads();
}

// One block per row; SP_DYN_BYTES of dynamic shared memory: the per-thread
// histograms (SP_BINS x SP_THREADS doubles, then as many ints) or the
// window (SP_CAP keys, then SP_CAP running masses), never both at once
// (64 KiB; with the static part, two blocks fit an SM of sm_80 or sm_90).
static __global__ void __launch_bounds__(SP_THREADS, 2)
sample_rows_kernel(int32_t *out, const float *logits, const float *temp, const int32_t *top_k,
                   const float *top_p, const double *u, int vocab)
{
    extern __shared__ double sp_dyn[];
    __shared__ sp_row s;
    __shared__ float sv[SP_THREADS];
    __shared__ int si[SP_THREADS];
    __shared__ sp_hit lim;               // the last candidate the draw may take
    __shared__ int lim_known;
    const float *x = logits + (size_t)blockIdx.x * vocab;
    float t = temp[blockIdx.x], tp = top_p[blockIdx.x];
    int k = top_k[blockIdx.x];
    double z, r;

    if (!(t > 0.0f)) {
        int best = block_argmax(x, vocab, sv, si);

        if (threadIdx.x == 0)
            out[blockIdx.x] = best;
        return;
    }
    if (threadIdx.x == 0) {
        s.x = x;
        s.n = vocab;
        s.t = t;
        s.wvalid = 0;
        lim_known = 0;
    }
    __syncthreads();
    sp_ladder(s, sp_dyn);
    z = s.cum_m[SP_BINS - 1];
    if (k > 0 && k < vocab) {
        sp_find(s, sp_dyn, BY_COUNT, (double)k);     // always found: the counts reach vocab
        if (threadIdx.x == 0) {
            lim = s.hit;
            lim_known = 1;
        }
        __syncthreads();
        z = lim.mass;
    }
    if (tp < 1.0f && sp_find(s, sp_dyn, MASS_GE, (double)tp * z)) {
        if (threadIdx.x == 0 && (!lim_known || s.hit.kid < lim.kid)) {
            lim = s.hit;
            lim_known = 1;
        }
        __syncthreads();
        z = lim.mass;
    }
    r = u[blockIdx.x] * z;
    if (sp_find(s, sp_dyn, MASS_GT, r) && (!lim_known || s.hit.kid < lim.kid)) {
        if (threadIdx.x == 0)
            out[blockIdx.x] = (int32_t)(uint32_t)s.hit.kid;
        return;
    }
    if (!lim_known) {
        u64 last = sp_last(s);

        if (threadIdx.x == 0)
            out[blockIdx.x] = (int32_t)(uint32_t)last;
        return;
    }
    if (threadIdx.x == 0)
        out[blockIdx.x] = (int32_t)(uint32_t)lim.kid;
}

extern "C" int eng_gpu_sample_rows(int32_t *d_out, const float *d_logits, const float *d_temp,
                                   const int32_t *d_top_k, const float *d_top_p, const double *d_u,
                                   int k, int vocab)
{
    // Once per process, at the first launch: the first step of a shape
    // runs uncaptured, so no graph capture ever sees this call.
    static const cudaError_t smem = cudaFuncSetAttribute(
        sample_rows_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)SP_DYN_BYTES);

    if (k <= 0 || vocab <= 0 || vocab > ENG_GPU_SAMPLE_VOCAB_MAX)
        return as_error_set(AS_EINVAL, "sample_rows: %d rows of %d", k, vocab);
    if (smem != cudaSuccess)
        return as_error_set(AS_EGPU, "sample_rows: %s", cudaGetErrorString(smem));
    sample_rows_kernel<<<k, SP_THREADS, SP_DYN_BYTES, eng_gpu_cur_stream()>>>(
        d_out, d_logits, d_temp, d_top_k, d_top_p, d_u, vocab);
    return launched("sample_rows");
}
