/* Continuous batching (batch.h). */
#include "evaluator/engine/batch.h"

#include "common/clock.h"
#include "common/error.h"
#include "evaluator/engine/ops.h"

#ifdef ASSAY_HAVE_CUDA
#include "evaluator/engine/gpu/forward_gpu.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE, SLOT_PREFILL, SLOT_DECODE };

typedef struct slot {
    int phase;
    eng_state *s;            /* CPU: this slot's cache; NULL on the GPU */
    eng_seq seq;             /* generation; unused by scoring */
    int scoring;             /* a log-likelihood sequence: no generation */
    size_t n_ctx;            /* scoring: ids of the context in 'prompt' */
    double logprob;          /* scoring: the sum so far */
    int greedy;              /* scoring: every continuation id was the argmax */
    int32_t *prompt;         /* scoring: context + continuation but its last id */
    size_t n_prompt, fed;    /* prompt ids, and how many are in the cache */
    int32_t next;            /* the token to feed when decoding */
    int pos;                 /* the position the next row feeds */
    unsigned long order;     /* admission order: prefill goes first come, first served */
    int rows;                /* rows fed in the current step */
    double busy_ms;
    void *ud;
} slot;

struct eng_batch {
    const eng_model *m;
    int nslots, step_rows, ctx;
    slot *slots;
    unsigned long admitted;
    int active;
    int n_rows, n_want;      /* of the step being laid out */
    eng_work *work;          /* CPU steps */
    eng_row *rows;
    float *logits;           /* CPU: (step_rows, vocab): wanted rows' logits */
    int32_t *want_slot;      /* slot of each wanted row of a step */
    int32_t *want_target;    /* its scored id, or -1 */
    int32_t *argmax;         /* GPU: each wanted row's argmax */
    double *logprob;         /* GPU: each scored row's log-probability */
    int32_t *token;          /* GPU: each wanted row's token when the step sampled */
    int sampled;             /* GPU: the last step sampled (token is set) */
#ifdef ASSAY_HAVE_CUDA
    eng_gpu_batch *gpu;
    int32_t *g_tok, *g_slot, *g_pos, *g_want;
    eng_gpu_sample *g_sample; /* per wanted row */
#endif
};

void eng_batch_free(eng_batch *b)
{
    int i;

    if (b == NULL)
        return;
    for (i = 0; b->slots != NULL && i < b->nslots; i++) {
        eng_state_free(b->slots[i].s);
        eng_seq_clear(&b->slots[i].seq);
        free(b->slots[i].prompt);
    }
    free(b->slots);
    eng_work_free(b->work);
    free(b->rows);
    free(b->logits);
    free(b->want_slot);
    free(b->want_target);
    free(b->argmax);
    free(b->logprob);
    free(b->token);
#ifdef ASSAY_HAVE_CUDA
    eng_gpu_batch_free(b->gpu);
    free(b->g_tok);
    free(b->g_slot);
    free(b->g_pos);
    free(b->g_want);
    free(b->g_sample);
#endif
    free(b);
}

static int batch_gpu_new(eng_batch *b)
{
#ifdef ASSAY_HAVE_CUDA
    size_t r = (size_t)b->step_rows;

    b->g_tok = malloc(r * sizeof(int32_t));
    b->g_slot = malloc(r * sizeof(int32_t));
    b->g_pos = malloc(r * sizeof(int32_t));
    b->g_want = malloc(r * sizeof(int32_t));
    b->g_sample = malloc(r * sizeof *b->g_sample);
    b->token = malloc(r * sizeof(int32_t));
    if (!b->g_tok || !b->g_slot || !b->g_pos || !b->g_want || !b->g_sample || !b->token)
        return as_error_set(AS_ENOMEM, "out of memory");
    return eng_gpu_batch_new(&b->gpu, b->m, b->nslots, b->ctx, b->step_rows);
#else
    (void)b;
    return as_error_set(AS_EUNSUPPORTED, "assay was built without CUDA");
#endif
}

int eng_batch_new(eng_batch **out, const eng_model *m, const eng_batch_opts *o)
{
    const eng_config *c = &m->cfg;
    eng_batch *b;
    int i, rc;

    *out = NULL;
    if (o->slots < 1 || o->slots > 4096)
        return as_error_set(AS_EINVAL, "a batch of %d slots; 1 to 4096", o->slots);
    if (o->step_rows != 0 && (o->step_rows < o->slots || o->step_rows > 16384))
        return as_error_set(AS_EINVAL, "%d rows per step; at least the %d slots", o->step_rows,
                            o->slots);
    if (o->ctx < 0 || o->ctx > c->max_pos)
        return as_error_set(AS_EINVAL, "context of %d positions is over the model's %d", o->ctx,
                            c->max_pos);
    if ((b = calloc(1, sizeof *b)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    b->m = m;
    b->nslots = o->slots;
    b->step_rows = o->step_rows ? o->step_rows
                                : o->slots + (o->gpu ? ENG_GPU_PREFILL_CHUNK : ENG_PREFILL_CHUNK);
    b->ctx = o->ctx ? o->ctx : (c->max_pos < 4096 ? c->max_pos : 4096);
    b->slots = calloc((size_t)b->nslots, sizeof *b->slots);
    if (!o->gpu)             /* the GPU keeps its logits on the device */
        b->logits = malloc((size_t)b->step_rows * c->vocab * sizeof(float));
    b->want_slot = malloc((size_t)b->step_rows * sizeof(int32_t));
    b->want_target = malloc((size_t)b->step_rows * sizeof(int32_t));
    b->argmax = malloc((size_t)b->step_rows * sizeof(int32_t));
    b->logprob = malloc((size_t)b->step_rows * sizeof(double));
    if (!b->slots || (!o->gpu && !b->logits) || !b->want_slot || !b->want_target || !b->argmax ||
        !b->logprob) {
        eng_batch_free(b);
        return as_error_set(AS_ENOMEM, "out of memory for a batch of %d slots", o->slots);
    }
    if (o->gpu) {
        rc = batch_gpu_new(b);
    } else {
        rc = eng_work_new(&b->work, m, b->step_rows, b->nslots < 64 ? b->nslots : 64);
        if (rc == 0 && (b->rows = malloc((size_t)b->step_rows * sizeof *b->rows)) == NULL)
            rc = as_error_set(AS_ENOMEM, "out of memory");
        for (i = 0; rc == 0 && i < b->nslots; i++)
            rc = eng_state_new(&b->slots[i].s, m, b->ctx);
    }
    if (rc < 0) {
        eng_batch_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

int eng_batch_free_slots(const eng_batch *b)
{
    return b->nslots - b->active;
}

int eng_batch_active(const eng_batch *b)
{
    return b->active;
}

/* A free slot into *out for ids[0..n), checked against the vocabulary. */
static int free_slot(eng_batch *b, const int32_t *ids, size_t n, slot **out)
{
    size_t i;
    int k;

    for (i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= b->m->cfg.vocab)
            return as_error_set(AS_EINVAL, "token id %d is outside the vocabulary of %d", ids[i],
                                b->m->cfg.vocab);
    for (k = 0; k < b->nslots; k++)
        if (b->slots[k].phase == SLOT_FREE) {
            *out = &b->slots[k];
            return 0;
        }
    return as_error_set(AS_EBUSY, "every one of the %d slots is taken", b->nslots);
}

/* Put ids[0..n) (copied) into 'sl' to prefill. */
static int admit(eng_batch *b, slot *sl, const int32_t *ids, size_t n, void *ud)
{
    if ((sl->prompt = malloc(n * sizeof *ids)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    memcpy(sl->prompt, ids, n * sizeof *ids);
    sl->n_prompt = n;
    sl->fed = 0;
    sl->pos = 0;
    sl->busy_ms = 0;
    sl->ud = ud;
    sl->order = b->admitted++;
    sl->phase = SLOT_PREFILL;
    b->active++;
    return 0;
}

int eng_batch_add(eng_batch *b, const int32_t *prompt, size_t n, const eng_gen_params *p, void *ud)
{
    slot *sl = NULL;
    int rc;

    if ((rc = free_slot(b, prompt, n, &sl)) < 0)
        return rc;
    sl->scoring = 0;
    if ((rc = eng_seq_begin(&sl->seq, p, n, b->ctx, b->m->cfg.vocab)) < 0 ||
        (rc = admit(b, sl, prompt, n, ud)) < 0)
        eng_seq_clear(&sl->seq);
    return rc;
}

int eng_batch_add_loglik(eng_batch *b, const int32_t *ids, size_t nctx, size_t ncont, void *ud)
{
    slot *sl = NULL;
    int rc;

    if (nctx == 0 || ncont == 0)
        return as_error_set(AS_EINVAL, "scoring needs a context and a continuation of at least one token");
    if (nctx + ncont - 1 > (size_t)b->ctx)
        return as_error_set(AS_ETOOBIG, "context and continuation have %zu tokens; the context holds %d",
                            nctx + ncont, b->ctx);
    if ((rc = free_slot(b, ids, nctx + ncont, &sl)) < 0)
        return rc;
    /* the last continuation id is only a target, never fed */
    if ((rc = admit(b, sl, ids, nctx + ncont, ud)) < 0)
        return rc;
    sl->n_prompt = nctx + ncont - 1;
    sl->scoring = 1;
    sl->n_ctx = nctx;
    sl->logprob = 0;
    sl->greedy = 1;
    return 0;
}

/* Report the sequence of 'sl' with 'rc' and free the slot. */
static int slot_report(eng_batch *b, slot *sl, int rc, eng_batch_done_fn done, void *arg)
{
    eng_gen_result res;
    void *ud = sl->ud;
    double busy = sl->busy_ms;

    memset(&res, 0, sizeof res);
    if (rc >= 0 && sl->scoring) {
        res.logprob = sl->logprob;
        res.greedy = sl->greedy;
        res.prompt_tokens = (int)sl->n_ctx;
        res.completion_tokens = (int)(sl->n_prompt + 1 - sl->n_ctx);
        res.finish = "scored";
    } else if (rc >= 0) {
        eng_seq_finish(&sl->seq, &res);
    }
    eng_seq_clear(&sl->seq);
    free(sl->prompt);
    sl->prompt = NULL;
    sl->phase = SLOT_FREE;
    b->active--;
    return done(arg, ud, rc, &res, busy);
}

/* The prefilling slot admitted first among those not yet in this step. */
static slot *next_prefill(eng_batch *b)
{
    slot *best = NULL;
    int k;

    for (k = 0; k < b->nslots; k++) {
        slot *sl = &b->slots[k];

        if (sl->phase == SLOT_PREFILL && sl->rows == 0 && (best == NULL || sl->order < best->order))
            best = sl;
    }
    return best;
}

/* Lay out one step: a row for each decoding slot, then prefill chunks in
 * admission order while rows are left. Calls row(b, slot, tok, pos, want,
 * target) per row, rows of a slot together and in order; a wanted row of a
 * scoring slot has the id it scores as target, others -1. Returns the row
 * count. */
typedef void (*row_fn)(eng_batch *b, int k, int32_t tok, int pos, int want, int32_t target);

static int plan_step(eng_batch *b, row_fn row)
{
    int n = 0, k;
    slot *sl;

    for (k = 0; k < b->nslots; k++)
        b->slots[k].rows = 0;
    for (k = 0; k < b->nslots; k++) {
        sl = &b->slots[k];
        if (sl->phase == SLOT_DECODE) {
            row(b, k, sl->next, sl->pos, 1, -1);
            sl->rows = 1;
            n++;
        }
    }
    while (n < b->step_rows && (sl = next_prefill(b)) != NULL) {
        size_t left = sl->n_prompt - sl->fed, take = (size_t)(b->step_rows - n), i;

        if (take > left)
            take = left;
        for (i = 0; i < take; i++) {
            size_t at = sl->fed + i;

            if (sl->scoring)
                row(b, (int)(sl - b->slots), sl->prompt[at], (int)at, at + 1 >= sl->n_ctx,
                    at + 1 >= sl->n_ctx ? sl->prompt[at + 1] : -1);
            else
                row(b, (int)(sl - b->slots), sl->prompt[at], (int)at, at + 1 == sl->n_prompt, -1);
        }
        sl->rows = (int)take;
        n += (int)take;
    }
    return n;
}

static void cpu_row(eng_batch *b, int k, int32_t tok, int pos, int want, int32_t target)
{
    eng_row *r = &b->rows[b->n_rows++];

    r->s = b->slots[k].s;
    r->pos = pos;
    r->tok = tok;
    r->logits = NULL;
    if (want) {
        r->logits = b->logits + (size_t)b->n_want * b->m->cfg.vocab;
        b->want_target[b->n_want] = target;
        b->want_slot[b->n_want++] = k;
    }
}

/* One CPU step; *ms gets its wall time. */
static int step_cpu(eng_batch *b, int *nrows, double *ms)
{
    double t0 = as_clock_ms();
    int rc;

    b->n_rows = b->n_want = 0;
    *nrows = plan_step(b, cpu_row);
    if (*nrows == 0)
        return 0;
    rc = eng_forward_rows(b->work, b->rows, *nrows);
    *ms = as_clock_ms() - t0;
    return rc < 0 ? rc : b->n_want;
}

#ifdef ASSAY_HAVE_CUDA
static void gpu_row(eng_batch *b, int k, int32_t tok, int pos, int want, int32_t target)
{
    int r = b->n_rows++;

    b->g_tok[r] = tok;
    b->g_slot[r] = k;
    b->g_pos[r] = pos;
    if (want) {
        b->g_want[b->n_want] = r;
        b->want_target[b->n_want] = target;
        b->want_slot[b->n_want++] = k;
    }
}

/* Wanted row i's sampling parameters: its sequence's, with the next draw
 * of its sampler (the one eng_sample would take), or temperature 0 (the
 * argmax) for greedy and scoring rows. 1 when the row samples. */
static int gpu_sampling(eng_batch *b, int i)
{
    slot *sl = &b->slots[b->want_slot[i]];
    eng_gpu_sample *g = &b->g_sample[i];
    const eng_sampling *p;

    memset(g, 0, sizeof *g);
    g->top_p = 1.0f;
    if (sl->scoring || eng_seq_greedy(&sl->seq))
        return 0;
    p = eng_sampler_params(sl->seq.sampler);
    g->temperature = p->temperature;
    g->top_k = p->top_k;
    g->top_p = p->top_p;
    g->u = eng_sampler_draw(sl->seq.sampler);
    return 1;
}

/* One GPU step: argmax and log-probabilities come back for the wanted
 * rows and, when one of them samples, every wanted row's token, chosen on
 * the device with the draws of the sequences' samplers. */
static int step_gpu(eng_batch *b, int *nrows, double *ms)
{
    eng_gpu_step st;
    int i, rc, sampling = 0, scoring = 0;

    b->n_rows = b->n_want = 0;
    *nrows = plan_step(b, gpu_row);
    if (*nrows == 0)
        return 0;
    for (i = 0; i < b->n_want; i++) {
        if (b->slots[b->want_slot[i]].scoring)
            scoring = 1;      /* the other rows' targets are -1: no log-probability */
        sampling |= gpu_sampling(b, i);
    }
    memset(&st, 0, sizeof st);
    st.tok = b->g_tok;
    st.slot = b->g_slot;
    st.pos = b->g_pos;
    st.n = *nrows;
    st.want = b->g_want;
    st.k = b->n_want;
    st.target = scoring ? b->want_target : NULL;
    st.argmax = b->argmax;
    st.logprob = b->logprob;
    st.sample = sampling ? b->g_sample : NULL;
    st.token = b->token;
    b->sampled = sampling;
    if ((rc = eng_gpu_batch_step(b->gpu, &st)) < 0)
        return rc;
    *ms = st.gpu_ms;
    return b->n_want;
}
#endif

/* Wanted row i of a scoring slot: add its log-probability; 1 when the
 * continuation is all scored. */
static int score_row(eng_batch *b, slot *sl, int i)
{
    int vocab = b->m->cfg.vocab;
    int32_t target = b->want_target[i];

    if (b->work != NULL) {
        const float *logits = b->logits + (size_t)i * vocab;

        sl->logprob += eng_logprob(logits, vocab, target);
        sl->greedy &= eng_argmax(logits, vocab) == target;
    } else {
        sl->logprob += b->logprob[i];
        sl->greedy &= b->argmax[i] == target;
    }
    /* the slot's last wanted row of the step that fed its last id */
    return sl->fed == sl->n_prompt && (i + 1 == b->n_want || b->want_slot[i + 1] != b->want_slot[i]);
}

int eng_batch_step(eng_batch *b, eng_batch_done_fn done, void *arg)
{
    size_t vocab = (size_t)b->m->cfg.vocab;
    double ms = 0;
    int nrows = 0, nwant, i, k, rc;

#ifdef ASSAY_HAVE_CUDA
    nwant = b->gpu ? step_gpu(b, &nrows, &ms) : step_cpu(b, &nrows, &ms);
#else
    nwant = step_cpu(b, &nrows, &ms);
#endif
    if (nwant < 0)
        return nwant;
    if (nrows == 0)
        return 0;
    for (k = 0; k < b->nslots; k++) {
        slot *sl = &b->slots[k];

        if (sl->rows == 0)
            continue;
        sl->busy_ms += ms * sl->rows / nrows;
        sl->pos += sl->rows;
        if (sl->phase == SLOT_PREFILL)
            sl->fed += (size_t)sl->rows;
    }
    for (i = 0; i < nwant; i++) {
        slot *sl = &b->slots[b->want_slot[i]];
        int32_t next = 0;

        if (sl->scoring) {
            if ((rc = score_row(b, sl, i)) > 0 && (rc = slot_report(b, sl, 0, done, arg)) < 0)
                return rc;
            continue;
        }
        if (sl->phase == SLOT_PREFILL)
            eng_seq_prefilled(&sl->seq);
        if (b->work != NULL)
            rc = eng_seq_next(&sl->seq, b->logits + (size_t)i * vocab, &next);
        else
            rc = eng_seq_push(&sl->seq, b->sampled ? b->token[i] : b->argmax[i], &next);
        if (rc == 0) {
            sl->phase = SLOT_DECODE;
            sl->next = next;
            continue;
        }
        if ((rc = slot_report(b, sl, rc, done, arg)) < 0)
            return rc;
    }
    return 0;
}

int eng_batch_abort(eng_batch *b, int rc, const char *why, eng_batch_done_fn done, void *arg)
{
    char msg[512];           /* 'why' may be the error message each report overwrites */
    int k, first = 0;

    snprintf(msg, sizeof msg, "%s", why);
    for (k = 0; k < b->nslots; k++) {
        int r;

        if (b->slots[k].phase == SLOT_FREE)
            continue;
        as_error_set(rc, "%s", msg);
        if ((r = slot_report(b, &b->slots[k], rc, done, arg)) < 0 && first == 0)
            first = r;
    }
    return first;
}
