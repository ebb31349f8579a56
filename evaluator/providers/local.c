/* The local provider: runs a Hugging Face model folder inside assay with
 * the engine (evaluator/engine/engine.h) instead of calling a server.
 *
 *   assay model add NAME --provider local --path DIR [--device cpu|gpu|auto]
 *       [--max-new-tokens N] [--dtype auto|float32|bfloat16] [--threads N]
 *       [--context N]
 *
 * Prompts with messages go through the model's chat template; plain prompts
 * are tokenized as they are (with the tokenizer's BOS). Decoding is greedy
 * unless the prompt's params set a temperature (also top_p, top_k, seed,
 * max_tokens, stop). Each result reports the exact prompt and completion
 * token counts, the time to first token, and as busy time its share of the
 * engine's compute time (priced by the model's price per hour).
 *
 * A run feeds the whole suite through one engine (continuous batching,
 * evaluator/engine/batch.h): the model's concurrency is the number of
 * sequences decoded at once, each new case is admitted as another
 * finishes, and each answer is handed back as soon as it is done. */
#include "evaluator/provider.h"

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "evaluator/engine/config.h"
#include "evaluator/engine/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCAL_DEFAULT_MAX_NEW 256

typedef struct local_prov {
    prov base;
    char *path;
    eng_engine_opts opts;
    int max_new_tokens;
    int slots;               /* sequences decoded at once: the model's concurrency */
    eng_engine *engine;      /* opened by start, kept for the instance's life */
} local_prov;

static const char *const local_keys[] = {"path", "device", "max_new_tokens", "dtype", "threads",
                                         "context", NULL};
static const char *const local_path_keys[] = {"path", NULL};

/* Setting 'key' as a whole number in [lo, hi] (a JSON number or a numeric
 * string, as the command line stores it); absent keeps *out. */
static int setting_int(const json_t *settings, const char *key, long lo, long hi, int *out)
{
    const json_t *v = json_object_get(settings, key);
    long n;

    if (v == NULL)
        return 0;
    if (json_is_integer(v)) {
        n = (long)json_integer_value(v);
    } else if (json_is_string(v)) {
        char *end;

        errno = 0;
        n = strtol(json_string_value(v), &end, 10);
        if (errno != 0 || end == json_string_value(v) || *end != '\0')
            n = lo - 1;
    } else {
        n = lo - 1;
    }
    if (n < lo || n > hi)
        return as_error_set(AS_EINVAL, "setting %s: a whole number from %ld to %ld", key, lo, hi);
    *out = (int)n;
    return 0;
}

static void local_destroy(prov *p)
{
    local_prov *l = (local_prov *)p;

    if (l == NULL)
        return;
    eng_engine_close(l->engine);
    free(l->path);
    free(l);
}

static int local_create(prov **out, const char *model_name, const json_t *settings)
{
    local_prov *l;
    const char *path, *device, *dtype, *key;
    eng_config cfg;
    json_t *v;
    int rc;

    (void)model_name;
    *out = NULL;
    if (!json_is_object(settings))
        return as_error_set(AS_EINVAL, "settings: must be an object");
    json_object_foreach((json_t *)settings, key, v) {
        size_t i;

        for (i = 0; local_keys[i] && strcmp(local_keys[i], key) != 0; i++)
            ;
        if (local_keys[i] == NULL)
            return as_error_set(AS_EINVAL, "setting %s: unknown to provider local", key);
    }
    if (prov_setting_str(settings, "path", NULL, &path) < 0 ||
        prov_setting_str(settings, "device", "auto", &device) < 0 ||
        prov_setting_str(settings, "dtype", "auto", &dtype) < 0)
        return AS_EINVAL;
    if (path == NULL)
        return as_error_set(AS_EINVAL, "setting path: required (a Hugging Face model folder)");
    if ((l = calloc(1, sizeof *l)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    l->max_new_tokens = LOCAL_DEFAULT_MAX_NEW;
    l->slots = 4;
    if ((rc = eng_device_parse(device, &l->opts.device)) < 0 ||
        (rc = eng_keep_dtype_parse(dtype, &l->opts.keep)) < 0 ||
        (rc = setting_int(settings, "max_new_tokens", 1, 1000000, &l->max_new_tokens)) < 0 ||
        (rc = setting_int(settings, "threads", 1, 256, &l->opts.nthreads)) < 0 ||
        (rc = setting_int(settings, "context", 1, 1 << 20, &l->opts.ctx)) < 0) {
        local_destroy(&l->base);
        return as_error_wrap(rc, "provider local");
    }
    /* Refuse a folder that is not a supported model now, not at run time. */
    if ((rc = eng_config_load(&cfg, path)) < 0) {
        local_destroy(&l->base);
        return as_error_wrap(rc, "setting path");
    }
    if ((l->path = strdup(path)) == NULL) {
        local_destroy(&l->base);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    *out = &l->base;
    return 0;
}

static int local_start(prov *p, const prov_run_info *info)
{
    local_prov *l = (local_prov *)p;
    int rc;

    if (info != NULL && info->concurrency > 0)
        l->slots = info->concurrency;
    if (l->engine != NULL)
        return 0;
    l->opts.slots = l->slots;     /* the model goes to the device once, batch and all */
    if ((rc = eng_engine_open(&l->engine, l->path, &l->opts)) < 0)
        return rc;
    if (eng_engine_note(l->engine) != NULL)
        as_log_warn("model %s: %s", l->path, eng_engine_note(l->engine));
    return 0;
}

/* The engine request of 'c': greedy unless its params say otherwise. */
static int request_for(const local_prov *l, const prov_call *c, eng_request *req)
{
    memset(req, 0, sizeof *req);
    req->prompt = c->prompt;
    req->messages = c->messages;
    req->max_new_tokens = l->max_new_tokens;
    req->sampling.greedy = 1;
    req->sampling.temperature = 0.0f;
    req->sampling.top_p = 1.0f;
    return eng_request_from_params(req, c->params);
}

/* A finished generation as the call's result; its compute time is the
 * busy time that prices it. */
static int fill_result(prov_result *res, int rc, eng_gen_result *out, double busy_ms)
{
    if (rc < 0) {
        prov_result_fail(res, rc, PROV_RETRY_NO, "%s", as_error_msg());
        return 0;
    }
    if (prov_result_set_output(res, out->text ? out->text : "", out->text_len) < 0 ||
        (res->finish_reason = strdup(out->finish)) == NULL) {
        eng_gen_result_clear(out);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    res->prompt_tokens = out->prompt_tokens;
    res->completion_tokens = out->completion_tokens;
    res->usage_estimated = 0;
    res->ttft_ms = out->ttft_ms;
    res->latency_ms = out->total_ms;
    res->busy_ms = busy_ms;
    eng_gen_result_clear(out);
    return 0;
}

/* Submit call 'c' with 'ud'; a call that cannot run is answered at once
 * through 'done'. */
static int submit(local_prov *l, const prov_call *c, void *ud, eng_engine_done_fn done, void *arg)
{
    eng_request req;
    int rc;

    if ((rc = request_for(l, c, &req)) < 0 || (rc = eng_engine_submit(l->engine, &req, ud)) < 0)
        return done(arg, ud, rc, NULL, 0);
    return 0;
}

static int invoke_done(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    (void)arg;
    return fill_result(ud, rc, res, busy_ms);
}

/* Answer calls[0..n) through the engine's batch: each call is admitted
 * as a slot frees. */
static int local_invoke(prov *p, const prov_call *calls, size_t n, prov_result *res)
{
    local_prov *l = (local_prov *)p;
    size_t next = 0;
    int rc;

    if ((l->engine == NULL && (rc = local_start(p, NULL)) < 0) ||
        (rc = eng_engine_batch_open(l->engine, l->slots)) < 0)
        return rc;
    while (next < n || eng_engine_active(l->engine) > 0) {
        while (next < n && eng_engine_free_slots(l->engine) > 0) {
            if ((rc = submit(l, &calls[next], &res[next], invoke_done, NULL)) < 0)
                return rc;
            next++;
        }
        if ((rc = eng_engine_step(l->engine, invoke_done, NULL)) < 0) {
            eng_engine_abort(l->engine, rc, as_error_msg(), invoke_done, NULL);
            return rc;
        }
    }
    return 0;
}

static int serve_done(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    prov_result out;
    int r;

    prov_result_init(&out);
    if ((r = fill_result(&out, rc, res, busy_ms)) < 0)
        prov_result_fail(&out, r, PROV_RETRY_NO, "%s", as_error_msg());
    prov_feed_give(arg, ud, &out);
    return 0;
}

/* The whole run through the engine's batch: calls are taken from the feed
 * as slots free and answered as each finishes. A failed step fails the
 * calls in it and serving goes on. */
static int local_serve(prov *p, prov_feed *feed)
{
    local_prov *l = (local_prov *)p;
    const prov_call *call;
    void *tag;
    int rc, ended = 0;
    char note[sizeof l->engine->note];

    if (l->engine == NULL && (rc = local_start(p, NULL)) < 0)
        return rc;
    snprintf(note, sizeof note, "%s", l->engine->note);
    if ((rc = eng_engine_batch_open(l->engine, l->slots)) < 0)
        return rc;
    if (strcmp(note, l->engine->note) != 0)
        as_log_warn("model %s: %s", l->path, l->engine->note);
    for (;;) {
        while (!ended && eng_engine_free_slots(l->engine) > 0) {
            rc = prov_feed_take(feed, eng_engine_active(l->engine) == 0, &call, &tag);
            if (rc == PROV_FEED_END)
                ended = 1;
            if (rc == PROV_FEED_NONE || rc == PROV_FEED_END)
                break;
            if (rc < 0) {
                eng_engine_abort(l->engine, rc, "canceled", serve_done, feed);
                return 0;
            }
            submit(l, call, tag, serve_done, feed);
        }
        if (eng_engine_active(l->engine) == 0) {
            if (ended)
                return 0;
            continue;
        }
        if (prov_feed_canceled(feed)) {
            eng_engine_abort(l->engine, AS_ECANCELED, "canceled", serve_done, feed);
            return 0;
        }
        if ((rc = eng_engine_step(l->engine, serve_done, feed)) < 0)
            eng_engine_abort(l->engine, rc, as_error_msg(), serve_done, feed);
    }
}

const prov_vtable prov_local = {
    .name = "local",
    .summary = "a Hugging Face model folder run by assay's own engine: --path DIR "
               "[--device cpu|gpu|auto] [--max-new-tokens N] [--dtype auto|float32|bfloat16] "
               "[--context N]; --concurrency is the number of sequences decoded at once",
    .settings_keys = local_keys,
    .path_keys = local_path_keys,
    .create = local_create,
    .start = local_start,
    .destroy = local_destroy,
    .invoke = local_invoke,
    .serve = local_serve,
};
