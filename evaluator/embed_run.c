/* The embedding phase of a job (run_internal.h): after the models
 * answered, the suite's cosine_embedding model embeds the output and the
 * expected answer of every 'ok' item that has no such score yet, in one
 * call per item; the score is their cosine similarity (metrics/cosine.h:
 * scikit-learn's cosine_similarity, in [-1, 1]). It is written into the
 * item's scores, so summaries, thresholds and rankings take it like any
 * other metric, and the call (or its error, tokens and cost) into the
 * embeddings table. An empty output or answer has no embedding: it scores
 * 0, as a zero vector does, without a call. The query picks only what is
 * missing, so a resumed job embeds only what is left. */
#include "evaluator/cost.h"
#include "evaluator/run_internal.h"
#include "metrics/cosine.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

#define EMBED_METRIC "cosine_embedding"

typedef struct embed_job {
    sched_job job;
    int64_t run_id;
    char *case_id;
    int rep;
    char *texts[2];             /* the output, the expected answer */
    char *joined;               /* both, for token estimates */
} embed_job;

typedef struct embed_src {
    eval_job *j;
    json_t *params;
    store_stmt *cursor;
    size_t run_i;
    int ended;
    store_stmt *st_put, *st_scores_get, *st_scores_put;
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

static embed_job *new_job(embed_src *src, int64_t run, const char *case_id, int rep,
                          const char *output, const char *expected)
{
    embed_job *ej = calloc(1, sizeof(*ej));

    if (ej == NULL)
        return NULL;
    ej->run_id = run;
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
    return ej;
}

/* The item's embeddings row: its score or its error ('score' NULL), and
 * the call's figures ('res' NULL: no call was needed). */
static int put_row(embed_src *src, embed_job *ej, const double *score, const char *err,
                   const prov_result *res)
{
    eval_job *j = src->j;
    store_stmt *st = src->st_put;
    int64_t tokens = res ? res->prompt_tokens : -1;
    char now[32];
    int rc;

    as_time_iso8601(now, sizeof(now));
    if ((rc = store_bind_int(st, 1, ej->run_id)) < 0 || (rc = store_bind_text(st, 2, ej->case_id)) < 0 ||
        (rc = store_bind_int(st, 3, ej->rep)) < 0 ||
        (rc = store_bind_text(st, 4, j->embed_model.name)) < 0 ||
        (rc = score ? store_bind_double(st, 5, *score) : store_bind_null(st, 5)) < 0 ||
        (rc = res && res->dim ? store_bind_int(st, 6, (int64_t)res->dim) : store_bind_null(st, 6)) < 0 ||
        (rc = err ? store_bind_text(st, 7, err) : store_bind_null(st, 7)) < 0 ||
        (rc = res ? store_bind_double(st, 8, res->latency_ms) : store_bind_null(st, 8)) < 0 ||
        (rc = tokens >= 0 ? store_bind_int(st, 9, tokens) : store_bind_null(st, 9)) < 0 ||
        (rc = store_bind_double(st, 10, res ? eval_token_cost(&j->embed_model, tokens, 0) : 0)) < 0 ||
        (rc = store_bind_text(st, 11, now)) < 0)
        goto out;
    rc = store_step_done(st);
out:
    store_reset(st);
    return rc;
}

/* Record an item's score: into its scores object and its embeddings row. */
static int put_score(embed_src *src, embed_job *ej, double score, const prov_result *res)
{
    json_t *scores = NULL;
    char *text = NULL;
    int rc;

    if ((rc = eval_write_begin(src->j)) < 0)
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
    json_object_set_new(scores, EMBED_METRIC, json_real(score));
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
    rc = put_row(src, ej, &score, NULL, res);
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
    char err[600];
    int rc;

    if ((rc = eval_write_begin(src->j)) < 0)
        return rc;
    snprintf(err, sizeof(err), "embedding call failed: %s", res->error_msg ? res->error_msg : "?");
    return put_row(src, ej, NULL, err, res);
}

static int open_cursor(embed_src *src)
{
    eval_job *j = src->j;
    int rc;

    store_finalize(src->cursor);
    src->cursor = NULL;
    if (src->run_i >= j->nruns)
        return 0;
    if ((rc = store_prepare(&src->cursor, j->db,
             "SELECT case_id, rep, coalesce(output, ''), expected FROM items WHERE run_id = ?1 "
             "AND status = 'ok' AND expected IS NOT NULL AND json_type(coalesce(scores, '{}'), "
             "'$." EMBED_METRIC "') IS NULL ORDER BY id")) < 0 ||
        (rc = store_bind_int(src->cursor, 1, j->runs[src->run_i].id)) < 0)
        return rc;
    src->run_i++;
    return 1;
}

static int embed_next(void *arg, sched_job **out)
{
    embed_src *src = arg;
    eval_job *j = src->j;
    int rc;

    for (;;) {
        embed_job *ej;
        const char *output, *expected;
        if (src->ended)
            return SCHED_END;
        if (src->cursor == NULL) {
            if ((rc = open_cursor(src)) < 0)
                return rc;
            if (rc == 0) {
                src->ended = 1;
                continue;
            }
        }
        if ((rc = store_step(src->cursor)) < 0)
            return rc;
        if (rc == STORE_DONE) {
            store_finalize(src->cursor);
            src->cursor = NULL;
            continue;
        }
        output = store_col_text(src->cursor, 2);
        expected = store_col_text(src->cursor, 3);
        ej = new_job(src, j->runs[src->run_i - 1].id, store_col_text(src->cursor, 0),
                     (int)store_col_int(src->cursor, 1), output, expected);
        if (ej == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        if (output[0] == '\0' || expected[0] == '\0') {
            rc = put_score(src, ej, 0.0, NULL);
            embed_job_free(ej);
            if (rc < 0 || (rc = eval_flush(j, 0)) < 0)
                return rc;
            continue;
        }
        *out = &ej->job;
        return SCHED_JOB;
    }
}

static int embed_attempt(void *arg, sched_job *job, int attempt, long status, const char *error,
                         double duration_ms)
{
    embed_src *src = arg;
    embed_job *ej = job->data;

    return eval_record_attempt(src->j, ej->run_id, ej->case_id, ej->rep, "embedding", attempt,
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
                          src->j->embed_model.name);
    else
        rc = put_score(src, ej, met_cosine(res->vectors, res->vectors + res->dim, res->dim), res);
    embed_job_free(ej);
    return rc < 0 ? rc : eval_flush(src->j, 0);
}

static int embed_tick(void *arg)
{
    return eval_flush(((embed_src *)arg)->j, 0);
}

int eval_embed_phase(eval_job *j)
{
    static const sched_lane_ops ops = {embed_next, embed_attempt, embed_done, embed_tick};
    embed_src src;
    int rc;

    memset(&src, 0, sizeof(src));
    src.j = j;
    if ((src.params = json_object()) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = store_prepare(&src.st_put, j->db,
             "INSERT INTO embeddings (run_id, case_id, rep, embed_model, score, dim, error, "
             "latency_ms, prompt_tokens, cost_usd, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
             "?7, ?8, ?9, ?10, ?11) ON CONFLICT (run_id, case_id, rep) DO UPDATE SET "
             "embed_model = excluded.embed_model, score = excluded.score, dim = excluded.dim, "
             "error = excluded.error, latency_ms = excluded.latency_ms, prompt_tokens = "
             "excluded.prompt_tokens, cost_usd = excluded.cost_usd, created_at = "
             "excluded.created_at")) < 0 ||
        (rc = store_prepare(&src.st_scores_get, j->db,
             "SELECT scores FROM items WHERE run_id = ?1 AND case_id = ?2 AND rep = ?3")) < 0 ||
        (rc = store_prepare(&src.st_scores_put, j->db,
             "UPDATE items SET scores = ?1 WHERE run_id = ?2 AND case_id = ?3 AND rep = ?4")) < 0)
        goto out;
    rc = eval_phase_run(j, j->embedder, &j->embed_model, &ops, &src);
out:
    store_finalize(src.cursor);
    store_finalize(src.st_put);
    store_finalize(src.st_scores_get);
    store_finalize(src.st_scores_put);
    json_decref(src.params);
    return rc;
}
