/* Model weights in device memory (weights_gpu.h). */
#include "evaluator/engine/gpu/weights_gpu.h"

#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
#include "evaluator/engine/ops.h"

#include <stdlib.h>
#include <string.h>

static int gpu_dtype(eng_dtype dt)
{
    return dt == ENG_DT_BF16 ? ENG_GPU_BF16 : dt == ENG_DT_F16 ? ENG_GPU_F16 : ENG_GPU_F32;
}

/* Every element of 'm' as float32 on the device at *d. */
static int upload_as_f32(void **d, const eng_mat *m)
{
    size_t i, n = (size_t)m->rows * m->cols;
    float *h;
    int rc;

    if ((h = malloc(n * sizeof *h)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory widening a %d x %d matrix", m->rows, m->cols);
    for (i = 0; i < n; i++)
        h[i] = eng_mat_get(m, i);
    if ((rc = eng_gpu_alloc(d, n * sizeof *h)) == 0)
        rc = eng_gpu_upload(*d, h, n * sizeof *h);
    free(h);
    return rc;
}

static int upload_mat(eng_gpu_mat *g, const eng_mat *m, int f16_to_f32)
{
    size_t bytes = (size_t)m->rows * m->cols * eng_dtype_size(m->dtype);
    int rc;

    if (f16_to_f32 && m->dtype == ENG_DT_F16) {
        g->dtype = ENG_GPU_F32;
        return upload_as_f32(&g->d, m);
    }
    g->dtype = gpu_dtype(m->dtype);
    if ((rc = eng_gpu_alloc(&g->d, bytes)) < 0)
        return rc;
    return eng_gpu_upload(g->d, m->data, bytes);
}

/* A bias of any dtype as float32 on the device; NULL when absent. */
static int upload_bias(float **d, const eng_mat *m)
{
    *d = NULL;
    if (m->data == NULL)
        return 0;
    return upload_as_f32((void **)d, m);
}

static int upload_layer(eng_gpu_layer *g, const eng_layer *L, int f16)
{
    int rc;

    if ((rc = upload_mat(&g->attn_norm, &L->attn_norm, f16)) < 0 ||
        (rc = upload_mat(&g->ffn_norm, &L->ffn_norm, f16)) < 0 ||
        (rc = upload_mat(&g->wq, &L->wq, f16)) < 0 || (rc = upload_mat(&g->wk, &L->wk, f16)) < 0 ||
        (rc = upload_mat(&g->wv, &L->wv, f16)) < 0 || (rc = upload_mat(&g->wo, &L->wo, f16)) < 0 ||
        (rc = upload_mat(&g->wg, &L->wg, f16)) < 0 || (rc = upload_mat(&g->wu, &L->wu, f16)) < 0 ||
        (rc = upload_mat(&g->wd, &L->wd, f16)) < 0 || (rc = upload_bias(&g->bq, &L->bq)) < 0 ||
        (rc = upload_bias(&g->bk, &L->bk)) < 0 || (rc = upload_bias(&g->bv, &L->bv)) < 0 ||
        (rc = upload_bias(&g->bo, &L->bo)) < 0 || (rc = upload_bias(&g->bg, &L->bg)) < 0 ||
        (rc = upload_bias(&g->bu, &L->bu)) < 0 || (rc = upload_bias(&g->bd, &L->bd)) < 0)
        return rc;
    return 0;
}

void eng_gpu_weights_free(eng_gpu_weights *w)
{
    int l;

    for (l = 0; w->layers != NULL && l < w->n_layers; l++) {
        eng_gpu_layer *L = &w->layers[l];
        void *all[] = {L->attn_norm.d, L->ffn_norm.d, L->wq.d, L->wk.d, L->wv.d, L->wo.d, L->wg.d,
                       L->wu.d, L->wd.d, L->bq, L->bk, L->bv, L->bo, L->bg, L->bu, L->bd};
        size_t i;

        for (i = 0; i < sizeof all / sizeof all[0]; i++)
            eng_gpu_free(all[i]);
    }
    free(w->layers);
    if (w->lm_head.d != w->embed.d)
        eng_gpu_free(w->lm_head.d);
    eng_gpu_free(w->embed.d);
    eng_gpu_free(w->norm.d);
    eng_gpu_free(w->inv_freq);
    memset(w, 0, sizeof *w);
}

int eng_gpu_weights_upload(eng_gpu_weights *w, const eng_model *m, int f16_to_f32)
{
    const eng_config *c = &m->cfg;
    size_t half = (size_t)c->head_dim / 2 * sizeof(float);
    int rc, l;

    memset(w, 0, sizeof *w);
    w->n_layers = c->n_layers;
    if ((w->layers = calloc((size_t)c->n_layers, sizeof *w->layers)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = upload_mat(&w->embed, &m->embed, f16_to_f32)) < 0 ||
        (rc = upload_mat(&w->norm, &m->norm, f16_to_f32)) < 0)
        goto fail;
    if (c->tied)
        w->lm_head = w->embed;
    else if ((rc = upload_mat(&w->lm_head, &m->lm_head, f16_to_f32)) < 0)
        goto fail;
    for (l = 0; l < c->n_layers; l++)
        if ((rc = upload_layer(&w->layers[l], &m->layers[l], f16_to_f32)) < 0)
            goto fail;
    if ((rc = eng_gpu_alloc((void **)&w->inv_freq, half)) < 0 ||
        (rc = eng_gpu_upload(w->inv_freq, m->inv_freq, half)) < 0)
        goto fail;
    return 0;
fail:
    eng_gpu_weights_free(w);
    return rc;
}
