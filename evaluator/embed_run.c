/* The embedding phase of a job (run_internal.h): after the models
 * answered, the suite's cosine_embedding model embeds the output and the
 * expected answer of every 'ok' item that has no such score yet, in one
 * call per item; the score is their cosine similarity (metrics/cosine.h:
 * scikit-learn's cosine_similarity, in [-1, 1]). It is written into the
 * item's scores, so summaries, thresholds and rankings take it like any
 * other metric, and the call (or its error, tokens and cost) into the
 * embeddings table. An empty output or answer has no embedding: it scores
 * 0, as a zero vector does, without a call. The query picks only what is
 * missing, so a resumed job embeds only what is left. Scores are cached
 * by provider, settings and the two texts (unless the run has --no-cache):
 * a cached score costs nothing and makes no call. */
#include "evaluator/cost.h"
#include "evaluator/run_internal.h"
#include "metrics/cosine.h"
#include "metrics/registry.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

typedef struct embed_job {
    sched_job job;
    int64_t run_id;
    int use_cache;              /* the run reads and writes the cache */
    char *case_id;
    int rep;
    char *texts[2];             /* the output, the expected answer */
    char *joined;               /* both, for token estimates */
    char cache_key[2 * AS_SHA256_LEN + 1];
} embed_job;

/* What an embeddings row records of the call (or of the cached score). */
typedef struct embed_fig {
    size_t dim;                 /* 0: unknown */
    double latency_ms;          /* < 0: no call */
    int64_t tokens;             /* < 0: unknown */
    double cost_usd;
    int cached;
} embed_fig;

typedef struct embed_src {
    eval_phase_src ph;          /* first: the scheduler's tick takes it */
    json_t *params;
    size_t run_i;
    store_stmt *st_put, *st_scores_get, *st_scores_put, *st_cache_get, *st_cache_put;
} embed_src;

static void embed_job_free(embed_job *ej)
{
    if (ej == NULL)
        return;
    free(ej->case_id);
    free(ej->texts[0]);
    free(ej->texts[1]);
    free(ej->joined);
    free(ej);
}

/* The cache key: the embedding model's provider and settings and the two
 * texts. A job whose key cannot be made (no memory) does without the
 * cache. */
static void cache_key(embed_job *ej, const eval_model *m)
{
    json_t *k = json_pack("{s:s,s:O,s:s,s:s}", "provider", m->provider, "settings", m->settings,
                          "output", ej->texts[0], "expected", ej->texts[1]);
    char *text = k ? json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    unsigned char h[AS_SHA256_LEN];

    if (text == NULL) {
        ej->use_cache = 0;
    } else {
        as_sha256_once(text, strlen(text), h);
        as_hex(h, sizeof(h), ej->cache_key);
    }
    free(text);
    json_decref(k);
}

static embed_job *new_job(embed_src *src, const run_ctx *r, const char *case_id, int rep,
                          const char *output, const char *expected)
{
    embed_job *ej = calloc(1, sizeof(*ej));

    if (ej == NULL)
        return NULL;
    ej->run_id = r->id;
    ej->use_cache = r->use_cache;
    ej->rep = rep;
    ej->case_id = strdup(case_id);
    ej->texts[0] = strdup(output);
    ej->texts[1] = strdup(expected);
    if (ej->case_id == NULL || ej->texts[0] == NULL || ej->texts[1] == NULL ||
        asprintf(&ej->joined, "%s\n%s", output, expected) < 0) {
        ej->joined = NULL;
        embed_job_free(ej);
        return NULL;
    }
    ej->job.data = ej;
    ej->job.call.case_id = ej->case_id;
    ej->job.call.prompt = ej->joined;
    ej->job.call.params = src->params;
    ej->job.call.embed_inputs = (const char *const *)ej->texts;
    ej->job.call.nembed = 2;
    cache_key(ej, &src->ph.j->embed_model);
    return ej;
}

/* The item's embeddings row: its score or its error ('score' NULL). */
static int put_row(embed_src *src, embed_job *ej, const double *score, const char *err,
                   const embed_fig *f)
{
    eval_job *j = src->ph.j;
    store_stmt *st = src->st_put;
    char now[32];
    int rc;

    as_time_iso8601(now, sizeof(now));
    if ((rc = store_bind_int(st, 1, ej->run_id)) < 0 || (rc = store_bind_text(st, 2, ej->case_id)) < 0 ||
        (rc = store_bind_int(st, 3, ej->rep)) < 0 ||
        (rc = store_bind_text(st, 4, j->embed_model.name)) < 0 ||
        (rc = score ? store_bind_double(st, 5, *score) : store_bind_null(st, 5)) < 0 ||
        (rc = f->dim ? store_bind_int(st, 6, (int64_t)f->dim) : store_bind_null(st, 6)) < 0 ||
        (rc = err ? store_bind_text(st, 7, err) : store_bind_null(st, 7)) < 0 ||
        (rc = f->latency_ms >= 0 ? store_bind_double(st, 8, f->latency_ms) : store_bind_null(st, 8)) < 0 ||
        (rc = f->tokens >= 0 ? store_bind_int(st, 9, f->tokens) : store_bind_null(st, 9)) < 0 ||
        (rc = store_bind_double(st, 10, f->cost_usd)) < 0 ||
        (rc = store_bind_int(st, 11, f->cached)) < 0 || (rc = store_bind_text(st, 12, now)) < 0)
        goto out;
    rc = store_step_done(st);
out:
    store_reset(st);
    return rc;
}

/* The figures of a call's answer. */
static embed_fig call_fig(const eval_job *j, const prov_result *res)
{
    embed_fig f;

    f.dim = res->dim;
    f.latency_ms = res->latency_ms;
    f.tokens = res->prompt_tokens;
    f.cost_usd = eval_token_cost(&j->embed_model, res->prompt_tokens, 0);
    f.cached = 0;
    return f;
}

/* Record an item's score: into its scores object and its embeddings row. */
static int put_score(embed_src *src, embed_job *ej, double score, const embed_fig *f)
{
    json_t *scores = NULL;
    char *text = NULL;
    int rc;

    if ((rc = eval_write_begin(src->ph.j)) < 0)
        return rc;
    if ((rc = store_bind_int(src->st_scores_get, 1, ej->run_id)) < 0 ||
        (rc = store_bind_text(src->st_scores_get, 2, ej->case_id)) < 0 ||
        (rc = store_bind_int(src->st_scores_get, 3, ej->rep)) < 0 ||
        (rc = store_step(src->st_scores_get)) < 0)
        goto out;
    if (rc == STORE_ROW && store_col_text(src->st_scores_get, 0)) {
        const char *t = store_col_text(src->st_scores_get, 0);
        if ((rc = as_json_parse(&scores, t, strlen(t), "item scores")) < 0)
            goto out;
    }
    if (scores == NULL && (scores = json_object()) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    json_object_set_new(scores, MET_COSINE_EMBEDDING, json_real(score));
    if ((text = as_json_dump(scores)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = store_bind_text(src->st_scores_put, 1, text)) < 0 ||
        (rc = store_bind_int(src->st_scores_put, 2, ej->run_id)) < 0 ||
        (rc = store_bind_text(src->st_scores_put, 3, ej->case_id)) < 0 ||
        (rc = store_bind_int(src->st_scores_put, 4, ej->rep)) < 0 ||
        (rc = store_step_done(src->st_scores_put)) < 0)
        goto out;
    rc = put_row(src, ej, &score, NULL, f);
out:
    store_reset(src->st_scores_get);
    store_reset(src->st_scores_put);
    json_decref(scores);
    free(text);
    return rc;
}

/* Record a failed call: the error in the embeddings row, no score. */
static int put_error(embed_src *src, embed_job *ej, const prov_result *res)
{
    embed_fig f = call_fig(src->ph.j, res);
    char err[600];
    int rc;

    if ((rc = eval_write_begin(src->ph.j)) < 0)
        return rc;
    snprintf(err, sizeof(err), "embedding call failed: %s", res->error_msg ? res->error_msg : "?");
    return put_row(src, ej, NULL, err, &f);
}

/* A score the cache has for this job: 1 when recorded from it, else 0. */
static int from_cache(embed_src *src, embed_job *ej)
{
    store_stmt *st = src->st_cache_get;
    embed_fig f = {0, -1, -1, 0, 1};
    double score;
    int rc;

    if (!ej->use_cache)
        return 0;
    if ((rc = store_bind_text(st, 1, ej->cache_key)) < 0 || (rc = store_step(st)) < 0 ||
        rc != STORE_ROW) {
        store_reset(st);
        return rc < 0 ? rc : 0;
    }
    score = store_col_double(st, 0);
    if (store_col_type(st, 1) != STORE_NULL)
        f.dim = (size_t)store_col_int(st, 1);
    if (store_col_type(st, 2) != STORE_NULL)
        f.tokens = store_col_int(st, 2);
    store_reset(st);
    if ((rc = put_score(src, ej, score, &f)) < 0)
        return rc;
    return 1;
}

static int to_cache(embed_src *src, embed_job *ej, double score, const prov_result *res)
{
    store_stmt *st = src->st_cache_put;
    char now[32];
    int rc;

    if (!ej->use_cache)
        return 0;
    as_time_iso8601(now, sizeof(now));
    if ((rc = store_bind_text(st, 1, ej->cache_key)) == 0 &&
        (rc = store_bind_double(st, 2, score)) == 0 &&
        (rc = store_bind_int(st, 3, (int64_t)res->dim)) == 0 &&
        (rc = res->prompt_tokens >= 0 ? store_bind_int(st, 4, res->prompt_tokens)
                                      : store_bind_null(st, 4)) == 0 &&
        (rc = store_bind_text(st, 5, now)) == 0)
        rc = store_step_done(st);
    store_reset(st);
    return rc;
}

/* The items of the next run that have no score yet. */
static int open_cursor(eval_phase_src *ph)
{
    embed_src *src = (embed_src *)ph;
    eval_job *j = src->ph.j;
    int rc;

    store_finalize(src->ph.cursor);
    src->ph.cursor = NULL;
    if (src->run_i >= j->nruns)
        return 0;
    if ((rc = store_prepare(&src->ph.cursor, j->db,
             "SELECT case_id, rep, coalesce(output, ''), expected FROM items WHERE run_id = ?1 "
             "AND status = 'ok' AND expected IS NOT NULL AND json_type(coalesce(scores, '{}'), "
             "'$." MET_COSINE_EMBEDDING "') IS NULL ORDER BY id")) < 0 ||
        (rc = store_bind_int(src->ph.cursor, 1, j->runs[src->run_i].id)) < 0)
        return rc;
    src->run_i++;
    return 1;
}

static int embed_next(void *arg, sched_job **out)
{
    embed_src *src = arg;
    eval_job *j = src->ph.j;
    int rc;

    for (;;) {
        embed_job *ej;
        const char *output, *expected;
        if ((rc = eval_phase_row(&src->ph)) <= 0)
            return rc < 0 ? rc : SCHED_END;
        output = store_col_text(src->ph.cursor, 2);
        expected = store_col_text(src->ph.cursor, 3);
        ej = new_job(src, &j->runs[src->run_i - 1], store_col_text(src->ph.cursor, 0),
                     (int)store_col_int(src->ph.cursor, 1), output, expected);
        if (ej == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        if (output[0] == '\0' || expected[0] == '\0') {
            embed_fig none = {0, -1, -1, 0, 0};
            rc = put_score(src, ej, 0.0, &none);
        } else if ((rc = from_cache(src, ej)) == 0) {
            *out = &ej->job;
            return SCHED_JOB;
        }
        embed_job_free(ej);
        if (rc < 0 || (rc = eval_flush(j, 0)) < 0)
            return rc;
    }
}

static int embed_attempt(void *arg, sched_job *job, int attempt, long status, const char *error,
                         double duration_ms)
{
    embed_src *src = arg;
    embed_job *ej = job->data;

    return eval_record_attempt(src->ph.j, ej->run_id, ej->case_id, ej->rep, "embedding", attempt,
                               status, error, duration_ms);
}

static int embed_done(void *arg, sched_job *job, prov_result *res, int attempts)
{
    embed_src *src = arg;
    embed_job *ej = job->data;
    int rc = 0;

    (void)attempts;
    if (res->error == AS_ECANCELED) {
        embed_job_free(ej);
        return 0;
    }
    if (res->error)
        rc = put_error(src, ej, res);
    else if (res->nvectors != 2 || res->dim == 0 || res->vectors == NULL)
        rc = as_error_set(AS_ERROR, "model %s: an embedding call gave no vectors",
                          src->ph.j->embed_model.name);
    else {
        double score = met_cosine(res->vectors, res->vectors + res->dim, res->dim);
        embed_fig f = call_fig(src->ph.j, res);
        if ((rc = put_score(src, ej, score, &f)) == 0)
            rc = to_cache(src, ej, score, res);
    }
    embed_job_free(ej);
    return rc < 0 ? rc : eval_flush(src->ph.j, 0);
}

int eval_embed_phase(eval_job *j)
{
    static const sched_lane_ops ops = {embed_next, embed_attempt, embed_done,
                                      eval_phase_tick};
    embed_src src;
    int rc;

    memset(&src, 0, sizeof(src));
    src.ph.j = j;
    src.ph.open = open_cursor;
    if ((src.params = json_object()) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = store_prepare(&src.st_put, j->db,
             "INSERT INTO embeddings (run_id, case_id, rep, embed_model, score, dim, error, "
             "latency_ms, prompt_tokens, cost_usd, cached, created_at) VALUES (?1, ?2, ?3, ?4, "
             "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (run_id, case_id, rep) DO UPDATE "
             "SET embed_model = excluded.embed_model, score = excluded.score, dim = "
             "excluded.dim, error = excluded.error, latency_ms = excluded.latency_ms, "
             "prompt_tokens = excluded.prompt_tokens, cost_usd = excluded.cost_usd, cached = "
             "excluded.cached, created_at = excluded.created_at")) < 0 ||
        (rc = store_prepare(&src.st_cache_get, j->db,
             "SELECT score, dim, prompt_tokens FROM embedding_cache WHERE key = ?1")) < 0 ||
        (rc = store_prepare(&src.st_cache_put, j->db,
             "INSERT OR REPLACE INTO embedding_cache (key, score, dim, prompt_tokens, "
             "created_at) VALUES (?1, ?2, ?3, ?4, ?5)")) < 0 ||
        (rc = store_prepare(&src.st_scores_get, j->db,
             "SELECT scores FROM items WHERE run_id = ?1 AND case_id = ?2 AND rep = ?3")) < 0 ||
        (rc = store_prepare(&src.st_scores_put, j->db,
             "UPDATE items SET scores = ?1 WHERE run_id = ?2 AND case_id = ?3 AND rep = ?4")) < 0)
        goto out;
    rc = eval_phase_run(j, j->embedder, &j->embed_model, &ops, &src);
out:
    store_finalize(src.ph.cursor);
    store_finalize(src.st_put);
    store_finalize(src.st_scores_get);
    store_finalize(src.st_scores_put);
    store_finalize(src.st_cache_get);
    store_finalize(src.st_cache_put);
    json_decref(src.params);
    return rc;
}
