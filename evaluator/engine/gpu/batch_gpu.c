/* Continuous batching on the GPU (forward_gpu.h, eng_gpu_batch_*): the
 * rows of a step, whatever sequence and position each belongs to, go
 * through the decoder together. Matrix products read each weight once per
 * step: for steps of at most ENG_GPU_GEMV_ROWS_MAX rows (decode) with
 * gpu.h's eng_gpu_gemv_rows (float32 inputs), for larger ones as cuBLAS
 * GEMMs over all rows (inputs rounded to bfloat16 for bfloat16 weights);
 * attention, RoPE and the KV-cache writes are per row, against that row's
 * slot. A decode step is a few hundred launches, each costing a few
 * microseconds of a step that should take about a millisecond, so a layer
 * is nine of them: q|k|v and gate|up are one product each (stacked
 * weights, weights_gpu.h), RoPE and the cache writes one kernel, and the
 * residual additions are folded into the output and down products. Only
 * the rows the caller wants get the final norm and LM head.
 * Float16 weights are widened to float32 at upload (the GEMMs read
 * float32 and bfloat16), so they give the CPU reference's results within
 * float32 rounding.
 *
 * Device memory: the weights once; K and V caches of (slots, layers, ctx,
 * kv_heads * head_dim) elements, bfloat16 for a model whose q|k|v weights
 * are bfloat16 (as transformers keeps them; half the bytes attention
 * reads, twice the slots or context in the same memory), float32
 * otherwise (within float32 rounding of the CPU reference); scratch for
 * max_rows rows. A step runs on
 * the batch's own stream and ends in one synchronisation (the timer's).
 *
 * Sampling: when a step carries sampling parameters, gpu.h's
 * eng_gpu_sample_rows chooses each wanted row's token after the LM head,
 * and only the tokens come back (the logits only when asked for).
 *
 * CUDA graphs: a step of n rows that are all of different slots and all
 * wanted (every decoding slot's next token) has launch shapes that depend
 * only on n, on whether targets are given and on whether rows sample, and
 * reads everything else (tokens, slots, positions, wanted rows, targets,
 * sampling parameters and draws) from the one input buffer uploaded
 * before it. The first such step of a shape runs
 * uncaptured (it loads the kernels and warms cuBLAS), the second is
 * captured into a graph, and from then on the shape is replayed from its
 * graph. Other steps (prefill chunks) run uncaptured. A graph that fails
 * to capture or launch leaves its shape uncaptured for good, silently.
 * ASSAY_GPU_GRAPHS=0 turns graphs off. Both ways run the same kernels
 * with the same arguments, so results are bit-identical.
 *
 * Attention of steps of at most 'slots' rows (decode steps) is split
 * over the context for long rows (gpu.h's eng_gpu_attention_rows_split);
 * larger steps have enough rows to fill the device without it. */
#include "evaluator/engine/gpu/forward_gpu.h"

#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
#include "evaluator/engine/gpu/weights_gpu.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The step's inputs travel in one upload of int32 words, in this order,
 * max_rows words each: the float sampling parameters as their bits, each
 * draw u as a double in two words (IN_U's offset is even, so aligned). */
enum { IN_TOK, IN_SLOT, IN_POS, IN_WANT, IN_TARGET, IN_TEMP, IN_TOP_K, IN_TOP_P, IN_U,
       IN_COUNT = IN_U + 2 };

/* Graph shapes: rows 0..max_rows, with targets or not, sampling or not. */
#define SHAPE_KEYS(max_rows) (4 * ((size_t)(max_rows) + 1))

/* Graph state of one step shape (shape_key). */
enum { G_NEW, G_SEEN, G_READY, G_FAILED };

struct eng_gpu_batch {
    const eng_model *m;
    int slots, ctx, max_rows;
    size_t slot_stride;                  /* elements of one slot's cache, all layers */
    eng_gpu_weights w;
    eng_gpu_stream *stream;
    eng_gpu_blas *blas;
    eng_gpu_timer *timer;
    void *kc, *vc;                       /* (slots, layers, ctx, kvdim) of kv_dtype */
    int kv_dtype;                        /* ENG_GPU_BF16 or ENG_GPU_F32 */
    size_t kv_esize;                     /* bytes of one cache element */
    float *x, *h, *o;                    /* (max_rows, hidden) */
    float *q, *att;                      /* (max_rows, heads * head_dim) */
    float *qkv;                          /* (max_rows, heads * head_dim + 2 * kvdim) */
    float *gu;                           /* (max_rows, 2 * intermediate): gate | up */
    float *act;                          /* (max_rows, intermediate) */
    float *logits;                       /* (max_rows, vocab) */
    float *part;                         /* split attention's partials */
    uint16_t *xh;                        /* GEMM input in bfloat16 */
    int32_t *d_in, *h_in;                /* IN_COUNT * max_rows, device and host */
    int32_t *d_argmax;                   /* (max_rows) */
    int32_t *d_token;                    /* (max_rows): sampled tokens */
    int sampling;                        /* the step being run samples */
    double *d_logprob;                   /* (max_rows) */
    int *filled;                         /* per slot: positions fed so far */
    int *seen;                           /* per slot: the last step that named it */
    int step;
    int graphs_on;
    eng_gpu_graph **graph;               /* SHAPE_KEYS(max_rows), by shape_key */
    unsigned char *gstate;               /* G_* by shape_key */
    int n_graphs;
    long replays;
};

void eng_gpu_batch_free(eng_gpu_batch *g)
{
    int i;

    if (g == NULL)
        return;
    for (i = 0; g->graph != NULL && (size_t)i < SHAPE_KEYS(g->max_rows); i++)
        eng_gpu_graph_free(g->graph[i]);
    free(g->graph);
    free(g->gstate);
    eng_gpu_weights_free(&g->w);
    eng_gpu_blas_free(g->blas);
    eng_gpu_timer_free(g->timer);
    eng_gpu_stream_free(g->stream);
    eng_gpu_free(g->kc);
    eng_gpu_free(g->vc);
    eng_gpu_free(g->x);
    eng_gpu_free(g->h);
    eng_gpu_free(g->o);
    eng_gpu_free(g->q);
    eng_gpu_free(g->att);
    eng_gpu_free(g->qkv);
    eng_gpu_free(g->gu);
    eng_gpu_free(g->act);
    eng_gpu_free(g->logits);
    eng_gpu_free(g->part);
    eng_gpu_free(g->xh);
    eng_gpu_free(g->d_in);
    eng_gpu_free(g->d_argmax);
    eng_gpu_free(g->d_token);
    eng_gpu_free(g->d_logprob);
    free(g->h_in);
    free(g->filled);
    free(g->seen);
    free(g);
}

static int alloc_f32(float **d, size_t rows, size_t cols)
{
    return eng_gpu_alloc((void **)d, rows * cols * sizeof(float));
}

/* Device buffers of 'g' for its shape. */
static int alloc_buffers(eng_gpu_batch *g)
{
    const eng_config *c = &g->m->cfg;
    size_t R = (size_t)g->max_rows, H = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t qdim = (size_t)c->n_heads * c->head_dim, kvdim = (size_t)c->n_kv_heads * c->head_dim;
    size_t widest = H > qdim ? H : qdim;
    size_t cache = (size_t)g->slots * g->slot_stride * g->kv_esize;
    size_t part = eng_gpu_attention_part_floats(g->slots < g->max_rows ? g->slots : g->max_rows,
                                                c->n_heads, c->head_dim, g->ctx);
    int rc;

    if (I > widest)
        widest = I;
    if ((rc = eng_gpu_alloc(&g->kc, cache)) < 0 || (rc = eng_gpu_alloc(&g->vc, cache)) < 0 ||
        (rc = alloc_f32(&g->x, R, H)) < 0 || (rc = alloc_f32(&g->h, R, H)) < 0 ||
        (rc = alloc_f32(&g->o, R, H)) < 0 || (rc = alloc_f32(&g->q, R, qdim)) < 0 ||
        (rc = alloc_f32(&g->att, R, qdim)) < 0 ||
        (rc = alloc_f32(&g->qkv, R, qdim + 2 * kvdim)) < 0 ||
        (rc = alloc_f32(&g->gu, R, 2 * I)) < 0 || (rc = alloc_f32(&g->act, R, I)) < 0 ||
        (rc = alloc_f32(&g->logits, R, (size_t)c->vocab)) < 0 ||
        (rc = alloc_f32(&g->part, part, 1)) < 0 ||
        (rc = eng_gpu_alloc((void **)&g->xh, R * widest * sizeof(uint16_t))) < 0 ||
        (rc = eng_gpu_alloc((void **)&g->d_in, IN_COUNT * R * sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_alloc((void **)&g->d_argmax, R * sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_alloc((void **)&g->d_token, R * sizeof(int32_t))) < 0 ||
        (rc = eng_gpu_alloc((void **)&g->d_logprob, R * sizeof(double))) < 0)
        return rc;
    return 0;
}

/* Weights, cuBLAS handle, timer and buffers of 'g', made on its stream
 * (so the handle is bound to it) and complete when this returns. */
static int setup(eng_gpu_batch *g)
{
    eng_gpu_stream *prev = eng_gpu_stream_use(g->stream);
    int rc;

    if ((rc = eng_gpu_weights_upload(&g->w, g->m, 1)) < 0)
        goto out;
    g->kv_dtype = g->w.layers[0].wqkv.dtype == ENG_GPU_BF16 ? ENG_GPU_BF16 : ENG_GPU_F32;
    g->kv_esize = g->kv_dtype == ENG_GPU_BF16 ? 2 : 4;
    if ((rc = eng_gpu_blas_new(&g->blas)) < 0 || (rc = eng_gpu_timer_new(&g->timer)) < 0 ||
        (rc = alloc_buffers(g)) < 0)
        goto out;
    rc = eng_gpu_sync();
out:
    eng_gpu_stream_use(prev);
    return rc;
}

int eng_gpu_batch_new(eng_gpu_batch **out, const eng_model *m, int slots, int ctx, int max_rows)
{
    const eng_config *c = &m->cfg;
    eng_gpu_batch *g;
    const char *graphs;
    int rc, widest = c->intermediate > c->hidden ? c->intermediate : c->hidden;

    *out = NULL;
    if (slots <= 0 || ctx <= 0 || ctx > c->max_pos || max_rows <= 0 || max_rows > 65535 ||
        (size_t)max_rows * (size_t)widest > INT_MAX)
        return as_error_set(AS_EINVAL, "GPU batch: %d slots of %d positions, %d rows a step "
                            "(the model allows %d positions)", slots, ctx, max_rows, c->max_pos);
    if ((g = calloc(1, sizeof *g)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    g->m = m;
    g->slots = slots;
    g->ctx = ctx;
    g->max_rows = max_rows;
    g->slot_stride = (size_t)c->n_layers * ctx * c->n_kv_heads * c->head_dim;
    g->h_in = calloc((size_t)IN_COUNT * max_rows, sizeof *g->h_in);
    g->filled = calloc((size_t)slots, sizeof *g->filled);
    g->seen = calloc((size_t)slots, sizeof *g->seen);
    g->graph = calloc(SHAPE_KEYS(max_rows), sizeof *g->graph);
    g->gstate = calloc(SHAPE_KEYS(max_rows), sizeof *g->gstate);
    if (g->h_in == NULL || g->filled == NULL || g->seen == NULL || g->graph == NULL ||
        g->gstate == NULL) {
        eng_gpu_batch_free(g);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    graphs = getenv("ASSAY_GPU_GRAPHS");
    g->graphs_on = graphs == NULL || strcmp(graphs, "0") != 0;
    if ((rc = eng_gpu_stream_new(&g->stream)) < 0 || (rc = setup(g)) < 0) {
        eng_gpu_batch_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

void eng_gpu_batch_graph_stats(const eng_gpu_batch *g, int *graphs, long *replays)
{
    *graphs = g->n_graphs;
    *replays = g->replays;
}

/* AS_EINVAL unless 'st' keeps the contract of eng_gpu_batch_step: shapes
 * and ids in range, want[] increasing, each slot's rows one contiguous run
 * of consecutive positions starting no later than the slot has been fed. */
static int check_step(eng_gpu_batch *g, const eng_gpu_step *st)
{
    int vocab = g->m->cfg.vocab, r, i;

    if (st->n <= 0 || st->n > g->max_rows || st->k < 0 || st->k > st->n)
        return as_error_set(AS_EINVAL, "GPU batch step: %d rows (at most %d), %d wanted", st->n,
                            g->max_rows, st->k);
    if (st->k > 0 && (st->want == NULL || st->argmax == NULL || (st->target && !st->logprob) ||
                      (st->sample && !st->token)))
        return as_error_set(AS_EINVAL, "GPU batch step: wanted rows without outputs");
    for (i = 0; st->sample != NULL && i < st->k; i++) {
        const eng_gpu_sample *p = &st->sample[i];

        if (!(p->temperature >= 0.0f && p->temperature <= 100.0f) || p->top_k < 0 ||
            !(p->top_p > 0.0f && p->top_p <= 1.0f) || !(p->u >= 0.0 && p->u < 1.0))
            return as_error_set(AS_EINVAL, "GPU batch step: wanted row %d samples with "
                                "temperature %g, top_k %d, top_p %g, u %g", i, p->temperature,
                                p->top_k, p->top_p, p->u);
    }
    g->step++;
    for (r = 0; r < st->n; r++) {
        int s = st->slot[r], p = st->pos[r];

        if (st->tok[r] < 0 || st->tok[r] >= vocab || s < 0 || s >= g->slots || p < 0 || p >= g->ctx)
            return as_error_set(AS_EINVAL, "GPU batch step: row %d (token %d, slot %d, "
                                "position %d) is out of range", r, st->tok[r], s, p);
        if (r > 0 && s == st->slot[r - 1]) {
            if (p != st->pos[r - 1] + 1)
                return as_error_set(AS_EINVAL, "GPU batch step: row %d of slot %d is at position "
                                    "%d, not %d", r, s, p, st->pos[r - 1] + 1);
            continue;
        }
        if (g->seen[s] == g->step || p > g->filled[s])
            return as_error_set(AS_EINVAL, "GPU batch step: slot %d at position %d (fed %d, or "
                                "named twice)", s, p, g->filled[s]);
        g->seen[s] = g->step;
    }
    for (i = 0; i < st->k; i++)
        if (st->want[i] < 0 || st->want[i] >= st->n || (i > 0 && st->want[i] <= st->want[i - 1]) ||
            (st->target != NULL && st->target[i] >= vocab))
            return as_error_set(AS_EINVAL, "GPU batch step: wanted row %d is out of range", i);
    return 0;
}

/* out (n, rows) = x (n, cols) . W^T (+ bias) (+ out, with 'acc'). A
 * product of at most ENG_GPU_GEMV_ROWS_MAX rows is bound by reading W,
 * which eng_gpu_gemv_rows is written for (cuBLAS's GEMMs are not); larger ones
 * use cuBLAS. The choice depends only on n, so a graph of n rows always
 * holds the same kernels. */
static int linear(eng_gpu_batch *g, float *out, const eng_gpu_mat *w, const float *bias,
                  const float *x, int n, int rows, int cols, int acc)
{
    int rc;

    if (n <= ENG_GPU_GEMV_ROWS_MAX)
        return eng_gpu_gemv_rows(out, w->d, w->dtype, x, bias, n, rows, cols, acc);
    rc = eng_gpu_gemm(g->blas, out, w->d, w->dtype, x, g->xh, n, rows, cols, acc);
    if (rc == 0 && bias != NULL)
        rc = eng_gpu_add_bias(out, bias, n, rows);
    return rc;
}

/* Where a layer's cache starts in slot 0's: 'off' elements into 'cache'. */
static void *kv_at(const eng_gpu_batch *g, void *cache, size_t off)
{
    return (char *)cache + off * g->kv_esize;
}

/* Attention of the n rows of g->q into g->att, against the layer whose
 * caches start 'off' elements into each slot's; decode-sized steps split
 * long contexts. */
static int attend(eng_gpu_batch *g, size_t off, int window, int n)
{
    const eng_config *c = &g->m->cfg;
    const int32_t *slot = g->d_in + IN_SLOT * g->max_rows, *pos = g->d_in + IN_POS * g->max_rows;
    float scale = 1.0f / sqrtf((float)c->head_dim);
    const void *kc = kv_at(g, g->kc, off), *vc = kv_at(g, g->vc, off);

    if (n <= g->slots)
        return eng_gpu_attention_rows_split(g->att, g->part, g->q, kc, vc, g->kv_dtype, slot, pos,
                                            n, g->slot_stride, c->n_heads, c->n_kv_heads,
                                            c->head_dim, window, scale, g->ctx);
    return eng_gpu_attention_rows(g->att, g->q, kc, vc, g->kv_dtype, slot, pos, n,
                                  g->slot_stride, c->n_heads, c->n_kv_heads, c->head_dim, window,
                                  scale);
}

/* Layer l for the n rows in g->x (forward.c's forward_chunk, all rows). */
static int layer(eng_gpu_batch *g, int l, int n)
{
    const eng_config *c = &g->m->cfg;
    const eng_gpu_layer *L = &g->w.layers[l];
    const int32_t *slot = g->d_in + IN_SLOT * g->max_rows, *pos = g->d_in + IN_POS * g->max_rows;
    int H = c->hidden, I = c->intermediate, qdim = c->n_heads * c->head_dim;
    int kvdim = c->n_kv_heads * c->head_dim, rc;
    int window = c->sliding_window > 0 && l >= c->sliding_from_layer ? c->sliding_window : 0;
    size_t off = (size_t)l * g->ctx * kvdim;

    if ((rc = eng_gpu_rmsnorm(g->h, g->x, L->attn_norm.d, L->attn_norm.dtype, n, H, c->eps)) < 0 ||
        (rc = linear(g, g->qkv, &L->wqkv, L->bqkv, g->h, n, qdim + 2 * kvdim, H, 0)) < 0 ||
        (rc = eng_gpu_qkv_rope_scatter(g->q, kv_at(g, g->kc, off), kv_at(g, g->vc, off),
                                       g->kv_dtype, g->qkv, slot, pos, g->w.inv_freq, n,
                                       g->slot_stride, c->n_heads, c->n_kv_heads,
                                       c->head_dim)) < 0 ||
        (rc = attend(g, off, window, n)) < 0 ||
        (rc = linear(g, g->x, &L->wo, L->bo, g->att, n, H, qdim, 1)) < 0 ||
        (rc = eng_gpu_rmsnorm(g->h, g->x, L->ffn_norm.d, L->ffn_norm.dtype, n, H, c->eps)) < 0 ||
        (rc = linear(g, g->gu, &L->wgu, L->bgu, g->h, n, 2 * I, H, 0)) < 0 ||
        (rc = eng_gpu_swiglu_rows(g->act, g->gu, n, I)) < 0 ||
        (rc = linear(g, g->x, &L->wd, L->bd, g->act, n, H, I, 1)) < 0)
        return rc;
    return 0;
}

/* Final norm, LM head, argmax and log-probabilities of the k wanted rows,
 * and their sampled tokens when the step samples. */
static int head(eng_gpu_batch *g, int k, int with_target)
{
    const eng_config *c = &g->m->cfg;
    const eng_gpu_mat *norm = &g->w.norm;
    size_t R = (size_t)g->max_rows;
    const int32_t *want = g->d_in + IN_WANT * R, *target = g->d_in + IN_TARGET * R;
    const float *temp = (const float *)(g->d_in + IN_TEMP * R);
    const float *top_p = (const float *)(g->d_in + IN_TOP_P * R);
    const double *u = (const double *)(g->d_in + IN_U * R);
    int rc;

    if ((rc = eng_gpu_gather_rows(g->o, g->x, want, k, c->hidden)) < 0 ||
        (rc = eng_gpu_rmsnorm(g->h, g->o, norm->d, norm->dtype, k, c->hidden, c->eps)) < 0 ||
        (rc = linear(g, g->logits, &g->w.lm_head, NULL, g->h, k, c->vocab, c->hidden, 0)) < 0 ||
        (rc = eng_gpu_argmax_logprob(g->d_argmax, g->d_logprob, g->logits,
                                     with_target ? target : NULL, k, c->vocab)) < 0)
        return rc;
    if (g->sampling &&
        (rc = eng_gpu_sample_rows(g->d_token, g->logits, temp, g->d_in + IN_TOP_K * R, top_p, u,
                                  k, c->vocab)) < 0)
        return rc;
    return 0;
}

/* The wanted rows' sampling parameters into g->h_in, as bits. */
static void put_sampling(eng_gpu_batch *g, const eng_gpu_sample *sm, size_t k)
{
    size_t R = (size_t)g->max_rows, i;

    for (i = 0; i < k; i++) {
        memcpy(g->h_in + IN_TEMP * R + i, &sm[i].temperature, sizeof(float));
        g->h_in[IN_TOP_K * R + i] = sm[i].top_k;
        memcpy(g->h_in + IN_TOP_P * R + i, &sm[i].top_p, sizeof(float));
        memcpy(g->h_in + IN_U * R + 2 * i, &sm[i].u, sizeof(double));
    }
}

/* The step's inputs into g->h_in and then, in one copy, onto the device. */
static int upload_inputs(eng_gpu_batch *g, const eng_gpu_step *st)
{
    size_t R = (size_t)g->max_rows, n = (size_t)st->n, k = (size_t)st->k;

    memcpy(g->h_in + IN_TOK * R, st->tok, n * sizeof *st->tok);
    memcpy(g->h_in + IN_SLOT * R, st->slot, n * sizeof *st->slot);
    memcpy(g->h_in + IN_POS * R, st->pos, n * sizeof *st->pos);
    if (k > 0)
        memcpy(g->h_in + IN_WANT * R, st->want, k * sizeof *st->want);
    if (k > 0 && st->target != NULL)
        memcpy(g->h_in + IN_TARGET * R, st->target, k * sizeof *st->target);
    if (st->sample != NULL)
        put_sampling(g, st->sample, k);
    return eng_gpu_upload(g->d_in, g->h_in, IN_COUNT * R * sizeof *g->h_in);
}

/* The wanted rows' results back to the caller's host arrays. */
static int download_outputs(eng_gpu_batch *g, eng_gpu_step *st)
{
    size_t k = (size_t)st->k, vocab = (size_t)g->m->cfg.vocab;
    int rc;

    if ((rc = eng_gpu_download(st->argmax, g->d_argmax, k * sizeof *st->argmax)) < 0)
        return rc;
    if (st->target != NULL &&
        (rc = eng_gpu_download(st->logprob, g->d_logprob, k * sizeof *st->logprob)) < 0)
        return rc;
    if (st->sample != NULL &&
        (rc = eng_gpu_download(st->token, g->d_token, k * sizeof *st->token)) < 0)
        return rc;
    if (st->logits != NULL &&
        (rc = eng_gpu_download(st->logits, g->logits, k * vocab * sizeof *st->logits)) < 0)
        return rc;
    return 0;
}

/* The whole decoder for a step of n rows, k of them wanted, whose inputs
 * are on the device: every launch of the step, and nothing else. */
static int forward(eng_gpu_batch *g, int n, int k, int with_target)
{
    const eng_config *c = &g->m->cfg;
    int rc, l;

    if ((rc = eng_gpu_embed(g->x, g->w.embed.d, g->w.embed.dtype, g->d_in + IN_TOK * g->max_rows,
                            n, c->hidden)) < 0)
        return rc;
    for (l = 0; l < c->n_layers; l++)
        if ((rc = layer(g, l, n)) < 0)
            return rc;
    if (k > 0 && (rc = head(g, k, with_target)) < 0)
        return rc;
    return 0;
}

/* The graph index of a step that graphs serve, or -1: rows all of
 * different slots (rows of a slot are contiguous) and all wanted. Steps
 * that sample launch one kernel more, so they have graphs of their own. */
static int shape_key(const eng_gpu_batch *g, const eng_gpu_step *st)
{
    int r;

    if (!g->graphs_on || st->k != st->n)
        return -1;
    for (r = 1; r < st->n; r++)
        if (st->slot[r] == st->slot[r - 1])
            return -1;
    return 4 * st->n + 2 * (st->sample != NULL) + (st->target != NULL);
}

/* Capture the step's launches into graph 'key'. A failure is not an
 * error: the shape stays uncaptured. */
static void capture(eng_gpu_batch *g, const eng_gpu_step *st, int key)
{
    eng_gpu_graph *gr = NULL;
    int rc;

    g->gstate[key] = G_FAILED;
    if (eng_gpu_capture_begin() < 0)
        return;
    rc = forward(g, st->n, st->k, st->target != NULL);
    if (eng_gpu_capture_end(&gr, rc == 0) < 0 || gr == NULL)
        return;
    g->graph[key] = gr;
    g->gstate[key] = G_READY;
    g->n_graphs++;
}

/* Queue the step's work on the batch's stream: its graph when it has one
 * (capturing it on the second step of its shape), else launch by launch. */
static int launch(eng_gpu_batch *g, const eng_gpu_step *st)
{
    int key = shape_key(g, st);

    if (key >= 0 && g->gstate[key] == G_NEW)
        g->gstate[key] = G_SEEN;
    else if (key >= 0 && g->gstate[key] == G_SEEN)
        capture(g, st, key);
    if (key >= 0 && g->gstate[key] == G_READY) {
        if (eng_gpu_graph_launch(g->graph[key]) == 0) {
            g->replays++;
            return 0;
        }
        g->gstate[key] = G_FAILED;
    }
    return forward(g, st->n, st->k, st->target != NULL);
}

/* eng_gpu_batch_step on the batch's stream. */
static int step(eng_gpu_batch *g, eng_gpu_step *st)
{
    int rc, r;

    g->sampling = st->k > 0 && st->sample != NULL;
    if ((rc = eng_gpu_timer_start(g->timer)) < 0 || (rc = upload_inputs(g, st)) < 0 ||
        (rc = launch(g, st)) < 0 || (rc = eng_gpu_timer_stop(g->timer, &st->gpu_ms)) < 0)
        return rc;
    for (r = 0; r < st->n; r++)
        if (r + 1 == st->n || st->slot[r + 1] != st->slot[r])
            g->filled[st->slot[r]] = st->pos[r] + 1;
    if (st->k > 0)
        return download_outputs(g, st);
    return 0;
}

int eng_gpu_batch_step(eng_gpu_batch *g, eng_gpu_step *st)
{
    eng_gpu_stream *prev;
    int rc;

    st->gpu_ms = 0.0;
    if ((rc = check_step(g, st)) < 0)
        return rc;
    prev = eng_gpu_stream_use(g->stream);
    rc = step(g, st);
    eng_gpu_stream_use(prev);
    return rc;
}
