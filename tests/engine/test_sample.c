/* Sampling: greedy is argmax, seeds repeat, top-k / top-p narrow the
 * candidates, temperature 1 draws in proportion to softmax. */
#include "../test.h"

#include "evaluator/engine/sample.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static int draw(eng_sampling p, const float *logits, int vocab)
{
    eng_sampler *s = NULL;
    int tok;

    if (eng_sampler_new(&s, &p, vocab) < 0)
        return -1;
    tok = eng_sample(s, logits);
    eng_sampler_free(s);
    return tok;
}

static void sample__greedy_topk1_and_tiny_topp_are_argmax(void)
{
    float logits[5] = {0.1f, 2.0f, 1.9f, -1.0f, 0.0f};
    eng_sampling g = {1, 0, 0, 1, 0}, k1 = {0, 1.0f, 1, 1.0f, 3}, p = {0, 1.0f, 0, 0.01f, 4};
    eng_sampling t0 = {0, 0.0f, 0, 1.0f, 5};

    T_EQ_INT(draw(g, logits, 5), 1);
    T_EQ_INT(draw(k1, logits, 5), 1);
    T_EQ_INT(draw(p, logits, 5), 1);
    T_EQ_INT(draw(t0, logits, 5), 1);
}

static void sample__seed_repeats_and_frequencies_follow_softmax(void)
{
    float logits[3] = {0.0f, (float)log(3.0), -INFINITY};
    eng_sampling p = {0, 1.0f, 0, 1.0f, 42};
    eng_sampler *a = NULL, *b = NULL;
    int i, same = 1, count[3] = {0, 0, 0}, n = 20000;

    T_OK(eng_sampler_new(&a, &p, 3));
    T_OK(eng_sampler_new(&b, &p, 3));
    if (a == NULL || b == NULL)
        return;
    for (i = 0; i < n; i++) {
        int x = eng_sample(a, logits);

        same &= x == eng_sample(b, logits);
        count[x]++;
    }
    T_CHECK(same);
    T_EQ_INT(count[2], 0);
    T_NEAR((double)count[1] / n, 0.75, 0.02);
    eng_sampler_free(a);
    eng_sampler_free(b);
}

static void sample__top_k_and_top_p_limit_candidates(void)
{
    float logits[4] = {3.0f, 2.9f, 2.8f, 0.0f};
    eng_sampling k2 = {0, 5.0f, 2, 1.0f, 0}, p = {0, 1.0f, 0, 0.5f, 0};
    eng_sampler *s = NULL;
    int i, seen[4] = {0, 0, 0, 0};

    T_OK(eng_sampler_new(&s, &k2, 4));
    for (i = 0; s && i < 2000; i++)
        seen[eng_sample(s, logits)]++;
    eng_sampler_free(s);
    T_CHECK(seen[0] > 0 && seen[1] > 0 && seen[2] == 0 && seen[3] == 0);
    /* top_p 0.5: p = {0.36, 0.33, 0.30, 0.02} -> the first two reach 0.5. */
    memset(seen, 0, sizeof seen);
    s = NULL;
    T_OK(eng_sampler_new(&s, &p, 4));
    for (i = 0; s && i < 2000; i++)
        seen[eng_sample(s, logits)]++;
    eng_sampler_free(s);
    T_CHECK(seen[0] > 0 && seen[1] > 0 && seen[2] == 0 && seen[3] == 0);
}

/* The specification the sampler must follow: every token sorted (higher
 * logit first, lower id on ties), softmax(logits / T) over the first top_k,
 * the shortest prefix reaching top_p, then a draw r = u * mass walked in
 * that order, u from splitmix64 as in sample.c. */
static const float *ref_logits;

static int ref_order(const void *a, const void *b)
{
    float x = ref_logits[*(const int *)a], y = ref_logits[*(const int *)b];

    if (x != y)
        return x > y ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

static int ref_sample(const eng_sampling *p, const float *l, int vocab, uint64_t *rng, int *idx,
                      float *prob)
{
    int i, n = vocab;
    double sum = 0, cum = 0, r;
    uint64_t z;

    for (i = 0; i < n; i++)
        idx[i] = i;
    ref_logits = l;
    qsort(idx, (size_t)n, sizeof *idx, ref_order);
    if (p->top_k > 0 && p->top_k < n)
        n = p->top_k;
    for (i = 0; i < n; i++) {
        prob[i] = expf((l[idx[i]] - l[idx[0]]) / p->temperature);
        sum += prob[i];
    }
    if (p->top_p < 1.0f) {
        for (i = 0; i < n; i++) {
            cum += prob[i] / sum;
            if (cum >= p->top_p) {
                n = i + 1;
                break;
            }
        }
        for (sum = 0, i = 0; i < n; i++)
            sum += prob[i];
    }
    z = (*rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    r = (double)((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0) * sum;
    for (cum = 0, i = 0; i < n - 1; i++) {
        cum += prob[i];
        if (r < cum)
            break;
    }
    return idx[i];
}

/* The heap and top-k selection draw exactly what the full sort draws, on
 * a vocabulary of real size with ties, for every kind of setting. */
static void sample__equals_the_full_sort(void)
{
    enum { V = 8000, DRAWS = 60 };
    static float logits[V], prob[V];
    static int idx[V];
    static const eng_sampling ps[] = {
        {0, 1.0f, 0, 1.0f, 1},  {0, 0.7f, 0, 0.9f, 2},  {0, 1.3f, 50, 1.0f, 3},
        {0, 0.8f, 40, 0.95f, 4}, {0, 2.0f, 0, 0.3f, 5}, {0, 1.0f, 1, 1.0f, 6},
        {0, 0.5f, V - 1, 0.99f, 7},
    };
    uint64_t x = 12345;
    size_t c;
    int i, d, mismatches = 0;

    for (i = 0; i < V; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* a few strong tokens over a broad tail, with exact ties */
        logits[i] = (float)((x % 2000) / 100.0) - (i % 97 == 0 ? 0.0f : 8.0f);
    }
    for (c = 0; c < sizeof ps / sizeof ps[0]; c++) {
        eng_sampler *s = NULL;
        uint64_t rng = ps[c].seed;

        T_OK(eng_sampler_new(&s, &ps[c], V));
        for (d = 0; s != NULL && d < DRAWS; d++) {
            int want = ref_sample(&ps[c], logits, V, &rng, idx, prob);

            mismatches += eng_sample(s, logits) != want;
        }
        eng_sampler_free(s);
    }
    T_EQ_INT(mismatches, 0);
}

/* A draw split in two (eng_sampler_draw, then eng_sample_u) gives the
 * tokens eng_sample gives for the same seed, over many draws, settings
 * and logits, and leaves the generators in step; greedy samplers never
 * draw. */
static void sample__draw_then_choose_equals_sample(void)
{
    enum { V = 3000, DRAWS = 200 };
    static float logits[V];
    static const eng_sampling ps[] = {
        {0, 1.0f, 0, 1.0f, 11},  {0, 0.7f, 0, 0.9f, 12},  {0, 1.3f, 50, 1.0f, 13},
        {0, 0.8f, 40, 0.95f, 14}, {0, 2.0f, 0, 0.3f, 15}, {0, 1.0f, 1, 1.0f, 16},
        {0, 100.0f, 0, 0.999f, 17}, {0, 0.001f, 7, 0.5f, 18}, {1, 1.0f, 0, 1.0f, 19},
        {0, 0.0f, 5, 0.9f, 20},
    };
    uint64_t x = 777;
    size_t c;
    int i, d, mismatches = 0, greedy_drew = 0;

    for (c = 0; c < sizeof ps / sizeof ps[0]; c++) {
        eng_sampler *a = NULL, *b = NULL;

        T_OK(eng_sampler_new(&a, &ps[c], V));
        T_OK(eng_sampler_new(&b, &ps[c], V));
        for (d = 0; a != NULL && b != NULL && d < DRAWS; d++) {
            double u;

            for (i = 0; i < V; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                logits[i] = (float)((x % 1500) / 100.0) - (i % 31 == 0 ? 0.0f : 6.0f);
            }
            u = eng_sampler_draw(b);
            greedy_drew += eng_sampler_greedy(b) && u != 0.0;
            mismatches += eng_sample(a, logits) != eng_sample_u(b, logits, u);
        }
        if (a != NULL && b != NULL) {
            T_CHECK(eng_sampler_draw(a) == eng_sampler_draw(b));
            T_EQ_INT(eng_sampler_params(a)->greedy, ps[c].greedy || ps[c].temperature == 0.0f);
        }
        eng_sampler_free(a);
        eng_sampler_free(b);
    }
    T_EQ_INT(mismatches, 0);
    T_EQ_INT(greedy_drew, 0);
}

/* Where draws land: p is proportional to {e^-2, 1, 1, 0, e^-1} (sum
 * 2.50), candidates in the order 1, 2, 4, 0, 3; u = 0 takes the first,
 * the largest u below 1 the last candidate of top-k 2 or top-p 0.5 (ids 1
 * and 2: 0.40 each). */
static void sample__draw_ends(void)
{
    float logits[5] = {1.0f, 3.0f, 3.0f, -INFINITY, 2.0f};
    double top = 1.0 - 1.0 / 9007199254740992.0;
    eng_sampling all = {0, 1.0f, 0, 1.0f, 1}, k2 = {0, 1.0f, 2, 1.0f, 1}, p = {0, 1.0f, 0, 0.5f, 1};
    eng_sampler *s = NULL;

    T_OK(eng_sampler_new(&s, &all, 5));
    if (s != NULL) {
        T_EQ_INT(eng_sample_u(s, logits, 0.0), 1);
        T_EQ_INT(eng_sample_u(s, logits, 0.5), 2);
        T_EQ_INT(eng_sample_u(s, logits, 0.9), 4);
        T_EQ_INT(eng_sample_u(s, logits, 0.97), 0);
    }
    eng_sampler_free(s);
    s = NULL;
    T_OK(eng_sampler_new(&s, &k2, 5));
    if (s != NULL)
        T_EQ_INT(eng_sample_u(s, logits, top), 2);
    eng_sampler_free(s);
    s = NULL;
    T_OK(eng_sampler_new(&s, &p, 5));
    if (s != NULL) {
        T_EQ_INT(eng_sample_u(s, logits, 0.49), 1);
        T_EQ_INT(eng_sample_u(s, logits, top), 2);
    }
    eng_sampler_free(s);
}

static void sample__rejects_bad_parameters(void)
{
    eng_sampler *s = NULL;
    eng_sampling bad_t = {0, -1.0f, 0, 1.0f, 0}, bad_p = {0, 1.0f, 0, 0.0f, 0},
                 bad_k = {0, 1.0f, -2, 1.0f, 0};

    T_ERR(eng_sampler_new(&s, &bad_t, 4), AS_EINVAL);
    T_ERR(eng_sampler_new(&s, &bad_p, 4), AS_EINVAL);
    T_ERR(eng_sampler_new(&s, &bad_k, 4), AS_EINVAL);
    T_CHECK(s == NULL);
}

int main(void)
{
    T_RUN(sample__greedy_topk1_and_tiny_topp_are_argmax);
    T_RUN(sample__seed_repeats_and_frequencies_follow_softmax);
    T_RUN(sample__top_k_and_top_p_limit_candidates);
    T_RUN(sample__equals_the_full_sort);
    T_RUN(sample__draw_then_choose_equals_sample);
    T_RUN(sample__draw_ends);
    T_RUN(sample__rejects_bad_parameters);
    return t_done();
}
