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

void eng_state_free(eng_state *s)
{
    if (s == NULL)
        return;
#ifdef ASSAY_HAVE_CUDA
    eng_gpu_state_free(s->gpu);
#endif
    free(s->kcache);
    free(s->vcache);
    free(s->x);
    free(s->h);
    free(s->q);
    free(s->att);
    free(s->gate);
    free(s->up);
    free(s->scores);
    free(s->logits);
    free(s);
}

int eng_state_new(eng_state **out, const eng_model *m, int ctx)
{
    const eng_config *c = &m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim, qdim = (size_t)c->n_heads * c->head_dim;
    size_t width = (size_t)c->hidden > qdim ? (size_t)c->hidden : qdim;
    eng_state *s;

    *out = NULL;
    if (ctx <= 0)
        ctx = c->max_pos < CTX_DEFAULT_MAX ? c->max_pos : CTX_DEFAULT_MAX;
    if (ctx > c->max_pos)
        return as_error_set(AS_EINVAL, "context of %d positions is over the model's %d", ctx, c->max_pos);
    if ((s = calloc(1, sizeof *s)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    s->m = m;
    s->ctx = ctx;
    s->kcache = calloc((size_t)c->n_layers * (size_t)ctx * kvdim, sizeof(float));
    s->vcache = calloc((size_t)c->n_layers * (size_t)ctx * kvdim, sizeof(float));
    s->x = calloc((size_t)CHUNK * c->hidden, sizeof(float));
    s->h = calloc((size_t)CHUNK * width, sizeof(float));
    s->q = calloc((size_t)CHUNK * qdim, sizeof(float));
    s->att = calloc((size_t)CHUNK * qdim, sizeof(float));
    s->gate = calloc((size_t)CHUNK * c->intermediate, sizeof(float));
    s->up = calloc((size_t)CHUNK * c->intermediate, sizeof(float));
    s->scores = calloc((size_t)c->n_heads * (size_t)ctx, sizeof(float));
    s->logits = calloc((size_t)c->vocab, sizeof(float));
    if (!s->kcache || !s->vcache || !s->x || !s->h || !s->q || !s->att ||
        !s->gate || !s->up || !s->scores || !s->logits) {
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

/* Tokens tok[0..n) (n <= CHUNK) at positions s->pos.. through the decoder,
 * all n at each step: the matrix products read each weight once for the
 * chunk; token t attends to the cache up to its own position. With
 * want_logits, s->logits gets the last token's logits. */
static void forward_chunk(eng_state *s, const int32_t *tok, int n, int want_logits)
{
    const eng_model *m = s->m;
    const eng_config *c = &m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim, qdim = (size_t)c->n_heads * c->head_dim;
    size_t H = (size_t)c->hidden, W = H > qdim ? H : qdim, I = (size_t)c->intermediate;
    int pos = s->pos, l, t;
    size_t i;

    for (t = 0; t < n; t++)
        eng_embed(s->x + t * H, &m->embed, tok[t]);
    for (l = 0; l < c->n_layers; l++) {
        const eng_layer *L = &m->layers[l];
        float *kdst = s->kcache + ((size_t)l * s->ctx + pos) * kvdim;
        float *vdst = s->vcache + ((size_t)l * s->ctx + pos) * kvdim;

        for (t = 0; t < n; t++)
            eng_rmsnorm(s->h + t * W, s->x + t * H, &L->attn_norm, c->hidden, c->eps);
        eng_matmat(m->pool, s->q, qdim, &L->wq, s->h, W, n, &L->bq);
        eng_matmat(m->pool, kdst, kvdim, &L->wk, s->h, W, n, &L->bk);
        eng_matmat(m->pool, vdst, kvdim, &L->wv, s->h, W, n, &L->bv);
        for (t = 0; t < n; t++) {
            eng_rope(s->q + t * qdim, c->n_heads, c->head_dim, pos + t, m->inv_freq);
            eng_rope(kdst + t * kvdim, c->n_kv_heads, c->head_dim, pos + t, m->inv_freq);
        }
        for (t = 0; t < n; t++)
            attention(s, l, pos + t, s->q + t * qdim, s->att + t * qdim);
        eng_matmat(m->pool, s->h, W, &L->wo, s->att, qdim, n, &L->bo);
        for (t = 0; t < n; t++)
            for (i = 0; i < H; i++)
                s->x[t * H + i] += s->h[t * W + i];
        for (t = 0; t < n; t++)
            eng_rmsnorm(s->h + t * W, s->x + t * H, &L->ffn_norm, c->hidden, c->eps);
        eng_matmat(m->pool, s->gate, I, &L->wg, s->h, W, n, &L->bg);
        eng_matmat(m->pool, s->up, I, &L->wu, s->h, W, n, &L->bu);
        for (t = 0; t < n; t++)
            eng_swiglu(s->gate + t * I, s->gate + t * I, s->up + t * I, c->intermediate);
        eng_matmat(m->pool, s->h, W, &L->wd, s->gate, I, n, &L->bd);
        for (t = 0; t < n; t++)
            for (i = 0; i < H; i++)
                s->x[t * H + i] += s->h[t * W + i];
    }
    s->pos = pos + n;
    if (want_logits) {
        eng_rmsnorm(s->h, s->x + (size_t)(n - 1) * H, &m->norm, c->hidden, c->eps);
        eng_matvec(m->pool, s->logits, &m->lm_head, s->h, NULL);
    }
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
