/* The reference forward pass (forward.h). */
#include "evaluator/engine/forward.h"

#include "common/error.h"

#ifdef ASSAY_HAVE_CUDA
#include "evaluator/engine/gpu/forward_gpu.h"
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CTX_DEFAULT_MAX 4096
#define CHUNK ENG_PREFILL_CHUNK

struct eng_work {
    const eng_model *m;
    int rows, logit_rows;
    float *x, *h, *q, *k, *v, *att, *gate, *up;  /* 'rows' rows each */
    float *logits;                               /* (logit_rows, vocab) */
};

void eng_work_free(eng_work *w)
{
    if (w == NULL)
        return;
    free(w->x);
    free(w->h);
    free(w->q);
    free(w->k);
    free(w->v);
    free(w->att);
    free(w->gate);
    free(w->up);
    free(w->logits);
    free(w);
}

int eng_work_new(eng_work **out, const eng_model *m, int rows, int logit_rows)
{
    const eng_config *c = &m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim, qdim = (size_t)c->n_heads * c->head_dim;
    size_t width = (size_t)c->hidden > qdim ? (size_t)c->hidden : qdim, r;
    eng_work *w;

    *out = NULL;
    if (rows < 1 || logit_rows < 1 || logit_rows > rows)
        return as_error_set(AS_EINVAL, "a step needs 1 or more rows (asked %d, %d with logits)", rows,
                            logit_rows);
    if ((w = calloc(1, sizeof *w)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    r = (size_t)rows;
    w->m = m;
    w->rows = rows;
    w->logit_rows = logit_rows;
    w->x = calloc(r * c->hidden, sizeof(float));
    w->h = calloc(r * width, sizeof(float));
    w->q = calloc(r * qdim, sizeof(float));
    w->k = calloc(r * kvdim, sizeof(float));
    w->v = calloc(r * kvdim, sizeof(float));
    w->att = calloc(r * qdim, sizeof(float));
    w->gate = calloc(r * c->intermediate, sizeof(float));
    w->up = calloc(r * c->intermediate, sizeof(float));
    w->logits = calloc((size_t)logit_rows * c->vocab, sizeof(float));
    if (!w->x || !w->h || !w->q || !w->k || !w->v || !w->att || !w->gate || !w->up || !w->logits) {
        eng_work_free(w);
        return as_error_set(AS_ENOMEM, "out of memory for a step of %d rows", rows);
    }
    *out = w;
    return 0;
}

int eng_work_rows(const eng_work *w)
{
    return w->rows;
}

void eng_state_free(eng_state *s)
{
    if (s == NULL)
        return;
#ifdef ASSAY_HAVE_CUDA
    eng_gpu_state_free(s->gpu);
#endif
    free(s->kcache);
    free(s->vcache);
    eng_work_free(s->work);
    free(s->scores);
    free(s->logits);
    free(s);
}

int eng_state_new(eng_state **out, const eng_model *m, int ctx)
{
    const eng_config *c = &m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim;
    eng_state *s;
    int rc;

    *out = NULL;
    if (ctx <= 0)
        ctx = c->max_pos < CTX_DEFAULT_MAX ? c->max_pos : CTX_DEFAULT_MAX;
    if (ctx > c->max_pos)
        return as_error_set(AS_EINVAL, "context of %d positions is over the model's %d", ctx, c->max_pos);
    if ((s = calloc(1, sizeof *s)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    s->m = m;
    s->ctx = ctx;
    if ((rc = eng_work_new(&s->work, m, CHUNK, 1)) < 0) {
        eng_state_free(s);
        return rc;
    }
    s->kcache = calloc((size_t)c->n_layers * (size_t)ctx * kvdim, sizeof(float));
    s->vcache = calloc((size_t)c->n_layers * (size_t)ctx * kvdim, sizeof(float));
    s->scores = calloc((size_t)c->n_heads * (size_t)ctx, sizeof(float));
    s->logits = calloc((size_t)c->vocab, sizeof(float));
    if (!s->kcache || !s->vcache || !s->scores || !s->logits) {
        eng_state_free(s);
        return as_error_set(AS_ENOMEM, "out of memory for a %d-position KV cache", ctx);
    }
    *out = s;
    return 0;
}

int eng_state_use_gpu(eng_state *s)
{
#ifdef ASSAY_HAVE_CUDA
    int rc;

    if (s->gpu != NULL)
        return 0;
    if ((rc = eng_gpu_state_new(&s->gpu, s->m, s->ctx)) < 0)
        return rc;
    /* The device holds the cache now. */
    free(s->kcache);
    free(s->vcache);
    s->kcache = s->vcache = NULL;
    return 0;
#else
    (void)s;
    return as_error_set(AS_EUNSUPPORTED, "assay was built without CUDA");
#endif
}

void eng_state_rewind(eng_state *s, int pos)
{
    if (pos >= 0 && pos < s->pos)
        s->pos = pos;
}

typedef struct attn_job {
    eng_state *s;
    int l, pos;
    const float *q;
    float *att;
} attn_job;

/* Query heads [b, e) of one token (attn_job) over the cache of its layer
 * up to and including its position; each head has its own score row. */
static void attention_heads(void *arg, size_t b, size_t e)
{
    const attn_job *j = arg;
    const eng_config *c = &j->s->m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim, hq;
    const float *kl = j->s->kcache + (size_t)j->l * j->s->ctx * kvdim;
    const float *vl = j->s->vcache + (size_t)j->l * j->s->ctx * kvdim;
    int group = c->n_heads / c->n_kv_heads, t0 = 0;
    float scale = 1.0f / sqrtf((float)c->head_dim);

    if (c->sliding_window > 0 && j->l >= c->sliding_from_layer && j->pos + 1 > c->sliding_window)
        t0 = j->pos + 1 - c->sliding_window;
    for (hq = b; hq < e; hq++) {
        size_t g = hq / (size_t)group;

        eng_attend(j->att + hq * c->head_dim, j->q + hq * c->head_dim, kl + g * c->head_dim,
                   vl + g * c->head_dim, kvdim, t0, j->pos + 1, c->head_dim, scale,
                   j->s->scores + hq * (size_t)j->s->ctx);
    }
}

/* Attention of every query head of the token at position 'pos' (query
 * row 'q', heads * head_dim) over the cache of layer 'l'; the result goes
 * to 'att' (heads * head_dim). Heads are split over the pool's threads
 * once the context is long enough to pay for waking them. */
static void attention(eng_state *s, int l, int pos, const float *q, float *att)
{
    attn_job j = {s, l, pos, q, att};
    size_t heads = (size_t)s->m->cfg.n_heads;

    if ((size_t)(pos + 1) * s->m->cfg.head_dim * heads < 2048)
        attention_heads(&j, 0, heads);
    else
        eng_pool_run(s->m->pool, heads, attention_heads, &j);
}

/* The final norm and LM head for the rows that ask for logits, up to
 * w->logit_rows of them per matrix product. */
static void lm_head_rows(eng_work *w, const eng_row *rows, int n)
{
    const eng_model *m = w->m;
    const eng_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, V = (size_t)c->vocab;
    int t = 0;

    while (t < n) {
        int idx[64], k = 0, lim = w->logit_rows < 64 ? w->logit_rows : 64, i;

        for (; t < n && k < lim; t++)
            if (rows[t].logits != NULL) {
                eng_rmsnorm(w->h + (size_t)k * H, w->x + (size_t)t * H, &m->norm, c->hidden, c->eps);
                idx[k++] = t;
            }
        if (k == 0)
            break;
        eng_matmat(m->pool, w->logits, V, &m->lm_head, w->h, H, k, NULL);
        for (i = 0; i < k; i++)
            memcpy(rows[idx[i]].logits, w->logits + (size_t)i * V, V * sizeof(float));
    }
}

/* rows[0..n) (checked, n <= w->rows) through the decoder, all n at each
 * step: the matrix products read each weight once for all rows; a row's
 * key and value go to its state's cache at its position and it attends to
 * that cache up to its own position. */
static void forward_batch(eng_work *w, const eng_row *rows, int n)
{
    const eng_model *m = w->m;
    const eng_config *c = &m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim, qdim = (size_t)c->n_heads * c->head_dim;
    size_t H = (size_t)c->hidden, W = H > qdim ? H : qdim, I = (size_t)c->intermediate;
    int l, t;
    size_t i;

    for (t = 0; t < n; t++)
        eng_embed(w->x + t * H, &m->embed, rows[t].tok);
    for (l = 0; l < c->n_layers; l++) {
        const eng_layer *L = &m->layers[l];

        for (t = 0; t < n; t++)
            eng_rmsnorm(w->h + t * W, w->x + t * H, &L->attn_norm, c->hidden, c->eps);
        eng_matmat(m->pool, w->q, qdim, &L->wq, w->h, W, n, &L->bq);
        eng_matmat(m->pool, w->k, kvdim, &L->wk, w->h, W, n, &L->bk);
        eng_matmat(m->pool, w->v, kvdim, &L->wv, w->h, W, n, &L->bv);
        for (t = 0; t < n; t++) {
            eng_state *s = rows[t].s;
            size_t at = ((size_t)l * s->ctx + rows[t].pos) * kvdim;

            eng_rope(w->q + t * qdim, c->n_heads, c->head_dim, rows[t].pos, m->inv_freq);
            eng_rope(w->k + t * kvdim, c->n_kv_heads, c->head_dim, rows[t].pos, m->inv_freq);
            memcpy(s->kcache + at, w->k + t * kvdim, kvdim * sizeof(float));
            memcpy(s->vcache + at, w->v + t * kvdim, kvdim * sizeof(float));
        }
        for (t = 0; t < n; t++)
            attention(rows[t].s, l, rows[t].pos, w->q + t * qdim, w->att + t * qdim);
        eng_matmat(m->pool, w->h, W, &L->wo, w->att, qdim, n, &L->bo);
        for (t = 0; t < n; t++)
            for (i = 0; i < H; i++)
                w->x[t * H + i] += w->h[t * W + i];
        for (t = 0; t < n; t++)
            eng_rmsnorm(w->h + t * W, w->x + t * H, &L->ffn_norm, c->hidden, c->eps);
        eng_matmat(m->pool, w->gate, I, &L->wg, w->h, W, n, &L->bg);
        eng_matmat(m->pool, w->up, I, &L->wu, w->h, W, n, &L->bu);
        for (t = 0; t < n; t++)
            eng_swiglu(w->gate + t * I, w->gate + t * I, w->up + t * I, c->intermediate);
        eng_matmat(m->pool, w->h, W, &L->wd, w->gate, I, n, &L->bd);
        for (t = 0; t < n; t++)
            for (i = 0; i < H; i++)
                w->x[t * H + i] += w->h[t * W + i];
    }
    for (t = 0; t < n; t++)
        rows[t].s->pos = rows[t].pos + 1;
    lm_head_rows(w, rows, n);
}

int eng_forward_rows(eng_work *w, const eng_row *rows, int n)
{
    int t;

    if (n < 1 || n > w->rows)
        return as_error_set(AS_EINVAL, "a step of %d rows; this one holds 1 to %d", n, w->rows);
    for (t = 0; t < n; t++) {
        const eng_row *r = &rows[t];
        int same = t > 0 && rows[t - 1].s == r->s;

        if (r->s == NULL || r->s->m != w->m || r->s->gpu != NULL)
            return as_error_set(AS_EINVAL, "row %d: not a CPU state of this model", t);
        if (r->tok < 0 || r->tok >= w->m->cfg.vocab)
            return as_error_set(AS_EINVAL, "token id %d is outside the vocabulary of %d", r->tok,
                                w->m->cfg.vocab);
        if (r->pos < 0 || r->pos >= r->s->ctx)
            return as_error_set(AS_ETOOBIG, "position %d is outside the context of %d", r->pos,
                                r->s->ctx);
        if (same ? r->pos != rows[t - 1].pos + 1 : r->pos > r->s->pos)
            return as_error_set(AS_EINVAL, "row %d: position %d does not follow its sequence's", t,
                                r->pos);
    }
    forward_batch(w, rows, n);
    return 0;
}

/* Tokens tok[0..n) (n <= CHUNK) of 's' at positions s->pos.. through the
 * decoder; with want_logits, s->logits gets the last token's logits. */
static void forward_chunk(eng_state *s, const int32_t *tok, int n, int want_logits)
{
    eng_row rows[CHUNK];
    int t;

    for (t = 0; t < n; t++) {
        rows[t].s = s;
        rows[t].pos = s->pos + t;
        rows[t].tok = tok[t];
        rows[t].logits = want_logits && t == n - 1 ? s->logits : NULL;
    }
    forward_batch(s->work, rows, n);
}

int eng_prefill(eng_state *s, const int32_t *tokens, size_t n, const float **logits)
{
    const eng_config *c = &s->m->cfg;
    size_t i, done;

    for (i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab)
            return as_error_set(AS_EINVAL, "token id %d is outside the vocabulary of %d", tokens[i],
                                c->vocab);
    if (n > (size_t)(s->ctx - s->pos))
        return as_error_set(AS_ETOOBIG, "%zu more tokens do not fit: the context of %d has %d left",
                            n, s->ctx, s->ctx - s->pos);
    if (n == 0)
        return as_error_set(AS_EINVAL, "no tokens to feed");
#ifdef ASSAY_HAVE_CUDA
    if (s->gpu != NULL) {
        /* The GPU path feeds one token at a time (its prefill GEMMs are
         * issue 8). */
        for (i = 0; i < n; i++) {
            int rc = eng_gpu_forward(s->gpu, tokens[i], s->pos,
                                     logits != NULL && i + 1 == n ? s->logits : NULL);

            if (rc < 0)
                return rc;
            s->pos++;
        }
        if (logits != NULL)
            *logits = s->logits;
        return 0;
    }
#endif
    for (done = 0; done < n; done += CHUNK) {
        int k = n - done < CHUNK ? (int)(n - done) : CHUNK;

        forward_chunk(s, tokens + done, k, logits != NULL && done + (size_t)k == n);
    }
    if (logits != NULL)
        *logits = s->logits;
    return 0;
}

int eng_forward(eng_state *s, int token, const float **logits)
{
    int32_t t = token;

    if (token < 0 || token >= s->m->cfg.vocab)
        return as_error_set(AS_EINVAL, "token id %d is outside the vocabulary of %d", token,
                            s->m->cfg.vocab);
    if (s->pos >= s->ctx)
        return as_error_set(AS_ETOOBIG, "the context of %d tokens is full", s->ctx);
    return eng_prefill(s, &t, 1, logits);
}
