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

/* 'm' as float32 on the host; caller frees. NULL when out of memory. */
static float *widened(const eng_mat *m)
{
    size_t i, n = (size_t)m->rows * m->cols;
    float *h = malloc(n * sizeof *h);

    for (i = 0; h != NULL && i < n; i++)
        h[i] = eng_mat_get(m, i);
    return h;
}

/* The dtype 'm' gets on the device. */
static int device_dtype(const eng_mat *m, int f16_to_f32)
{
    return f16_to_f32 && m->dtype == ENG_DT_F16 ? ENG_GPU_F32 : gpu_dtype(m->dtype);
}

/* Copy 'm' to device memory 'd' (allocated), as 'dtype': its own, or
 * ENG_GPU_F32 to widen it. */
static int upload_into(void *d, const eng_mat *m, int dtype)
{
    size_t n = (size_t)m->rows * m->cols;
    float *h;
    int rc;

    if (dtype == gpu_dtype(m->dtype))
        return eng_gpu_upload(d, m->data, n * eng_dtype_size(m->dtype));
    if ((h = widened(m)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory widening a %d x %d matrix", m->rows, m->cols);
    rc = eng_gpu_upload(d, h, n * sizeof *h);
    free(h);
    return rc;
}

/* The n matrices ms (each (rows_i, cols), the same cols) stacked by rows
 * into one device matrix *stack, so that one product computes them all;
 * views[i] is matrix i inside it (not freed apart). All take the first's
 * device dtype, or float32 (exact) when theirs differ. */
static int upload_stacked(eng_gpu_mat *stack, eng_gpu_mat *const *views, const eng_mat *const *ms,
                          int n, int f16_to_f32)
{
    size_t bytes = 0, esize;
    int i, rc, dtype = device_dtype(ms[0], f16_to_f32);

    for (i = 1; i < n; i++)
        if (device_dtype(ms[i], f16_to_f32) != dtype)
            dtype = ENG_GPU_F32;
    esize = dtype == ENG_GPU_F32 ? 4 : 2;
    for (i = 0; i < n; i++)
        bytes += (size_t)ms[i]->rows * ms[i]->cols * esize;
    stack->dtype = dtype;
    if ((rc = eng_gpu_alloc(&stack->d, bytes)) < 0)
        return rc;
    for (bytes = 0, i = 0; i < n; i++) {
        views[i]->d = (char *)stack->d + bytes;
        views[i]->dtype = dtype;
        if ((rc = upload_into(views[i]->d, ms[i], dtype)) < 0)
            return rc;
        bytes += (size_t)ms[i]->rows * ms[i]->cols * esize;
    }
    return 0;
}

static int upload_mat(eng_gpu_mat *g, const eng_mat *m, int f16_to_f32)
{
    int rc, dtype = device_dtype(m, f16_to_f32);
    size_t bytes = (size_t)m->rows * m->cols * (dtype == ENG_GPU_F32 ? 4 : 2);

    g->dtype = dtype;
    if ((rc = eng_gpu_alloc(&g->d, bytes)) < 0)
        return rc;
    return upload_into(g->d, m, dtype);
}

/* The biases of stacked matrices (ws: their weights, for the lengths) as
 * one float32 vector *stack, zeros for an absent one, and views[i] into it
 * (NULL for an absent one); *stack is NULL when all are absent. */
static int upload_bias_stacked(float **stack, float **const *views, const eng_mat *const *bs,
                               const eng_mat *const *ws, int n)
{
    size_t len = 0, off;
    float *h;
    int i, any = 0, rc;

    *stack = NULL;
    for (i = 0; i < n; i++) {
        *views[i] = NULL;
        len += (size_t)ws[i]->rows;
        any |= bs[i]->data != NULL;
    }
    if (!any)
        return 0;
    if ((h = calloc(len, sizeof *h)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (off = 0, i = 0; i < n; off += (size_t)ws[i]->rows, i++) {
        size_t j;

        for (j = 0; bs[i]->data != NULL && j < (size_t)ws[i]->rows; j++)
            h[off + j] = eng_mat_get(bs[i], j);
    }
    if ((rc = eng_gpu_alloc((void **)stack, len * sizeof *h)) == 0)
        rc = eng_gpu_upload(*stack, h, len * sizeof *h);
    free(h);
    for (off = 0, i = 0; rc == 0 && i < n; off += (size_t)ws[i]->rows, i++)
        if (bs[i]->data != NULL)
            *views[i] = *stack + off;
    return rc;
}

/* A bias of any dtype as float32 on the device; NULL when absent. */
static int upload_bias(float **d, const eng_mat *m)
{
    *d = NULL;
    if (m->data == NULL)
        return 0;
    return upload_bias_stacked(d, (float **const[]){d}, (const eng_mat *const[]){m},
                               (const eng_mat *const[]){m}, 1);
}

static int upload_layer(eng_gpu_layer *g, const eng_layer *L, int f16)
{
    const eng_mat *qkv[] = {&L->wq, &L->wk, &L->wv}, *gu[] = {&L->wg, &L->wu};
    const eng_mat *bqkv[] = {&L->bq, &L->bk, &L->bv}, *bgu[] = {&L->bg, &L->bu};
    int rc;

    if ((rc = upload_mat(&g->attn_norm, &L->attn_norm, f16)) < 0 ||
        (rc = upload_mat(&g->ffn_norm, &L->ffn_norm, f16)) < 0 ||
        (rc = upload_stacked(&g->wqkv, (eng_gpu_mat *const[]){&g->wq, &g->wk, &g->wv}, qkv, 3,
                             f16)) < 0 ||
        (rc = upload_stacked(&g->wgu, (eng_gpu_mat *const[]){&g->wg, &g->wu}, gu, 2, f16)) < 0 ||
        (rc = upload_mat(&g->wo, &L->wo, f16)) < 0 || (rc = upload_mat(&g->wd, &L->wd, f16)) < 0 ||
        (rc = upload_bias_stacked(&g->bqkv, (float **const[]){&g->bq, &g->bk, &g->bv}, bqkv, qkv,
                                  3)) < 0 ||
        (rc = upload_bias_stacked(&g->bgu, (float **const[]){&g->bg, &g->bu}, bgu, gu, 2)) < 0 ||
        (rc = upload_bias(&g->bo, &L->bo)) < 0 || (rc = upload_bias(&g->bd, &L->bd)) < 0)
        return rc;
    return 0;
}

void eng_gpu_weights_free(eng_gpu_weights *w)
{
    int l;

    for (l = 0; w->layers != NULL && l < w->n_layers; l++) {
        eng_gpu_layer *L = &w->layers[l];
        void *all[] = {L->attn_norm.d, L->ffn_norm.d, L->wqkv.d, L->wgu.d, L->wo.d, L->wd.d,
                       L->bqkv, L->bgu, L->bo, L->bd};
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
