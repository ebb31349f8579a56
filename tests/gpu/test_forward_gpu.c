/* A whole model on the GPU against the CPU reference: the kernels of gpu.h
 * composed into the decode step of forward.h (one token at a time, float32
 * activations, weights as stored), run side by side with eng_forward on
 * the same prompt and greedy continuation. Every step's logits must agree
 * within 1e-4 relative and the argmax must be the same; prints the worst
 * error, the top-1 agreement and the GPU tokens/s of this unfused version.
 *
 *   gpu_test_forward MODEL_DIR [NEW_TOKENS]      (exit 77 without a GPU)
 *
 * This is the first whole-model check of issue 8; the fast engine (fused
 * kernels, CUDA graphs, batching) must pass the same comparison. */
#include "common/clock.h"
#include "common/error.h"
#include "evaluator/engine/forward.h"
#include "evaluator/engine/gpu/gpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gmat {
    void *d;
    int dtype;
} gmat;

typedef struct glayer {
    gmat attn_norm, ffn_norm, wq, wk, wv, wo, wg, wu, wd;
    float *bq, *bk, *bv, *bo, *bg, *bu, *bd;   /* float32 biases or NULL */
    float *kc, *vc;
} glayer;

static int gpu_dtype(eng_dtype dt)
{
    return dt == ENG_DT_BF16 ? ENG_GPU_BF16 : dt == ENG_DT_F16 ? ENG_GPU_F16 : ENG_GPU_F32;
}

static int upload_mat(gmat *g, const eng_mat *m)
{
    size_t bytes = (size_t)m->rows * m->cols * eng_dtype_size(m->dtype);

    g->dtype = gpu_dtype(m->dtype);
    if (eng_gpu_alloc(&g->d, bytes) < 0)
        return -1;
    return eng_gpu_upload(g->d, m->data, bytes);
}

/* A bias (any dtype) as float32 on the device; NULL when absent. */
static int upload_bias(float **d, const eng_mat *m)
{
    size_t i, n = (size_t)m->rows * m->cols;
    float *h;
    int rc;

    *d = NULL;
    if (m->data == NULL)
        return 0;
    if ((h = malloc(n * sizeof *h)) == NULL)
        return -1;
    for (i = 0; i < n; i++)
        h[i] = eng_mat_get(m, i);
    rc = eng_gpu_alloc((void **)d, n * sizeof *h) < 0 ? -1 : eng_gpu_upload(*d, h, n * sizeof *h);
    free(h);
    return rc;
}

typedef struct gmodel {
    const eng_model *m;
    gmat embed, norm, lm_head;
    glayer *layers;
    float *x, *h, *q, *k, *v, *att, *g, *u, *logits, *inv_freq;
    int32_t *tok, *pos, *arg;
    int ctx;
} gmodel;

static int gmodel_init(gmodel *G, const eng_model *m, int ctx)
{
    const eng_config *c = &m->cfg;
    size_t kvdim = (size_t)c->n_kv_heads * c->head_dim, qdim = (size_t)c->n_heads * c->head_dim;
    size_t width = qdim > (size_t)c->hidden ? qdim : (size_t)c->hidden;
    int l;

    memset(G, 0, sizeof *G);
    G->m = m;
    G->ctx = ctx;
    if (upload_mat(&G->embed, &m->embed) < 0 || upload_mat(&G->norm, &m->norm) < 0 ||
        upload_mat(&G->lm_head, &m->lm_head) < 0)
        return -1;
    if ((G->layers = calloc((size_t)c->n_layers, sizeof *G->layers)) == NULL)
        return -1;
    for (l = 0; l < c->n_layers; l++) {
        const eng_layer *L = &m->layers[l];
        glayer *g = &G->layers[l];

        if (upload_mat(&g->attn_norm, &L->attn_norm) < 0 || upload_mat(&g->ffn_norm, &L->ffn_norm) < 0 ||
            upload_mat(&g->wq, &L->wq) < 0 || upload_mat(&g->wk, &L->wk) < 0 ||
            upload_mat(&g->wv, &L->wv) < 0 || upload_mat(&g->wo, &L->wo) < 0 ||
            upload_mat(&g->wg, &L->wg) < 0 || upload_mat(&g->wu, &L->wu) < 0 ||
            upload_mat(&g->wd, &L->wd) < 0 || upload_bias(&g->bq, &L->bq) < 0 ||
            upload_bias(&g->bk, &L->bk) < 0 || upload_bias(&g->bv, &L->bv) < 0 ||
            upload_bias(&g->bo, &L->bo) < 0 || upload_bias(&g->bg, &L->bg) < 0 ||
            upload_bias(&g->bu, &L->bu) < 0 || upload_bias(&g->bd, &L->bd) < 0 ||
            eng_gpu_alloc((void **)&g->kc, (size_t)ctx * kvdim * 4) < 0 ||
            eng_gpu_alloc((void **)&g->vc, (size_t)ctx * kvdim * 4) < 0)
            return -1;
    }
    if (eng_gpu_alloc((void **)&G->x, (size_t)c->hidden * 4) < 0 ||
        eng_gpu_alloc((void **)&G->h, width * 4) < 0 || eng_gpu_alloc((void **)&G->q, qdim * 4) < 0 ||
        eng_gpu_alloc((void **)&G->k, kvdim * 4) < 0 || eng_gpu_alloc((void **)&G->v, kvdim * 4) < 0 ||
        eng_gpu_alloc((void **)&G->att, qdim * 4) < 0 ||
        eng_gpu_alloc((void **)&G->g, (size_t)c->intermediate * 4) < 0 ||
        eng_gpu_alloc((void **)&G->u, (size_t)c->intermediate * 4) < 0 ||
        eng_gpu_alloc((void **)&G->logits, (size_t)c->vocab * 4) < 0 ||
        eng_gpu_alloc((void **)&G->inv_freq, (size_t)c->head_dim / 2 * 4) < 0 ||
        eng_gpu_alloc((void **)&G->tok, 4) < 0 || eng_gpu_alloc((void **)&G->pos, 4) < 0 ||
        eng_gpu_alloc((void **)&G->arg, 4) < 0)
        return -1;
    return eng_gpu_upload(G->inv_freq, m->inv_freq, (size_t)c->head_dim / 2 * 4);
}

/* One decode step on the GPU: token at position pos; logits stay on the
 * device in G->logits, their argmax in G->arg. */
static int gmodel_step(gmodel *G, int token, int pos)
{
    const eng_config *c = &G->m->cfg;
    int kvdim = c->n_kv_heads * c->head_dim, l, rc = 0;
    float scale = 1.0f / sqrtf((float)c->head_dim);

    if (eng_gpu_upload(G->tok, &token, 4) < 0 || eng_gpu_upload(G->pos, &pos, 4) < 0)
        return -1;
    rc |= eng_gpu_embed(G->x, G->embed.d, G->embed.dtype, G->tok, 1, c->hidden);
    for (l = 0; l < c->n_layers; l++) {
        glayer *L = &G->layers[l];
        int t0 = 0;

        if (c->sliding_window > 0 && l >= c->sliding_from_layer && pos + 1 > c->sliding_window)
            t0 = pos + 1 - c->sliding_window;
        rc |= eng_gpu_rmsnorm(G->h, G->x, L->attn_norm.d, L->attn_norm.dtype, 1, c->hidden, c->eps);
        rc |= eng_gpu_gemv(G->q, L->wq.d, L->wq.dtype, G->h, L->bq, c->n_heads * c->head_dim, c->hidden);
        rc |= eng_gpu_gemv(G->k, L->wk.d, L->wk.dtype, G->h, L->bk, kvdim, c->hidden);
        rc |= eng_gpu_gemv(G->v, L->wv.d, L->wv.dtype, G->h, L->bv, kvdim, c->hidden);
        rc |= eng_gpu_rope(G->q, G->pos, G->inv_freq, 1, c->n_heads, c->head_dim);
        rc |= eng_gpu_rope(G->k, G->pos, G->inv_freq, 1, c->n_kv_heads, c->head_dim);
        rc |= eng_gpu_kv_append(L->kc, L->vc, G->k, G->v, pos, kvdim);
        rc |= eng_gpu_attention_decode(G->att, G->q, L->kc, L->vc, c->n_heads, c->n_kv_heads,
                                       c->head_dim, t0, pos + 1, scale);
        rc |= eng_gpu_gemv(G->h, L->wo.d, L->wo.dtype, G->att, L->bo, c->hidden,
                           c->n_heads * c->head_dim);
        rc |= eng_gpu_add(G->x, G->h, c->hidden);
        rc |= eng_gpu_rmsnorm(G->h, G->x, L->ffn_norm.d, L->ffn_norm.dtype, 1, c->hidden, c->eps);
        rc |= eng_gpu_gemv(G->g, L->wg.d, L->wg.dtype, G->h, L->bg, c->intermediate, c->hidden);
        rc |= eng_gpu_gemv(G->u, L->wu.d, L->wu.dtype, G->h, L->bu, c->intermediate, c->hidden);
        rc |= eng_gpu_swiglu(G->g, G->g, G->u, c->intermediate);
        rc |= eng_gpu_gemv(G->h, L->wd.d, L->wd.dtype, G->g, L->bd, c->hidden, c->intermediate);
        rc |= eng_gpu_add(G->x, G->h, c->hidden);
    }
    rc |= eng_gpu_rmsnorm(G->h, G->x, G->norm.d, G->norm.dtype, 1, c->hidden, c->eps);
    rc |= eng_gpu_gemv(G->logits, G->lm_head.d, G->lm_head.dtype, G->h, NULL, c->vocab, c->hidden);
    rc |= eng_gpu_argmax(G->arg, G->logits, c->vocab);
    return rc != 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    eng_model *m = NULL;
    eng_state *s = NULL;
    gmodel G;
    const float *logits = NULL;
    float *glog;
    char why[160];
    int prompt[8] = {1, 17, 42, 99, 3, 250, 7, 64}, n_new, i, tok, gtok, agree = 0, steps = 0;
    double worst = 0, t_gpu = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: gpu_test_forward MODEL_DIR [NEW_TOKENS]\n");
        return 2;
    }
    n_new = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 32;
    if (!eng_gpu_available(why, sizeof why)) {
        printf("gpu_test_forward: skipped: %s\n", why);
        return 77;
    }
    if (eng_model_open(&m, argv[1], 0, ENG_DT_COUNT) < 0 || eng_state_new(&s, m, 8 + n_new + 1) < 0 ||
        gmodel_init(&G, m, 8 + n_new + 1) < 0 ||
        (glog = malloc((size_t)m->cfg.vocab * sizeof *glog)) == NULL) {
        fprintf(stderr, "gpu_test_forward: %s\n", as_error_msg());
        return 1;
    }
    tok = prompt[0] % m->cfg.vocab;
    for (i = 0; i < 8 + n_new; i++) {
        double t0, maxd = 0, maxr = 1e-30;
        int v;

        if (i < 8)
            tok = prompt[i] % m->cfg.vocab;
        if (eng_forward(s, tok, &logits) < 0)
            break;
        t0 = as_clock_ms();
        if (gmodel_step(&G, tok, i) < 0 || eng_gpu_sync() < 0 ||
            eng_gpu_download(glog, G.logits, (size_t)m->cfg.vocab * 4) < 0 ||
            eng_gpu_download(&gtok, G.arg, 4) < 0) {
            fprintf(stderr, "gpu_test_forward: step %d: %s\n", i, as_error_msg());
            return 1;
        }
        t_gpu += as_clock_ms() - t0;
        for (v = 0; v < m->cfg.vocab; v++) {
            maxd = fmax(maxd, fabs((double)glog[v] - logits[v]));
            maxr = fmax(maxr, fabs((double)logits[v]));
        }
        worst = fmax(worst, maxd / maxr);
        steps++;
        agree += gtok == eng_argmax(logits, m->cfg.vocab);
        if (i >= 7)
            tok = eng_argmax(logits, m->cfg.vocab);     /* greedy, fed to both */
    }
    printf("| %-30s | %3d steps | logits max rel %.2e (tol 1e-4) | argmax agree %d/%d | GPU %.0f tok/s (unfused) | %s |\n",
           argv[1], steps, worst, agree, steps, steps / (t_gpu / 1000.0),
           worst <= 1e-4 && agree == steps ? "ok" : "FAIL");
    free(glog);
    eng_state_free(s);
    eng_model_free(m);
    return worst <= 1e-4 && agree == steps ? 0 : 1;
}
