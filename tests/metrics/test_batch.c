/* The batch API (metrics/batch.h) on the CPU, which is what CI can run:
 * ROUGE-L of every rouge case of cases.json bit for bit equal to
 * met_rouge_score and to rouge_score's published values, the bit-parallel
 * met_lcs against a plain dynamic-programming LCS on random sequences
 * (lengths across word boundaries, tiny vocabularies), cosine batches equal
 * to met_cosine, the device choice (auto stays on the CPU for small batches;
 * gpu without a usable GPU is AS_EUNSUPPORTED, with one it gives the CPU's
 * bits) and the argument errors. */
#include "tests/test.h"
#include "tests/metrics/fixture.h"
#include "metrics/batch.h"
#include "metrics/cosine.h"
#include "metrics/rouge.h"

#include <stdlib.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* The textbook O(na * nb) LCS: the specification met_lcs must meet. */
static uint32_t lcs_dp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    uint32_t *row = calloc(nb + 1, sizeof(*row)), res;
    size_t i, j;

    if (row == NULL)
        return UINT32_MAX;
    for (i = 0; i < na; i++) {
        uint32_t diag = 0;
        for (j = 0; j < nb; j++) {
            uint32_t up = row[j + 1];
            row[j + 1] = a[i] == b[j] ? diag + 1 : (up > row[j] ? up : row[j]);
            diag = up;
        }
    }
    res = row[nb];
    free(row);
    return res;
}

static int same_bits(double x, double y)
{
    return memcmp(&x, &y, sizeof(double)) == 0;
}

static void batch__rouge_l_equals_rouge_score(void)
{
    json_t *cases = t_load_cases(), *list, *c;
    int stem, type = MET_ROUGE_L;

    T_CHECK(cases != NULL);
    if (cases == NULL)
        return;
    list = json_object_get(cases, "rouge");
    T_CHECK(json_array_size(list) > 300);
    for (stem = 0; stem < 2; stem++) {
        met_interner *in = NULL;
        met_rouge *r = NULL;
        met_seqs refs, preds;
        met_prf *got = calloc(json_array_size(list), sizeof(*got));
        met_device used = MET_DEVICE_GPU;
        size_t i, bad = 0;

        met_seqs_init(&refs);
        met_seqs_init(&preds);
        T_CHECK(got != NULL);
        T_OK(met_interner_new(&in, stem));
        T_OK(met_rouge_new(&r, stem));
        json_array_foreach(list, i, c)
        {
            json_t *ref = json_object_get(c, "reference"), *pred = json_object_get(c, "prediction");
            T_OK(met_interner_add(in, &refs, json_string_value(ref), json_string_length(ref)));
            T_OK(met_interner_add(in, &preds, json_string_value(pred), json_string_length(pred)));
        }
        T_EQ_INT(refs.n, json_array_size(list));
        T_OK(met_batch_rouge_l(&refs, &preds, MET_DEVICE_CPU, got, &used));
        T_EQ_INT(used, MET_DEVICE_CPU);
        json_array_foreach(list, i, c)
        {
            json_t *ref = json_object_get(c, "reference"), *pred = json_object_get(c, "prediction");
            json_t *exp = json_object_get(
                json_object_get(json_object_get(c, "expected"), stem ? "stem" : "nostem"),
                "rougeL");
            met_prf want;
            T_OK(met_rouge_score(r, json_string_value(ref), json_string_length(ref),
                                 json_string_value(pred), json_string_length(pred), &type, 1,
                                 &want));
            if (!same_bits(got[i].precision, want.precision) ||
                !same_bits(got[i].recall, want.recall) ||
                !same_bits(got[i].fmeasure, want.fmeasure) ||
                got[i].fmeasure != json_number_value(json_object_get(exp, "fmeasure")) ||
                got[i].precision != json_number_value(json_object_get(exp, "precision"))) {
                if (bad++ < 5)
                    fprintf(stderr, "  %s stem=%d: batch F %.17g, met_rouge_score %.17g\n",
                            json_string_value(json_object_get(c, "id")), stem, got[i].fmeasure,
                            want.fmeasure);
            }
        }
        T_EQ_INT(bad, 0);
        free(got);
        met_seqs_free(&refs);
        met_seqs_free(&preds);
        met_interner_free(in);
        met_rouge_free(r);
    }
    json_decref(cases);
}

static void batch__lcs_equals_dynamic_programming(void)
{
    static const size_t lens[] = {0, 1, 2, 31, 63, 64, 65, 127, 128, 129, 300, 1024, 1100};
    const size_t nl = sizeof(lens) / sizeof(lens[0]);
    uint32_t *a = malloc(1100 * sizeof(*a)), *b = malloc(1100 * sizeof(*b));
    met_lcs_scratch *scr = NULL;
    size_t i, j, round, bad = 0, checked = 0;

    T_CHECK(a != NULL && b != NULL);
    if (a == NULL || b == NULL)
        goto out;
    for (round = 0; round < 3; round++) {
        for (i = 0; i < nl; i++) {
            for (j = 0; j < nl; j++) {
                /* tiny vocabularies give long LCSs and long carry chains */
                uint32_t vocab = round == 0 ? 2 : round == 1 ? 5 : 1000, got = 0, want;
                size_t k;
                if (lens[i] * lens[j] > 400000)
                    continue;
                for (k = 0; k < lens[i]; k++)
                    a[k] = next_u32() % vocab * 7919u; /* spread ids over uint32 */
                for (k = 0; k < lens[j]; k++)
                    b[k] = next_u32() % vocab * 7919u;
                T_OK(met_lcs(&scr, a, lens[i], b, lens[j], &got));
                want = lcs_dp(a, lens[i], b, lens[j]);
                checked++;
                if (got != want && bad++ < 5)
                    fprintf(stderr, "  %zu x %zu vocab %u: met_lcs %u, DP %u\n", lens[i], lens[j],
                            vocab, got, want);
            }
        }
    }
    for (round = 0; round < 300; round++) {
        /* sparse matches: long runs of ones in V, carries across words */
        size_t na = 64 + next_u32() % 400, nb = 64 + next_u32() % 400, k;
        uint32_t vocab = 200 + next_u32() % 2000, got = 0;
        for (k = 0; k < na; k++)
            a[k] = next_u32() % vocab;
        for (k = 0; k < nb; k++)
            b[k] = next_u32() % vocab;
        T_OK(met_lcs(&scr, a, na, b, nb, &got));
        checked++;
        if (got != lcs_dp(a, na, b, nb) && bad++ < 5)
            fprintf(stderr, "  %zu x %zu vocab %u: met_lcs %u\n", na, nb, vocab, got);
    }
    T_CHECK(checked > 700);
    T_EQ_INT(bad, 0);
    { /* identical and disjoint sequences */
        uint32_t got = 0;
        for (i = 0; i < 200; i++) {
            a[i] = (uint32_t)i;
            b[i] = (uint32_t)i + 1000;
        }
        T_OK(met_lcs(&scr, a, 200, a, 200, &got));
        T_EQ_INT(got, 200);
        T_OK(met_lcs(&scr, a, 200, b, 200, &got));
        T_EQ_INT(got, 0);
    }
out:
    met_lcs_scratch_free(scr);
    free(a);
    free(b);
}

static void batch__empty_sides_and_sequences(void)
{
    static const uint32_t x[] = {1, 2, 3, 4}, y[] = {2, 4, 9};
    met_seqs refs, preds;
    met_prf out[3];

    met_seqs_init(&refs);
    met_seqs_init(&preds);
    T_OK(met_batch_rouge_l(&refs, &preds, MET_DEVICE_AUTO, out, NULL)); /* no pairs */
    T_OK(met_seqs_push(&refs, x, 4));
    T_OK(met_seqs_push(&preds, y, 0));
    T_OK(met_seqs_push(&refs, x, 0));
    T_OK(met_seqs_push(&preds, y, 3));
    T_OK(met_seqs_push(&refs, x, 4));
    T_OK(met_seqs_push(&preds, y, 3));
    T_EQ_INT(refs.n, 3);
    T_EQ_INT(refs.off[3], 8);
    T_OK(met_batch_rouge_l(&refs, &preds, MET_DEVICE_AUTO, out, NULL));
    T_CHECK(out[0].precision == 0 && out[0].recall == 0 && out[0].fmeasure == 0);
    T_CHECK(out[1].precision == 0 && out[1].recall == 0 && out[1].fmeasure == 0);
    /* LCS 2: P = 2/3, R = 2/4, F = 2PR/(P+R) */
    T_CHECK(same_bits(out[2].precision, 2.0 / 3.0));
    T_CHECK(same_bits(out[2].recall, 0.5));
    T_CHECK(same_bits(out[2].fmeasure, 2.0 * (2.0 / 3.0) * 0.5 / (2.0 / 3.0 + 0.5)));
    T_OK(met_seqs_push(&preds, y, 1));
    T_ERR(met_batch_rouge_l(&refs, &preds, MET_DEVICE_CPU, out, NULL), AS_EINVAL);
    met_seqs_free(&refs);
    met_seqs_free(&preds);
}

static void batch__cosine_equals_met_cosine(void)
{
    const size_t n = 500, dim = 384;
    double *a = malloc(n * dim * sizeof(double)), *b = malloc(n * dim * sizeof(double));
    double *out = malloc(n * sizeof(double));
    met_device used = MET_DEVICE_GPU;
    size_t i, bad = 0;

    T_CHECK(a != NULL && b != NULL && out != NULL);
    if (a == NULL || b == NULL || out == NULL)
        goto out;
    for (i = 0; i < n * dim; i++) {
        a[i] = (double)next_u32() / 4294967296.0 - 0.5;
        b[i] = (double)(next_u32() % 2001) - 1000;
    }
    memset(a + 7 * dim, 0, dim * sizeof(double)); /* zero rows give 0 */
    memset(b + 9 * dim, 0, dim * sizeof(double));
    a[11 * dim + 3] = 1e200;                      /* squared norms that overflow */
    b[12 * dim + 5] = -1e300;
    T_OK(met_batch_cosine(a, b, n, dim, MET_DEVICE_CPU, out, &used));
    T_EQ_INT(used, MET_DEVICE_CPU);
    for (i = 0; i < n; i++)
        if (!same_bits(out[i], met_cosine(a + i * dim, b + i * dim, dim)))
            bad++;
    T_EQ_INT(bad, 0);
    T_CHECK(out[7] == 0 && out[9] == 0);
    T_CHECK(same_bits(out[11], 0.0) && same_bits(out[12], 0.0)); /* as scikit-learn, not NaN */
    T_OK(met_batch_cosine(a, a, 3, dim, MET_DEVICE_AUTO, out, &used));
    T_EQ_INT(used, MET_DEVICE_CPU); /* far under the GPU threshold */
    T_NEAR(out[0], 1.0, 1e-15);
    T_OK(met_batch_cosine(a, b, 0, dim, MET_DEVICE_CPU, out, NULL));
    T_ERR(met_batch_cosine(a, b, SIZE_MAX / 2, dim, MET_DEVICE_CPU, out, NULL), AS_ETOOBIG);
out:
    free(a);
    free(b);
    free(out);
}

/* --device gpu: an error without a usable GPU, the CPU's bits with one. */
static void batch__gpu_device(void)
{
    static const uint32_t x[] = {5, 6, 7, 8, 9}, y[] = {6, 8, 9, 1};
    static const double va[] = {1, 2, 3}, vb[] = {3, -1, 0.5};
    met_seqs refs, preds;
    met_prf cpu, gpu;
    met_device used;
    double c1, c2;
    char why[200];

    met_seqs_init(&refs);
    met_seqs_init(&preds);
    T_OK(met_seqs_push(&refs, x, 5));
    T_OK(met_seqs_push(&preds, y, 4));
    T_OK(met_batch_rouge_l(&refs, &preds, MET_DEVICE_CPU, &cpu, NULL));
    T_OK(met_batch_cosine(va, vb, 1, 3, MET_DEVICE_CPU, &c1, NULL));
    if (!met_gpu_usable(why, sizeof(why))) {
        T_CHECK(why[0] != '\0');
        T_ERR(met_batch_rouge_l(&refs, &preds, MET_DEVICE_GPU, &gpu, &used), AS_EUNSUPPORTED);
        T_CHECK(strstr(as_error_msg(), "no usable GPU") != NULL);
        T_ERR(met_batch_cosine(va, vb, 1, 3, MET_DEVICE_GPU, &c2, NULL), AS_EUNSUPPORTED);
    } else {
        T_OK(met_batch_rouge_l(&refs, &preds, MET_DEVICE_GPU, &gpu, &used));
        T_EQ_INT(used, MET_DEVICE_GPU);
        T_CHECK(same_bits(cpu.fmeasure, gpu.fmeasure) && same_bits(cpu.recall, gpu.recall));
        T_OK(met_batch_cosine(va, vb, 1, 3, MET_DEVICE_GPU, &c2, NULL));
        T_CHECK(same_bits(c1, c2));
    }
    /* auto never fails for want of a GPU */
    T_OK(met_batch_rouge_l(&refs, &preds, MET_DEVICE_AUTO, &gpu, NULL));
    T_CHECK(same_bits(cpu.fmeasure, gpu.fmeasure));
    met_seqs_free(&refs);
    met_seqs_free(&preds);
}

static void batch__device_names(void)
{
    met_device d = MET_DEVICE_AUTO;

    T_OK(met_device_parse("gpu", &d));
    T_EQ_INT(d, MET_DEVICE_GPU);
    T_OK(met_device_parse("cpu", &d));
    T_EQ_INT(d, MET_DEVICE_CPU);
    T_OK(met_device_parse("auto", &d));
    T_EQ_INT(d, MET_DEVICE_AUTO);
    T_ERR(met_device_parse("cuda", &d), AS_EINVAL);
    T_EQ_STR(met_device_name(MET_DEVICE_GPU), "gpu");
    T_EQ_STR(met_device_name(MET_DEVICE_CPU), "cpu");
}

int main(void)
{
    T_RUN(batch__rouge_l_equals_rouge_score);
    T_RUN(batch__lcs_equals_dynamic_programming);
    T_RUN(batch__empty_sides_and_sequences);
    T_RUN(batch__cosine_equals_met_cosine);
    T_RUN(batch__gpu_device);
    T_RUN(batch__device_names);
    return t_done();
}
