/* Sampling on the GPU (gpu.h's eng_gpu_sample_rows) against its CPU
 * reference, sample.h's eng_sample_u. For vocabularies of 1001 (rows not
 * 16-byte aligned), 32000, 151936 and 262144 and six kinds of logits
 * (language-model-like; integer logits, so thousands of ties; all equal;
 * 95% -inf with +0 and -0; a range of thousands with -1e30s; dense
 * distinct values), every combination of temperature (0, 1e-3, 0.8, 1.5,
 * 100), top_k (0, 1, 50, 5000, vocab) and top_p (0.01, 0.9, 1) is drawn
 * with eight u values (0, 1 - 2^-53, and others). Each token must be the
 * CPU's, except where the draw or the top-p cut lies within 1e-9 of Z
 * (plus any float ulps by which the C library's expf differs from the
 * correctly rounded exp) of a running sum: those are counted and
 * reported, the others fail. Every launch runs twice and must give the
 * same tokens. Then (--bench) 256 rows of 128256 language-model-like
 * logits are timed for a few settings.
 *
 *   gpu_test_sample [--bench | --vocab N]      (exit 77 without a GPU)
 *
 * --vocab N checks that one vocabulary size only (the CUDA emulator's runs:
 * tests/gpu/emu/). */
#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
#include "evaluator/engine/ops.h"
#include "evaluator/engine/sample.h"
#include "sample_ref.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NU 8
#define REL 1e-9
#define BENCH_ROWS 256
#define BENCH_VOCAB 128256
#define BENCH_REPS 20

enum { K_LM, K_TIES, K_FLAT, K_MASKED, K_SPREAD, K_DENSE, K_COUNT };
static const char *const kind_name[K_COUNT] = {"lm-like", "integer ties", "all equal",
                                               "95% -inf, +-0", "range 3000, -1e30",
                                               "dense distinct"};

static const float temps[] = {0.0f, 1e-3f, 0.8f, 1.5f, 100.0f};
static const int top_ks[] = {0, 1, 50, 5000, -1};   /* -1: the vocabulary */
static const float top_ps[] = {0.01f, 0.9f, 1.0f};

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double uniform(void)
{
    return (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0);
}

static double normal(void)
{
    return sqrt(-2.0 * log(1.0 - uniform())) * cos(6.283185307179586 * uniform());
}

static void fill(float *l, int V, int kind)
{
    int i;

    for (i = 0; i < V; i++) {
        switch (kind) {
        case K_LM:
            l[i] = (float)(i % 6007 == 3 ? 12.0 + 3.0 * normal() : 2.5 * normal());
            break;
        case K_TIES:
            l[i] = (float)rint(3.0 * normal());
            break;
        case K_FLAT:
            l[i] = 1.5f;
            break;
        case K_MASKED:
            if (next_u64() % 20 != 0)
                l[i] = -INFINITY;
            else
                l[i] = i % 10 == 0 ? (i % 20 == 0 ? 0.0f : -0.0f) : (float)(2.0 * normal());
            break;
        case K_SPREAD:
            l[i] = i % 101 == 7 ? -1e30f : (float)(-3000.0 * uniform());
            if (i == V / 3)
                l[i] = 3.0f;
            break;
        default:
            l[i] = (float)(10.0 * uniform() - 5.0);
            break;
        }
    }
}

/* The u values of a case: fixed ones, then random. */
static void draws(double *u)
{
    static const double fixed[] = {0.0, 1.0 - 1.0 / 9007199254740992.0, 0.5, 0.25, 0.999, 1e-6};
    size_t i;

    for (i = 0; i < NU; i++)
        u[i] = i < sizeof fixed / sizeof fixed[0] ? fixed[i] : uniform();
}

typedef struct cases {
    int n;                       /* rows: settings x NU */
    float *temp, *top_p;
    int32_t *top_k;
    double *u;
} cases;

/* Every setting for a vocabulary of V, NU draws each (temperature 0 once). */
static int make_cases(cases *c, int V)
{
    size_t nt = sizeof temps / sizeof *temps, nk = sizeof top_ks / sizeof *top_ks;
    size_t np = sizeof top_ps / sizeof *top_ps, t, k, p, max = (1 + nt * nk * np) * NU;
    double u[NU];
    int j;

    c->n = 0;
    c->temp = malloc(max * sizeof *c->temp);
    c->top_p = malloc(max * sizeof *c->top_p);
    c->top_k = malloc(max * sizeof *c->top_k);
    c->u = malloc(max * sizeof *c->u);
    if (!c->temp || !c->top_p || !c->top_k || !c->u)
        return -1;
    for (t = 0; t < nt; t++)
        for (k = 0; k < nk; k++)
            for (p = 0; p < np; p++) {
                if (temps[t] == 0.0f && (k > 0 || p > 0))
                    continue;
                draws(u);
                for (j = 0; j < NU; j++) {
                    c->temp[c->n] = temps[t];
                    c->top_k[c->n] = top_ks[k] < 0 ? V : top_ks[k];
                    c->top_p[c->n] = top_ps[p];
                    c->u[c->n++] = u[j];
                }
            }
    return 0;
}

static void free_cases(cases *c)
{
    free(c->temp);
    free(c->top_p);
    free(c->top_k);
    free(c->u);
}

/* Device copies of the logits (rows x V) and the settings, and the
 * tokens of two runs. */
typedef struct dev {
    float *logits, *temp, *top_p;
    int32_t *top_k, *out;
    double *u;
} dev;

static void dev_free(dev *d)
{
    eng_gpu_free(d->logits);
    eng_gpu_free(d->temp);
    eng_gpu_free(d->top_p);
    eng_gpu_free(d->top_k);
    eng_gpu_free(d->out);
    eng_gpu_free(d->u);
    memset(d, 0, sizeof *d);
}

/* Upload 'rows' copies of 'l' (V) and the settings of 'c'. */
static int dev_load(dev *d, const float *l, int V, const cases *c, int rows)
{
    size_t r = (size_t)rows, row = (size_t)V * sizeof(float), i;
    int rc;

    if ((rc = eng_gpu_alloc((void **)&d->logits, r * row)) < 0 ||
        (rc = eng_gpu_alloc((void **)&d->temp, r * sizeof(float))) < 0 ||
        (rc = eng_gpu_alloc((void **)&d->top_p, r * sizeof(float))) < 0 ||
        (rc = eng_gpu_alloc((void **)&d->top_k, r * sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_alloc((void **)&d->out, r * sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_alloc((void **)&d->u, r * sizeof(double))) < 0)
        return rc;
    for (i = 0; i < r; i++)
        if ((rc = eng_gpu_upload((char *)d->logits + i * row, l, row)) < 0)
            return rc;
    if ((rc = eng_gpu_upload(d->temp, c->temp, r * sizeof(float))) < 0 ||
        (rc = eng_gpu_upload(d->top_p, c->top_p, r * sizeof(float))) < 0 ||
        (rc = eng_gpu_upload(d->top_k, c->top_k, r * sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_upload(d->u, c->u, r * sizeof(double))) < 0)
        return rc;
    return 0;
}

static int run(dev *d, int32_t *out, int rows, int V)
{
    int rc;

    if ((rc = eng_gpu_sample_rows(d->out, d->logits, d->temp, d->top_k, d->top_p, d->u, rows,
                                  V)) < 0 ||
        (rc = eng_gpu_sync()) < 0)
        return rc;
    return eng_gpu_download(out, d->out, (size_t)rows * sizeof *out);
}

typedef struct tally {
    long rows, boundary, bad, repeat_bad, exp_differs;
} tally;

/* The CPU's token for row i of 'c' on 'l', and whether a mismatch there is
 * a boundary case; counts into *t. */
static int check_row(const float *l, int V, const cases *c, int i, int32_t got, sref *ref,
                     tally *t)
{
    eng_sampling p = {0, c->temp[i], c->top_k[i], c->top_p[i], 0};
    eng_sampler *s = NULL;
    int want;

    if (c->temp[i] == 0.0f) {
        want = eng_argmax(l, V);
    } else {
        if (eng_sampler_new(&s, &p, V) < 0)
            return -1;
        want = eng_sample_u(s, l, c->u[i]);
        eng_sampler_free(s);
    }
    t->rows++;
    if (got == want)
        return 0;
    if (c->temp[i] > 0.0f) {
        sref_params(ref, c->temp[i], c->top_k[i], c->top_p[i], REL);
        if (sref_near(ref, c->u[i])) {
            t->boundary++;
            return 0;
        }
    }
    if (t->bad++ < 5)
        fprintf(stderr, "gpu_test_sample: V %d T %g top_k %d top_p %g u %.17g: GPU %d, CPU %d\n",
                V, c->temp[i], c->top_k[i], c->top_p[i], c->u[i], got, want);
    return 0;
}

/* One vocabulary and kind of logits: every case, twice. */
static int one(int V, int kind, tally *all)
{
    float *l = malloc((size_t)V * sizeof *l);
    int32_t *out = NULL, *again = NULL;
    cases c = {0, NULL, NULL, NULL, NULL};
    dev d;
    sref ref = {NULL, 0, NULL, NULL, 0, 0, 0, 0, 0};
    tally t = {0, 0, 0, 0, 0};
    int i, rc = -1;

    memset(&d, 0, sizeof d);
    if (l == NULL || make_cases(&c, V) < 0)
        goto out;
    fill(l, V, kind);
    out = malloc((size_t)c.n * sizeof *out);
    again = malloc((size_t)c.n * sizeof *again);
    if (out == NULL || again == NULL || sref_init(&ref, l, V) < 0)
        goto out;
    if (dev_load(&d, l, V, &c, c.n) < 0 || run(&d, out, c.n, V) < 0 || run(&d, again, c.n, V) < 0) {
        fprintf(stderr, "gpu_test_sample: %s\n", as_error_msg());
        goto out;
    }
    t.repeat_bad = memcmp(out, again, (size_t)c.n * sizeof *out) != 0;
    for (i = 0; i < c.n; i++)
        if (check_row(l, V, &c, i, out[i], &ref, &t) < 0)
            goto out;
    for (i = 0; i < c.n; i += NU)
        if (c.temp[i] > 0.0f) {
            sref_params(&ref, c.temp[i], c.top_k[i], c.top_p[i], REL);
            t.exp_differs += ref.exp_differs;
        }
    printf("| %6d | %-18s | %4ld rows | boundary draws %3ld | wrong %3ld | repeat %s | "
           "expf != exp on %ld candidates |\n", V, kind_name[kind], t.rows, t.boundary, t.bad,
           t.repeat_bad ? "DIFFERS" : "same", t.exp_differs);
    all->rows += t.rows;
    all->boundary += t.boundary;
    all->bad += t.bad;
    all->repeat_bad += t.repeat_bad;
    rc = 0;
out:
    dev_free(&d);
    sref_free(&ref);
    free_cases(&c);
    free(l);
    free(out);
    free(again);
    return rc;
}

/* Time 'rows' rows of language-model-like logits under one setting. */
static int bench_one(dev *d, int32_t *out, int rows, float temp, int top_k, float top_p)
{
    cases c = {rows, NULL, NULL, NULL, NULL};
    eng_gpu_timer *tm = NULL;
    double ms = 0.0, total = 0.0;
    int i, rc;

    c.temp = malloc((size_t)rows * sizeof *c.temp);
    c.top_p = malloc((size_t)rows * sizeof *c.top_p);
    c.top_k = malloc((size_t)rows * sizeof *c.top_k);
    c.u = malloc((size_t)rows * sizeof *c.u);
    rc = c.temp && c.top_p && c.top_k && c.u ? 0 : as_error_set(AS_ENOMEM, "out of memory");
    for (i = 0; rc == 0 && i < rows; i++) {
        c.temp[i] = temp;
        c.top_k[i] = top_k;
        c.top_p[i] = top_p;
        c.u[i] = uniform();
    }
    if (rc < 0 || (rc = eng_gpu_upload(d->temp, c.temp, (size_t)rows * sizeof(float))) < 0 ||
        (rc = eng_gpu_upload(d->top_p, c.top_p, (size_t)rows * sizeof(float))) < 0 ||
        (rc = eng_gpu_upload(d->top_k, c.top_k, (size_t)rows * sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_upload(d->u, c.u, (size_t)rows * sizeof(double))) < 0 ||
        (rc = run(d, out, rows, BENCH_VOCAB)) < 0 || (rc = eng_gpu_timer_new(&tm)) < 0)
        goto out;
    for (i = 0; i < BENCH_REPS; i++) {
        if ((rc = eng_gpu_timer_start(tm)) < 0 ||
            (rc = eng_gpu_sample_rows(d->out, d->logits, d->temp, d->top_k, d->top_p, d->u, rows,
                                      BENCH_VOCAB)) < 0 ||
            (rc = eng_gpu_timer_stop(tm, &ms)) < 0)
            goto out;
        total += ms;
    }
    printf("| %d rows x %d | T %-5g top_k %-5d top_p %-4g | %8.1f us per launch |\n", rows,
           BENCH_VOCAB, temp, top_k, top_p, 1000.0 * total / BENCH_REPS);
out:
    eng_gpu_timer_free(tm);
    free_cases(&c);
    return rc;
}

static int bench(void)
{
    float *l = malloc((size_t)BENCH_VOCAB * sizeof *l);
    int32_t out[BENCH_ROWS];
    cases c = {0, NULL, NULL, NULL, NULL};
    dev d;
    int rc = -1;

    memset(&d, 0, sizeof d);
    if (l == NULL || make_cases(&c, BENCH_VOCAB) < 0 || c.n < BENCH_ROWS)
        goto out;
    fill(l, BENCH_VOCAB, K_LM);
    if (dev_load(&d, l, BENCH_VOCAB, &c, BENCH_ROWS) < 0 ||
        bench_one(&d, out, BENCH_ROWS, 0.0f, 0, 1.0f) < 0 ||
        bench_one(&d, out, BENCH_ROWS, 1.0f, 0, 1.0f) < 0 ||
        bench_one(&d, out, BENCH_ROWS, 0.7f, 0, 0.9f) < 0 ||
        bench_one(&d, out, BENCH_ROWS, 1.0f, 50, 0.95f) < 0 ||
        bench_one(&d, out, BENCH_ROWS, 100.0f, 0, 1.0f) < 0 ||
        bench_one(&d, out, BENCH_ROWS, 1.5f, 5000, 0.9f) < 0) {
        fprintf(stderr, "gpu_test_sample: bench: %s\n", as_error_msg());
        goto out;
    }
    rc = 0;
out:
    dev_free(&d);
    free_cases(&c);
    free(l);
    return rc;
}

int main(int argc, char **argv)
{
    static const int all_vocabs[] = {1001, 32000, 151936, 262144};
    const int *vocabs = all_vocabs;
    tally all = {0, 0, 0, 0, 0};
    char why[160];
    size_t v, nv = sizeof all_vocabs / sizeof *all_vocabs;
    int kind, ok, one_vocab;

    if (!eng_gpu_available(why, sizeof why)) {
        printf("gpu_test_sample: skipped: %s\n", why);
        return 77;
    }
    if (argc > 2 && strcmp(argv[1], "--vocab") == 0) {
        one_vocab = (int)strtol(argv[2], NULL, 10);
        if (one_vocab < 1 || one_vocab > ENG_GPU_SAMPLE_VOCAB_MAX) {
            fprintf(stderr, "gpu_test_sample: --vocab %s: not between 1 and %d\n", argv[2],
                    ENG_GPU_SAMPLE_VOCAB_MAX);
            return 2;
        }
        vocabs = &one_vocab;
        nv = 1;
    }
    for (v = 0; v < nv; v++)
        for (kind = 0; kind < K_COUNT; kind++)
            if (one(vocabs[v], kind, &all) < 0)
                return 1;
    ok = all.bad == 0 && all.repeat_bad == 0;
    printf("| all | %ld rows | boundary draws %ld | wrong %ld | nondeterministic %ld | %s |\n",
           all.rows, all.boundary, all.bad, all.repeat_bad, ok ? "ok" : "FAIL");
    if (ok && argc > 1 && strcmp(argv[1], "--bench") == 0 && bench() < 0)
        ok = 0;
    return ok ? 0 : 1;
}
