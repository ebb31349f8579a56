/* gpu_test_metrics: the metrics' CUDA kernels (metrics/gpu/met_gpu.h)
 * against the CPU library, then timed next to one CPU core.
 *
 *   gpu_test_metrics [PAIRS] [--no-bench]        (default 100000)
 *
 * 1. ROUGE-L: PAIRS random pairs of token sequences (64 to 256 tokens,
 *    vocabulary 300 as in ../shared/reference/ENGINE.md B6, every tenth pair
 *    3000 for sparse matches and long carries) plus 72 edge cases
 *    (empty sides, lengths around the 32-bit lane and the 1024-token limit,
 *    longer pairs that fall back to the CPU). The GPU's LCS lengths must
 *    equal met_lcs's, and met_batch_rouge_l on the GPU must give the same
 *    bits as on the CPU and as met_rouge_score on the same tokens written
 *    out as text (the library's own tokenizer path).
 * 2. Cosine: PAIRS pairs of 384-dimensional random vectors (some all zero,
 *    some with a squared norm that overflows):
 *    met_gpu_cosine bit for bit equal to met_cosine.
 * 3. A table: the CPU path of metrics/batch.h (one thread, process CPU
 *    time) against the GPU kernel alone and the whole GPU call including
 *    the copies (wall time), for 2,000 / 20,000 / PAIRS pairs; not with
 *    --no-bench (the CUDA emulator's runs: tests/gpu/emu/).
 * Exit status 0 when everything matched, 1 on a mismatch or error, 77 when
 * no CUDA device is usable (skipped, after printing the CPU column). */
#include "metrics/batch.h"
#include "metrics/cosine.h"
#include "metrics/gpu/met_gpu.h"
#include "metrics/rouge.h"
#include "common/clock.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VOCAB 300
#define DIM 384

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static uint32_t uniform(uint32_t lo, uint32_t hi) /* [lo, hi] */
{
    return lo + next_u32() % (hi - lo + 1);
}

/* Process CPU time: the CPU column is single-threaded work, and this keeps
 * it honest on a shared machine (the GPU columns are wall time). */
static double cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fail(const char *what)
{
    fprintf(stderr, "gpu_test_metrics: %s: %s\n", what, as_error_msg());
    return 1;
}

static int push_random(met_seqs *s, uint32_t *tmp, size_t n, uint32_t vocab)
{
    size_t i;

    for (i = 0; i < n; i++)
        tmp[i] = next_u32() % vocab;
    return met_seqs_push(s, tmp, n);
}

/* The pairs: npairs random ones, then NEDGE edge cases (each shape of
 * 'edge' with vocabularies 300 and 4, twice). */
#define NEDGE 72
static int make_pairs(met_seqs *refs, met_seqs *preds, size_t npairs)
{
    static const size_t edge[NEDGE / 4][2] = {
        {0, 0},       {0, 5},       {5, 0},       {1, 1},       {31, 40},     {32, 32},
        {33, 100},    {63, 64},     {64, 65},     {100, 33},    {1023, 1500}, {1024, 1024},
        {1024, 3000}, {1025, 1025}, {1500, 2000}, {2000, 1030}, {700, 9},     {9, 700}};
    uint32_t *tmp = malloc(4096 * sizeof(*tmp));
    size_t i;
    int rc = 0;

    if (tmp == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (i = 0; i < npairs + NEDGE && rc == 0; i++) {
        size_t na, nb;
        uint32_t vocab = VOCAB;
        if (i >= npairs) {
            na = edge[(i - npairs) % (NEDGE / 4)][0];
            nb = edge[(i - npairs) % (NEDGE / 4)][1];
            vocab = i % 2 ? 4 : VOCAB; /* small vocabularies: long LCS, long carries */
        } else {
            na = uniform(64, 256);
            nb = uniform(64, 256);
            if (i % 10 == 9)
                vocab = 3000; /* sparse matches: long carry chains */
        }
        if ((rc = push_random(refs, tmp, na, vocab)) < 0 ||
            (rc = push_random(preds, tmp, nb, vocab)) < 0)
            break;
    }
    free(tmp);
    return rc;
}

/* Token ids written out as words, for met_rouge_score. */
static size_t as_text(const met_seqs *s, size_t i, char *buf, size_t cap)
{
    size_t k, len = 0;

    buf[0] = '\0';
    for (k = s->off[i]; k < s->off[i + 1] && len + 16 < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, "w%u ", (unsigned)s->ids[k]);
    return len;
}

static int same_prf(const met_prf *x, const met_prf *y)
{
    return memcmp(&x->precision, &y->precision, sizeof(double)) == 0 &&
           memcmp(&x->recall, &y->recall, sizeof(double)) == 0 &&
           memcmp(&x->fmeasure, &y->fmeasure, sizeof(double)) == 0;
}

static int check_rouge(const met_seqs *refs, const met_seqs *preds, size_t n)
{
    uint32_t *gpu = malloc(n * sizeof(*gpu));
    met_prf *pg = malloc(n * sizeof(*pg)), *pc = malloc(n * sizeof(*pc));
    char *tr = malloc(40000), *tp = malloc(40000);
    met_lcs_scratch *scr = NULL;
    met_rouge *r = NULL;
    met_device used;
    size_t i, bad_lcs = 0, bad_prf = 0, bad_text = 0, too_long = 0;
    int rc = 1, type = MET_ROUGE_L;

    if (gpu == NULL || pg == NULL || pc == NULL || tr == NULL || tp == NULL) {
        as_error_set(AS_ENOMEM, "out of memory");
        fail("ROUGE-L");
        goto out;
    }
    if (met_gpu_lcs(refs->ids, refs->off, preds->ids, preds->off, n, gpu, NULL) < 0) {
        fail("met_gpu_lcs");
        goto out;
    }
    if (met_batch_rouge_l(refs, preds, MET_DEVICE_GPU, pg, &used) < 0 || used != MET_DEVICE_GPU ||
        met_batch_rouge_l(refs, preds, MET_DEVICE_CPU, pc, NULL) < 0 || met_rouge_new(&r, 0) < 0) {
        fail("met_batch_rouge_l");
        goto out;
    }
    for (i = 0; i < n; i++) {
        size_t na = refs->off[i + 1] - refs->off[i], nb = preds->off[i + 1] - preds->off[i];
        uint32_t want;
        met_prf t;
        size_t lr, lp;
        if (met_lcs(&scr, refs->ids + refs->off[i], na, preds->ids + preds->off[i], nb, &want) <
            0) {
            fail("met_lcs");
            goto out;
        }
        if (gpu[i] == MET_GPU_LCS_TOO_LONG) {
            too_long++;
            if (na <= MET_GPU_LCS_MAX_LEN || nb <= MET_GPU_LCS_MAX_LEN)
                bad_lcs++;
        } else if (gpu[i] != want) {
            if (bad_lcs++ < 5)
                fprintf(stderr, "  pair %zu (%zu x %zu): GPU LCS %u, CPU %u\n", i, na, nb, gpu[i],
                        want);
        }
        if (!same_prf(&pg[i], &pc[i]) && bad_prf++ < 5)
            fprintf(stderr, "  pair %zu: GPU and CPU ROUGE-L differ\n", i);
        lr = as_text(refs, i, tr, 40000);
        lp = as_text(preds, i, tp, 40000);
        if (met_rouge_score(r, tr, lr, tp, lp, &type, 1, &t) < 0) {
            fail("met_rouge_score");
            goto out;
        }
        if (!same_prf(&pg[i], &t) && bad_text++ < 5)
            fprintf(stderr, "  pair %zu: GPU ROUGE-L %.17g, met_rouge_score %.17g\n", i,
                    pg[i].fmeasure, t.fmeasure);
    }
    printf("| ROUGE-L | %zu pairs (%zu over %d tokens, on the CPU) | LCS mismatches %zu | "
           "P/R/F vs CPU batch %zu | vs met_rouge_score %zu |\n",
           n, too_long, MET_GPU_LCS_MAX_LEN, bad_lcs, bad_prf, bad_text);
    rc = bad_lcs || bad_prf || bad_text;
out:
    free(gpu);
    free(pg);
    free(pc);
    free(tr);
    free(tp);
    met_lcs_scratch_free(scr);
    met_rouge_free(r);
    return rc;
}

static int check_cosine(const double *a, const double *b, size_t n, double *out)
{
    size_t i, bad = 0;

    if (met_gpu_cosine(a, b, n, DIM, out, NULL) < 0)
        return fail("met_gpu_cosine");
    for (i = 0; i < n; i++) {
        double want = met_cosine(a + i * DIM, b + i * DIM, DIM);
        if (memcmp(&want, &out[i], sizeof(double)) != 0 && bad++ < 5)
            fprintf(stderr, "  pair %zu: GPU cosine %.17g, CPU %.17g\n", i, out[i], want);
    }
    printf("| cosine | %zu pairs of %d-d vectors | mismatches %zu |\n", n, DIM, bad);
    return bad != 0;
}

/* The first n pairs of s as a new set (the offsets start at 0 already). */
static met_seqs prefix(const met_seqs *s, size_t n)
{
    met_seqs p = *s;

    p.n = n;
    return p;
}

/* The timing table; with gpu 0, only the CPU column. */
static int bench(const met_seqs *refs, const met_seqs *preds, const double *a, const double *b,
                 size_t npairs, int gpu_ok)
{
    const size_t sizes[] = {2000, 20000, npairs};
    met_prf *prf = malloc(npairs * sizeof(*prf));
    uint32_t *lcs = malloc(npairs * sizeof(*lcs));
    double *cos = malloc(npairs * sizeof(*cos));
    size_t k;
    int rc = 1;

    if (prf == NULL || lcs == NULL || cos == NULL) {
        as_error_set(AS_ENOMEM, "out of memory");
        fail("bench");
        goto out;
    }
    printf("\n| metric | pairs | work | CPU 1 thread | GPU kernel | GPU incl. copies | "
           "speedup kernel / end-to-end |\n|---|---|---|---|---|---|---|\n");
    for (k = 0; k < 3; k++) {
        size_t n = sizes[k], i;
        met_seqs r = prefix(refs, n), p = prefix(preds, n);
        met_gpu_times t;
        double cells = 0, t0, cpu, gpu;
        if (n > npairs || (k > 0 && n == sizes[k - 1]))
            continue;
        for (i = 0; i < n; i++)
            cells += (double)(r.off[i + 1] - r.off[i]) * (double)(p.off[i + 1] - p.off[i]);
        t0 = cpu_ms();
        if (met_batch_rouge_l(&r, &p, MET_DEVICE_CPU, prf, NULL) < 0)
            goto fail_out;
        cpu = cpu_ms() - t0;
        if (!gpu_ok) {
            printf("| ROUGE-L | %zu | %.2g DP cells | %.1f ms | - | - | - |\n", n, cells, cpu);
            continue;
        }
        t0 = as_clock_ms();
        if (met_batch_rouge_l(&r, &p, MET_DEVICE_GPU, prf, NULL) < 0)
            goto fail_out;
        gpu = as_clock_ms() - t0;
        if (met_gpu_lcs(r.ids, r.off, p.ids, p.off, n, lcs, &t) < 0)
            goto fail_out;
        printf("| ROUGE-L | %zu | %.2g DP cells | %.1f ms | %.2f ms | %.2f ms (copy in %.2f, out "
               "%.2f) | %.0fx / %.0fx |\n",
               n, cells, cpu, t.kernel_ms, gpu, t.h2d_ms, t.d2h_ms, cpu / t.kernel_ms, cpu / gpu);
    }
    for (k = 0; k < 3; k++) {
        size_t n = sizes[k];
        met_gpu_times t;
        double t0, cpu, gpu;
        if (n > npairs || (k > 0 && n == sizes[k - 1]))
            continue;
        t0 = cpu_ms();
        if (met_batch_cosine(a, b, n, DIM, MET_DEVICE_CPU, cos, NULL) < 0)
            goto fail_out;
        cpu = cpu_ms() - t0;
        if (!gpu_ok) {
            printf("| cosine | %zu | %zu x %d doubles | %.1f ms | - | - | - |\n", n, n, DIM, cpu);
            continue;
        }
        t0 = as_clock_ms();
        if (met_gpu_cosine(a, b, n, DIM, cos, &t) < 0)
            goto fail_out;
        gpu = as_clock_ms() - t0;
        printf("| cosine | %zu | %zu x %d doubles | %.1f ms | %.2f ms | %.2f ms (copy in %.2f, "
               "out %.2f) | %.0fx / %.1fx |\n",
               n, n, DIM, cpu, t.kernel_ms, gpu, t.h2d_ms, t.d2h_ms, cpu / t.kernel_ms, cpu / gpu);
    }
    rc = 0;
    goto out;
fail_out:
    fail("bench");
out:
    free(prf);
    free(lcs);
    free(cos);
    return rc;
}

/* Random vectors, some rows all zero, some whose squared norm overflows. */
static void fill_vectors(double *a, double *b, size_t npairs)
{
    size_t i;

    for (i = 0; i < npairs * DIM; i++) {
        a[i] = (double)next_u32() / 4294967296.0 * 2 - 1;
        b[i] = (double)next_u32() / 65536.0 - 32768;
    }
    for (i = 0; i < npairs; i += 997)
        memset((i % 2 ? a : b) + i * DIM, 0, DIM * sizeof(double));
    for (i = 500; i < npairs; i += 991)
        (i % 2 ? a : b)[i * DIM + i % DIM] = 1e200;
}

int main(int argc, char **argv)
{
    met_seqs refs, preds;
    double *a = NULL, *b = NULL, *out = NULL, t0;
    char why[200], desc[200];
    size_t npairs = 100000;
    uint32_t one = 7, lcs1;
    uint64_t off1[2] = {0, 1};
    int rc = 1, timed = 1;

    if (argc > 1 && strcmp(argv[argc - 1], "--no-bench") == 0) {
        timed = 0;
        argc--;
    }
    if (argc > 1) {
        char *end;
        unsigned long v = strtoul(argv[1], &end, 10);
        if (*end != '\0' || v < 100 || v > 10000000) {
            fprintf(stderr, "usage: gpu_test_metrics [PAIRS (100..10000000)] [--no-bench]\n");
            return 2;
        }
        npairs = v;
    }
    met_seqs_init(&refs);
    met_seqs_init(&preds);
    if (!met_gpu_usable(why, sizeof(why))) {
        /* No GPU: only the CPU column of the table, then "skipped". */
        printf("gpu_test_metrics: no GPU (%s): CPU timings only\n", why);
        if (make_pairs(&refs, &preds, npairs) < 0 ||
            (a = malloc(npairs * DIM * sizeof(double))) == NULL ||
            (b = malloc(npairs * DIM * sizeof(double))) == NULL) {
            fail("setup");
            goto done;
        }
        fill_vectors(a, b, npairs);
        rc = bench(&refs, &preds, a, b, npairs, 0) == 0 ? 77 : 1;
        goto done;
    }
    t0 = as_clock_ms();
    if (met_gpu_lcs(&one, off1, &one, off1, 1, &lcs1, NULL) < 0 || lcs1 != 1 ||
        met_gpu_describe(desc, sizeof(desc)) < 0)
        return fail("CUDA start");
    printf("device: %s (CUDA start %.0f ms)\n", desc, as_clock_ms() - t0);
    a = malloc(npairs * DIM * sizeof(double));
    b = malloc(npairs * DIM * sizeof(double));
    out = malloc(npairs * sizeof(double));
    if (a == NULL || b == NULL || out == NULL || make_pairs(&refs, &preds, npairs) < 0) {
        fail("setup");
        goto done;
    }
    fill_vectors(a, b, npairs);
    rc = check_rouge(&refs, &preds, refs.n);
    rc |= check_cosine(a, b, npairs, out);
    if (rc == 0 && timed)
        rc = bench(&refs, &preds, a, b, npairs, 1);
    printf("%s\n", rc == 0 ? "metric kernels: OK (bit-identical to the CPU library)"
                           : "metric kernels: FAILED");
done:
    met_seqs_free(&refs);
    met_seqs_free(&preds);
    free(a);
    free(b);
    free(out);
    return rc;
}
