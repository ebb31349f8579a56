/* The engine facade (engine.h): model + tokenizer + one forward state. */
#include "evaluator/engine/engine.h"

#include "common/error.h"
#include "common/log.h"
#include "evaluator/engine/batch.h"
#include "evaluator/engine/chat_template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ASSAY_HAVE_CUDA
#include "evaluator/engine/gpu/gpu.h"
#endif

int eng_device_parse(const char *name, eng_device *out)
{
    if (strcmp(name, "auto") == 0)
        *out = ENG_DEVICE_AUTO;
    else if (strcmp(name, "cpu") == 0)
        *out = ENG_DEVICE_CPU;
    else if (strcmp(name, "gpu") == 0)
        *out = ENG_DEVICE_GPU;
    else
        return as_error_set(AS_EINVAL, "device '%.32s': cpu, gpu or auto", name);
    return 0;
}

/* The device asked for: "gpu" when the build has CUDA and a device is
 * usable (the batch then uploads the model, and falls back to the CPU with
 * a note if it does not fit), otherwise the CPU with a note saying why.
 * "auto" stays on the CPU reference until the GPU engine has been
 * validated on hardware (tests/gpu/run.sh; issue 8). */
static void choose_device(eng_engine *e, eng_device want)
{
    e->device = "cpu";
    if (want != ENG_DEVICE_GPU)
        return;
#ifdef ASSAY_HAVE_CUDA
    {
        char why[160];

        if (!eng_gpu_available(why, sizeof why))
            snprintf(e->note, sizeof e->note, "no usable GPU (%s); running on the CPU", why);
        else
            e->device = "gpu";
    }
#else
    snprintf(e->note, sizeof e->note, "assay was built without CUDA; running on the CPU");
#endif
}

static void add_stop_id(eng_engine *e, int32_t id)
{
    int i;

    for (i = 0; i < e->n_stop_ids; i++)
        if (e->stop_ids[i] == id)
            return;
    if (e->n_stop_ids < ENG_MAX_STOP_IDS && id >= 0)
        e->stop_ids[e->n_stop_ids++] = id;
}

int eng_engine_open(eng_engine **out, const char *dir, const eng_engine_opts *o)
{
    eng_engine *e;
    int32_t ids[ENG_TOK_MAX_EOS];
    size_t n, i;
    int rc;

    *out = NULL;
    if ((e = calloc(1, sizeof *e)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = eng_model_open(&e->model, dir, o->nthreads, o->keep)) < 0 ||
        (rc = eng_tok_load_dir(&e->tok, dir)) < 0)
        goto fail;
    e->ctx = o->ctx > 0 ? o->ctx : e->model->cfg.max_pos < 4096 ? e->model->cfg.max_pos : 4096;
    if (e->ctx > e->model->cfg.max_pos) {
        rc = as_error_set(AS_EINVAL, "context of %d positions is over the model's %d", e->ctx,
                          e->model->cfg.max_pos);
        goto fail;
    }
    if (eng_tok_vocab_size(e->tok) > e->model->cfg.vocab) {
        rc = as_error_set(AS_EINVAL, "%s: the tokenizer has %d ids, the model's vocabulary %d", dir,
                          (int)eng_tok_vocab_size(e->tok), e->model->cfg.vocab);
        goto fail;
    }
    choose_device(e, o->device);
    if ((rc = eng_engine_batch_open(e, o->slots > 0 ? o->slots : 1)) < 0)
        goto fail;
    for (i = 0; i < (size_t)e->model->cfg.n_eos; i++)
        add_stop_id(e, e->model->cfg.eos_ids[i]);
    n = eng_tok_eos_ids(e->tok, ids, ENG_TOK_MAX_EOS);
    for (i = 0; i < n && i < ENG_TOK_MAX_EOS; i++)
        add_stop_id(e, ids[i]);
    *out = e;
    return 0;
fail:
    eng_engine_close(e);
    return rc;
}

static int drop_done(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms);

void eng_engine_close(eng_engine *e)
{
    if (e == NULL)
        return;
    eng_engine_abort(e, AS_ECANCELED, "the engine closed", drop_done, NULL);
    eng_batch_free(e->batch);
    eng_tok_free(e->tok);
    eng_model_free(e->model);
    free(e);
}

const char *eng_engine_note(const eng_engine *e)
{
    return e->note[0] ? e->note : NULL;
}

static int detok_stream(void *ud, int32_t token, const char **text, size_t *len)
{
    return eng_tok_stream_put(ud, token, text, len);
}

/* The prompt's ids: chat messages through the template, or the text with
 * the post-processor's BOS. */
static int encode(eng_engine *e, const eng_request *r, int32_t **ids, size_t *n)
{
    json_t *msgs;
    int rc;

    if (!r->chat && r->messages == NULL)
        return eng_tok_encode(e->tok, r->prompt, strlen(r->prompt), ENG_TOK_ADD_SPECIAL, ids, n);
    if (r->messages != NULL)
        return eng_chat_encode(e->tok, r->messages, 1, ids, n);
    if ((msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", r->prompt)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = eng_chat_encode(e->tok, msgs, 1, ids, n);
    json_decref(msgs);
    return rc;
}

/* The generation params of 'r' on this engine, decoding through 'stream'. */
static int gen_params(const eng_engine *e, const eng_request *r, eng_tok_stream *stream,
                      eng_gen_params *p)
{
    int i;

    memset(p, 0, sizeof *p);
    if (r->n_stop < 0 || r->n_stop > ENG_MAX_STOP_STRINGS)
        return as_error_set(AS_EINVAL, "at most %d stop strings", ENG_MAX_STOP_STRINGS);
    p->max_new_tokens = r->max_new_tokens;
    p->sampling = r->sampling;
    memcpy(p->stop_ids, e->stop_ids, sizeof p->stop_ids);
    p->n_stop_ids = e->n_stop_ids;
    for (i = 0; i < r->n_stop; i++)
        p->stop_strings[i] = r->stop[i];
    p->n_stop_strings = r->n_stop;
    p->detok = detok_stream;
    p->detok_ud = stream;
    return 0;
}

/* Bytes the stream still holds (an unfinished character at the end) are
 * part of the output unless a stop string cut the text before them. */
static int add_stream_tail(eng_tok_stream *stream, eng_gen_result *res)
{
    const char *tail;
    size_t tlen;
    char *grown;
    int rc;

    if (res->stop_string >= 0)
        return 0;
    if ((rc = eng_tok_stream_finish(stream, &tail, &tlen)) < 0)
        return rc;
    if (tlen == 0)
        return 0;
    if ((grown = realloc(res->text, res->text_len + tlen + 1)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    memcpy(grown + res->text_len, tail, tlen);
    res->text_len += tlen;
    grown[res->text_len] = '\0';
    res->text = grown;
    return 0;
}

/* A request in the engine's batch: the caller's 'ud' and its decoder. */
typedef struct pending {
    void *ud;
    eng_tok_stream *stream;
    eng_engine_done_fn done;
    void *arg;
} pending;

int eng_engine_batch_open(eng_engine *e, int slots)
{
    eng_batch_opts o;
    int rc;

    if (e->batch != NULL && e->batch_slots == slots)
        return 0;
    if (e->batch != NULL && eng_batch_active(e->batch) > 0)
        return as_error_set(AS_EBUSY, "the engine's batch is busy");
    eng_batch_free(e->batch);
    e->batch = NULL;
    memset(&o, 0, sizeof o);
    o.slots = slots;
    o.ctx = e->ctx;
    o.gpu = strcmp(e->device, "gpu") == 0;
    if ((rc = eng_batch_new(&e->batch, e->model, &o)) < 0 && o.gpu) {
        const eng_config *c = &e->model->cfg;
        double kv = (e->model->layers[0].wq.dtype == ENG_DT_BF16 ? 4.0 : 8.0) * slots * e->ctx *
                    c->n_layers * c->n_kv_heads * c->head_dim;

        snprintf(e->note, sizeof e->note,
                 "%d sequences of %d positions (%.1f GiB of KV cache besides the weights) do not "
                 "fit the GPU (%s); running on the CPU (lower the concurrency or the context)",
                 slots, e->ctx, kv / (1 << 30), as_error_msg());
        e->device = "cpu";
        o.gpu = 0;
        rc = eng_batch_new(&e->batch, e->model, &o);
    }
    if (rc == 0)
        e->batch_slots = slots;
    return rc;
}

int eng_engine_free_slots(const eng_engine *e)
{
    return e->batch ? eng_batch_free_slots(e->batch) : 0;
}

int eng_engine_active(const eng_engine *e)
{
    return e->batch ? eng_batch_active(e->batch) : 0;
}

int eng_engine_submit(eng_engine *e, const eng_request *r, void *ud)
{
    eng_gen_params p;
    pending *q;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc;

    if (e->batch == NULL)
        return as_error_set(AS_EINVAL, "the engine has no batch (eng_engine_batch_open)");
    if (eng_batch_free_slots(e->batch) == 0)
        return as_error_set(AS_EBUSY, "every slot of the batch is taken");
    if ((q = calloc(1, sizeof *q)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    q->ud = ud;
    if ((rc = eng_tok_stream_new(&q->stream, e->tok, 1)) < 0 ||
        (rc = gen_params(e, r, q->stream, &p)) < 0 || (rc = encode(e, r, &ids, &n)) < 0 ||
        (rc = eng_batch_add(e->batch, ids, n, &p, q)) < 0)
        goto fail;
    free(ids);
    return 0;
fail:
    free(ids);
    eng_tok_stream_free(q->stream);
    free(q);
    return rc;
}

/* A sequence of the batch is over: finish its text, report it to the
 * caller, free its record. */
static int batch_done(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    pending *q = ud;
    const pending *call = arg;
    int r;

    if (rc >= 0 && q->stream != NULL && (rc = add_stream_tail(q->stream, res)) < 0)
        eng_gen_result_clear(res);
    r = call->done(call->arg, q->ud, rc < 0 ? rc : 0, res, busy_ms);
    eng_tok_stream_free(q->stream);
    free(q);
    return r;
}

int eng_engine_step(eng_engine *e, eng_engine_done_fn done, void *arg)
{
    pending call = {NULL, NULL, done, arg};

    if (e->batch == NULL)
        return 0;
    return eng_batch_step(e->batch, batch_done, &call);
}

int eng_engine_abort(eng_engine *e, int rc, const char *why, eng_engine_done_fn done, void *arg)
{
    pending call = {NULL, NULL, done, arg};

    if (e->batch == NULL)
        return 0;
    return eng_batch_abort(e->batch, rc, why, batch_done, &call);
}

/* One request alone through the batch: its result into *arg. */
typedef struct alone {
    int rc, over;
    char err[512];
    eng_gen_result res;
} alone;

static int alone_done(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    alone *a = arg;

    (void)ud;
    (void)busy_ms;
    a->over = 1;
    a->rc = rc;
    if (rc < 0)
        snprintf(a->err, sizeof a->err, "%s", as_error_msg());
    else
        a->res = *res;
    return 0;
}

/* Step the batch until the request submitted alone is over. */
static int run_alone(eng_engine *e, alone *a)
{
    int rc;

    while (!a->over)
        if ((rc = eng_engine_step(e, alone_done, a)) < 0) {
            eng_engine_abort(e, rc, as_error_msg(), alone_done, a);
            return rc;
        }
    if (a->rc < 0)
        return as_error_set(a->rc, "%s", a->err);
    return 0;
}

/* A free batch for one request: AS_EBUSY while a batch is running. */
static int batch_for_one(eng_engine *e)
{
    if (e->batch != NULL && eng_batch_active(e->batch) > 0)
        return as_error_set(AS_EBUSY, "the engine's batch is busy");
    return e->batch != NULL ? 0 : eng_engine_batch_open(e, 1);
}

int eng_engine_generate(eng_engine *e, const eng_request *r, eng_gen_result *res)
{
    alone a;
    int rc;

    memset(res, 0, sizeof *res);
    memset(&a, 0, sizeof a);
    if ((rc = batch_for_one(e)) < 0 || (rc = eng_engine_submit(e, r, NULL)) < 0 ||
        (rc = run_alone(e, &a)) < 0)
        return rc;
    *res = a.res;
    return 0;
}

int eng_engine_loglik(eng_engine *e, const char *context, const char *continuation,
                      double *logprob, int *greedy, size_t *n_tokens)
{
    alone a;
    int rc;

    *n_tokens = 0;
    memset(&a, 0, sizeof a);
    if ((rc = batch_for_one(e)) < 0 || (rc = eng_engine_submit_loglik(e, context, continuation, NULL)) < 0 ||
        (rc = run_alone(e, &a)) < 0)
        return rc;
    *logprob = a.res.logprob;
    *greedy = a.res.greedy;
    *n_tokens = (size_t)a.res.completion_tokens;
    eng_gen_result_clear(&a.res);
    return 0;
}

static int drop_done(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    (void)arg;
    (void)ud;
    (void)rc;
    (void)busy_ms;
    eng_gen_result_clear(res);
    return 0;
}

/* The ids of context + continuation as lm-evaluation-harness encodes them
 * (engine.h): *ids (caller frees) holds *nwhole ids of which the first
 * *nctx are the context. */
static int loglik_ids(eng_engine *e, const char *context, const char *continuation, int32_t **ids,
                      size_t *nwhole, size_t *nctx)
{
    size_t clen = strlen(context), ctx_keep = clen;
    char *whole = NULL;
    int32_t *ctx_ids = NULL;
    int rc;

    *ids = NULL;
    *nwhole = *nctx = 0;
    while (ctx_keep > 0 && isspace((unsigned char)context[ctx_keep - 1]))
        ctx_keep--;
    if (continuation[0] == '\0')
        return as_error_set(AS_EINVAL, "the continuation is empty");
    if (asprintf(&whole, "%s%s", context, continuation) < 0)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = eng_tok_encode(e->tok, whole, strlen(whole), ENG_TOK_ADD_SPECIAL, ids, nwhole)) < 0 ||
        (rc = eng_tok_encode(e->tok, context, ctx_keep, ENG_TOK_ADD_SPECIAL, &ctx_ids, nctx)) < 0)
        goto out;
    if (*nctx == 0 || *nctx >= *nwhole)
        rc = as_error_set(AS_EINVAL, *nctx == 0 ? "the context encodes to no tokens (the tokenizer adds no BOS)"
                                                : "the continuation adds no tokens to the context");
out:
    if (rc < 0) {
        free(*ids);
        *ids = NULL;
    }
    free(whole);
    free(ctx_ids);
    return rc;
}

int eng_engine_submit_loglik(eng_engine *e, const char *context, const char *continuation,
                             void *ud)
{
    size_t nwhole, nctx;
    int32_t *ids;
    pending *q;
    int rc;

    if (e->batch == NULL)
        return as_error_set(AS_EINVAL, "the engine has no batch (eng_engine_batch_open)");
    if (eng_batch_free_slots(e->batch) == 0)
        return as_error_set(AS_EBUSY, "every slot of the batch is taken");
    if ((rc = loglik_ids(e, context, continuation, &ids, &nwhole, &nctx)) < 0)
        return rc;
    if ((q = calloc(1, sizeof *q)) == NULL) {
        free(ids);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    q->ud = ud;
    if ((rc = eng_batch_add_loglik(e->batch, ids, nctx, nwhole - nctx, q)) < 0)
        free(q);
    free(ids);
    return rc;
}

static int param_num(const json_t *params, const char *key, double lo, double hi, double *out)
{
    const json_t *v = json_object_get(params, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
        return as_error_set(AS_EINVAL, "param %s: must be a number in [%g, %g]", key, lo, hi);
    *out = json_number_value(v);
    return 1;
}

int eng_request_from_params(eng_request *r, const json_t *params)
{
    const json_t *stop;
    double v = 0;
    int rc;

    if (params == NULL)
        return 0;
    if (!json_is_object(params))
        return as_error_set(AS_EINVAL, "params: must be an object");
    if ((rc = param_num(params, "temperature", 0, 100, &v)) < 0)
        return rc;
    if (rc > 0) {
        r->sampling.temperature = (float)v;
        r->sampling.greedy = v == 0;
    }
    if ((rc = param_num(params, "top_p", 1e-9, 1, &v)) < 0)
        return rc;
    if (rc > 0)
        r->sampling.top_p = (float)v;
    if ((rc = param_num(params, "top_k", 0, 1e9, &v)) < 0)
        return rc;
    if (rc > 0)
        r->sampling.top_k = (int)v;
    if ((rc = param_num(params, "seed", 0, 9007199254740991.0, &v)) < 0)
        return rc;
    if (rc > 0)
        r->sampling.seed = (uint64_t)v;
    if ((rc = param_num(params, "max_tokens", 1, 1e7, &v)) < 0 ||
        (rc == 0 && (rc = param_num(params, "max_new_tokens", 1, 1e7, &v)) < 0))
        return rc;
    if (rc > 0)
        r->max_new_tokens = (int)v;
    stop = json_object_get(params, "stop");
    if (json_is_string(stop)) {
        r->stop[0] = json_string_value(stop);
        r->n_stop = 1;
    } else if (json_is_array(stop)) {
        size_t i;

        if (json_array_size(stop) > ENG_MAX_STOP_STRINGS)
            return as_error_set(AS_EINVAL, "param stop: at most %d strings", ENG_MAX_STOP_STRINGS);
        for (i = 0; i < json_array_size(stop); i++) {
            if (!json_is_string(json_array_get(stop, i)))
                return as_error_set(AS_EINVAL, "param stop: must be a string or a list of strings");
            r->stop[i] = json_string_value(json_array_get(stop, i));
        }
        r->n_stop = (int)json_array_size(stop);
    } else if (stop != NULL && !json_is_null(stop)) {
        return as_error_set(AS_EINVAL, "param stop: must be a string or a list of strings");
    }
    return 0;
}
