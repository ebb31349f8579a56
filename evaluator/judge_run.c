/* The judge phase of a job (run_internal.h): after the models answered,
 * the suite's judge model rates every 'ok' item that has no rating yet
 * (single), or compares every pair of runs case by case in both orders
 * (pairwise). Queries pick only what is missing, so a resumed job judges
 * only what is left. Judge calls go through the scheduler like any other,
 * timed and costed. */
#include "evaluator/cost.h"
#include "evaluator/judge.h"
#include "evaluator/run_internal.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

typedef struct pair_ctx pair_ctx;

typedef struct judge_job {
    sched_job job;
    int64_t run_id;             /* the judged run (pairwise: run a) */
    char *case_id;
    int rep;
    json_t *messages;
    char *text;                 /* the messages flattened */
    pair_ctx *pair;             /* pairwise only */
    int order;                  /* pairwise: 0 = a shown as A, 1 = b shown as A */
} judge_job;

struct pair_ctx {
    int64_t run_a, run_b;
    char *case_id;
    int pending;                /* answers still to come */
    char verdict[2];            /* 'A', 'B', 'T', or 0 on error */
    char *error;
    double cost, latency;
};

typedef struct judge_src {
    eval_phase_src ph;              /* first: the scheduler's tick takes it */
    json_t *params;
    size_t run_i, pair_a, pair_b;   /* where the source is */
    judge_job *second;              /* pairwise: the second order, to hand out next */
    store_stmt *st_put, *st_pair;
} judge_src;

static void judge_job_free(judge_job *jj)
{
    if (jj == NULL)
        return;
    free(jj->case_id);
    json_decref(jj->messages);
    free(jj->text);
    free(jj);
}

static void pair_free(pair_ctx *p)
{
    if (p == NULL)
        return;
    free(p->case_id);
    free(p->error);
    free(p);
}

static char *join_messages(const json_t *m)
{
    const char *sys = json_string_value(json_object_get(json_array_get(m, 0), "content"));
    const char *usr = json_string_value(json_object_get(json_array_get(m, 1), "content"));
    char *out = NULL;

    if (asprintf(&out, "%s\n\n%s", sys ? sys : "", usr ? usr : "") < 0)
        return NULL;
    return out;
}

static judge_job *new_job(judge_src *src, int64_t run, const char *case_id, int rep, json_t *msgs)
{
    judge_job *jj = calloc(1, sizeof(*jj));

    if (jj == NULL || msgs == NULL) {
        free(jj);
        json_decref(msgs);
        return NULL;
    }
    jj->run_id = run;
    jj->rep = rep;
    jj->messages = msgs;
    jj->case_id = strdup(case_id);
    jj->text = join_messages(msgs);
    if (jj->case_id == NULL || jj->text == NULL) {
        judge_job_free(jj);
        return NULL;
    }
    jj->job.data = jj;
    jj->job.call.case_id = jj->case_id;
    jj->job.call.messages = jj->messages;
    jj->job.call.prompt = jj->text;
    jj->job.call.params = src->params;
    jj->job.call.vars = NULL;
    return jj;
}

/* Open the cursor for the next run (single) or pair of runs (pairwise);
 * 0 when there is none left. */
static int open_cursor(eval_phase_src *ph)
{
    judge_src *src = (judge_src *)ph;
    eval_job *j = src->ph.j;
    int rc;

    store_finalize(src->ph.cursor);
    src->ph.cursor = NULL;
    if (j->judge_mode == 1) {
        if (src->run_i >= j->nruns)
            return 0;
        if ((rc = store_prepare(&src->ph.cursor, j->db,
                 "SELECT i.case_id, i.rep, i.prompt_text, i.output, i.expected FROM items i "
                 "WHERE i.run_id = ?1 AND i.status = 'ok' AND NOT EXISTS (SELECT 1 FROM "
                 "judgments g WHERE g.run_id = i.run_id AND g.case_id = i.case_id AND "
                 "g.rep = i.rep AND g.judge_model = ?2 AND g.score IS NOT NULL) ORDER BY i.id")) < 0 ||
            (rc = store_bind_int(src->ph.cursor, 1, j->runs[src->run_i].id)) < 0 ||
            (rc = store_bind_text(src->ph.cursor, 2, j->judge_model.name)) < 0)
            return rc;
        src->run_i++;
        return 1;
    }
    for (;;) {
        if (src->pair_a >= j->nruns)
            return 0;
        if (src->pair_b <= src->pair_a)
            src->pair_b = src->pair_a + 1;
        if (src->pair_b >= j->nruns) {
            src->pair_a++;
            src->pair_b = 0;
            continue;
        }
        break;
    }
    if ((rc = store_prepare(&src->ph.cursor, j->db,
             "SELECT a.case_id, a.prompt_text, a.output, b.output, a.expected FROM items a "
             "JOIN items b ON b.run_id = ?2 AND b.case_id = a.case_id AND b.rep = 0 AND "
             "b.status = 'ok' WHERE a.run_id = ?1 AND a.rep = 0 AND a.status = 'ok' AND NOT "
             "EXISTS (SELECT 1 FROM pairwise p WHERE p.run_a = ?1 AND p.run_b = ?2 AND "
             "p.case_id = a.case_id AND p.judge_model = ?3 AND p.winner IS NOT NULL) "
             "ORDER BY a.id")) < 0 ||
        (rc = store_bind_int(src->ph.cursor, 1, j->runs[src->pair_a].id)) < 0 ||
        (rc = store_bind_int(src->ph.cursor, 2, j->runs[src->pair_b].id)) < 0 ||
        (rc = store_bind_text(src->ph.cursor, 3, j->judge_model.name)) < 0)
        return rc;
    src->pair_b++;
    return 1;
}

static int judge_next(void *arg, sched_job **out)
{
    judge_src *src = arg;
    eval_job *j = src->ph.j;
    int rc;

    if (src->second) {
        *out = &src->second->job;
        src->second = NULL;
        return SCHED_JOB;
    }
    if ((rc = eval_phase_row(&src->ph)) <= 0)
        return rc < 0 ? rc : SCHED_END;
    if (j->judge_mode == 1) {
        const char *ref = j->with_reference ? store_col_text(src->ph.cursor, 4) : NULL;
        judge_job *jj = new_job(src, j->runs[src->run_i - 1].id,
                                store_col_text(src->ph.cursor, 0),
                                (int)store_col_int(src->ph.cursor, 1),
                                judge_single_messages(j->rubric, store_col_text(src->ph.cursor, 2),
                                                      store_col_text(src->ph.cursor, 3), ref));
        if (jj == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        *out = &jj->job;
        return SCHED_JOB;
    } else {
        const char *cid = store_col_text(src->ph.cursor, 0);
        const char *q = store_col_text(src->ph.cursor, 1);
        const char *oa = store_col_text(src->ph.cursor, 2), *ob = store_col_text(src->ph.cursor, 3);
        const char *ref = j->with_reference ? store_col_text(src->ph.cursor, 4) : NULL;
        pair_ctx *p = calloc(1, sizeof(*p));
        judge_job *ab, *ba;
        if (p == NULL || (p->case_id = strdup(cid)) == NULL) {
            pair_free(p);
            return as_error_set(AS_ENOMEM, "out of memory");
        }
        p->run_a = j->runs[src->pair_a].id;
        p->run_b = j->runs[src->pair_b - 1].id;
        p->pending = 2;
        ab = new_job(src, p->run_a, cid, 0, judge_pair_messages(j->rubric, q, oa, ob, ref));
        ba = new_job(src, p->run_a, cid, 0, judge_pair_messages(j->rubric, q, ob, oa, ref));
        if (ab == NULL || ba == NULL) {
            judge_job_free(ab);
            judge_job_free(ba);
            pair_free(p);
            return as_error_set(AS_ENOMEM, "out of memory");
        }
        ab->pair = ba->pair = p;
        ab->order = 0;
        ba->order = 1;
        src->second = ba;
        *out = &ab->job;
        return SCHED_JOB;
    }
}

static int judge_attempt(void *arg, sched_job *job, int attempt, long status, const char *error,
                         double duration_ms)
{
    judge_src *src = arg;
    judge_job *jj = job->data;

    return eval_record_attempt(src->ph.j, jj->run_id, jj->case_id, jj->rep, "judge", attempt, status,
                               error, duration_ms);
}

static int put_single(judge_src *src, judge_job *jj, const prov_result *res)
{
    eval_job *j = src->ph.j;
    store_stmt *st = src->st_put;
    double score = 0;
    char *rationale = NULL, now[32], err[512] = "";
    int rc, ok = 0;

    if ((rc = eval_write_begin(j)) < 0)
        return rc;
    as_time_iso8601(now, sizeof(now));
    if (res->error)
        snprintf(err, sizeof(err), "judge call failed: %s", res->error_msg ? res->error_msg : "?");
    else if (judge_parse_single(res->output, &score, &rationale) < 0)
        snprintf(err, sizeof(err), "%s", as_error_msg());
    else
        ok = 1;
    if ((rc = store_bind_int(st, 1, jj->run_id)) < 0 || (rc = store_bind_text(st, 2, jj->case_id)) < 0 ||
        (rc = store_bind_int(st, 3, jj->rep)) < 0 ||
        (rc = store_bind_text(st, 4, j->judge_model.name)) < 0 ||
        (rc = ok ? store_bind_double(st, 5, score) : store_bind_null(st, 5)) < 0 ||
        (rc = rationale ? store_bind_text(st, 6, rationale) : store_bind_null(st, 6)) < 0 ||
        (rc = res->output ? store_bind_text(st, 7, res->output) : store_bind_null(st, 7)) < 0 ||
        (rc = ok ? store_bind_null(st, 8) : store_bind_text(st, 8, err)) < 0 ||
        (rc = store_bind_double(st, 9, res->latency_ms)) < 0 ||
        (rc = res->prompt_tokens >= 0 ? store_bind_int(st, 10, res->prompt_tokens) : store_bind_null(st, 10)) < 0 ||
        (rc = res->completion_tokens >= 0 ? store_bind_int(st, 11, res->completion_tokens) : store_bind_null(st, 11)) < 0 ||
        (rc = store_bind_double(st, 12, eval_token_cost(&j->judge_model, res->prompt_tokens,
                                                         res->completion_tokens))) < 0 ||
        (rc = store_bind_text(st, 13, now)) < 0)
        goto out;
    rc = store_step_done(st);
out:
    store_reset(st);
    free(rationale);
    return rc;
}

static int put_pair(judge_src *src, pair_ctx *p)
{
    eval_job *j = src->ph.j;
    store_stmt *st = src->st_pair;
    char now[32], ab[2] = {0, 0}, ba[2] = {0, 0}, win[2] = {0, 0};
    int rc, disagree = 0;

    if ((rc = eval_write_begin(j)) < 0)
        return rc;
    as_time_iso8601(now, sizeof(now));
    if (p->error == NULL) {
        char w = judge_combine(p->verdict[0], p->verdict[1], &disagree);
        win[0] = w;
        if (w == 't')
            memcpy(win, "t", 2);
    }
    ab[0] = p->verdict[0] == 'T' ? 't' : p->verdict[0] == 'A' ? 'a' : p->verdict[0] == 'B' ? 'b' : 0;
    /* in the second order b was shown as A */
    ba[0] = p->verdict[1] == 'T' ? 't' : p->verdict[1] == 'A' ? 'b' : p->verdict[1] == 'B' ? 'a' : 0;
    if ((rc = store_bind_int(st, 1, p->run_a)) < 0 || (rc = store_bind_int(st, 2, p->run_b)) < 0 ||
        (rc = store_bind_text(st, 3, p->case_id)) < 0 ||
        (rc = store_bind_text(st, 4, j->judge_model.name)) < 0 ||
        (rc = ab[0] ? store_bind_text(st, 5, ab[0] == 't' ? "tie" : ab) : store_bind_null(st, 5)) < 0 ||
        (rc = ba[0] ? store_bind_text(st, 6, ba[0] == 't' ? "tie" : ba) : store_bind_null(st, 6)) < 0 ||
        (rc = win[0] ? store_bind_text(st, 7, win[0] == 't' ? "tie" : win) : store_bind_null(st, 7)) < 0 ||
        (rc = store_bind_int(st, 8, disagree)) < 0 ||
        (rc = p->error ? store_bind_text(st, 9, p->error) : store_bind_null(st, 9)) < 0 ||
        (rc = store_bind_double(st, 10, p->cost)) < 0 ||
        (rc = store_bind_double(st, 11, p->latency)) < 0 || (rc = store_bind_text(st, 12, now)) < 0)
        goto out;
    rc = store_step_done(st);
out:
    store_reset(st);
    return rc;
}

static int judge_done(void *arg, sched_job *job, prov_result *res, int attempts)
{
    judge_src *src = arg;
    judge_job *jj = job->data;
    pair_ctx *p = jj->pair;
    int rc = 0;

    (void)attempts;
    if (res->error == AS_ECANCELED) {
        if (p && --p->pending == 0)
            pair_free(p);
        judge_job_free(jj);
        return 0;
    }
    if (p == NULL) {
        rc = put_single(src, jj, res);
    } else {
        char w = 0, *rationale = NULL;
        if (res->error) {
            if (p->error == NULL && asprintf(&p->error, "judge call failed: %s",
                                             res->error_msg ? res->error_msg : "?") < 0)
                p->error = NULL;
        } else if (judge_parse_pair(res->output, &w, &rationale) < 0) {
            if (p->error == NULL)
                p->error = strdup(as_error_msg());
        }
        free(rationale);
        p->verdict[jj->order] = w;
        p->cost += eval_token_cost(&src->ph.j->judge_model, res->prompt_tokens, res->completion_tokens);
        p->latency += res->latency_ms > 0 ? res->latency_ms : 0;
        if (--p->pending == 0) {
            rc = put_pair(src, p);
            pair_free(p);
        }
    }
    judge_job_free(jj);
    return rc < 0 ? rc : eval_flush(src->ph.j, 0);
}

int eval_judge_phase(eval_job *j)
{
    static const sched_lane_ops ops = {judge_next, judge_attempt, judge_done,
                                      eval_phase_tick};
    judge_src src;
    int rc;

    memset(&src, 0, sizeof(src));
    src.ph.j = j;
    src.ph.open = open_cursor;
    src.params = json_pack("{s:f}", "temperature", 0.0);
    if (src.params == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = store_prepare(&src.st_put, j->db,
             "INSERT INTO judgments (run_id, case_id, rep, judge_model, score, rationale, raw, "
             "error, latency_ms, prompt_tokens, completion_tokens, cost_usd, created_at) VALUES "
             "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT (run_id, "
             "case_id, rep, judge_model) DO UPDATE SET score = excluded.score, rationale = "
             "excluded.rationale, raw = excluded.raw, error = excluded.error, latency_ms = "
             "excluded.latency_ms, prompt_tokens = excluded.prompt_tokens, completion_tokens = "
             "excluded.completion_tokens, cost_usd = excluded.cost_usd, created_at = "
             "excluded.created_at")) < 0 ||
        (rc = store_prepare(&src.st_pair, j->db,
             "INSERT INTO pairwise (run_a, run_b, case_id, judge_model, verdict_ab, verdict_ba, "
             "winner, disagree, error, cost_usd, latency_ms, created_at) VALUES (?1, ?2, ?3, "
             "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (run_a, run_b, case_id, "
             "judge_model) DO UPDATE SET verdict_ab = excluded.verdict_ab, verdict_ba = "
             "excluded.verdict_ba, winner = excluded.winner, disagree = excluded.disagree, "
             "error = excluded.error, cost_usd = excluded.cost_usd, latency_ms = "
             "excluded.latency_ms, created_at = excluded.created_at")) < 0)
        goto out;
    rc = eval_phase_run(j, j->judge, &j->judge_model, &ops, &src);
out:
    if (src.second) {
        pair_ctx *p = src.second->pair;
        judge_job_free(src.second);
        if (p && --p->pending == 0)
            pair_free(p);
    }
    store_finalize(src.ph.cursor);
    store_finalize(src.st_put);
    store_finalize(src.st_pair);
    json_decref(src.params);
    return rc;
}
