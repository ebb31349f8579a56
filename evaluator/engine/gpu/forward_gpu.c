/* The GPU decode step (forward_gpu.h), composed from the kernels of gpu.h
 * in exactly the order of eng_forward in forward.c. */
#include "evaluator/engine/gpu/forward_gpu.h"

#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
#include "evaluator/engine/gpu/weights_gpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct eng_gpu_state {
    const eng_model *m;
    int ctx;
    eng_gpu_weights w;
    float **kc, **vc;                          /* per layer (ctx, kv_heads * head_dim) */
    float *x, *h, *q, *k, *v, *att, *g, *u, *logits;
    int32_t *tok, *pos;
};

static int alloc_f32(float **d, size_t n)
{
    return eng_gpu_alloc((void **)d, n * sizeof(float));
}

void eng_gpu_state_free(eng_gpu_state *g)
{
    int l;

    if (g == NULL)
        return;
    for (l = 0; l < g->m->cfg.n_layers; l++) {
        if (g->kc != NULL)
            eng_gpu_free(g->kc[l]);
        if (g->vc != NULL)
            eng_gpu_free(g->vc[l]);
    }
    free(g->kc);
    free(g->vc);
    eng_gpu_weights_free(&g->w);
    eng_gpu_free(g->x);
    eng_gpu_free(g->h);
    eng_gpu_free(g->q);
    eng_gpu_free(g->k);
    eng_gpu_free(g->v);
    eng_gpu_free(g->att);
    eng_gpu_free(g->g);
    eng_gpu_free(g->u);
    eng_gpu_free(g->logits);
    eng_gpu_free(g->tok);
    eng_gpu_free(g->pos);
    free(g);
}

int eng_gpu_state_new(eng_gpu_state **out, const eng_model *m, int ctx)
{
    const eng_config *c = &m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim, qdim = (size_t)c->n_heads * c->head_dim;
    size_t width = qdim > (size_t)c->hidden ? qdim : (size_t)c->hidden;
    eng_gpu_state *g;
    int rc, l;

    *out = NULL;
    if ((g = calloc(1, sizeof *g)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    g->m = m;
    g->ctx = ctx;
    if ((g->kc = calloc((size_t)c->n_layers, sizeof *g->kc)) == NULL ||
        (g->vc = calloc((size_t)c->n_layers, sizeof *g->vc)) == NULL) {
        eng_gpu_state_free(g);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    if ((rc = eng_gpu_weights_upload(&g->w, m, 0)) < 0)
        goto fail;
    for (l = 0; l < c->n_layers; l++)
        if ((rc = alloc_f32(&g->kc[l], (size_t)ctx * kvdim)) < 0 ||
            (rc = alloc_f32(&g->vc[l], (size_t)ctx * kvdim)) < 0)
            goto fail;
    if ((rc = alloc_f32(&g->x, (size_t)c->hidden)) < 0 || (rc = alloc_f32(&g->h, width)) < 0 ||
        (rc = alloc_f32(&g->q, qdim)) < 0 || (rc = alloc_f32(&g->k, kvdim)) < 0 ||
        (rc = alloc_f32(&g->v, kvdim)) < 0 || (rc = alloc_f32(&g->att, qdim)) < 0 ||
        (rc = alloc_f32(&g->g, (size_t)c->intermediate)) < 0 ||
        (rc = alloc_f32(&g->u, (size_t)c->intermediate)) < 0 ||
        (rc = alloc_f32(&g->logits, (size_t)c->vocab)) < 0 ||
        (rc = eng_gpu_alloc((void **)&g->tok, sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_alloc((void **)&g->pos, sizeof(int32_t))) < 0)
        goto fail;
    *out = g;
    return 0;
fail:
    eng_gpu_state_free(g);
    return rc;
}

int eng_gpu_forward(eng_gpu_state *g, int token, int pos, float *logits)
{
    const eng_config *c = &g->m->cfg;
    int kvdim = c->n_kv_heads * c->head_dim, qdim = c->n_heads * c->head_dim, l, rc;
    float scale = 1.0f / sqrtf((float)c->head_dim);
    int32_t tok32 = token, pos32 = pos;

    if ((rc = eng_gpu_upload(g->tok, &tok32, sizeof tok32)) < 0 ||
        (rc = eng_gpu_upload(g->pos, &pos32, sizeof pos32)) < 0 ||
        (rc = eng_gpu_embed(g->x, g->w.embed.d, g->w.embed.dtype, g->tok, 1, c->hidden)) < 0)
        return rc;
    for (l = 0; l < c->n_layers; l++) {
        const eng_gpu_layer *L = &g->w.layers[l];
        int t0 = 0;

        if (c->sliding_window > 0 && l >= c->sliding_from_layer && pos + 1 > c->sliding_window)
            t0 = pos + 1 - c->sliding_window;
        if ((rc = eng_gpu_rmsnorm(g->h, g->x, L->attn_norm.d, L->attn_norm.dtype, 1, c->hidden, c->eps)) < 0 ||
            (rc = eng_gpu_gemv(g->q, L->wq.d, L->wq.dtype, g->h, L->bq, qdim, c->hidden)) < 0 ||
            (rc = eng_gpu_gemv(g->k, L->wk.d, L->wk.dtype, g->h, L->bk, kvdim, c->hidden)) < 0 ||
            (rc = eng_gpu_gemv(g->v, L->wv.d, L->wv.dtype, g->h, L->bv, kvdim, c->hidden)) < 0 ||
            (rc = eng_gpu_rope(g->q, g->pos, g->w.inv_freq, 1, c->n_heads, c->head_dim)) < 0 ||
            (rc = eng_gpu_rope(g->k, g->pos, g->w.inv_freq, 1, c->n_kv_heads, c->head_dim)) < 0 ||
            (rc = eng_gpu_kv_append(g->kc[l], g->vc[l], g->k, g->v, pos, kvdim)) < 0 ||
            (rc = eng_gpu_attention_decode(g->att, g->q, g->kc[l], g->vc[l], c->n_heads, c->n_kv_heads,
                                           c->head_dim, t0, pos + 1, scale)) < 0 ||
            (rc = eng_gpu_gemv(g->h, L->wo.d, L->wo.dtype, g->att, L->bo, c->hidden, qdim)) < 0 ||
            (rc = eng_gpu_add(g->x, g->h, c->hidden)) < 0 ||
            (rc = eng_gpu_rmsnorm(g->h, g->x, L->ffn_norm.d, L->ffn_norm.dtype, 1, c->hidden, c->eps)) < 0 ||
            (rc = eng_gpu_gemv(g->g, L->wg.d, L->wg.dtype, g->h, L->bg, c->intermediate, c->hidden)) < 0 ||
            (rc = eng_gpu_gemv(g->u, L->wu.d, L->wu.dtype, g->h, L->bu, c->intermediate, c->hidden)) < 0 ||
            (rc = eng_gpu_swiglu(g->g, g->g, g->u, c->intermediate)) < 0 ||
            (rc = eng_gpu_gemv(g->h, L->wd.d, L->wd.dtype, g->g, L->bd, c->hidden, c->intermediate)) < 0 ||
            (rc = eng_gpu_add(g->x, g->h, c->hidden)) < 0)
            return rc;
    }
    if (logits == NULL)
        return eng_gpu_sync();
    if ((rc = eng_gpu_rmsnorm(g->h, g->x, g->w.norm.d, g->w.norm.dtype, 1, c->hidden, c->eps)) < 0 ||
        (rc = eng_gpu_gemv(g->logits, g->w.lm_head.d, g->w.lm_head.dtype, g->h, NULL, c->vocab, c->hidden)) < 0 ||
        (rc = eng_gpu_sync()) < 0)
        return rc;
    return eng_gpu_download(logits, g->logits, (size_t)c->vocab * sizeof(float));
}
