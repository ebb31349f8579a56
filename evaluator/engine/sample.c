/* Greedy decoding and temperature / top-k / top-p sampling (sample.h). */
#include "evaluator/engine/sample.h"

#include "common/error.h"
#include "evaluator/engine/ops.h"

#include <math.h>
#include <stdlib.h>

struct eng_sampler {
    eng_sampling p;
    int vocab;
    uint64_t rng;
    int *idx;                /* candidate ids, sorted by logit, descending */
    float *prob;
};

/* qsort has no context argument: the comparator reads the logits of the
 * sort running on this thread. */
static _Thread_local const float *sort_logits;

static int by_logit_desc(const void *a, const void *b)
{
    float x = sort_logits[*(const int *)a], y = sort_logits[*(const int *)b];

    if (x != y)
        return x > y ? -1 : 1;
    return *(const int *)a - *(const int *)b;   /* ties: lower id first, stable */
}

/* splitmix64: small, seedable, good enough for drawing tokens. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *state)
{
    return (double)(next_u64(state) >> 11) * (1.0 / 9007199254740992.0);
}

int eng_sampler_new(eng_sampler **out, const eng_sampling *p, int vocab)
{
    eng_sampler *s;

    *out = NULL;
    if (!p->greedy) {
        if (!(p->temperature >= 0.0f && p->temperature <= 100.0f))
            return as_error_set(AS_EINVAL, "temperature %g must be in [0, 100]", p->temperature);
        if (p->top_k < 0)
            return as_error_set(AS_EINVAL, "top_k %d must be >= 0", p->top_k);
        if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
            return as_error_set(AS_EINVAL, "top_p %g must be in (0, 1]", p->top_p);
    }
    if ((s = calloc(1, sizeof *s)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    s->p = *p;
    if (s->p.temperature == 0.0f)
        s->p.greedy = 1;
    s->vocab = vocab;
    s->rng = p->seed;
    if (!s->p.greedy) {
        s->idx = malloc((size_t)vocab * sizeof *s->idx);
        s->prob = malloc((size_t)vocab * sizeof *s->prob);
        if (s->idx == NULL || s->prob == NULL) {
            eng_sampler_free(s);
            return as_error_set(AS_ENOMEM, "out of memory");
        }
    }
    *out = s;
    return 0;
}

void eng_sampler_free(eng_sampler *s)
{
    if (s == NULL)
        return;
    free(s->idx);
    free(s->prob);
    free(s);
}

int eng_sampler_greedy(const eng_sampler *s)
{
    return s->p.greedy;
}

int eng_sample(eng_sampler *s, const float *logits)
{
    int i, n = s->vocab;
    double sum = 0.0, cum = 0.0, r;

    if (s->p.greedy)
        return eng_argmax(logits, n);
    for (i = 0; i < n; i++)
        s->idx[i] = i;
    sort_logits = logits;
    qsort(s->idx, (size_t)n, sizeof *s->idx, by_logit_desc);
    if (s->p.top_k > 0 && s->p.top_k < n)
        n = s->p.top_k;
    /* softmax(logits / T) over the candidates, in sorted order. */
    for (i = 0; i < n; i++) {
        s->prob[i] = expf((logits[s->idx[i]] - logits[s->idx[0]]) / s->p.temperature);
        sum += s->prob[i];
    }
    /* top-p: the shortest prefix whose probability reaches top_p. */
    if (s->p.top_p < 1.0f) {
        for (i = 0; i < n; i++) {
            cum += s->prob[i] / sum;
            if (cum >= s->p.top_p) {
                n = i + 1;
                break;
            }
        }
        for (sum = 0.0, i = 0; i < n; i++)
            sum += s->prob[i];
    }
    r = next_unit(&s->rng) * sum;
    for (cum = 0.0, i = 0; i < n - 1; i++) {
        cum += s->prob[i];
        if (r < cum)
            break;
    }
    return s->idx[i];
}
