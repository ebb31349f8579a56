/* Binding safetensors tensors to the decoder's layers (model.h). */
#include "evaluator/engine/model.h"

#include "common/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct binder {
    eng_model *m;
    eng_dtype keep;          /* ENG_DT_COUNT: as stored */
    const char *dir;
    unsigned char *used;     /* one flag per tensor of the weights */
    const eng_tensor *all;
} binder;

/* Keep 'copy' (malloc'd) with the model, which frees it. */
static int keep_copy(eng_model *m, void *copy)
{
    void **grown = realloc(m->copies, (m->ncopies + 1) * sizeof *grown);

    if (grown == NULL) {
        free(copy);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    m->copies = grown;
    m->copies[m->ncopies++] = copy;
    return 0;
}

/* Bind tensor 'name' of shape (rows, cols) (cols 0: a vector of 'rows') to
 * *mat. 'optional': absence leaves mat->data NULL. */
static int bind(binder *b, eng_mat *mat, const char *name, int rows, int cols, int optional)
{
    const eng_tensor *t = eng_weights_get(b->m->weights, name);
    size_t esize;
    int rc;

    memset(mat, 0, sizeof *mat);
    if (t == NULL) {
        if (optional)
            return 0;
        return as_error_set(AS_EINVAL, "%s: tensor '%s' is missing", b->dir, name);
    }
    b->used[t - b->all] = 1;
    if (t->dtype != ENG_DT_F32 && t->dtype != ENG_DT_F16 && t->dtype != ENG_DT_BF16)
        return as_error_set(AS_EUNSUPPORTED, "%s: tensor '%s' has dtype %s (F32, F16 and BF16 are supported)",
                            b->dir, name, eng_dtype_name(t->dtype));
    if (cols == 0 ? (t->ndim != 1 || t->shape[0] != rows)
                  : (t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols)) {
        char got[96] = "";
        size_t len = 0;
        int i;

        for (i = 0; i < t->ndim && len < sizeof got - 24; i++)
            len += (size_t)snprintf(got + len, sizeof got - len, "%s%lld", i ? "," : "",
                                    (long long)t->shape[i]);
        if (cols == 0)
            return as_error_set(AS_EINVAL, "%s: tensor '%s' has shape [%s], config.json says [%d]",
                                b->dir, name, got, rows);
        return as_error_set(AS_EINVAL, "%s: tensor '%s' has shape [%s], config.json says [%d,%d]",
                            b->dir, name, got, rows, cols);
    }
    mat->dtype = t->dtype;
    mat->rows = cols == 0 ? 1 : rows;
    mat->cols = cols == 0 ? rows : cols;
    mat->data = t->data;
    esize = eng_dtype_size(t->dtype);
    /* The format does not promise alignment, and loads must be aligned;
     * a conversion to the kept dtype needs a copy too. */
    if ((uintptr_t)t->data % esize != 0 || (b->keep != ENG_DT_COUNT && b->keep != t->dtype)) {
        eng_dtype to = b->keep == ENG_DT_COUNT ? t->dtype : b->keep;
        size_t i, n = (size_t)t->numel, bytes = n * eng_dtype_size(to);
        eng_mat src = *mat;
        void *copy;

        if ((uintptr_t)t->data % esize != 0) {
            /* Read the misaligned source through an aligned copy. */
            if ((copy = malloc(t->nbytes ? t->nbytes : 1)) == NULL)
                return as_error_set(AS_ENOMEM, "out of memory copying tensor '%s'", name);
            memcpy(copy, t->data, t->nbytes);
            if ((rc = keep_copy(b->m, copy)) < 0)
                return rc;
            src.data = copy;
            mat->data = copy;
        }
        if (to != t->dtype) {
            if ((copy = malloc(bytes ? bytes : 1)) == NULL)
                return as_error_set(AS_ENOMEM, "out of memory converting tensor '%s'", name);
            for (i = 0; i < n; i++) {
                float v = eng_mat_get(&src, i);

                if (to == ENG_DT_F32)
                    ((float *)copy)[i] = v;
                else
                    ((uint16_t *)copy)[i] = eng_f32_to_bf16(v);
            }
            if ((rc = keep_copy(b->m, copy)) < 0)
                return rc;
            mat->data = copy;
            mat->dtype = to;
        }
    }
    return 0;
}

static int bind_layer(binder *b, int l)
{
    const eng_config *c = &b->m->cfg;
    eng_layer *L = &b->m->layers[l];
    int H = c->hidden, q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    int I = c->intermediate, rc;
    char p[64], n[128];

    snprintf(p, sizeof p, "model.layers.%d.", l);
#define NAME(s) (snprintf(n, sizeof n, "%s%s", p, s), n)
    if ((rc = bind(b, &L->attn_norm, NAME("input_layernorm.weight"), H, 0, 0)) < 0 ||
        (rc = bind(b, &L->ffn_norm, NAME("post_attention_layernorm.weight"), H, 0, 0)) < 0 ||
        (rc = bind(b, &L->wq, NAME("self_attn.q_proj.weight"), q, H, 0)) < 0 ||
        (rc = bind(b, &L->wk, NAME("self_attn.k_proj.weight"), kv, H, 0)) < 0 ||
        (rc = bind(b, &L->wv, NAME("self_attn.v_proj.weight"), kv, H, 0)) < 0 ||
        (rc = bind(b, &L->wo, NAME("self_attn.o_proj.weight"), H, q, 0)) < 0 ||
        (rc = bind(b, &L->wg, NAME("mlp.gate_proj.weight"), I, H, 0)) < 0 ||
        (rc = bind(b, &L->wu, NAME("mlp.up_proj.weight"), I, H, 0)) < 0 ||
        (rc = bind(b, &L->wd, NAME("mlp.down_proj.weight"), H, I, 0)) < 0)
        return rc;
    if (c->qkv_bias &&
        ((rc = bind(b, &L->bq, NAME("self_attn.q_proj.bias"), q, 0, 0)) < 0 ||
         (rc = bind(b, &L->bk, NAME("self_attn.k_proj.bias"), kv, 0, 0)) < 0 ||
         (rc = bind(b, &L->bv, NAME("self_attn.v_proj.bias"), kv, 0, 0)) < 0))
        return rc;
    if (c->o_bias && (rc = bind(b, &L->bo, NAME("self_attn.o_proj.bias"), H, 0, 0)) < 0)
        return rc;
    if (c->mlp_bias &&
        ((rc = bind(b, &L->bg, NAME("mlp.gate_proj.bias"), I, 0, 0)) < 0 ||
         (rc = bind(b, &L->bu, NAME("mlp.up_proj.bias"), I, 0, 0)) < 0 ||
         (rc = bind(b, &L->bd, NAME("mlp.down_proj.bias"), H, 0, 0)) < 0))
        return rc;
#undef NAME
    return 0;
}

/* Every tensor must have been bound, except rotary caches older
 * checkpoints store and an lm_head that a tied config ignores. */
static int check_extra(binder *b, size_t n)
{
    size_t i, len;

    for (i = 0; i < n; i++) {
        const char *name = b->all[i].name;

        if (b->used[i])
            continue;
        len = strlen(name);
        if (len >= 19 && strcmp(name + len - 19, "rotary_emb.inv_freq") == 0)
            continue;
        if (b->m->cfg.tied && strcmp(name, "lm_head.weight") == 0)
            continue;
        return as_error_set(AS_EINVAL, "%s: unexpected tensor '%s' (not part of a %s with this config)",
                            b->dir, name, b->m->cfg.arch_name);
    }
    return 0;
}

int eng_model_open(eng_model **out, const char *dir, int nthreads, eng_dtype keep)
{
    eng_model *m;
    binder b = {0};
    size_t n;
    int rc, l;

    *out = NULL;
    if ((m = calloc(1, sizeof *m)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = eng_config_load(&m->cfg, dir)) < 0 || (rc = eng_weights_open(&m->weights, dir)) < 0)
        goto fail;
    b.m = m;
    b.keep = keep;
    b.dir = dir;
    b.all = eng_weights_all(m->weights, &n);
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    m->inv_freq = calloc((size_t)m->cfg.head_dim / 2, sizeof *m->inv_freq);
    b.used = calloc(n ? n : 1, 1);
    if (m->layers == NULL || m->inv_freq == NULL || b.used == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = bind(&b, &m->embed, "model.embed_tokens.weight", m->cfg.vocab, m->cfg.hidden, 0)) < 0 ||
        (rc = bind(&b, &m->norm, "model.norm.weight", m->cfg.hidden, 0, 0)) < 0)
        goto fail;
    if (m->cfg.tied)
        m->lm_head = m->embed;
    else if ((rc = bind(&b, &m->lm_head, "lm_head.weight", m->cfg.vocab, m->cfg.hidden, 0)) < 0)
        goto fail;
    for (l = 0; l < m->cfg.n_layers; l++)
        if ((rc = bind_layer(&b, l)) < 0)
            goto fail;
    if ((rc = check_extra(&b, n)) < 0)
        goto fail;
    m->dtype = m->embed.dtype;
    eng_rope_inv_freq(m->inv_freq, &m->cfg);
    if ((rc = eng_pool_new(&m->pool, nthreads)) < 0)
        goto fail;
    free(b.used);
    *out = m;
    return 0;
fail:
    free(b.used);
    eng_model_free(m);
    return rc;
}

int eng_keep_dtype_parse(const char *name, eng_dtype *out)
{
    if (strcmp(name, "auto") == 0)
        *out = ENG_DT_COUNT;
    else if (strcmp(name, "float32") == 0)
        *out = ENG_DT_F32;
    else if (strcmp(name, "bfloat16") == 0)
        *out = ENG_DT_BF16;
    else
        return as_error_set(AS_EINVAL, "dtype '%.32s': auto, float32 or bfloat16", name);
    return 0;
}

void eng_model_free(eng_model *m)
{
    size_t i;

    if (m == NULL)
        return;
    eng_pool_free(m->pool);
    for (i = 0; i < m->ncopies; i++)
        free(m->copies[i]);
    free(m->copies);
    free(m->layers);
    free(m->inv_freq);
    eng_weights_free(m->weights);
    free(m);
}
