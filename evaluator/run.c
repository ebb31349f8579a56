/* Running a suite (eval.h): preparing runs, feeding the scheduler one case
 * at a time, writing each answer as it arrives, then the judge phase. */
#include "evaluator/eval.h"
#include "evaluator/judge.h"
#include "metrics/registry.h"
#include "evaluator/models.h"
#include "evaluator/provider.h"
#include "evaluator/run_internal.h"
#include "evaluator/cost.h"
#include "evaluator/scheduler.h"
#include "evaluator/score.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/version.h"
#include "store/store.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAJORITY_MAX_DISTINCT 10000

/* ---- small helpers ---------------------------------------------------- */

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void item_job_free(item_job *ij)
{
    if (ij == NULL)
        return;
    free(ij->case_id);
    json_decref(ij->vars);
    json_decref(ij->messages);
    free(ij->prompt_text);
    free(ij->expected);
    free(ij);
}

/* The prompt as one text: the template rendered, or the messages' contents
 * joined by blank lines (for completion APIs and judges). */
static char *flatten(const json_t *rendered)
{
    size_t i;
    json_t *m;
    char *out = NULL;
    size_t len = 0;

    if (json_is_string(rendered))
        return strdup(json_string_value(rendered));
    json_array_foreach(rendered, i, m) {
        const char *c = json_string_value(json_object_get(m, "content"));
        size_t n = c ? strlen(c) : 0;
        char *g = realloc(out, len + n + 3);
        if (g == NULL) {
            free(out);
            return NULL;
        }
        out = g;
        if (len > 0) {
            memcpy(out + len, "\n\n", 2);
            len += 2;
        }
        memcpy(out + len, c ? c : "", n);
        len += n;
        out[len] = '\0';
    }
    return out ? out : strdup("");
}

/* ---- preparing -------------------------------------------------------- */

static int prepare_statements(eval_job *j)
{
    int rc;

    if ((rc = store_prepare(&j->st_item_get, j->db,
             "SELECT status FROM items WHERE run_id = ?1 AND case_id = ?2 AND rep = ?3")) < 0 ||
        (rc = store_prepare(&j->st_item_put, j->db,
             "INSERT INTO items (run_id, case_id, rep, status, prompt_text, output, "
             "output_truncated, label, out_of_labels, expected, scores, latency_ms, ttft_ms, "
             "prompt_tokens, completion_tokens, usage_estimated, cost_usd, busy_ms, cached, "
             "attempts, finish_reason, error, request_hash, created_at, cold_start_ms, "
             "server_latency_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
             "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26) ON CONFLICT (run_id, case_id, rep) DO UPDATE SET "
             "status = excluded.status, prompt_text = excluded.prompt_text, "
             "output = excluded.output, output_truncated = excluded.output_truncated, "
             "label = excluded.label, out_of_labels = excluded.out_of_labels, "
             "expected = excluded.expected, scores = excluded.scores, "
             "latency_ms = excluded.latency_ms, ttft_ms = excluded.ttft_ms, "
             "prompt_tokens = excluded.prompt_tokens, "
             "completion_tokens = excluded.completion_tokens, "
             "usage_estimated = excluded.usage_estimated, cost_usd = excluded.cost_usd, "
             "busy_ms = excluded.busy_ms, cached = excluded.cached, "
             "attempts = items.attempts + excluded.attempts, "
             "finish_reason = excluded.finish_reason, error = excluded.error, "
             "request_hash = excluded.request_hash, created_at = excluded.created_at, "
             "cold_start_ms = excluded.cold_start_ms, "
             "server_latency_ms = excluded.server_latency_ms")) < 0 ||
        (rc = store_prepare(&j->st_attempt, j->db,
             "INSERT INTO attempts (run_id, case_id, rep, kind, attempt, http_status, error, "
             "duration_ms, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")) < 0 ||
        (rc = store_prepare(&j->st_cache_get, j->db,
             "SELECT output, output_truncated, prompt_tokens, completion_tokens, "
             "usage_estimated, latency_ms, ttft_ms, finish_reason FROM response_cache "
             "WHERE key = ?1")) < 0 ||
        (rc = store_prepare(&j->st_cache_put, j->db,
             "INSERT OR REPLACE INTO response_cache (key, output, output_truncated, "
             "prompt_tokens, completion_tokens, usage_estimated, latency_ms, ttft_ms, "
             "finish_reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")) < 0)
        return rc;
    return 0;
}

/* A model named by the suite or the command line. */
static int load_model(eval_model *out, store *db, const json_t *entry, const char *name)
{
    if (name)
        return eval_model_get(out, db, name);
    if (json_is_string(entry))
        return eval_model_get(out, db, json_string_value(entry));
    if (json_is_object(entry) && json_object_get(entry, "provider"))
        return eval_model_from_json(out, entry);
    if (json_is_object(entry) && json_is_string(json_object_get(entry, "name")))
        return eval_model_get(out, db, json_string_value(json_object_get(entry, "name")));
    return as_error_set(AS_EINVAL, "suite: a model must be a name or an object with \"name\"");
}

/* Every case must have the prompt's variables (caught before any
 * request); count the cases and find the majority expected answer. */
static int check_dataset(eval_job *j, long limit, int64_t *ncases)
{
    cat_cases *it = NULL;
    const cat_case *cs;
    json_t *counts = json_object(), *vars = j->prompt->variables, *v;
    size_t i;
    int rc;
    int64_t n = 0, best = 0;
    const char *key;

    if (counts == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = cat_cases_open(&it, j->c, &j->dataset_ver)) < 0)
        goto out;
    while ((limit <= 0 || n < limit) && (rc = cat_cases_next(it, &cs)) == 1) {
        n++;
        json_array_foreach(vars, i, v) {
            json_t *have = json_object_get(cs->vars, json_string_value(v));
            if (have == NULL || json_is_null(have)) {
                rc = as_error_set(AS_EINVAL, "dataset %s: case '%s' (line %ld) lacks variable "
                                  "'%s' of prompt %s", j->dataset_ver.name, cs->id, cs->line,
                                  json_string_value(v), j->prompt_ver.name);
                goto out;
            }
        }
        if (cs->expected) {
            json_t *c = json_object_get(counts, cs->expected);
            if (c)
                json_integer_set(c, json_integer_value(c) + 1);
            else if (json_object_size(counts) < MAJORITY_MAX_DISTINCT)
                json_object_set_new(counts, cs->expected, json_integer(1));
        }
    }
    if (rc < 0)
        goto out;
    rc = 0;
    *ncases = n;
    json_object_foreach(counts, key, v) {
        /* ties go to the label that sorts first, so the choice is stable */
        if (json_integer_value(v) > best ||
            (json_integer_value(v) == best && j->majority && strcmp(key, j->majority) < 0)) {
            best = json_integer_value(v);
            free(j->majority);
            if ((j->majority = strdup(key)) == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                goto out;
            }
        }
    }
out:
    cat_cases_close(it);
    json_decref(counts);
    return rc;
}

static int start_provider(eval_job *j, eval_model *m, prov **out)
{
    prov_run_info info;
    const char **labels = NULL;
    size_t i, n = json_array_size(j->prompt->labels);
    int rc;

    if ((rc = prov_create(out, m->provider, m->name, m->settings)) < 0)
        return as_error_wrap(rc, "model %s", m->name);
    if (n > 0 && (labels = calloc(n, sizeof(*labels))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        labels[i] = json_string_value(json_array_get(j->prompt->labels, i));
    info.model_name = m->name;
    info.labels = labels;
    info.nlabels = n;
    info.majority_label = j->majority;
    info.task = j->prompt->task;
    info.concurrency = m->concurrency;
    rc = (*out)->vt->start ? (*out)->vt->start(*out, &info) : 0;
    free(labels);
    if (rc < 0)
        return as_error_wrap(rc, "model %s", m->name);
    return 0;
}

static int insert_run(eval_job *j, run_ctx *r)
{
    store_stmt *st = NULL;
    json_t *ms = eval_model_json(&r->model);
    char *msj = ms ? as_json_dump(ms) : NULL, now[32];
    char *metrics = as_json_dump(j->suite->metrics), *labels = as_json_dump(j->prompt->labels);
    char *judge = j->judge_mode ? as_json_dump(j->suite->judge) : NULL;
    int rc;

    json_decref(ms);
    if (msj == NULL || metrics == NULL || labels == NULL || (j->judge_mode && judge == NULL)) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    as_time_iso8601(now, sizeof(now));
    if ((rc = store_prepare(&st, j->db,
             "INSERT INTO runs (suite, suite_commit, prompt, prompt_version, prompt_commit, "
             "dataset, dataset_version, dataset_commit, model, provider, model_settings, "
             "price_in, price_out, price_hour, price_version, assay_version, status, case_limit, "
             "repeat, use_cache, concurrency, items_total, created_at, metrics, primary_metric, "
             "labels, judge, instance_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
             "?12, ?13, ?14, ?15, ?16, 'running', ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, "
             "?26, ?27)")) < 0)
        goto out;
    if ((rc = store_bind_text(st, 1, j->suite_ver.name)) < 0 ||
        (rc = store_bind_text(st, 2, j->suite_ver.commit)) < 0 ||
        (rc = store_bind_text(st, 3, j->prompt_ver.name)) < 0 ||
        (rc = store_bind_int(st, 4, j->prompt_ver.version)) < 0 ||
        (rc = store_bind_text(st, 5, j->prompt_ver.commit)) < 0 ||
        (rc = store_bind_text(st, 6, j->dataset_ver.name)) < 0 ||
        (rc = store_bind_int(st, 7, j->dataset_ver.version)) < 0 ||
        (rc = store_bind_text(st, 8, j->dataset_ver.commit)) < 0 ||
        (rc = store_bind_text(st, 9, r->model.name)) < 0 ||
        (rc = store_bind_text(st, 10, r->model.provider)) < 0 ||
        (rc = store_bind_text(st, 11, msj)) < 0 ||
        (rc = store_bind_double(st, 12, r->model.price_in)) < 0 ||
        (rc = store_bind_double(st, 13, r->model.price_out)) < 0 ||
        (rc = store_bind_double(st, 14, r->model.price_hour)) < 0 ||
        (rc = store_bind_int(st, 15, r->model.price_version)) < 0 ||
        (rc = store_bind_text(st, 16, AS_VERSION)) < 0 ||
        (rc = r->limit > 0 ? store_bind_int(st, 17, r->limit) : store_bind_null(st, 17)) < 0 ||
        (rc = store_bind_int(st, 18, r->repeat)) < 0 ||
        (rc = store_bind_int(st, 19, r->use_cache)) < 0 ||
        (rc = store_bind_int(st, 20, r->concurrency)) < 0 ||
        (rc = store_bind_int(st, 21, r->total)) < 0 ||
        (rc = store_bind_text(st, 22, now)) < 0 ||
        (rc = store_bind_text(st, 23, metrics)) < 0 ||
        (rc = store_bind_text(st, 24, j->suite->primary_metric)) < 0 ||
        (rc = store_bind_text(st, 25, labels)) < 0 ||
        (rc = judge ? store_bind_text(st, 26, judge) : store_bind_null(st, 26)) < 0 ||
        (rc = store_bind_int(st, 27, r->model.instance_count)) < 0 ||
        (rc = store_step_done(st)) < 0)
        goto out;
    r->id = store_last_id(j->db);
out:
    store_finalize(st);
    free(msj);
    free(metrics);
    free(labels);
    free(judge);
    return rc;
}

/* Load run 'id' for resuming: fill the job's references and one run_ctx. */
static int load_run(eval_job *j, int64_t id, char *suite_ref, size_t ssize, char *prompt_ref,
                    char *dataset_ref, size_t rsize, run_ctx *r)
{
    store_stmt *st = NULL;
    json_t *ms = NULL;
    const char *s;
    int rc;

    if ((rc = store_prepare(&st, j->db,
             "SELECT suite, suite_commit, prompt, prompt_commit, dataset, dataset_commit, "
             "model_settings, case_limit, repeat, use_cache, concurrency, items_total, busy_ms, "
             "status FROM runs WHERE id = ?1")) < 0 ||
        (rc = store_bind_int(st, 1, id)) < 0)
        goto out;
    if ((rc = store_step(st)) != STORE_ROW) {
        if (rc == STORE_DONE)
            rc = as_error_set(AS_ENOTFOUND, "unknown run %lld", (long long)id);
        goto out;
    }
    snprintf(suite_ref, ssize, "%s@%s", store_col_text(st, 0), store_col_text(st, 1));
    snprintf(prompt_ref, rsize, "%s@%s", store_col_text(st, 2), store_col_text(st, 3));
    snprintf(dataset_ref, rsize, "%s@%s", store_col_text(st, 4), store_col_text(st, 5));
    s = store_col_text(st, 6);
    if ((rc = as_json_parse(&ms, s, strlen(s), "run model settings")) < 0 ||
        (rc = eval_model_from_json(&r->model, ms)) < 0)
        goto out;
    r->id = id;
    r->limit = store_col_type(st, 7) == STORE_NULL ? 0 : (long)store_col_int(st, 7);
    r->repeat = (int)store_col_int(st, 8);
    r->use_cache = (int)store_col_int(st, 9);
    r->concurrency = (int)store_col_int(st, 10);
    r->total = store_col_int(st, 11);
    r->busy_base_ms = store_col_double(st, 12);
    rc = 0;
out:
    json_decref(ms);
    store_finalize(st);
    return rc;
}

static int set_run_running(eval_job *j, int64_t id)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, j->db, "UPDATE runs SET status = 'running', error = NULL, "
                            "finished_at = NULL WHERE id = ?1")) == 0 &&
        (rc = store_bind_int(st, 1, id)) == 0)
        rc = store_step_done(st);
    store_finalize(st);
    return rc;
}

static int load_judge(eval_job *j)
{
    json_t *jd = j->suite->judge, *model;
    const char *mode = json_string_value(json_object_get(jd, "mode"));
    const char *rubric = json_string_value(json_object_get(jd, "rubric"));
    int rc;

    if (jd == NULL || j->opts.no_judge)
        return 0;
    j->judge_mode = mode && strcmp(mode, "pairwise") == 0 ? 2 : 1;
    j->with_reference = json_is_true(json_object_get(jd, "with_reference"));
    if (rubric && (j->rubric = strdup(rubric)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    model = json_object_get(jd, "model");
    if ((rc = load_model(&j->judge_model, j->db, model, NULL)) < 0)
        return as_error_wrap(rc, "judge");
    return 0;
}

/* The suite's cosine_embedding metric names the model that embeds; it
 * must be one whose provider gives embeddings. */
static int load_embedder(eval_job *j)
{
    const json_t *m = met_spec_find(j->suite->metrics, MET_COSINE_EMBEDDING);
    const prov_vtable *vt;
    int rc;

    if (m == NULL)
        return 0;
    j->embed = 1;
    if ((rc = load_model(&j->embed_model, j->db, NULL,
                         json_string_value(json_object_get(m, "model")))) < 0)
        return as_error_wrap(rc, "metric cosine_embedding");
    vt = prov_find(j->embed_model.provider);
    if (vt == NULL || !vt->embeds)
        return as_error_set(AS_EINVAL, "metric cosine_embedding: model %s uses provider %s, "
                            "which gives no embeddings (use an openai or ollama model)",
                            j->embed_model.name, j->embed_model.provider);
    return 0;
}

int eval_prepare(eval_job **out, const eval_opts *opts)
{
    eval_job *j;
    char suite_ref[512], prompt_ref[512], dataset_ref[512];
    int64_t ncases = 0;
    size_t i, n;
    int rc;

    *out = NULL;
    if ((j = calloc(1, sizeof(*j))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    j->opts = *opts;
    eval_model_init(&j->judge_model);
    eval_model_init(&j->embed_model);
    if ((rc = cat_open(&j->c, opts->data_dir)) < 0)
        goto fail;
    j->db = cat_store(j->c);
    if ((rc = prepare_statements(j)) < 0)
        goto fail;
    if (opts->resume_run > 0) {
        if ((j->runs = calloc(1, sizeof(*j->runs))) == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto fail;
        }
        j->nruns = 1;
        j->runs[0].lock_fd = -1;
        eval_model_init(&j->runs[0].model);
        if ((rc = load_run(j, opts->resume_run, suite_ref, sizeof(suite_ref), prompt_ref,
                           dataset_ref, sizeof(prompt_ref), &j->runs[0])) < 0)
            goto fail;
        /* before anything else: another job may be working on it */
        if ((rc = eval_run_lock(&j->runs[0].lock_fd, opts->data_dir, opts->resume_run)) < 0)
            goto fail;
    } else {
        snprintf(suite_ref, sizeof(suite_ref), "%s", opts->suite ? opts->suite : "");
    }
    if ((rc = cat_suite_load(&j->suite, &j->suite_ver, j->c, suite_ref)) < 0)
        goto fail;
    if (opts->resume_run <= 0) {
        snprintf(prompt_ref, sizeof(prompt_ref), "%s",
                 opts->prompt ? opts->prompt : j->suite->prompt_ref);
        snprintf(dataset_ref, sizeof(dataset_ref), "%s", j->suite->dataset_ref);
    }
    if ((rc = cat_prompt_load(&j->prompt, &j->prompt_ver, j->c, prompt_ref)) < 0 ||
        (rc = cat_resolve(&j->dataset_ver, j->c, CAT_DATASET, dataset_ref)) < 0)
        goto fail;
    if ((rc = eval_scorer_new(&j->scorer, j->suite->metrics, j->prompt->labels)) < 0)
        goto fail;
    if ((rc = load_judge(j)) < 0 || (rc = load_embedder(j)) < 0)
        goto fail;
    if (opts->resume_run <= 0) {
        n = opts->models ? opts->nmodels : json_array_size(j->suite->models);
        if (n == 0) {
            rc = as_error_set(AS_EINVAL, "suite %s names no models (give --model)", j->suite_ver.name);
            goto fail;
        }
        if ((j->runs = calloc(n, sizeof(*j->runs))) == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto fail;
        }
        j->nruns = n;
        for (i = 0; i < n; i++)
            j->runs[i].lock_fd = -1;
        for (i = 0; i < n; i++) {
            run_ctx *r = &j->runs[i];
            eval_model_init(&r->model);
            if ((rc = load_model(&r->model, j->db,
                                 opts->models ? NULL : json_array_get(j->suite->models, i),
                                 opts->models ? opts->models[i] : NULL)) < 0)
                goto fail;
            r->limit = opts->limit;
            r->repeat = opts->repeat > 0 ? opts->repeat : 1;
            r->use_cache = !opts->no_cache;
            r->concurrency = opts->concurrency > 0 ? opts->concurrency : r->model.concurrency;
        }
    }
    if ((rc = check_dataset(j, j->runs[0].limit, &ncases)) < 0)
        goto fail;
    /* secrets and files before any run is created or request sent */
    for (i = 0; i < j->nruns; i++)
        if ((rc = start_provider(j, &j->runs[i].model, &j->runs[i].p)) < 0)
            goto fail;
    if (j->judge_mode && (rc = start_provider(j, &j->judge_model, &j->judge)) < 0)
        goto fail;
    if (j->embed && (rc = start_provider(j, &j->embed_model, &j->embedder)) < 0)
        goto fail;
    if ((j->ids = calloc(j->nruns, sizeof(*j->ids))) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto fail;
    }
    for (i = 0; i < j->nruns; i++) {
        run_ctx *r = &j->runs[i];
        r->job = j;
        if (opts->resume_run > 0) {
            if ((rc = set_run_running(j, r->id)) < 0)
                goto fail;
        } else {
            r->total = ncases * r->repeat;
            if ((rc = insert_run(j, r)) < 0 ||
                (rc = eval_run_lock(&r->lock_fd, opts->data_dir, r->id)) < 0)
                goto fail;
        }
        j->ids[i] = r->id;
    }
    *out = j;
    return 0;
fail:
    eval_job_free(j);
    return rc;
}

const int64_t *eval_job_runs(const eval_job *job, size_t *n)
{
    *n = job->nruns;
    return job->ids;
}

void eval_job_cancel(eval_job *job)
{
    atomic_store(&job->cancel, 1);
}

void eval_job_free(eval_job *j)
{
    size_t i;

    if (j == NULL)
        return;
    for (i = 0; i < j->nruns; i++) {
        cat_cases_close(j->runs[i].it);
        prov_destroy(j->runs[i].p);
        eval_model_clear(&j->runs[i].model);
        if (j->runs[i].lock_fd >= 0)
            close(j->runs[i].lock_fd);
    }
    free(j->runs);
    free(j->ids);
    prov_destroy(j->judge);
    eval_model_clear(&j->judge_model);
    prov_destroy(j->embedder);
    eval_model_clear(&j->embed_model);
    free(j->rubric);
    free(j->majority);
    eval_scorer_free(j->scorer);
    cat_prompt_free(j->prompt);
    cat_suite_free(j->suite);
    store_finalize(j->st_item_get);
    store_finalize(j->st_item_put);
    store_finalize(j->st_attempt);
    store_finalize(j->st_cache_get);
    store_finalize(j->st_cache_put);
    cat_close(j->c);
    free(j);
}

/* ---- grouped writes ---------------------------------------------------- */

int eval_write_begin(eval_job *j)
{
    int rc;

    if (j->in_tx) {
        j->tx_writes++;
        return 0;
    }
    if ((rc = store_begin(j->db)) < 0)
        return rc;
    j->in_tx = 1;
    j->tx_writes = 1;
    j->tx_started_ms = as_clock_ms();
    return 0;
}

int eval_flush(eval_job *j, int force)
{
    if (!j->in_tx)
        return 0;
    if (!force && j->tx_writes < EVAL_TX_MAX_WRITES &&
        as_clock_ms() - j->tx_started_ms < EVAL_TX_MAX_MS)
        return 0;
    j->in_tx = 0;
    return store_commit(j->db);
}

/* ---- the model phase ---------------------------------------------------- */

static int item_status(eval_job *j, int64_t run, const char *case_id, int rep, int *ok)
{
    store_stmt *st = j->st_item_get;
    int rc;

    *ok = 0;
    if ((rc = store_bind_int(st, 1, run)) < 0 || (rc = store_bind_text(st, 2, case_id)) < 0 ||
        (rc = store_bind_int(st, 3, rep)) < 0)
        return rc;
    rc = store_step(st);
    if (rc == STORE_ROW)
        *ok = strcmp(store_col_text(st, 0), "ok") == 0;
    store_reset(st);
    return rc < 0 ? rc : 0;
}

static void cache_key(item_job *ij, const eval_job *j)
{
    json_t *k = json_pack("{s:s,s:O,s:O,s:O,s:i}", "provider", ij->run->model.provider,
                          "settings", ij->run->model.settings, "request",
                          ij->messages ? ij->messages : json_string(ij->prompt_text),
                          "params", j->prompt->params, "rep", ij->rep);
    char *text = k ? json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    unsigned char h[AS_SHA256_LEN];

    if (!ij->messages && k)
        json_decref(json_object_get(k, "request"));
    as_sha256_once(text ? text : "", text ? strlen(text) : 0, h);
    as_hex(h, sizeof(h), ij->cache_key);
    free(text);
    json_decref(k);
}

/* Write one item (ok or failed). */
static int put_item(eval_job *j, item_job *ij, const prov_result *res, int attempts, int cached)
{
    store_stmt *st = j->st_item_put;
    run_ctx *r = ij->run;
    json_t *scores = NULL;
    char *label = NULL, *scores_text = NULL, now[32];
    int oob = 0, rc;
    double cost = 0;
    int ok = res->error == 0;

    if ((rc = eval_write_begin(j)) < 0)
        return rc;
    as_time_iso8601(now, sizeof(now));
    if (ok) {
        if ((rc = eval_scorer_case(j->scorer, res->output, ij->expected, &scores, &label, &oob)) < 0)
            return rc;
        if ((scores_text = as_json_dump(scores)) == NULL) {
            json_decref(scores);
            free(label);
            return as_error_set(AS_ENOMEM, "out of memory");
        }
        json_decref(scores);
        if (!cached)
            cost = eval_token_cost(&r->model, res->prompt_tokens, res->completion_tokens);
    }
    if ((rc = store_bind_int(st, 1, r->id)) < 0 || (rc = store_bind_text(st, 2, ij->case_id)) < 0 ||
        (rc = store_bind_int(st, 3, ij->rep)) < 0 ||
        (rc = store_bind_text(st, 4, ok ? "ok" : "failed")) < 0 ||
        (rc = store_bind_text(st, 5, ij->prompt_text)) < 0 ||
        (rc = ok ? store_bind_textn(st, 6, res->output, res->output_len) : store_bind_null(st, 6)) < 0 ||
        (rc = store_bind_int(st, 7, res->output_truncated)) < 0 ||
        (rc = label ? store_bind_text(st, 8, label) : store_bind_null(st, 8)) < 0 ||
        (rc = store_bind_int(st, 9, oob)) < 0 ||
        (rc = ij->expected ? store_bind_text(st, 10, ij->expected) : store_bind_null(st, 10)) < 0 ||
        (rc = scores_text ? store_bind_text(st, 11, scores_text) : store_bind_null(st, 11)) < 0 ||
        (rc = res->latency_ms >= 0 ? store_bind_double(st, 12, res->latency_ms) : store_bind_null(st, 12)) < 0 ||
        (rc = ok && res->ttft_ms >= 0 ? store_bind_double(st, 13, res->ttft_ms) : store_bind_null(st, 13)) < 0 ||
        (rc = ok && res->prompt_tokens >= 0 ? store_bind_int(st, 14, res->prompt_tokens) : store_bind_null(st, 14)) < 0 ||
        (rc = ok && res->completion_tokens >= 0 ? store_bind_int(st, 15, res->completion_tokens) : store_bind_null(st, 15)) < 0 ||
        (rc = store_bind_int(st, 16, res->usage_estimated)) < 0 ||
        (rc = ok && r->model.price_hour <= 0 ? store_bind_double(st, 17, cost) : store_bind_null(st, 17)) < 0 ||
        (rc = res->busy_ms >= 0 ? store_bind_double(st, 18, res->busy_ms) : store_bind_null(st, 18)) < 0 ||
        (rc = store_bind_int(st, 19, cached)) < 0 ||
        (rc = store_bind_int(st, 20, attempts)) < 0 ||
        (rc = res->finish_reason ? store_bind_text(st, 21, res->finish_reason) : store_bind_null(st, 21)) < 0 ||
        (rc = !ok ? store_bind_text(st, 22, res->error_msg ? res->error_msg : "failed") : store_bind_null(st, 22)) < 0 ||
        (rc = store_bind_text(st, 23, ij->cache_key)) < 0 ||
        (rc = store_bind_text(st, 24, now)) < 0 ||
        (rc = res->cold_start_ms >= 0 ? store_bind_double(st, 25, res->cold_start_ms) : store_bind_null(st, 25)) < 0 ||
        (rc = res->server_latency_ms >= 0 ? store_bind_double(st, 26, res->server_latency_ms) : store_bind_null(st, 26)) < 0)
        goto out;
    rc = store_step_done(st);
out:
    store_reset(st);
    free(label);
    free(scores_text);
    return rc;
}

static int cache_get(eval_job *j, item_job *ij, prov_result *res)
{
    store_stmt *st = j->st_cache_get;
    int rc;

    if ((rc = store_bind_text(st, 1, ij->cache_key)) < 0)
        return rc;
    rc = store_step(st);
    if (rc == STORE_ROW) {
        const char *o = store_col_text(st, 0);
        if (prov_result_set_output(res, o, strlen(o)) < 0) {
            store_reset(st);
            return AS_ENOMEM;
        }
        res->output_truncated = (int)store_col_int(st, 1);
        res->prompt_tokens = store_col_type(st, 2) == STORE_NULL ? -1 : store_col_int(st, 2);
        res->completion_tokens = store_col_type(st, 3) == STORE_NULL ? -1 : store_col_int(st, 3);
        res->usage_estimated = (int)store_col_int(st, 4);
        res->latency_ms = store_col_type(st, 5) == STORE_NULL ? -1 : store_col_double(st, 5);
        res->ttft_ms = store_col_type(st, 6) == STORE_NULL ? -1 : store_col_double(st, 6);
        res->finish_reason = xstrdup(store_col_text(st, 7));
        rc = 1;
    } else if (rc == STORE_DONE) {
        rc = 0;
    }
    store_reset(st);
    return rc;
}

static int cache_put(eval_job *j, item_job *ij, const prov_result *res)
{
    store_stmt *st = j->st_cache_put;
    char now[32];
    int rc;

    if ((rc = eval_write_begin(j)) < 0)
        return rc;
    as_time_iso8601(now, sizeof(now));
    if ((rc = store_bind_text(st, 1, ij->cache_key)) < 0 ||
        (rc = store_bind_textn(st, 2, res->output, res->output_len)) < 0 ||
        (rc = store_bind_int(st, 3, res->output_truncated)) < 0 ||
        (rc = res->prompt_tokens >= 0 ? store_bind_int(st, 4, res->prompt_tokens) : store_bind_null(st, 4)) < 0 ||
        (rc = res->completion_tokens >= 0 ? store_bind_int(st, 5, res->completion_tokens) : store_bind_null(st, 5)) < 0 ||
        (rc = store_bind_int(st, 6, res->usage_estimated)) < 0 ||
        (rc = store_bind_double(st, 7, res->latency_ms)) < 0 ||
        (rc = res->ttft_ms >= 0 ? store_bind_double(st, 8, res->ttft_ms) : store_bind_null(st, 8)) < 0 ||
        (rc = res->finish_reason ? store_bind_text(st, 9, res->finish_reason) : store_bind_null(st, 9)) < 0 ||
        (rc = store_bind_text(st, 10, now)) < 0)
        goto out;
    rc = store_step_done(st);
out:
    store_reset(st);
    return rc;
}

static int update_busy(eval_job *j, run_ctx *r)
{
    store_stmt *st = NULL;
    double busy = r->busy_base_ms + (r->last_done_ms > 0 ? r->last_done_ms - j->t0 : 0);
    int rc;

    if ((rc = store_prepare(&st, j->db, "UPDATE runs SET busy_ms = ?2 WHERE id = ?1")) == 0 &&
        (rc = store_bind_int(st, 1, r->id)) == 0 && (rc = store_bind_double(st, 2, busy)) == 0)
        rc = store_step_done(st);
    store_finalize(st);
    return rc;
}

static void report(eval_job *j, run_ctx *r, const char *phase)
{
    eval_progress p;

    if (j->opts.progress == NULL)
        return;
    p.run_id = r->id;
    p.model = r->model.name;
    p.phase = phase;
    p.total = r->total;
    p.done = r->done;
    p.failed = r->failed;
    p.cached = r->cached;
    p.elapsed_s = (as_clock_ms() - j->t0) / 1000.0;
    j->opts.progress(j->opts.progress_arg, &p);
}

/* Count what a resumed run already has, for progress. */
static int count_existing(eval_job *j, run_ctx *r)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, j->db, "SELECT count(*), sum(status = 'failed'), sum(cached) "
                            "FROM items WHERE run_id = ?1")) < 0 ||
        (rc = store_bind_int(st, 1, r->id)) < 0 || (rc = store_step(st)) < 0) {
        store_finalize(st);
        return rc;
    }
    r->done = store_col_int(st, 0) - store_col_int(st, 1);
    r->failed = 0;      /* failed items are tried again */
    r->cached = store_col_int(st, 2);
    store_finalize(st);
    return 0;
}

static int model_next(void *arg, sched_job **out)
{
    run_ctx *r = arg;
    eval_job *j = r->job;
    int rc, ok;

    for (;;) {
        item_job *ij;
        json_t *rendered = NULL;
        prov_result res;
        if (r->ended)
            return SCHED_END;
        if (r->cur == NULL || r->rep >= r->repeat) {
            if (r->limit > 0 && r->ncase >= r->limit) {
                r->ended = 1;
                continue;
            }
            if (r->it == NULL && (rc = cat_cases_open(&r->it, j->c, &j->dataset_ver)) < 0)
                return rc;
            if ((rc = cat_cases_next(r->it, &r->cur)) < 0)
                return rc;
            if (rc == 0) {
                r->ended = 1;
                r->cur = NULL;
                continue;
            }
            r->ncase++;
            r->rep = 0;
        }
        if ((rc = item_status(j, r->id, r->cur->id, r->rep, &ok)) < 0)
            return rc;
        if (ok) {
            r->rep++;
            continue;
        }
        if ((ij = calloc(1, sizeof(*ij))) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        ij->run = r;
        ij->rep = r->rep++;
        ij->case_id = strdup(r->cur->id);
        ij->vars = json_incref(r->cur->vars);
        ij->expected = xstrdup(r->cur->expected);
        if ((rc = cat_prompt_render(&rendered, j->prompt, r->cur->vars)) < 0) {
            item_job_free(ij);
            return as_error_wrap(rc, "case %s", r->cur->id);
        }
        if (json_is_array(rendered))
            ij->messages = json_incref(rendered);
        ij->prompt_text = flatten(rendered);
        json_decref(rendered);
        if (ij->case_id == NULL || ij->prompt_text == NULL) {
            item_job_free(ij);
            return as_error_set(AS_ENOMEM, "out of memory");
        }
        cache_key(ij, j);
        ij->job.data = ij;
        ij->job.call.case_id = ij->case_id;
        ij->job.call.messages = ij->messages;
        ij->job.call.prompt = ij->prompt_text;
        ij->job.call.params = j->prompt->params;
        ij->job.call.vars = ij->vars;
        if (r->use_cache && !prov_is_direct(r->p)) {
            prov_result_init(&res);
            if ((rc = cache_get(j, ij, &res)) < 0) {
                item_job_free(ij);
                return rc;
            }
            if (rc == 1) {
                rc = put_item(j, ij, &res, 0, 1);
                prov_result_clear(&res);
                item_job_free(ij);
                if (rc < 0)
                    return rc;
                r->done++;
                r->cached++;
                report(j, r, "model");
                continue;
            }
        }
        *out = &ij->job;
        return SCHED_JOB;
    }
}

int eval_record_attempt(eval_job *j, int64_t run, const char *case_id, int rep,
                        const char *kind, int attempt, long status, const char *error,
                        double duration_ms)
{
    store_stmt *st = j->st_attempt;
    char now[32];
    int rc;

    if ((rc = eval_write_begin(j)) < 0)
        return rc;
    as_time_iso8601(now, sizeof(now));
    if ((rc = store_bind_int(st, 1, run)) < 0 || (rc = store_bind_text(st, 2, case_id)) < 0 ||
        (rc = store_bind_int(st, 3, rep)) < 0 || (rc = store_bind_text(st, 4, kind)) < 0 ||
        (rc = store_bind_int(st, 5, attempt)) < 0 ||
        (rc = status ? store_bind_int(st, 6, status) : store_bind_null(st, 6)) < 0 ||
        (rc = error ? store_bind_text(st, 7, error) : store_bind_null(st, 7)) < 0 ||
        (rc = store_bind_double(st, 8, duration_ms)) < 0 || (rc = store_bind_text(st, 9, now)) < 0)
        goto out;
    rc = store_step_done(st);
out:
    store_reset(st);
    return rc;
}

static int model_attempt(void *arg, sched_job *job, int attempt, long status, const char *error,
                         double duration_ms)
{
    run_ctx *r = arg;
    item_job *ij = job->data;

    return eval_record_attempt(r->job, r->id, ij->case_id, ij->rep, "model", attempt, status, error,
                          duration_ms);
}

static int model_done(void *arg, sched_job *job, prov_result *res, int attempts)
{
    run_ctx *r = arg;
    eval_job *j = r->job;
    item_job *ij = job->data;
    int rc = 0;

    if (res->error == AS_ECANCELED) {
        item_job_free(ij);
        return 0;
    }
    if ((rc = put_item(j, ij, res, attempts, 0)) < 0)
        goto out;
    if (res->error == 0 && r->use_cache && !prov_is_direct(r->p) &&
        (rc = cache_put(j, ij, res)) < 0)
        goto out;
    r->done++;
    if (res->error)
        r->failed++;
    r->last_done_ms = as_clock_ms();
    if (r->last_done_ms - r->last_flush_ms > 2000) {
        r->last_flush_ms = r->last_done_ms;
        if ((rc = update_busy(j, r)) < 0)
            goto out;
    }
    report(j, r, "model");
    rc = eval_flush(j, 0);
out:
    item_job_free(ij);
    return rc;
}

static int model_tick(void *arg)
{
    return eval_flush(((run_ctx *)arg)->job, 0);
}

static sched_limits lane_limits(const eval_model *m, int concurrency)
{
    sched_limits l;

    l.concurrency = concurrency > 0 ? concurrency : m->concurrency;
    l.rpm = m->rpm;
    l.timeout_s = m->timeout_s;
    l.stall_s = m->timeout_s < 30 ? m->timeout_s : 30;
    l.max_retries = m->max_retries;
    return l;
}

int eval_phase_row(eval_phase_src *src)
{
    int rc;

    for (;;) {
        if (src->ended)
            return 0;
        if (src->cursor == NULL) {
            if ((rc = src->open(src)) < 0)
                return rc;
            if (rc == 0) {
                src->ended = 1;
                return 0;
            }
        }
        if ((rc = store_step(src->cursor)) < 0)
            return rc;
        if (rc == STORE_ROW)
            return 1;
        store_finalize(src->cursor);
        src->cursor = NULL;
    }
}

int eval_phase_tick(void *arg)
{
    return eval_flush(((eval_phase_src *)arg)->j, 0);
}

int eval_phase_run(eval_job *j, prov *p, const eval_model *m, const sched_lane_ops *ops,
                   void *arg)
{
    sched_limits lim = lane_limits(m, 0);
    sched *s = NULL;
    int rc, frc;

    if ((rc = sched_new(&s)) == 0 && (rc = sched_add_lane(s, p, &lim, ops, arg)) == 0)
        rc = sched_run(s, &j->cancel);
    sched_free(s);
    frc = eval_flush(j, 1);
    return rc < 0 ? rc : frc;
}

static int finish_runs(eval_job *j, int status_rc)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < j->nruns; i++) {
        run_ctx *r = &j->runs[i];
        store_stmt *st = NULL;
        char now[32];
        const char *status;
        int64_t ok = 0;
        as_time_iso8601(now, sizeof(now));
        if ((rc = update_busy(j, r)) < 0)
            return rc;
        if ((rc = store_prepare(&st, j->db, "SELECT count(*) FROM items WHERE run_id = ?1 "
                                "AND status = 'ok'")) < 0 ||
            (rc = store_bind_int(st, 1, r->id)) < 0 || (rc = store_step(st)) < 0) {
            store_finalize(st);
            return rc;
        }
        ok = store_col_int(st, 0);
        store_finalize(st);
        st = NULL;
        if (status_rc == AS_ECANCELED)
            status = "canceled";
        else if (status_rc < 0)
            status = "failed";
        else
            status = ok >= r->total ? "complete" : "partial";
        if ((rc = store_prepare(&st, j->db, "UPDATE runs SET status = ?2, finished_at = ?3, "
                                "error = ?4 WHERE id = ?1")) < 0 ||
            (rc = store_bind_int(st, 1, r->id)) < 0 || (rc = store_bind_text(st, 2, status)) < 0 ||
            (rc = store_bind_text(st, 3, now)) < 0 ||
            (rc = status_rc < 0 ? store_bind_text(st, 4, as_error_msg())
                                : store_bind_null(st, 4)) < 0 ||
            (rc = store_step_done(st)) < 0) {
            store_finalize(st);
            return rc;
        }
        store_finalize(st);
    }
    return 0;
}

int eval_job_run(eval_job *j)
{
    static const sched_lane_ops model_ops = {model_next, model_attempt, model_done, model_tick};
    sched *s = NULL;
    size_t i;
    int rc;

    j->t0 = as_clock_ms();
    if ((rc = sched_new(&s)) < 0)
        return rc;
    for (i = 0; i < j->nruns; i++) {
        run_ctx *r = &j->runs[i];
        sched_limits lim = lane_limits(&r->model, r->concurrency);
        if ((rc = count_existing(j, r)) < 0 || (rc = sched_add_lane(s, r->p, &lim, &model_ops, r)) < 0)
            goto out;
        report(j, r, "model");
    }
    rc = sched_run(s, &j->cancel);
    sched_free(s);      /* hands back what was in flight first */
    s = NULL;
    {
        int frc = eval_flush(j, 1);     /* every answer received is kept */
        if (rc == 0)
            rc = frc;
    }
    if (rc == 0 && j->embed)
        rc = eval_embed_phase(j);
    if (rc == 0 && j->judge_mode)
        rc = eval_judge_phase(j);
    {
        char msg[512];
        int frc;
        snprintf(msg, sizeof(msg), "%s", as_error_msg());
        frc = finish_runs(j, rc);
        if (rc < 0)
            as_error_set(rc, "%s", msg);
        else
            rc = frc;
    }
out:
    sched_free(s);
    /* the runs have their final status: other jobs may take them now, even
     * while this job waits to be freed (a server reaps its jobs later) */
    for (i = 0; i < j->nruns; i++)
        if (j->runs[i].lock_fd >= 0) {
            close(j->runs[i].lock_fd);
            j->runs[i].lock_fd = -1;
        }
    return rc;
}
