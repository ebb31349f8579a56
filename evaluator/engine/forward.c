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
    s->x = calloc((size_t)c->hidden, sizeof(float));
    s->h = calloc(width, sizeof(float));
    s->q = calloc(qdim, sizeof(float));
    s->att = calloc(qdim, sizeof(float));
    s->gate = calloc((size_t)c->intermediate, sizeof(float));
    s->up = calloc((size_t)c->intermediate, sizeof(float));
    s->scores = calloc((size_t)ctx, sizeof(float));
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

/* Attention of every query head at position 'pos' over the cache of layer
 * 'l'; the result (heads * head_dim) goes to s->att. */
static void attention(eng_state *s, int l, int pos)
{
    const eng_config *c = &s->m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim;
    const float *kl = s->kcache + (size_t)l * s->ctx * kvdim;
    const float *vl = s->vcache + (size_t)l * s->ctx * kvdim;
    int group = c->n_heads / c->n_kv_heads, hq, t0 = 0;
    float scale = 1.0f / sqrtf((float)c->head_dim);

    if (c->sliding_window > 0 && l >= c->sliding_from_layer && pos + 1 > c->sliding_window)
        t0 = pos + 1 - c->sliding_window;
    for (hq = 0; hq < c->n_heads; hq++) {
        int g = hq / group;

        eng_attend(s->att + (size_t)hq * c->head_dim, s->q + (size_t)hq * c->head_dim,
                   kl + (size_t)g * c->head_dim, vl + (size_t)g * c->head_dim, kvdim, t0, pos + 1,
                   c->head_dim, scale, s->scores);
    }
}

int eng_forward(eng_state *s, int token, const float **logits)
{
    const eng_model *m = s->m;
    const eng_config *c = &m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim;
    int pos = s->pos, l, i;

    if (token < 0 || token >= c->vocab)
        return as_error_set(AS_EINVAL, "token id %d is outside the vocabulary of %d", token, c->vocab);
    if (pos >= s->ctx)
        return as_error_set(AS_ETOOBIG, "the context of %d tokens is full", s->ctx);
#ifdef ASSAY_HAVE_CUDA
    if (s->gpu != NULL) {
        int rc = eng_gpu_forward(s->gpu, token, pos, logits != NULL ? s->logits : NULL);

        if (rc < 0)
            return rc;
        s->pos = pos + 1;
        if (logits != NULL)
            *logits = s->logits;
        return 0;
    }
#endif
    eng_embed(s->x, &m->embed, token);
    for (l = 0; l < c->n_layers; l++) {
        const eng_layer *L = &m->layers[l];
        float *kdst = s->kcache + ((size_t)l * s->ctx + pos) * kvdim;
        float *vdst = s->vcache + ((size_t)l * s->ctx + pos) * kvdim;

        eng_rmsnorm(s->h, s->x, &L->attn_norm, c->hidden, c->eps);
        eng_matvec(m->pool, s->q, &L->wq, s->h, &L->bq);
        eng_matvec(m->pool, kdst, &L->wk, s->h, &L->bk);
        eng_matvec(m->pool, vdst, &L->wv, s->h, &L->bv);
        eng_rope(s->q, c->n_heads, c->head_dim, pos, m->inv_freq);
        eng_rope(kdst, c->n_kv_heads, c->head_dim, pos, m->inv_freq);
        attention(s, l, pos);
        eng_matvec(m->pool, s->h, &L->wo, s->att, &L->bo);
        for (i = 0; i < c->hidden; i++)
            s->x[i] += s->h[i];
        eng_rmsnorm(s->h, s->x, &L->ffn_norm, c->hidden, c->eps);
        eng_matvec(m->pool, s->gate, &L->wg, s->h, &L->bg);
        eng_matvec(m->pool, s->up, &L->wu, s->h, &L->bu);
        eng_swiglu(s->gate, s->gate, s->up, c->intermediate);
        eng_matvec(m->pool, s->h, &L->wd, s->gate, &L->bd);
        for (i = 0; i < c->hidden; i++)
            s->x[i] += s->h[i];
    }
    s->pos = pos + 1;
    if (logits != NULL) {
        eng_rmsnorm(s->h, s->x, &m->norm, c->hidden, c->eps);
        eng_matvec(m->pool, s->logits, &m->lm_head, s->h, NULL);
        *logits = s->logits;
    }
    return 0;
}
