/* The GPU decode step (forward_gpu.h), composed from the kernels of gpu.h
 * in exactly the order of eng_forward in forward.c. */
#include "evaluator/engine/gpu/forward_gpu.h"

#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct gmat {
    void *d;
    int dtype;
} gmat;

typedef struct glayer {
    gmat attn_norm, ffn_norm, wq, wk, wv, wo, wg, wu, wd;
    float *bq, *bk, *bv, *bo, *bg, *bu, *bd;   /* float32 biases or NULL */
    float *kc, *vc;                            /* (ctx, kv_heads * head_dim) */
} glayer;

struct eng_gpu_state {
    const eng_model *m;
    int ctx;
    gmat embed, norm, lm_head;
    glayer *layers;
    float *x, *h, *q, *k, *v, *att, *g, *u, *logits, *inv_freq;
    int32_t *tok, *pos;
};

static int gpu_dtype(eng_dtype dt)
{
    return dt == ENG_DT_BF16 ? ENG_GPU_BF16 : dt == ENG_DT_F16 ? ENG_GPU_F16 : ENG_GPU_F32;
}

static int upload_mat(gmat *g, const eng_mat *m)
{
    size_t bytes = (size_t)m->rows * m->cols * eng_dtype_size(m->dtype);
    int rc;

    g->dtype = gpu_dtype(m->dtype);
    if ((rc = eng_gpu_alloc(&g->d, bytes)) < 0)
        return rc;
    return eng_gpu_upload(g->d, m->data, bytes);
}

/* A bias of any dtype as float32 on the device; NULL when absent. */
static int upload_bias(float **d, const eng_mat *m)
{
    size_t i, n = (size_t)m->rows * m->cols;
    float *h;
    int rc;

    *d = NULL;
    if (m->data == NULL)
        return 0;
    if ((h = malloc(n * sizeof *h)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        h[i] = eng_mat_get(m, i);
    if ((rc = eng_gpu_alloc((void **)d, n * sizeof *h)) == 0)
        rc = eng_gpu_upload(*d, h, n * sizeof *h);
    free(h);
    return rc;
}

static int alloc_f32(float **d, size_t n)
{
    return eng_gpu_alloc((void **)d, n * sizeof(float));
}

static int upload_layer(glayer *g, const eng_layer *L, size_t cache_floats)
{
    int rc;

    if ((rc = upload_mat(&g->attn_norm, &L->attn_norm)) < 0 ||
        (rc = upload_mat(&g->ffn_norm, &L->ffn_norm)) < 0 || (rc = upload_mat(&g->wq, &L->wq)) < 0 ||
        (rc = upload_mat(&g->wk, &L->wk)) < 0 || (rc = upload_mat(&g->wv, &L->wv)) < 0 ||
        (rc = upload_mat(&g->wo, &L->wo)) < 0 || (rc = upload_mat(&g->wg, &L->wg)) < 0 ||
        (rc = upload_mat(&g->wu, &L->wu)) < 0 || (rc = upload_mat(&g->wd, &L->wd)) < 0 ||
        (rc = upload_bias(&g->bq, &L->bq)) < 0 || (rc = upload_bias(&g->bk, &L->bk)) < 0 ||
        (rc = upload_bias(&g->bv, &L->bv)) < 0 || (rc = upload_bias(&g->bo, &L->bo)) < 0 ||
        (rc = upload_bias(&g->bg, &L->bg)) < 0 || (rc = upload_bias(&g->bu, &L->bu)) < 0 ||
        (rc = upload_bias(&g->bd, &L->bd)) < 0 || (rc = alloc_f32(&g->kc, cache_floats)) < 0 ||
        (rc = alloc_f32(&g->vc, cache_floats)) < 0)
        return rc;
    return 0;
}

void eng_gpu_state_free(eng_gpu_state *g)
{
    int l;

    if (g == NULL)
        return;
    for (l = 0; g->layers != NULL && l < g->m->cfg.n_layers; l++) {
        glayer *L = &g->layers[l];
        void *all[] = {L->attn_norm.d, L->ffn_norm.d, L->wq.d, L->wk.d, L->wv.d, L->wo.d, L->wg.d,
                       L->wu.d, L->wd.d, L->bq, L->bk, L->bv, L->bo, L->bg, L->bu, L->bd, L->kc,
                       L->vc};
        size_t i;

        for (i = 0; i < sizeof all / sizeof all[0]; i++)
            eng_gpu_free(all[i]);
    }
    free(g->layers);
    eng_gpu_free(g->embed.d);
    eng_gpu_free(g->norm.d);
    if (g->lm_head.d != g->embed.d)
        eng_gpu_free(g->lm_head.d);
    eng_gpu_free(g->x);
    eng_gpu_free(g->h);
    eng_gpu_free(g->q);
    eng_gpu_free(g->k);
    eng_gpu_free(g->v);
    eng_gpu_free(g->att);
    eng_gpu_free(g->g);
    eng_gpu_free(g->u);
    eng_gpu_free(g->logits);
    eng_gpu_free(g->inv_freq);
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
    if ((g->layers = calloc((size_t)c->n_layers, sizeof *g->layers)) == NULL) {
        free(g);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    if ((rc = upload_mat(&g->embed, &m->embed)) < 0 || (rc = upload_mat(&g->norm, &m->norm)) < 0)
        goto fail;
    if (c->tied)
        g->lm_head = g->embed;
    else if ((rc = upload_mat(&g->lm_head, &m->lm_head)) < 0)
        goto fail;
    for (l = 0; l < c->n_layers; l++)
        if ((rc = upload_layer(&g->layers[l], &m->layers[l], (size_t)ctx * kvdim)) < 0)
            goto fail;
    if ((rc = alloc_f32(&g->x, (size_t)c->hidden)) < 0 || (rc = alloc_f32(&g->h, width)) < 0 ||
        (rc = alloc_f32(&g->q, qdim)) < 0 || (rc = alloc_f32(&g->k, kvdim)) < 0 ||
        (rc = alloc_f32(&g->v, kvdim)) < 0 || (rc = alloc_f32(&g->att, qdim)) < 0 ||
        (rc = alloc_f32(&g->g, (size_t)c->intermediate)) < 0 ||
        (rc = alloc_f32(&g->u, (size_t)c->intermediate)) < 0 ||
        (rc = alloc_f32(&g->logits, (size_t)c->vocab)) < 0 ||
        (rc = alloc_f32(&g->inv_freq, (size_t)c->head_dim / 2)) < 0 ||
        (rc = eng_gpu_alloc((void **)&g->tok, sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_alloc((void **)&g->pos, sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_upload(g->inv_freq, m->inv_freq, (size_t)c->head_dim / 2 * sizeof(float))) < 0)
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
        (rc = eng_gpu_embed(g->x, g->embed.d, g->embed.dtype, g->tok, 1, c->hidden)) < 0)
        return rc;
    for (l = 0; l < c->n_layers; l++) {
        glayer *L = &g->layers[l];
        int t0 = 0;

        if (c->sliding_window > 0 && l >= c->sliding_from_layer && pos + 1 > c->sliding_window)
            t0 = pos + 1 - c->sliding_window;
        if ((rc = eng_gpu_rmsnorm(g->h, g->x, L->attn_norm.d, L->attn_norm.dtype, 1, c->hidden, c->eps)) < 0 ||
            (rc = eng_gpu_gemv(g->q, L->wq.d, L->wq.dtype, g->h, L->bq, qdim, c->hidden)) < 0 ||
            (rc = eng_gpu_gemv(g->k, L->wk.d, L->wk.dtype, g->h, L->bk, kvdim, c->hidden)) < 0 ||
            (rc = eng_gpu_gemv(g->v, L->wv.d, L->wv.dtype, g->h, L->bv, kvdim, c->hidden)) < 0 ||
            (rc = eng_gpu_rope(g->q, g->pos, g->inv_freq, 1, c->n_heads, c->head_dim)) < 0 ||
            (rc = eng_gpu_rope(g->k, g->pos, g->inv_freq, 1, c->n_kv_heads, c->head_dim)) < 0 ||
            (rc = eng_gpu_kv_append(L->kc, L->vc, g->k, g->v, pos, kvdim)) < 0 ||
            (rc = eng_gpu_attention_decode(g->att, g->q, L->kc, L->vc, c->n_heads, c->n_kv_heads,
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
    if ((rc = eng_gpu_rmsnorm(g->h, g->x, g->norm.d, g->norm.dtype, 1, c->hidden, c->eps)) < 0 ||
        (rc = eng_gpu_gemv(g->logits, g->lm_head.d, g->lm_head.dtype, g->h, NULL, c->vocab, c->hidden)) < 0 ||
        (rc = eng_gpu_sync()) < 0)
        return rc;
    return eng_gpu_download(logits, g->logits, (size_t)c->vocab * sizeof(float));
}
