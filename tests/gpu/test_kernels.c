/* GPU kernel check and timing (llm.c style): every kernel of gpu.h runs on
 * random inputs, is compared with its CPU reference from ops.h (float32
 * weights within 1e-5 relative, bfloat16 and float16 within 1e-2), and
 * only then timed. Needs a CUDA device; without one it says so and exits
 * 77 (the "skipped" status). Run by tests/gpu/run.sh.
 *
 *   gpu_test_kernels [--bench]      (--bench: also time each kernel)
 *
 * Shapes are those of Llama-3.2-1B (H 2048, 32/8 heads of 64, FFN 8192,
 * vocab 128256) so the timings mean something. */
#include "common/clock.h"
#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
#include "evaluator/engine/ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H 2048
#define NH 32
#define NKV 8
#define HD 64
#define FFN 8192
#define VOCAB 128256
#define CTX 512

static int failures, bench;
static uint64_t rng = 0x1234567;

static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static float *rand_floats(size_t n)
{
    float *p = malloc(n * sizeof *p);
    size_t i;

    for (i = 0; p && i < n; i++)
        p[i] = frand();
    return p;
}

static void *to_gpu(const void *host, size_t bytes)
{
    void *d = NULL;

    if (eng_gpu_alloc(&d, bytes) < 0 || eng_gpu_upload(d, host, bytes) < 0) {
        fprintf(stderr, "gpu: %s\n", as_error_msg());
        exit(1);
    }
    return d;
}

/* max(a, b) where a NaN in either wins: fmax would drop it, and a kernel
 * that writes NaN would pass. */
static double worse(double a, double b)
{
    return isnan(a) || b <= a ? a : b;
}

/* n floats of NaN into device array d (on the current stream): an output
 * buffer that cannot pass a comparison unless the kernel writes every
 * element of it. */
static void nan_fill(void *d, size_t n)
{
    float *h = malloc(n * sizeof *h);
    size_t i;

    for (i = 0; h != NULL && i < n; i++)
        h[i] = NAN;
    if (h == NULL || eng_gpu_upload(d, h, n * sizeof *h) < 0) {
        fprintf(stderr, "gpu: %s\n", h == NULL ? "out of memory" : as_error_msg());
        exit(1);
    }
    free(h);
}

static void *gpu_nans(size_t n)
{
    void *d = NULL;

    if (eng_gpu_alloc(&d, n * sizeof(float)) < 0) {
        fprintf(stderr, "gpu: %s\n", as_error_msg());
        exit(1);
    }
    nan_fill(d, n);
    return d;
}

/* Compare n floats with the reference; prints a row. */
static void compare_host(const char *name, const float *got, const float *ref, size_t n, double tol)
{
    double maxd = 0, maxr = 1e-30;
    size_t i;

    for (i = 0; i < n; i++) {
        maxd = worse(maxd, fabs((double)got[i] - ref[i]));
        maxr = worse(maxr, fabs((double)ref[i]));
    }
    printf("| %-28s | %10zu | %9.2e | %7.0e | %s |\n", name, n, maxd / maxr, tol,
           maxd / maxr <= tol ? "ok" : "FAIL");
    if (!(maxd / maxr <= tol))
        failures++;
}

/* Compare n floats of the device array with the reference. */
static void compare(const char *name, const float *d_out, const float *ref, size_t n, double tol)
{
    float *got = malloc(n * sizeof *got);

    if (got == NULL || eng_gpu_sync() < 0 || eng_gpu_download(got, d_out, n * sizeof *got) < 0) {
        fprintf(stderr, "%s: %s\n", name, as_error_msg());
        failures++;
    } else {
        compare_host(name, got, ref, n, tol);
    }
    free(got);
}

/* Compare n bfloat16 values of the device array, widened, with the
 * reference. */
static void compare_bf16(const char *name, const uint16_t *d_out, const float *ref, size_t n,
                         double tol)
{
    uint16_t *bits = malloc(n * sizeof *bits);
    float *got = malloc(n * sizeof *got);
    size_t i;

    if (bits == NULL || got == NULL || eng_gpu_sync() < 0 ||
        eng_gpu_download(bits, d_out, n * sizeof *bits) < 0) {
        fprintf(stderr, "%s: %s\n", name, as_error_msg());
        failures++;
    } else {
        for (i = 0; i < n; i++)
            got[i] = eng_bf16_to_f32(bits[i]);
        compare_host(name, got, ref, n, tol);
    }
    free(bits);
    free(got);
}

#define TIME(name, bytes, call)                                                          \
    do {                                                                                 \
        if (bench && failures == 0) {                                                    \
            int r_;                                                                      \
            double t_;                                                                   \
            (void)(call);                                                                \
            eng_gpu_sync();                                                              \
            t_ = as_clock_ms();                                                          \
            for (r_ = 0; r_ < 200; r_++)                                                 \
                (void)(call);                                                            \
            eng_gpu_sync();                                                              \
            t_ = (as_clock_ms() - t_) / 200;                                             \
            printf("  time %-22s %8.1f us  %7.1f GB/s\n", name, t_ * 1000,               \
                   (double)(bytes) / (t_ / 1000) / 1e9);                                 \
        }                                                                                \
    } while (0)

static void check_gemv(int rows, int cols, int bf16)
{
    float *w = rand_floats((size_t)rows * cols), *x = rand_floats((size_t)cols);
    float *bias = rand_floats((size_t)rows), *ref = malloc((size_t)rows * sizeof *ref);
    uint16_t *wb = malloc((size_t)rows * cols * sizeof *wb);
    eng_mat m = {bf16 ? (const void *)wb : w, bf16 ? ENG_DT_BF16 : ENG_DT_F32, rows, cols};
    eng_mat b = {bias, ENG_DT_F32, 1, rows};
    void *d_w, *d_x, *d_b, *d_o;
    char name[64];
    size_t i;

    for (i = 0; i < (size_t)rows * cols; i++)
        wb[i] = eng_f32_to_bf16(w[i]);
    eng_matvec(NULL, ref, &m, x, &b);
    d_w = to_gpu(m.data, (size_t)rows * cols * (bf16 ? 2 : 4));
    d_x = to_gpu(x, (size_t)cols * 4);
    d_b = to_gpu(bias, (size_t)rows * 4);
    d_o = gpu_nans((size_t)rows);
    if (eng_gpu_gemv(d_o, d_w, bf16 ? ENG_GPU_BF16 : ENG_GPU_F32, d_x, d_b, rows, cols) < 0)
        failures++;
    snprintf(name, sizeof name, "gemv %s %dx%d", bf16 ? "bf16" : "f32", rows, cols);
    compare(name, d_o, ref, (size_t)rows, bf16 ? 1e-2 : 1e-5);
    TIME(name, (size_t)rows * cols * (bf16 ? 2 : 4),
         eng_gpu_gemv(d_o, d_w, bf16 ? ENG_GPU_BF16 : ENG_GPU_F32, d_x, d_b, rows, cols));
    eng_gpu_free(d_w);
    eng_gpu_free(d_x);
    eng_gpu_free(d_b);
    eng_gpu_free(d_o);
    free(w);
    free(x);
    free(bias);
    free(ref);
    free(wb);
}

/* A random float16 bit pattern of magnitude in [2^-5, 1), either sign. */
static uint16_t rand_f16(void)
{
    uint16_t sign = frand() < 0.0f ? 0x8000u : 0u;
    uint16_t expo = (uint16_t)(10 + (int)((frand() + 1.0f) * 2.5f) % 5);
    uint16_t mant = (uint16_t)((frand() + 1.0f) * 511.0f) & 0x3ffu;

    return (uint16_t)(sign | (expo << 10) | mant);
}

/* d_o (nout floats) filled with NaN, then eng_gpu_gemv_rows into it. */
static void gemv_rows_into(void *d_o, size_t nout, const void *d_w, int dtype, const void *d_x,
                           const void *d_b, int n, int rows, int cols)
{
    nan_fill(d_o, nout);
    if (eng_gpu_gemv_rows(d_o, d_w, dtype, d_x, d_b, n, rows, cols, 0) < 0) {
        fprintf(stderr, "gemv_rows: %s\n", as_error_msg());
        failures++;
    }
}

/* eng_gpu_gemv_rows of n = 1, 3 and 8 vectors against eng_matmat, for a
 * (rows, cols) matrix of float32, bfloat16 and float16 weights, with and
 * without a bias, into outputs filled with NaN; each n = 8 product is run
 * again and must repeat bit for bit. */
static void check_gemv_rows(int rows, int cols)
{
    static const int ns[3] = {1, 3, 8}, gdt[3] = {ENG_GPU_F32, ENG_GPU_BF16, ENG_GPU_F16};
    static const eng_dtype cdt[3] = {ENG_DT_F32, ENG_DT_BF16, ENG_DT_F16};
    static const char *dname[3] = {"f32", "bf16", "f16"};
    size_t nw = (size_t)rows * cols, nout = (size_t)ENG_GPU_GEMV_ROWS_MAX * rows;
    float *w = rand_floats(nw), *x = rand_floats((size_t)ENG_GPU_GEMV_ROWS_MAX * cols);
    float *bias = rand_floats((size_t)rows), *ref = malloc(nout * sizeof *ref);
    uint16_t *wh = malloc(nw * sizeof *wh);
    void *d_x = to_gpu(x, (size_t)ENG_GPU_GEMV_ROWS_MAX * cols * 4);
    void *d_b = to_gpu(bias, (size_t)rows * 4), *d_o = gpu_nans(nout), *d_w;
    eng_mat b = {bias, ENG_DT_F32, 1, rows}, nob = {NULL, ENG_DT_F32, 1, rows};
    char name[64];
    int dt, i, wb;
    size_t j;

    for (dt = 0; dt < 3; dt++) {
        eng_mat m = {dt == 0 ? (const void *)w : wh, cdt[dt], rows, cols};

        for (j = 0; dt > 0 && j < nw; j++)
            wh[j] = dt == 1 ? eng_f32_to_bf16(w[j]) : rand_f16();
        d_w = to_gpu(m.data, nw * (dt == 0 ? 4 : 2));
        for (i = 0; i < 3; i++)
            for (wb = 0; wb < 2; wb++) {
                int n = ns[i];

                eng_matmat(NULL, ref, (size_t)rows, &m, x, (size_t)cols, n, wb ? &b : &nob);
                gemv_rows_into(d_o, nout, d_w, gdt[dt], d_x, wb ? d_b : NULL, n, rows, cols);
                snprintf(name, sizeof name, "gemv_rows %s %dx%d n=%d%s", dname[dt], rows, cols, n,
                         wb ? " +b" : "");
                compare(name, d_o, ref, (size_t)n * rows, dt == 0 ? 1e-5 : 1e-2);
                if (n < ENG_GPU_GEMV_ROWS_MAX)
                    continue;
                if (eng_gpu_download(ref, d_o, (size_t)n * rows * 4) < 0)
                    failures++;
                gemv_rows_into(d_o, nout, d_w, gdt[dt], d_x, wb ? d_b : NULL, n, rows, cols);
                compare("  repeat = first run", d_o, ref, (size_t)n * rows, 0);
            }
        eng_gpu_free(d_w);
    }
    eng_gpu_free(d_x);
    eng_gpu_free(d_b);
    eng_gpu_free(d_o);
    free(w);
    free(x);
    free(bias);
    free(ref);
    free(wh);
}

/* Device time of eng_gpu_gemv_rows against the cuBLAS GEMM at n = 1 and
 * 8 for a bfloat16 (rows, cols) matrix, as GB/s of weights read (matrices
 * that fit the L2 cache, 50 MB on an H100, are partly read from it when
 * repeated; the LM head's is not). */
static void bench_gemv_rows(eng_gpu_blas *blas, int rows, int cols)
{
    size_t nw = (size_t)rows * cols, i;
    uint16_t *wh = malloc(nw * sizeof *wh);
    float *x = rand_floats((size_t)ENG_GPU_GEMV_ROWS_MAX * cols);
    void *d_w, *d_x, *d_o = NULL, *d_xh = NULL;
    char name[64];
    int n;

    if (wh == NULL || x == NULL) {
        fprintf(stderr, "bench gemv_rows: out of memory\n");
        exit(1);
    }
    for (i = 0; i < nw; i++)
        wh[i] = eng_f32_to_bf16(frand());
    d_w = to_gpu(wh, nw * 2);
    d_x = to_gpu(x, (size_t)ENG_GPU_GEMV_ROWS_MAX * cols * 4);
    if (eng_gpu_alloc(&d_o, (size_t)ENG_GPU_GEMV_ROWS_MAX * rows * 4) < 0 ||
        eng_gpu_alloc(&d_xh, (size_t)ENG_GPU_GEMV_ROWS_MAX * cols * 2) < 0) {
        fprintf(stderr, "gpu: %s\n", as_error_msg());
        exit(1);
    }
    for (n = 1; n <= ENG_GPU_GEMV_ROWS_MAX; n += ENG_GPU_GEMV_ROWS_MAX - 1) {
        snprintf(name, sizeof name, "gemv_rows bf16 %dx%d n=%d", rows, cols, n);
        TIME(name, nw * 2, eng_gpu_gemv_rows(d_o, d_w, ENG_GPU_BF16, d_x, NULL, n, rows, cols, 0));
        snprintf(name, sizeof name, "gemm bf16 %dx%d n=%d", rows, cols, n);
        TIME(name, nw * 2,
             eng_gpu_gemm(blas, d_o, d_w, ENG_GPU_BF16, d_x, d_xh, n, rows, cols, 0));
    }
    eng_gpu_free(d_w);
    eng_gpu_free(d_x);
    eng_gpu_free(d_o);
    eng_gpu_free(d_xh);
    free(wh);
    free(x);
}

/* gemv_rows against eng_matmat on Llama-3.2-1B's shapes and a ragged one
 * (cols not a multiple of 8: no 16-byte loads), then, with --bench, its
 * bandwidth against cuBLAS's. */
static void check_gemv_rows_all(void)
{
    eng_gpu_blas *blas = NULL;

    check_gemv_rows(H, H);
    check_gemv_rows(FFN, H);
    check_gemv_rows(H, FFN);
    check_gemv_rows(1001, 1000);
    check_gemv_rows(1000, 1001);
    if (!bench || failures > 0)
        return;
    if (eng_gpu_blas_new(&blas) < 0) {
        fprintf(stderr, "cublas: %s\n", as_error_msg());
        failures++;
        return;
    }
    bench_gemv_rows(blas, FFN, H);
    bench_gemv_rows(blas, H, FFN);
    bench_gemv_rows(blas, VOCAB, H);
    eng_gpu_blas_free(blas);
}

static void check_small_kernels(void)
{
    int T = 4, pos[4] = {0, 1, 17, 300}, t, ids[4] = {5, 128000, 77, 4096};
    float *x = rand_floats((size_t)T * H), *w = rand_floats(H), *ref = malloc((size_t)T * H * 4);
    float *gate = rand_floats(FFN), *up = rand_floats(FFN), *sw = malloc(FFN * 4);
    float *q = rand_floats((size_t)T * NH * HD), *inv = malloc(HD / 2 * 4);
    float *table = rand_floats((size_t)VOCAB * 64);
    eng_mat wm = {w, ENG_DT_F32, 1, H}, tm = {table, ENG_DT_F32, VOCAB, 64};
    void *d_x, *d_w, *d_o, *d_g, *d_u, *d_q, *d_inv, *d_pos, *d_tab, *d_ids;
    int i;

    for (i = 0; i < HD / 2; i++)
        inv[i] = (float)pow(500000.0, -2.0 * i / HD);
    /* RMSNorm over T rows. */
    for (t = 0; t < T; t++)
        eng_rmsnorm(ref + (size_t)t * H, x + (size_t)t * H, &wm, H, 1e-5f);
    d_x = to_gpu(x, (size_t)T * H * 4);
    d_w = to_gpu(w, H * 4);
    d_o = gpu_nans((size_t)T * H);
    if (eng_gpu_rmsnorm(d_o, d_x, d_w, ENG_GPU_F32, T, H, 1e-5f) < 0)
        failures++;
    compare("rmsnorm 4x2048", d_o, ref, (size_t)T * H, 1e-5);
    TIME("rmsnorm", (size_t)T * H * 8, eng_gpu_rmsnorm(d_o, d_x, d_w, ENG_GPU_F32, T, H, 1e-5f));
    /* SwiGLU. */
    eng_swiglu(sw, gate, up, FFN);
    d_g = to_gpu(gate, FFN * 4);
    d_u = to_gpu(up, FFN * 4);
    eng_gpu_swiglu(d_o, d_g, d_u, FFN);
    compare("swiglu 8192", d_o, sw, FFN, 1e-5);
    /* RoPE at four positions. */
    d_q = to_gpu(q, (size_t)T * NH * HD * 4);
    d_inv = to_gpu(inv, HD / 2 * 4);
    d_pos = to_gpu(pos, sizeof pos);
    for (t = 0; t < T; t++)
        eng_rope(q + (size_t)t * NH * HD, NH, HD, pos[t], inv);
    eng_gpu_rope(d_q, d_pos, d_inv, T, NH, HD);
    compare("rope 4x32x64", d_q, q, (size_t)T * NH * HD, 1e-5);
    /* Embedding gather. */
    for (t = 0; t < T; t++)
        eng_embed(ref + (size_t)t * 64, &tm, ids[t]);
    d_tab = to_gpu(table, (size_t)VOCAB * 64 * 4);
    d_ids = to_gpu(ids, sizeof ids);
    eng_gpu_embed(d_o, d_tab, ENG_GPU_F32, d_ids, T, 64);
    compare("embed 4 of 128256x64", d_o, ref, (size_t)T * 64, 1e-5);
    eng_gpu_free(d_x);
    eng_gpu_free(d_w);
    eng_gpu_free(d_o);
    eng_gpu_free(d_g);
    eng_gpu_free(d_u);
    eng_gpu_free(d_q);
    eng_gpu_free(d_inv);
    eng_gpu_free(d_pos);
    eng_gpu_free(d_tab);
    eng_gpu_free(d_ids);
    free(x);
    free(w);
    free(ref);
    free(gate);
    free(up);
    free(sw);
    free(q);
    free(inv);
    free(table);
}

static void check_attention_and_argmax(void)
{
    size_t kvdim = (size_t)NKV * HD;
    float *k = rand_floats(CTX * kvdim), *v = rand_floats(CTX * kvdim), *q = rand_floats(NH * HD);
    float *ref = malloc(NH * HD * 4), *scores = malloc(CTX * 4), *logits = rand_floats(VOCAB);
    float scale = 1.0f / sqrtf((float)HD);
    void *d_k = to_gpu(k, CTX * kvdim * 4), *d_v = to_gpu(v, CTX * kvdim * 4);
    void *d_q = to_gpu(q, NH * HD * 4), *d_o = to_gpu(ref, NH * HD * 4), *d_l, *d_i;
    int h, win, t0s[2] = {0, CTX - 100}, got = -1, want;

    for (win = 0; win < 2; win++) {
        for (h = 0; h < NH; h++)
            eng_attend(ref + h * HD, q + h * HD, k + (size_t)(h / (NH / NKV)) * HD,
                       v + (size_t)(h / (NH / NKV)) * HD, kvdim, t0s[win], CTX, HD, scale, scores);
        eng_gpu_attention_decode(d_o, d_q, d_k, d_v, NH, NKV, HD, t0s[win], CTX, scale);
        compare(win ? "attention gqa window 100" : "attention gqa 512 pos", d_o, ref, NH * HD, 1e-5);
    }
    TIME("attention 512", CTX * kvdim * 8,
         eng_gpu_attention_decode(d_o, d_q, d_k, d_v, NH, NKV, HD, 0, CTX, scale));
    logits[1234] = 50.0f;
    logits[99999] = 50.0f;                 /* a tie: the first index wins */
    want = eng_argmax(logits, VOCAB);
    d_l = to_gpu(logits, VOCAB * 4);
    d_i = to_gpu(&got, 4);
    eng_gpu_argmax(d_i, d_l, VOCAB);
    if (eng_gpu_sync() < 0 || eng_gpu_download(&got, d_i, 4) < 0)
        failures++;
    printf("| %-28s | %10d | %9s | %7s | %s |\n", "argmax 128256 (tie)", VOCAB, got == want ? "equal" : "differs",
           "exact", got == want ? "ok" : "FAIL");
    if (got != want)
        failures++;
    eng_gpu_free(d_k);
    eng_gpu_free(d_v);
    eng_gpu_free(d_q);
    eng_gpu_free(d_o);
    eng_gpu_free(d_l);
    eng_gpu_free(d_i);
    free(k);
    free(v);
    free(q);
    free(ref);
    free(scores);
    free(logits);
}

static void check_add_append_gemm(void)
{
    int T = 16, rows = 2048, cols = 2048, kvdim = NKV * HD, pos = 7, t, bf;
    float *x = rand_floats((size_t)T * cols), *w = rand_floats((size_t)rows * cols);
    float *y = rand_floats(kvdim), *z = rand_floats(kvdim), *ref = malloc((size_t)T * rows * 4);
    float *cache = calloc((size_t)CTX * kvdim, 4);
    uint16_t *wb = malloc((size_t)rows * cols * 2);
    void *d_x, *d_y, *d_z, *d_kc, *d_vc, *d_o, *d_w, *d_xh;
    eng_gpu_blas *blas = NULL;
    size_t i;

    for (i = 0; i < (size_t)rows * cols; i++)
        wb[i] = eng_f32_to_bf16(w[i]);
    /* Residual add. */
    d_y = to_gpu(y, kvdim * 4);
    d_z = to_gpu(z, kvdim * 4);
    eng_gpu_add(d_y, d_z, kvdim);
    for (i = 0; i < (size_t)kvdim; i++)
        ref[i] = y[i] + z[i];
    compare("add 512", d_y, ref, kvdim, 1e-6);
    /* KV append at row 'pos' of zeroed caches. */
    d_kc = to_gpu(cache, (size_t)CTX * kvdim * 4);
    d_vc = to_gpu(cache, (size_t)CTX * kvdim * 4);
    eng_gpu_kv_append(d_kc, d_vc, d_y, d_z, pos, kvdim);
    memcpy(cache + (size_t)pos * kvdim, ref, (size_t)kvdim * 4);
    compare("kv_append k", d_kc, cache, (size_t)CTX * kvdim, 0);
    memcpy(cache + (size_t)pos * kvdim, z, (size_t)kvdim * 4);
    compare("kv_append v", d_vc, cache, (size_t)CTX * kvdim, 0);
    /* GEMM for 16 tokens, float32 then bfloat16 weights. */
    if (eng_gpu_blas_new(&blas) < 0) {
        fprintf(stderr, "cublas: %s\n", as_error_msg());
        failures++;
        return;
    }
    d_x = to_gpu(x, (size_t)T * cols * 4);
    if (eng_gpu_alloc(&d_xh, (size_t)T * cols * 2) < 0)
        failures++;
    for (bf = 0; bf < 2; bf++) {
        eng_mat m = {bf ? (const void *)wb : w, bf ? ENG_DT_BF16 : ENG_DT_F32, rows, cols};

        d_o = gpu_nans((size_t)T * rows);
        d_w = to_gpu(m.data, (size_t)rows * cols * (bf ? 2 : 4));
        for (t = 0; t < T; t++)
            eng_matvec(NULL, ref + (size_t)t * rows, &m, x + (size_t)t * cols, NULL);
        if (eng_gpu_gemm(blas, d_o, d_w, bf ? ENG_GPU_BF16 : ENG_GPU_F32, d_x, d_xh, T, rows, cols,
                         0) < 0) {
            fprintf(stderr, "gemm: %s\n", as_error_msg());
            failures++;
        }
        compare(bf ? "gemm bf16 16x2048x2048" : "gemm f32 16x2048x2048", d_o, ref,
                (size_t)T * rows, bf ? 1e-2 : 1e-5);
        TIME(bf ? "gemm bf16 T=16" : "gemm f32 T=16", (size_t)rows * cols * (bf ? 2 : 4),
             eng_gpu_gemm(blas, d_o, d_w, bf ? ENG_GPU_BF16 : ENG_GPU_F32, d_x, d_xh, T, rows, cols,
                          0));
        eng_gpu_free(d_w);
        eng_gpu_free(d_o);
    }
    eng_gpu_blas_free(blas);
    eng_gpu_free(d_x);
    eng_gpu_free(d_y);
    eng_gpu_free(d_z);
    eng_gpu_free(d_kc);
    eng_gpu_free(d_vc);
    eng_gpu_free(d_xh);
    free(x);
    free(w);
    free(y);
    free(z);
    free(ref);
    free(cache);
    free(wb);
}

/* The residual forms of the products (acc: out += x . W^T [+ bias]) for
 * float32 and bfloat16 weights: eng_gpu_gemv_rows at n = 1, 3 and 8 with
 * a bias, and the cuBLAS GEMM at 16 rows, into outputs holding y, against
 * y + eng_matmat. */
static void check_products_acc(void)
{
    enum { ROWS = 1000, COLS = 2048, T = 16 };
    static const int ns[4] = {1, 3, 8, T};
    float *w = rand_floats((size_t)ROWS * COLS), *x = rand_floats((size_t)T * COLS);
    float *y = rand_floats((size_t)T * ROWS), *bias = rand_floats(ROWS);
    float *ref = malloc((size_t)T * ROWS * 4);
    uint16_t *wh = malloc((size_t)ROWS * COLS * 2);
    void *d_x = to_gpu(x, (size_t)T * COLS * 4), *d_b = to_gpu(bias, (size_t)ROWS * 4);
    void *d_o = gpu_nans((size_t)T * ROWS), *d_xh = NULL, *d_w;
    eng_mat b = {bias, ENG_DT_F32, 1, ROWS}, nob = {NULL, ENG_DT_F32, 1, ROWS};
    eng_gpu_blas *blas = NULL;
    char name[64];
    size_t j;
    int bf, i, rc;

    if (eng_gpu_blas_new(&blas) < 0 || eng_gpu_alloc(&d_xh, (size_t)T * COLS * 2) < 0) {
        fprintf(stderr, "products acc: %s\n", as_error_msg());
        failures++;
        return;
    }
    for (j = 0; j < (size_t)ROWS * COLS; j++)
        wh[j] = eng_f32_to_bf16(w[j]);
    for (bf = 0; bf < 2; bf++) {
        eng_mat m = {bf ? (const void *)wh : w, bf ? ENG_DT_BF16 : ENG_DT_F32, ROWS, COLS};

        d_w = to_gpu(m.data, (size_t)ROWS * COLS * (bf ? 2 : 4));
        for (i = 0; i < 4; i++) {
            int n = ns[i], gemm = n > ENG_GPU_GEMV_ROWS_MAX;

            eng_matmat(NULL, ref, ROWS, &m, x, COLS, n, gemm ? &nob : &b);
            for (j = 0; j < (size_t)n * ROWS; j++)
                ref[j] += y[j];
            if (eng_gpu_upload(d_o, y, (size_t)n * ROWS * 4) < 0)
                failures++;
            rc = gemm ? eng_gpu_gemm(blas, d_o, d_w, bf ? ENG_GPU_BF16 : ENG_GPU_F32, d_x, d_xh, n,
                                     ROWS, COLS, 1)
                      : eng_gpu_gemv_rows(d_o, d_w, bf ? ENG_GPU_BF16 : ENG_GPU_F32, d_x, d_b, n,
                                          ROWS, COLS, 1);
            if (rc < 0) {
                fprintf(stderr, "products acc: %s\n", as_error_msg());
                failures++;
            }
            snprintf(name, sizeof name, "%s acc %s n=%d", gemm ? "gemm" : "gemv_rows +b",
                     bf ? "bf16" : "f32", n);
            compare(name, d_o, ref, (size_t)n * ROWS, bf ? 1e-2 : 1e-5);
        }
        eng_gpu_free(d_w);
    }
    eng_gpu_blas_free(blas);
    eng_gpu_free(d_x);
    eng_gpu_free(d_b);
    eng_gpu_free(d_o);
    eng_gpu_free(d_xh);
    free(w);
    free(x);
    free(y);
    free(bias);
    free(ref);
    free(wh);
}

/* x (n) rounded to bfloat16 in place; bits (n) gets the bfloat16 bits. */
static void round_bf16(float *x, uint16_t *bits, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        bits[i] = eng_f32_to_bf16(x[i]);
        x[i] = eng_bf16_to_f32(bits[i]);
    }
}

/* eng_gpu_qkv_rope_scatter against eng_rope and a copy into the caches:
 * rows of [q | k | v] for 4 slots of 2 layers (layer 1 used), at
 * positions 0 to 4000, into float32 caches (k within 1e-5, v exact) or
 * bfloat16 ones (the reference rounded to nearest even; k within 1e-2, v
 * exact). */
static void check_rope_scatter(int nh, int nkv, int hd, int bf16, int timed)
{
    enum { N = 4, SLOTS = 4, FCTX = 4096 };
    int slot[N] = {3, 0, 2, 1}, pos[N] = {0, 1, 517, FCTX - 96}, r, i;
    size_t qdim = (size_t)nh * hd, kvdim = (size_t)nkv * hd, width = qdim + 2 * kvdim;
    size_t layer = (size_t)FCTX * kvdim, stride = 2 * layer, cache = SLOTS * stride;
    size_t es = bf16 ? 2 : 4;
    float *qkv = rand_floats(N * width), *kc = rand_floats(cache), *vc = rand_floats(cache);
    float *q = malloc(N * qdim * 4), *inv = malloc((size_t)hd / 2 * 4);
    uint16_t *kb = malloc(cache * 2), *vb = malloc(cache * 2);
    void *d_slot = to_gpu(slot, sizeof slot), *d_pos = to_gpu(pos, sizeof pos);
    void *d_qkv = to_gpu(qkv, N * width * 4), *d_q = gpu_nans(N * qdim), *d_inv, *d_kc, *d_vc;
    int dt = bf16 ? ENG_GPU_BF16 : ENG_GPU_F32;
    char name[64];

    if (bf16) {
        round_bf16(kc, kb, cache);
        round_bf16(vc, vb, cache);
    }
    d_kc = to_gpu(bf16 ? (void *)kb : kc, cache * es);
    d_vc = to_gpu(bf16 ? (void *)vb : vc, cache * es);
    for (i = 0; i < hd / 2; i++)
        inv[i] = powf(500000.0f, -2.0f * i / hd);
    d_inv = to_gpu(inv, (size_t)hd / 2 * 4);
    for (r = 0; r < N; r++) {
        const float *row = qkv + r * width;
        size_t at = slot[r] * stride + layer + (size_t)pos[r] * kvdim;

        memcpy(q + r * qdim, row, qdim * 4);
        eng_rope(q + r * qdim, nh, hd, pos[r], inv);
        memcpy(kc + at, row + qdim, kvdim * 4);
        eng_rope(kc + at, nkv, hd, pos[r], inv);
        memcpy(vc + at, row + qdim + kvdim, kvdim * 4);
        if (bf16) {
            round_bf16(kc + at, kb + at, kvdim);
            round_bf16(vc + at, vb + at, kvdim);
        }
    }
    if (eng_gpu_qkv_rope_scatter(d_q, (char *)d_kc + layer * es, (char *)d_vc + layer * es, dt,
                                 d_qkv, d_slot, d_pos, d_inv, N, stride, nh, nkv, hd) < 0) {
        fprintf(stderr, "qkv_rope_scatter: %s\n", as_error_msg());
        failures++;
    }
    snprintf(name, sizeof name, "qkv_rope_scatter %d/%dx%d %s", nh, nkv, hd, bf16 ? "bf16" : "f32");
    compare(name, d_q, q, N * qdim, 1e-5);
    if (bf16) {
        compare_bf16("  k into bf16 caches", d_kc, kc, cache, 1e-2);
        compare_bf16("  v into bf16 caches", d_vc, vc, cache, 0);
    } else {
        compare("  k into the caches", d_kc, kc, cache, 1e-5);
        compare("  v into the caches", d_vc, vc, cache, 0);
    }
    if (timed)
        TIME(name, (size_t)N * (width * 4 + qdim * 4 + 2 * kvdim * es),
             eng_gpu_qkv_rope_scatter(d_q, (char *)d_kc + layer * es, (char *)d_vc + layer * es,
                                      dt, d_qkv, d_slot, d_pos, d_inv, N, stride, nh, nkv, hd));
    eng_gpu_free(d_kc);
    eng_gpu_free(d_vc);
    eng_gpu_free(d_qkv);
    eng_gpu_free(d_q);
    eng_gpu_free(d_inv);
    eng_gpu_free(d_slot);
    eng_gpu_free(d_pos);
    free(qkv);
    free(kc);
    free(vc);
    free(kb);
    free(vb);
    free(q);
    free(inv);
}

/* The kernels after the stacked products: RoPE and the cache writes for
 * Llama-3.2-1B's heads and for 3 heads / 1 kv head of an odd head_dim
 * (whose last element is not rotated), into float32 and bfloat16 caches;
 * then SwiGLU of [gate | up] rows against eng_swiglu. */
static void check_fused(void)
{
    enum { N = 4 };
    float *g = rand_floats((size_t)N * 2 * FFN), *ref = malloc((size_t)N * FFN * 4);
    void *d_g = to_gpu(g, (size_t)N * 2 * FFN * 4), *d_o = gpu_nans((size_t)N * FFN);
    int r, bf;

    for (bf = 0; bf < 2; bf++) {
        check_rope_scatter(NH, NKV, HD, bf, 1);
        check_rope_scatter(3, 1, 9, bf, 0);
    }
    for (r = 0; r < N; r++)
        eng_swiglu(ref + (size_t)r * FFN, g + (size_t)r * 2 * FFN, g + (size_t)r * 2 * FFN + FFN,
                   FFN);
    if (eng_gpu_swiglu_rows(d_o, d_g, N, FFN) < 0) {
        fprintf(stderr, "swiglu_rows: %s\n", as_error_msg());
        failures++;
    }
    compare("swiglu_rows 4x8192", d_o, ref, (size_t)N * FFN, 1e-5);
    eng_gpu_free(d_g);
    eng_gpu_free(d_o);
    free(g);
    free(ref);
}

/* Bias add and row gather of a batch step. */
static void check_bias_gather(void)
{
    int T = 5, rows = 1000, cols = 300, idx[3] = {5, 0, 3}, t, i;
    float *out = rand_floats((size_t)T * rows), *bias = rand_floats(rows);
    float *x = rand_floats((size_t)6 * cols), *ref = malloc((size_t)T * rows * 4);
    void *d_out = to_gpu(out, (size_t)T * rows * 4), *d_b = to_gpu(bias, (size_t)rows * 4);
    void *d_x = to_gpu(x, (size_t)6 * cols * 4), *d_idx = to_gpu(idx, sizeof idx);

    for (t = 0; t < T; t++)
        for (i = 0; i < rows; i++)
            ref[(size_t)t * rows + i] = out[(size_t)t * rows + i] + bias[i];
    if (eng_gpu_add_bias(d_out, d_b, T, rows) < 0) {
        fprintf(stderr, "add_bias: %s\n", as_error_msg());
        failures++;
    }
    compare("add_bias 5x1000", d_out, ref, (size_t)T * rows, 1e-6);
    for (t = 0; t < 3; t++)
        memcpy(ref + (size_t)t * cols, x + (size_t)idx[t] * cols, (size_t)cols * 4);
    if (eng_gpu_gather_rows(d_out, d_x, d_idx, 3, cols) < 0) {
        fprintf(stderr, "gather_rows: %s\n", as_error_msg());
        failures++;
    }
    compare("gather_rows 3 of 6x300", d_out, ref, (size_t)3 * cols, 0);
    eng_gpu_free(d_out);
    eng_gpu_free(d_b);
    eng_gpu_free(d_x);
    eng_gpu_free(d_idx);
    free(out);
    free(bias);
    free(x);
    free(ref);
}

/* KV scatter and multi-row attention on caches laid out as a batch's: 3
 * slots of 2 layers, layer 1 used; rows of different slots and positions
 * (one at 0, one at the last position), with and without a window. */
#define BCTX 300
static void check_batch_attention(void)
{
    enum { N = 5, SLOTS = 3 };
    int slot[N] = {2, 0, 0, 1, 2}, pos[N] = {0, 5, 6, BCTX - 1, 1}, r, h, win;
    size_t kvdim = (size_t)NKV * HD, layer = (size_t)BCTX * kvdim, stride = 2 * layer;
    size_t cache = SLOTS * stride, qn = (size_t)N * NH * HD;
    float *kc = rand_floats(cache), *vc = rand_floats(cache), *k = rand_floats(N * kvdim);
    float *v = rand_floats(N * kvdim), *q = rand_floats(qn), *ref = malloc(qn * 4);
    float *scores = malloc(BCTX * 4), scale = 1.0f / sqrtf((float)HD);
    float *d_kc = to_gpu(kc, cache * 4), *d_vc = to_gpu(vc, cache * 4);
    void *d_k = to_gpu(k, N * kvdim * 4), *d_v = to_gpu(v, N * kvdim * 4);
    void *d_q = to_gpu(q, qn * 4), *d_o = to_gpu(ref, qn * 4);
    void *d_slot = to_gpu(slot, sizeof slot), *d_pos = to_gpu(pos, sizeof pos);

    for (r = 0; r < N; r++) {
        size_t row = slot[r] * stride + layer + (size_t)pos[r] * kvdim;

        memcpy(kc + row, k + r * kvdim, kvdim * 4);
        memcpy(vc + row, v + r * kvdim, kvdim * 4);
    }
    if (eng_gpu_kv_scatter(d_kc + layer, d_vc + layer, d_k, d_v, d_slot, d_pos, N, stride,
                           (int)kvdim) < 0) {
        fprintf(stderr, "kv_scatter: %s\n", as_error_msg());
        failures++;
    }
    compare("kv_scatter k 5 rows", d_kc, kc, cache, 0);
    compare("kv_scatter v 5 rows", d_vc, vc, cache, 0);
    for (win = 0; win <= 4; win += 4) {
        for (r = 0; r < N; r++) {
            int t0 = win > 0 && pos[r] + 1 > win ? pos[r] + 1 - win : 0;
            const float *kb = kc + slot[r] * stride + layer, *vb = vc + slot[r] * stride + layer;

            for (h = 0; h < NH; h++)
                eng_attend(ref + ((size_t)r * NH + h) * HD, q + ((size_t)r * NH + h) * HD,
                           kb + (size_t)(h / (NH / NKV)) * HD, vb + (size_t)(h / (NH / NKV)) * HD,
                           kvdim, t0, pos[r] + 1, HD, scale, scores);
        }
        if (eng_gpu_attention_rows(d_o, d_q, d_kc + layer, d_vc + layer, ENG_GPU_F32, d_slot,
                                   d_pos, N, stride, NH, NKV, HD, win, scale) < 0) {
            fprintf(stderr, "attention_rows: %s\n", as_error_msg());
            failures++;
        }
        compare(win ? "attention_rows window 4" : "attention_rows 5 rows", d_o, ref, qn, 1e-5);
    }
    TIME("attention_rows 5", (size_t)(BCTX + 14) * kvdim * 8,
         eng_gpu_attention_rows(d_o, d_q, d_kc + layer, d_vc + layer, ENG_GPU_F32, d_slot, d_pos,
                                N, stride, NH, NKV, HD, 0, scale));
    eng_gpu_free(d_kc);
    eng_gpu_free(d_vc);
    eng_gpu_free(d_k);
    eng_gpu_free(d_v);
    eng_gpu_free(d_q);
    eng_gpu_free(d_o);
    eng_gpu_free(d_slot);
    eng_gpu_free(d_pos);
    free(kc);
    free(vc);
    free(k);
    free(v);
    free(q);
    free(ref);
    free(scores);
}

/* Decode attention of one shape against eng_attend: n rows, row r at
 * position pos[r] of slot n - 1 - r of caches of ctx positions (one
 * layer), with a window (0: none), through eng_gpu_attention_rows,
 * eng_gpu_attention_rows_split and, for row 0, eng_gpu_attention_decode.
 * Every call runs twice into NaN-filled outputs and must repeat bit for
 * bit; the split form must equal eng_gpu_attention_rows bit for bit on
 * the rows it does not split (at most ENG_GPU_SPLIT_MIN positions, or
 * every row when n * n_heads >= ENG_GPU_SPLIT_FILL), and decode must
 * equal row 0 of eng_gpu_attention_rows. With 'timed', --bench times the
 * three. With 'bf16' the caches hold bfloat16 (the reference reads the
 * same rounded values) and decode, which reads float32 only, is left out. */
struct att_case {
    const char *name;
    int nh, nkv, hd, ctx, n, window, timed;
    const int *pos;
    int bf16;                /* bfloat16 caches (rows and split only) */
};

enum { ATT_ROWS, ATT_SPLIT, ATT_DECODE };

struct att_run {
    const struct att_case *c;
    float *d_o, *d_part, *d_q;
    void *d_kc, *d_vc;       /* float, or bfloat16 bits with c->bf16 */
    int *d_slot, *d_pos;
    size_t stride;
    int slot0, t0;
    float scale;
};

static int att_t0(int pos, int window)
{
    return window > 0 && pos + 1 > window ? pos + 1 - window : 0;
}

static int att_call(const struct att_run *a, int kind)
{
    const struct att_case *c = a->c;

    int dt = c->bf16 ? ENG_GPU_BF16 : ENG_GPU_F32;

    if (kind == ATT_ROWS)
        return eng_gpu_attention_rows(a->d_o, a->d_q, a->d_kc, a->d_vc, dt, a->d_slot, a->d_pos,
                                      c->n, a->stride, c->nh, c->nkv, c->hd, c->window, a->scale);
    if (kind == ATT_SPLIT)
        return eng_gpu_attention_rows_split(a->d_o, a->d_part, a->d_q, a->d_kc, a->d_vc, dt,
                                            a->d_slot, a->d_pos, c->n, a->stride, c->nh, c->nkv,
                                            c->hd, c->window, a->scale, c->ctx);
    return eng_gpu_attention_decode(a->d_o, a->d_q, (float *)a->d_kc + (size_t)a->slot0 * a->stride,
                                    (float *)a->d_vc + (size_t)a->slot0 * a->stride, c->nh, c->nkv,
                                    c->hd, a->t0, c->pos[0] + 1, a->scale);
}

/* One row of the table: whether a and b (n floats) are the same bits. */
static void same_bits(const char *name, const float *a, const float *b, size_t n)
{
    int same = memcmp(a, b, n * sizeof *a) == 0;

    printf("| %-28s | %10zu | %9s | %7s | %s |\n", name, n, same ? "equal" : "differs", "exact",
           same ? "ok" : "FAIL");
    if (!same)
        failures++;
}

/* Run 'kind' twice, each time into NaN-filled output, and return the first
 * result (out_n floats; caller frees), compared with ref; the second run
 * must repeat it bit for bit. */
static float *att_twice(const struct att_run *a, int kind, const float *ref, size_t out_n,
                        const char *what)
{
    float *got[2];
    char name[64];
    int k;

    for (k = 0; k < 2; k++) {
        got[k] = malloc(out_n * sizeof(float));
        nan_fill(a->d_o, out_n);
        if (got[k] == NULL || att_call(a, kind) < 0 || eng_gpu_sync() < 0 ||
            eng_gpu_download(got[k], a->d_o, out_n * sizeof(float)) < 0) {
            fprintf(stderr, "%s %s: %s\n", a->c->name, what, as_error_msg());
            exit(1);
        }
    }
    snprintf(name, sizeof name, "%s %s", a->c->name, what);
    compare(name, a->d_o, ref, out_n, 1e-5);
    snprintf(name, sizeof name, "  %s repeats", what);
    same_bits(name, got[0], got[1], out_n);
    free(got[1]);
    return got[0];
}

static void check_attention_case(const struct att_case *c)
{
    size_t kvdim = (size_t)c->nkv * c->hd, stride = (size_t)c->ctx * kvdim;
    size_t cache = (size_t)c->n * stride, head = (size_t)c->nh * c->hd, qn = (size_t)c->n * head;
    float *kc = rand_floats(cache), *vc = rand_floats(cache), *q = rand_floats(qn);
    float *ref = malloc(qn * 4), *scores = malloc((size_t)c->ctx * 4), *rows, *split, *dec = NULL;
    uint16_t *kbits = malloc(cache * 2), *vbits = malloc(cache * 2);
    int *slot = malloc((size_t)c->n * sizeof *slot), r, h, g, t0, unsplit;
    int whole = c->n * c->nh >= ENG_GPU_SPLIT_FILL;
    size_t bytes = 0;
    struct att_run a;
    char name[64];

    if (kc == NULL || vc == NULL || q == NULL || ref == NULL || scores == NULL || slot == NULL ||
        kbits == NULL || vbits == NULL) {
        fprintf(stderr, "%s: out of memory\n", c->name);
        exit(1);
    }
    if (c->bf16) {
        round_bf16(kc, kbits, cache);
        round_bf16(vc, vbits, cache);
    }
    for (r = 0; r < c->n; r++) {
        const float *kb = kc + (size_t)(c->n - 1 - r) * stride;
        const float *vb = vc + (size_t)(c->n - 1 - r) * stride;

        slot[r] = c->n - 1 - r;
        t0 = att_t0(c->pos[r], c->window);
        bytes += (size_t)(c->pos[r] + 1 - t0) * kvdim * (c->bf16 ? 4 : 8);
        for (h = 0; h < c->nh; h++) {
            g = h / (c->nh / c->nkv);
            eng_attend(ref + r * head + (size_t)h * c->hd, q + r * head + (size_t)h * c->hd,
                       kb + (size_t)g * c->hd, vb + (size_t)g * c->hd, kvdim, t0, c->pos[r] + 1,
                       c->hd, 1.0f / sqrtf((float)c->hd), scores);
        }
    }
    a.c = c;
    a.stride = stride;
    a.scale = 1.0f / sqrtf((float)c->hd);
    a.slot0 = slot[0];
    a.t0 = att_t0(c->pos[0], c->window);
    a.d_kc = c->bf16 ? to_gpu(kbits, cache * 2) : to_gpu(kc, cache * 4);
    a.d_vc = c->bf16 ? to_gpu(vbits, cache * 2) : to_gpu(vc, cache * 4);
    a.d_q = to_gpu(q, qn * 4);
    a.d_o = gpu_nans(qn);
    a.d_part = gpu_nans(eng_gpu_attention_part_floats(c->n, c->nh, c->hd, c->ctx));
    a.d_slot = to_gpu(slot, (size_t)c->n * sizeof *slot);
    a.d_pos = to_gpu(c->pos, (size_t)c->n * sizeof *c->pos);
    rows = att_twice(&a, ATT_ROWS, ref, qn, "rows");
    split = att_twice(&a, ATT_SPLIT, ref, qn, "split");
    if (!c->bf16)
        dec = att_twice(&a, ATT_DECODE, ref, head, "decode");
    for (r = 0; r < c->n; r++) {
        unsplit = whole || c->pos[r] + 1 - att_t0(c->pos[r], c->window) <= ENG_GPU_SPLIT_MIN;
        if (unsplit && memcmp(rows + r * head, split + r * head, head * sizeof *rows) != 0)
            break;
    }
    snprintf(name, sizeof name, "  unsplit rows = rows%s", whole ? " (all)" : "");
    printf("| %-28s | %10d | %9s | %7s | %s |\n", name, c->n, r == c->n ? "equal" : "differs",
           "exact", r == c->n ? "ok" : "FAIL");
    failures += r != c->n;
    if (dec != NULL)
        same_bits("  decode = row 0 of rows", dec, rows, head);
    if (c->timed) {
        snprintf(name, sizeof name, "%s rows", c->name);
        TIME(name, bytes, att_call(&a, ATT_ROWS));
        snprintf(name, sizeof name, "%s split", c->name);
        TIME(name, bytes, att_call(&a, ATT_SPLIT));
        snprintf(name, sizeof name, "%s decode row 0", c->name);
        if (dec != NULL)
            TIME(name, bytes / c->n, att_call(&a, ATT_DECODE));
    }
    eng_gpu_free(a.d_kc);
    eng_gpu_free(a.d_vc);
    eng_gpu_free(a.d_q);
    eng_gpu_free(a.d_o);
    eng_gpu_free(a.d_part);
    eng_gpu_free(a.d_slot);
    eng_gpu_free(a.d_pos);
    free(rows);
    free(split);
    free(dec);
    free(ref);
    free(scores);
    free(slot);
    free(kc);
    free(vc);
    free(kbits);
    free(vbits);
    free(q);
}

/* The attention shapes: head_dim 64 (Llama-3.2-1B, groups of 4), 128
 * (Qwen2.5-1.5B, groups of 6; 16 heads on one kv head: two blocks of 8),
 * 256 (groups of 7: blocks of 4 and 3), 100, 24, 8 (7 heads on one kv
 * head) and 1; windows; rows of 1 position, of ENG_GPU_SPLIT_MIN and one
 * more, and far longer than a warp's share; some again on bfloat16
 * caches (against eng_attend on the same rounded values). Timed: the first
 * (rows of 1 to 4096 positions) and the decode case of the target model,
 * 1 and 64 rows at about 512 positions, the latter on both caches. */
static void check_attention_shapes(void)
{
    static const int p_long[] = {0, 63, 64, 1024, 4095}, p_gqa7[] = {0, 5, 200, 999};
    static const int p_mha[] = {0, 64, 599}, p_q15[] = {1, 500, 2047}, p_16[] = {0, 299};
    static const int p_256[] = {0, 150, 299}, p_100[] = {0, 36, 37, 500}, p_1[] = {0, 99};
    static const int p_one[] = {511};
    static int p_64[64];
    const struct att_case cases[] = {
        {"att hd64 g4", 32, 8, 64, 4096, 5, 0, 1, p_long, 0},
        {"att hd64 g4 w1500", 32, 8, 64, 4096, 5, 1500, 0, p_long, 0},
        {"att hd8 g7", 7, 1, 8, 1000, 4, 0, 0, p_gqa7, 0},
        {"att hd8 g7 w100", 7, 1, 8, 1000, 4, 100, 0, p_gqa7, 0},
        {"att hd24 g1", 4, 4, 24, 600, 3, 0, 0, p_mha, 0},
        {"att hd128 g6", 12, 2, 128, 2048, 3, 0, 0, p_q15, 0},
        {"att hd128 g16", 16, 1, 128, 300, 2, 0, 0, p_16, 0},
        {"att hd256 g7", 7, 1, 256, 300, 3, 0, 0, p_256, 0},
        {"att hd100 g2 w37", 4, 2, 100, 600, 4, 37, 0, p_100, 0},
        {"att hd1 g2", 2, 1, 1, 100, 2, 0, 0, p_1, 0},
        {"att 1x512", NH, NKV, HD, 1024, 1, 0, 1, p_one, 0},
        {"att 64x512", NH, NKV, HD, 512, 64, 0, 1, p_64, 0},
        {"att hd64 g4 bf16", 32, 8, 64, 4096, 5, 0, 0, p_long, 1},
        {"att hd128 g6 w37 bf16", 12, 2, 128, 2048, 3, 37, 0, p_q15, 1},
        {"att hd8 g7 bf16", 7, 1, 8, 1000, 4, 0, 0, p_gqa7, 1},
        {"att 64x512 bf16", NH, NKV, HD, 512, 64, 0, 1, p_64, 1},
    };
    size_t i;

    for (i = 0; i < 64; i++)
        p_64[i] = 480 + (int)i % 32;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_attention_case(&cases[i]);
}

/* A CUDA graph on a stream of its own: RMSNorm of 4 rows then a GEMM,
 * captured once, replayed on a new input uploaded into the same buffer;
 * the result must equal the same launches run uncaptured bit for bit and
 * the CPU reference within 1e-5. */
static void check_graph(void)
{
    enum { T = 4, ROWS = 1024 };
    float *x = rand_floats((size_t)T * H), *w = rand_floats(H);
    float *wm = rand_floats((size_t)ROWS * H);
    float *h = malloc((size_t)T * H * 4), *ref = malloc((size_t)T * ROWS * 4);
    eng_mat nm = {w, ENG_DT_F32, 1, H}, mm = {wm, ENG_DT_F32, ROWS, H};
    void *d_x = to_gpu(x, (size_t)T * H * 4), *d_w = to_gpu(w, H * 4);
    void *d_h = to_gpu(x, (size_t)T * H * 4), *d_m = to_gpu(wm, (size_t)ROWS * H * 4), *d_o = to_gpu(ref, (size_t)T * ROWS * 4);
    eng_gpu_stream *st = NULL, *prev;
    eng_gpu_blas *blas = NULL;
    eng_gpu_graph *gr = NULL;
    int t, rc;

    if (eng_gpu_stream_new(&st) < 0) {
        fprintf(stderr, "stream: %s\n", as_error_msg());
        failures++;
        return;
    }
    prev = eng_gpu_stream_use(st);
    if ((rc = eng_gpu_blas_new(&blas)) == 0 && (rc = eng_gpu_capture_begin()) == 0) {
        rc = eng_gpu_rmsnorm(d_h, d_x, d_w, ENG_GPU_F32, T, H, 1e-5f);
        if (rc == 0)
            rc = eng_gpu_gemm(blas, d_o, d_m, ENG_GPU_F32, d_h, NULL, T, ROWS, H, 0);
        if (eng_gpu_capture_end(&gr, rc == 0) < 0)
            rc = -1;
    }
    for (t = 0; t < T * H; t++)
        x[t] = frand() * 3.0f;
    if (rc < 0 || gr == NULL || eng_gpu_upload(d_x, x, (size_t)T * H * 4) < 0 ||
        eng_gpu_graph_launch(gr) < 0) {
        fprintf(stderr, "graph: %s\n", as_error_msg());
        failures++;
        goto out;
    }
    for (t = 0; t < T; t++) {
        eng_rmsnorm(h + (size_t)t * H, x + (size_t)t * H, &nm, H, 1e-5f);
        eng_matvec(NULL, ref + (size_t)t * ROWS, &mm, h + (size_t)t * H, NULL);
    }
    compare("graph: rmsnorm+gemm replay", d_o, ref, (size_t)T * ROWS, 1e-5);
    if (eng_gpu_download(ref, d_o, (size_t)T * ROWS * 4) < 0)
        failures++;
    nan_fill(d_o, (size_t)T * ROWS);
    if (eng_gpu_rmsnorm(d_h, d_x, d_w, ENG_GPU_F32, T, H, 1e-5f) < 0 ||
        eng_gpu_gemm(blas, d_o, d_m, ENG_GPU_F32, d_h, NULL, T, ROWS, H, 0) < 0) {
        fprintf(stderr, "graph: uncaptured: %s\n", as_error_msg());
        failures++;
    }
    compare("  replay = uncaptured", d_o, ref, (size_t)T * ROWS, 0);
    TIME("graph rmsnorm+gemm T=4", (size_t)ROWS * H * 4, eng_gpu_graph_launch(gr));
out:
    eng_gpu_graph_free(gr);
    eng_gpu_blas_free(blas);
    eng_gpu_stream_use(prev);
    eng_gpu_stream_free(st);
    eng_gpu_free(d_x);
    eng_gpu_free(d_w);
    eng_gpu_free(d_h);
    eng_gpu_free(d_m);
    eng_gpu_free(d_o);
    free(x);
    free(w);
    free(wm);
    free(h);
    free(ref);
}

/* Per-row argmax (a tie in row 1) and log-softmax at a target (none for
 * row 3: its log-probability must be 0), then argmax alone (no targets). */
static void check_argmax_logprob(void)
{
    enum { K = 4 };
    int32_t target[K] = {7, 99999, VOCAB - 1, -1}, got[K], got2[K];
    double lp[K] = {1, 1, 1, 1}, worst = 0;
    float *x = rand_floats((size_t)K * VOCAB);
    void *d_x, *d_t = to_gpu(target, sizeof target), *d_a = to_gpu(target, sizeof target);
    void *d_lp = to_gpu(lp, sizeof lp);
    int i, bad = 0;

    for (i = 0; i < K * VOCAB; i++)
        x[i] *= 12.0f;
    x[VOCAB + 4321] = 40.0f;
    x[VOCAB + 99999] = 40.0f;
    d_x = to_gpu(x, (size_t)K * VOCAB * 4);
    if (eng_gpu_argmax_logprob(d_a, d_lp, d_x, d_t, K, VOCAB) < 0 || eng_gpu_sync() < 0 ||
        eng_gpu_download(got, d_a, sizeof got) < 0 || eng_gpu_download(lp, d_lp, sizeof lp) < 0 ||
        eng_gpu_argmax_logprob(d_a, NULL, d_x, NULL, K, VOCAB) < 0 || eng_gpu_sync() < 0 ||
        eng_gpu_download(got2, d_a, sizeof got2) < 0) {
        fprintf(stderr, "argmax_logprob: %s\n", as_error_msg());
        bad = 1;
    }
    for (i = 0; i < K && !bad; i++) {
        const float *row = x + (size_t)i * VOCAB;

        bad |= got[i] != eng_argmax(row, VOCAB) || got2[i] != got[i];
        if (target[i] < 0)
            bad |= lp[i] != 0.0;
        else
            worst = worse(worst, fabs(lp[i] - eng_logprob(row, VOCAB, target[i])));
    }
    bad |= !(worst <= 1e-9);
    printf("| %-28s | %10d | %9.2e | %7.0e | %s |\n", "argmax_logprob 4x128256", K, worst, 1e-9,
           bad ? "FAIL" : "ok");
    failures += bad;
    TIME("argmax_logprob 4 rows", (size_t)K * VOCAB * 4,
         eng_gpu_argmax_logprob(d_a, d_lp, d_x, d_t, K, VOCAB));
    eng_gpu_free(d_x);
    eng_gpu_free(d_t);
    eng_gpu_free(d_a);
    eng_gpu_free(d_lp);
    free(x);
}

int main(int argc, char **argv)
{
    char why[160], dev[160];

    bench = argc > 1 && strcmp(argv[1], "--bench") == 0;
    if (!eng_gpu_available(why, sizeof why)) {
        printf("gpu_test_kernels: skipped: %s\n", why);
        return 77;
    }
    if (eng_gpu_describe(dev, sizeof dev) == 0)
        printf("device: %s\n", dev);
    printf("| %-28s | %10s | %9s | %7s | %s |\n", "kernel", "outputs", "max rel", "tol", "result");
    printf("|------------------------------|------------|-----------|---------|--------|\n");
    check_small_kernels();
    check_attention_and_argmax();
    check_add_append_gemm();
    check_gemv(H, H, 0);
    check_gemv(H, H, 1);
    check_gemv(FFN, H, 1);
    check_gemv(H, FFN, 1);
    check_gemv(4096, H, 1);
    check_gemv_rows_all();
    check_products_acc();
    check_bias_gather();
    check_fused();
    check_batch_attention();
    check_attention_shapes();
    check_graph();
    check_argmax_logprob();
    printf("%s\n", failures ? "FAILED" : "all kernels match the CPU reference");
    return failures ? 1 : 0;
}
