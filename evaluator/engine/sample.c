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
    int *idx;                /* scratch: a heap of candidate ids */
    int *ord;                /* candidate ids in order, highest logit first */
    float *prob;             /* by token id */
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
        s->ord = malloc((size_t)vocab * sizeof *s->ord);
        s->prob = malloc((size_t)vocab * sizeof *s->prob);
        if (s->idx == NULL || s->ord == NULL || s->prob == NULL) {
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
    free(s->ord);
    free(s->prob);
    free(s);
}

int eng_sampler_greedy(const eng_sampler *s)
{
    return s->p.greedy;
}

const eng_sampling *eng_sampler_params(const eng_sampler *s)
{
    return &s->p;
}

double eng_sampler_draw(eng_sampler *s)
{
    return s->p.greedy ? 0.0 : next_unit(&s->rng);
}

/* 1 when token a comes before token b: higher logit first, then lower id
 * (a strict order, so every selection below is repeatable). */
static int before(const float *l, int a, int b)
{
    return l[a] != l[b] ? l[a] > l[b] : a < b;
}

/* Restore the heap h[0..n) below position i; the root is the first in
 * order, or the last with 'last_first'. */
static void sift_down(int *h, int n, int i, const float *l, int last_first)
{
    for (;;) {
        int c = 2 * i + 1, t;

        if (c >= n)
            return;
        if (c + 1 < n && before(l, h[c + 1], h[c]) != last_first)
            c++;
        if (before(l, h[c], h[i]) == last_first)
            return;
        t = h[i];
        h[i] = h[c];
        h[c] = t;
        i = c;
    }
}

static void heapify(int *h, int n, const float *l, int last_first)
{
    int i;

    for (i = n / 2 - 1; i >= 0; i--)
        sift_down(h, n, i, l, last_first);
}

/* The candidates in order, produced as they are asked for: the top k
 * sorted at once, or the whole vocabulary popped from a heap one by one
 * (sampling usually stops after a few, so the full sort is never paid). */
typedef struct cands {
    const float *l;
    int *ord;                /* the candidates in order so far */
    int have;
    int *heap;               /* the rest, first in order at the root; NULL with top-k */
    int heap_n;
} cands;

static int cand(cands *c, int j)
{
    while (c->have <= j) {
        int top = c->heap[0];

        c->heap[0] = c->heap[--c->heap_n];
        sift_down(c->heap, c->heap_n, 0, c->l, 0);
        c->ord[c->have++] = top;
    }
    return c->ord[j];
}

/* idx[0..k) = the first k tokens in order, sorted. */
static void select_top_k(int *idx, const float *l, int n, int k)
{
    int i;

    for (i = 0; i < k; i++)
        idx[i] = i;
    heapify(idx, k, l, 1);
    for (i = k; i < n; i++)
        if (before(l, i, idx[0])) {
            idx[0] = i;
            sift_down(idx, k, 0, l, 1);
        }
    sort_logits = l;
    qsort(idx, (size_t)k, sizeof *idx, by_logit_desc);
}

int eng_sample(eng_sampler *s, const float *logits)
{
    if (s->p.greedy)
        return eng_argmax(logits, s->vocab);
    return eng_sample_u(s, logits, next_unit(&s->rng));
}

int eng_sample_u(eng_sampler *s, const float *logits, double u)
{
    int i, n = s->vocab, k = s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : 0;
    double sum = 0.0, cum = 0.0, r;
    cands c = {logits, s->ord, 0, NULL, 0};
    float top;

    if (s->p.greedy)
        return eng_argmax(logits, n);
    /* softmax(logits / T) over the candidates: the top k, or all */
    if (k > 0) {
        select_top_k(s->ord, logits, n, k);
        c.have = n = k;
        top = logits[s->ord[0]];
        for (i = 0; i < n; i++) {
            s->prob[s->ord[i]] = expf((logits[s->ord[i]] - top) / s->p.temperature);
            sum += s->prob[s->ord[i]];
        }
    } else {
        for (i = 0; i < n; i++)
            s->idx[i] = i;
        heapify(s->idx, n, logits, 0);
        c.heap = s->idx;
        c.heap_n = n;
        top = logits[s->idx[0]];
        for (i = 0; i < n; i++) {
            s->prob[i] = expf((logits[i] - top) / s->p.temperature);
            sum += s->prob[i];
        }
    }
    /* top-p: the shortest prefix whose probability reaches top_p. */
    if (s->p.top_p < 1.0f) {
        for (i = 0; i < n; i++) {
            cum += s->prob[cand(&c, i)] / sum;
            if (cum >= s->p.top_p) {
                n = i + 1;
                break;
            }
        }
        for (sum = 0.0, i = 0; i < n; i++)
            sum += s->prob[cand(&c, i)];
    }
    r = u * sum;
    for (cum = 0.0, i = 0; i < n - 1; i++) {
        cum += s->prob[cand(&c, i)];
        if (r < cum)
            break;
    }
    return cand(&c, i);
}
