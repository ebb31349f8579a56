/* Run routes: start runs of a suite in the background (202 with the run
 * ids at once), cancel them, read summaries and items, compare and diff
 * runs, and the leaderboard of a suite under a ranking policy. */
#include "web/http.h"

#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "catalog/catalog.h"
#include "evaluator/eval.h"
#include "evaluator/rank.h"
#include "evaluator/runs.h"
#include "web/summaries.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODELS 32

/* POST /runs {"suite", "models"?: [...], "prompt"?: "NAME@REF", "limit"?,
 * "repeat"?, "no_cache"?}: eval_prepare checks everything and creates the
 * runs here (no model is called), then the work goes to a background
 * thread. "prompt" is another version of a prompt run in place of the
 * suite's own (as `assay eval --prompt REF`; the CI gate's baseline). */
static void job_run(void *arg)
{
    eval_job *job = arg;
    int rc = eval_job_run(job);

    if (rc < 0 && rc != AS_ECANCELED)
        as_log_warn("web: run failed: %s", as_error_msg());
}

static void job_cancel(void *arg) { eval_job_cancel(arg); }
static void job_free(void *arg) { eval_job_free(arg); }

static int runs_start(web_req *r, json_t **out)
{
    const char *models[MAX_MODELS];
    json_t *body, *list = NULL, *m, *ids;
    const char *suite, *prompt = NULL;
    cat_ref pref;
    eval_opts o;
    eval_job *job = NULL;
    const int64_t *run_ids;
    int64_t limit = 0, repeat = 0;
    size_t i, n = 0;
    int no_cache = 0, rc;

    if ((rc = web_body_object(r, &body)) < 0 || (rc = as_json_get_str(body, "suite", 1, &suite)) < 0)
        return rc;
    if (((rc = as_json_get_array(body, "models", 0, &list)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_int(body, "limit", 0, &limit)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_int(body, "repeat", 0, &repeat)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_bool(body, "no_cache", 0, &no_cache)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_str(body, "prompt", 0, &prompt)) < 0 && rc != AS_ENOTFOUND))
        return rc;
    if (prompt && strlen(prompt) > 2 * CAT_NAME_MAX)
        return as_error_set(AS_EINVAL, "prompt: a reference of at most %d bytes", 2 * CAT_NAME_MAX);
    if (prompt && cat_ref_parse(&pref, prompt) < 0)
        return as_error_wrap(AS_EINVAL, "prompt");
    if (limit < 0 || limit > 10000000 || repeat < 0 || repeat > 100)
        return as_error_set(AS_EINVAL, "limit or repeat out of range");
    if (list) {
        if (json_array_size(list) > MAX_MODELS)
            return as_error_set(AS_ETOOBIG, "models: at most %d", MAX_MODELS);
        json_array_foreach(list, i, m) {
            if (!json_is_string(m))
                return as_error_set(AS_EINVAL, "models[%zu]: expected a model name", i);
            models[n++] = json_string_value(m);
        }
    }
    /* Checked before the runs are made, so a busy server makes none. */
    if (!web_jobs_room(r->ctx))
        return as_error_set(AS_EBUSY, "too many runs in progress; try again when one ends");
    memset(&o, 0, sizeof o);
    o.data_dir = web_ctx_data_dir(r->ctx);
    o.suite = suite;
    o.prompt = prompt;
    o.models = n ? models : NULL;
    o.nmodels = n;
    o.limit = (long)limit;
    o.repeat = (int)repeat;
    o.no_cache = no_cache;
    if ((rc = eval_prepare(&job, &o)) < 0) {
        /* A model's secret missing from the server's environment is the
         * server's problem, not the caller's credentials: not a 401. */
        if (rc == AS_EAUTH)
            rc = as_error_wrap(AS_EINVAL, "cannot start the run");
        return rc;
    }
    run_ids = eval_job_runs(job, &n);
    ids = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(ids, json_integer(run_ids[i]));
    if ((rc = web_jobs_start(r->ctx, run_ids, n, job_run, job_cancel, job_free, job)) < 0) {
        json_decref(ids);
        return rc;
    }
    r->status = 202;
    *out = json_pack("{s:o}", "runs", ids);
    return 0;
}

static int runs_cancel(web_req *r, json_t **out)
{
    int64_t id = 0;
    int rc;

    if ((rc = web_parse_id("run", r->params[0], &id)) < 0 || (rc = web_jobs_cancel(r->ctx, id)) < 0)
        return rc;
    r->status = 202;
    *out = json_pack("{s:I,s:s}", "run", (json_int_t)id, "status", "canceling");
    return 0;
}

/* Summaries carry whether this server is still working on the run. */
static void mark_running(web_req *r, json_t *summary)
{
    json_int_t id = json_integer_value(json_object_get(summary, "id"));

    json_object_set_new(summary, "in_progress", json_boolean(web_jobs_running(r->ctx, id)));
}

/* GET /runs?suite=&model=&status=&offset=&limit= */
static int runs_list(web_req *r, json_t **out)
{
    char suite[256], model[256], status[32];
    int64_t offset, limit;
    json_t *list, *v;
    size_t i;
    int rc;

    if ((rc = web_query_page(r, &offset, &limit)) < 0)
        return rc;
    if (!web_query_str(r, "suite", suite, sizeof suite))
        suite[0] = '\0';
    if (!web_query_str(r, "model", model, sizeof model))
        model[0] = '\0';
    if (!web_query_str(r, "status", status, sizeof status))
        status[0] = '\0';
    if ((rc = web_summaries_list(&list, web_ctx_summaries(r->ctx), r->db, suite[0] ? suite : NULL,
                                 model[0] ? model : NULL, status[0] ? status : NULL, offset,
                                 limit)) < 0)
        return rc;
    json_array_foreach(list, i, v)
        mark_running(r, v);
    *out = json_pack("{s:o,s:I,s:I}", "runs", list, "offset", (json_int_t)offset, "limit",
                     (json_int_t)limit);
    return 0;
}

static int runs_get(web_req *r, json_t **out)
{
    int64_t id = 0;
    int rc;

    if ((rc = web_parse_id("run", r->params[0], &id)) < 0 ||
        (rc = web_summary(out, web_ctx_summaries(r->ctx), r->db, id)) < 0)
        return rc;
    mark_running(r, *out);
    return 0;
}

/* The value used to sort and filter an item: its primary metric, or 0
 * for a failed item; NaN when it has none. */
static double primary_of(const json_t *item, const char *metric)
{
    json_t *v = json_object_get(json_object_get(item, "scores"), metric);

    if (json_is_number(v))
        return json_number_value(v);
    if (strcmp(json_string_value(json_object_get(item, "status")) ?: "", "failed") == 0)
        return 0;
    return NAN;
}

static double judge_of(const json_t *item)
{
    json_t *s = json_object_get(item, "judge_score");

    return json_is_number(s) ? json_number_value(s) : NAN;
}

/* Filters of the run page: failures, lowest (by the primary metric) and
 * disagreements (the judge's 1-10 score and the primary metric more than
 * half the scale apart). */
enum { F_NONE, F_FAILURES, F_LOWEST, F_DISAGREE };

static int parse_filter(web_req *r, int *filter)
{
    char f[32];

    *filter = F_NONE;
    if (!web_query_str(r, "filter", f, sizeof f) || f[0] == '\0' || strcmp(f, "all") == 0)
        return 0;
    if (strcmp(f, "failures") == 0)
        *filter = F_FAILURES;
    else if (strcmp(f, "lowest") == 0)
        *filter = F_LOWEST;
    else if (strcmp(f, "disagreements") == 0)
        *filter = F_DISAGREE;
    else
        return as_error_set(AS_EINVAL, "filter '%s': use failures, lowest or disagreements", f);
    return 0;
}

static const char *metric_sort_name;

static int cmp_lowest(const void *a, const void *b)
{
    double x = primary_of(*(json_t *const *)a, metric_sort_name);
    double y = primary_of(*(json_t *const *)b, metric_sort_name);

    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return (x > y) - (x < y);
}

static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

/* Keep the items of 'all' that pass 'filter' (sorted for F_LOWEST), then
 * the page [offset, offset + limit): a new array. */
static json_t *filter_items(json_t *all, int filter, const char *metric, int64_t offset,
                            int64_t limit, int64_t *matched)
{
    json_t **keep, *page = json_array(), *v;
    size_t i, n = 0;

    *matched = 0;
    if ((keep = malloc((json_array_size(all) + 1) * sizeof *keep)) == NULL)
        return page;
    json_array_foreach(all, i, v) {
        const char *st = json_string_value(json_object_get(v, "status"));
        double p = primary_of(v, metric), j = judge_of(v);
        if (filter == F_FAILURES && !(st && strcmp(st, "failed") == 0))
            continue;
        if (filter == F_DISAGREE && (isnan(p) || isnan(j) || fabs(j / 10.0 - p) <= 0.5))
            continue;
        keep[n++] = v;
    }
    if (filter == F_LOWEST) {
        pthread_mutex_lock(&sort_lock);
        metric_sort_name = metric;
        qsort(keep, n, sizeof *keep, cmp_lowest);
        pthread_mutex_unlock(&sort_lock);
    }
    for (i = (size_t)offset; i < n && i < (size_t)(offset + limit); i++)
        json_array_append(page, keep[i]);
    *matched = (int64_t)n;
    free(keep);
    return page;
}

/* GET /runs/{id}/items?offset=&limit=&filter= */
static int runs_items(web_req *r, json_t **out)
{
    int64_t id = 0, offset, limit, matched = -1;
    json_t *summary = NULL, *items = NULL;
    const char *metric;
    int filter, rc;

    if ((rc = web_parse_id("run", r->params[0], &id)) < 0 ||
        (rc = web_query_page(r, &offset, &limit)) < 0 || (rc = parse_filter(r, &filter)) < 0)
        return rc;
    if (filter == F_NONE) {
        if ((rc = eval_run_items(&items, r->db, id, offset, limit)) < 0)
            return rc;
    } else {
        json_t *all;
        if ((rc = web_summary(&summary, web_ctx_summaries(r->ctx), r->db, id)) < 0 ||
            (rc = eval_run_items(&all, r->db, id, 0, 0)) < 0) {
            json_decref(summary);
            return rc;
        }
        metric = json_string_value(json_object_get(summary, "primary_metric"));
        items = filter_items(all, filter, metric ? metric : "", offset, limit, &matched);
        json_decref(all);
        json_decref(summary);
    }
    *out = json_pack("{s:I,s:o,s:I,s:I}", "run", (json_int_t)id, "items", items, "offset",
                     (json_int_t)offset, "limit", (json_int_t)limit);
    if (matched >= 0)
        json_object_set_new(*out, "matched", json_integer(matched));
    return 0;
}

#define MAX_COMPARE 8

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The items of 'run' keyed by case id (first repetition): a new object. */
static int items_by_case(json_t **out, web_req *r, int64_t run)
{
    json_t *all, *v, *map = json_object();
    size_t i;
    int rc;

    if ((rc = eval_run_items(&all, r->db, run, 0, 0)) < 0) {
        json_decref(map);
        return rc;
    }
    json_array_foreach(all, i, v) {
        const char *cid = json_string_value(json_object_get(v, "case_id"));
        if (cid && json_integer_value(json_object_get(v, "rep")) == 0)
            json_object_set(map, cid, v);
    }
    json_decref(all);
    *out = map;
    return 0;
}

/* Parse "?ids=1,2,3" into ids (2 to MAX_COMPARE runs). */
static int parse_ids(web_req *r, int64_t *ids, size_t *n)
{
    char buf[256], *p, *end;

    *n = 0;
    if (!web_query_str(r, "ids", buf, sizeof buf) || buf[0] == '\0')
        return as_error_set(AS_EINVAL, "query parameter 'ids' is required (run ids, comma-separated)");
    for (p = buf; *p; p = end) {
        long long v = strtoll(p, &end, 10);
        if (end == p || v <= 0 || (*end && *end != ','))
            return as_error_set(AS_EINVAL, "ids: expected run ids separated by commas");
        if (*n == MAX_COMPARE)
            return as_error_set(AS_ETOOBIG, "ids: at most %d runs", MAX_COMPARE);
        ids[(*n)++] = v;
        if (*end == ',')
            end++;
    }
    if (*n < 2)
        return as_error_set(AS_EINVAL, "ids: give at least two runs");
    return 0;
}

/* GET /compare?ids=1,2,3&offset=&limit=&filter=: per case, the outputs of
 * several runs of one suite side by side with the reference, metric
 * values, the judge's score and rationale, and errors. Filters: failures
 * (any run failed), lowest (by the lowest primary metric), disagreements
 * (primary metrics more than half the scale apart, or different labels). */
static int runs_compare(web_req *r, json_t **out)
{
    int64_t ids[MAX_COMPARE], offset, limit, i, matched = 0;
    json_t *maps[MAX_COMPARE] = {0}, *summaries = json_array(), *rows = json_array(), *v;
    const char *suite = NULL, *metric = NULL, *cid;
    size_t n = 0, k;
    int filter, rc;

    if ((rc = parse_ids(r, ids, &n)) < 0 || (rc = web_query_page(r, &offset, &limit)) < 0 ||
        (rc = parse_filter(r, &filter)) < 0)
        goto out;
    for (k = 0; k < n; k++) {
        json_t *s;
        if ((rc = web_summary(&s, web_ctx_summaries(r->ctx), r->db, ids[k])) < 0)
            goto out;
        json_array_append_new(summaries, s);
        if (suite == NULL) {
            suite = json_string_value(json_object_get(s, "suite"));
            metric = json_string_value(json_object_get(s, "primary_metric"));
        } else if (strcmp(suite, json_string_value(json_object_get(s, "suite")) ?: "") != 0) {
            rc = as_error_set(AS_EINVAL, "runs %lld and %lld are of different suites",
                              (long long)ids[0], (long long)ids[k]);
            goto out;
        }
        if ((rc = items_by_case(&maps[k], r, ids[k])) < 0)
            goto out;
    }
    if (metric == NULL)
        metric = "";
    /* The first run's cases, sorted by id. */
    {
        const char **cases = malloc((json_object_size(maps[0]) + 1) * sizeof *cases);
        size_t nc = 0, c;
        double *sortkey = NULL;
        if (cases == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        json_object_foreach(maps[0], cid, v)
            cases[nc++] = cid;
        qsort(cases, nc, sizeof *cases, cmp_str);
        sortkey = malloc((nc + 1) * sizeof *sortkey);
        for (c = 0; c < nc && sortkey; c++) {
            double lo = INFINITY, hi = -INFINITY;
            int failed = 0, labels_differ = 0;
            const char *label0 = NULL;
            for (k = 0; k < n; k++) {
                json_t *it = json_object_get(maps[k], cases[c]);
                double p = it ? primary_of(it, metric) : NAN;
                const char *lab = it ? json_string_value(json_object_get(it, "label")) : NULL;
                const char *st = it ? json_string_value(json_object_get(it, "status")) : "failed";
                failed |= st == NULL || strcmp(st, "failed") == 0;
                if (!isnan(p)) {
                    lo = fmin(lo, p);
                    hi = fmax(hi, p);
                }
                if (lab && label0 && strcmp(lab, label0) != 0)
                    labels_differ = 1;
                if (lab && !label0)
                    label0 = lab;
            }
            sortkey[c] = lo;
            if ((filter == F_FAILURES && !failed) ||
                (filter == F_DISAGREE && !(labels_differ || (hi - lo) > 0.5)))
                cases[c] = NULL;
        }
        if (sortkey == NULL) {
            free(cases);
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        if (filter == F_LOWEST) {
            /* selection of the page by ascending lowest score */
            size_t *ord = malloc((nc + 1) * sizeof *ord), a2, b2;
            if (ord) {
                for (c = 0; c < nc; c++)
                    ord[c] = c;
                for (a2 = 1; a2 < nc; a2++)
                    for (b2 = a2; b2 > 0 && sortkey[ord[b2 - 1]] > sortkey[ord[b2]]; b2--) {
                        size_t t = ord[b2];
                        ord[b2] = ord[b2 - 1];
                        ord[b2 - 1] = t;
                    }
                {
                    const char **sorted = malloc((nc + 1) * sizeof *sorted);
                    if (sorted) {
                        for (c = 0; c < nc; c++)
                            sorted[c] = cases[ord[c]];
                        memcpy(cases, sorted, nc * sizeof *cases);
                        free(sorted);
                    }
                }
                free(ord);
            }
        }
        for (c = 0, i = 0; c < nc; c++) {
            json_t *cells, *row, *first;
            if (cases[c] == NULL)
                continue;
            matched++;
            if (i++ < offset || (int64_t)json_array_size(rows) >= limit)
                continue;
            cells = json_array();
            first = json_object_get(maps[0], cases[c]);
            for (k = 0; k < n; k++) {
                json_t *it = json_object_get(maps[k], cases[c]);
                json_array_append(cells, it ? it : json_null());
            }
            row = json_pack("{s:s,s:O,s:o}", "case_id", cases[c], "expected",
                            json_object_get(first, "expected") ?: json_null(), "cells", cells);
            json_array_append_new(rows, row);
        }
        free(sortkey);
        free(cases);
    }
    *out = json_pack("{s:O,s:O,s:I,s:I,s:I}", "runs", summaries, "rows", rows, "matched",
                     (json_int_t)matched, "offset", (json_int_t)offset, "limit", (json_int_t)limit);
out:
    for (k = 0; k < MAX_COMPARE; k++)
        json_decref(maps[k]);
    json_decref(summaries);
    json_decref(rows);
    return rc;
}

/* GET /runs/{a}/diff/{b}: how run b differs from run a case by case on
 * the primary metric: improved, regressed, unchanged, changed outputs, and
 * the cases sorted by the size of the change. */
static int runs_diff(web_req *r, json_t **out)
{
    int64_t a = 0, b = 0, offset, limit;
    json_t *sa = NULL, *sb = NULL, *ma = NULL, *mb = NULL, *v, *changes = json_array();
    const char *metric, *cid;
    int improved = 0, regressed = 0, same = 0, outputs_changed = 0, only_one = 0, rc;
    json_t **list = NULL;
    size_t n = 0, i;

    if ((rc = web_parse_id("run", r->params[0], &a)) < 0 ||
        (rc = web_parse_id("run", r->params[1], &b)) < 0 ||
        (rc = web_query_page(r, &offset, &limit)) < 0 ||
        (rc = web_summary(&sa, web_ctx_summaries(r->ctx), r->db, a)) < 0 ||
        (rc = web_summary(&sb, web_ctx_summaries(r->ctx), r->db, b)) < 0)
        goto out;
    if (strcmp(json_string_value(json_object_get(sa, "suite")) ?: "",
               json_string_value(json_object_get(sb, "suite")) ?: "") != 0) {
        rc = as_error_set(AS_EINVAL, "runs %lld and %lld are of different suites", (long long)a,
                          (long long)b);
        goto out;
    }
    metric = json_string_value(json_object_get(sa, "primary_metric")) ?: "";
    if ((rc = items_by_case(&ma, r, a)) < 0 || (rc = items_by_case(&mb, r, b)) < 0)
        goto out;
    if ((list = malloc((json_object_size(ma) + 1) * sizeof *list)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    json_object_foreach(ma, cid, v) {
        json_t *w = json_object_get(mb, cid);
        double pa, pb, d;
        const char *oa, *ob;
        if (w == NULL) {
            only_one++;
            continue;
        }
        pa = primary_of(v, metric);
        pb = primary_of(w, metric);
        d = (isnan(pa) || isnan(pb)) ? 0 : pb - pa;
        oa = json_string_value(json_object_get(v, "output")) ?: "";
        ob = json_string_value(json_object_get(w, "output")) ?: "";
        if (strcmp(oa, ob) != 0)
            outputs_changed++;
        if (d > 1e-12)
            improved++;
        else if (d < -1e-12)
            regressed++;
        else
            same++;
        if (fabs(d) > 1e-12 || strcmp(oa, ob) != 0)
            list[n++] = json_pack("{s:s,s:O,s:O,s:O,s:o,s:o,s:f}", "case_id", cid, "expected",
                                  json_object_get(v, "expected") ?: json_null(), "a", v, "b", w,
                                  "score_a", isnan(pa) ? json_null() : json_real(pa), "score_b",
                                  isnan(pb) ? json_null() : json_real(pb), "delta", d);
    }
    only_one += (int)json_object_size(mb) - (improved + regressed + same);
    /* Largest changes first. */
    for (i = 1; i < n; i++) {
        size_t j;
        json_t *t = list[i];
        double dt = fabs(json_real_value(json_object_get(t, "delta")));
        for (j = i; j > 0 && fabs(json_real_value(json_object_get(list[j - 1], "delta"))) < dt; j--)
            list[j] = list[j - 1];
        list[j] = t;
    }
    for (i = 0; i < n; i++) {
        if ((int64_t)i >= offset && (int64_t)i < offset + limit)
            json_array_append(changes, list[i]);
        json_decref(list[i]);
    }
    *out = json_pack("{s:O,s:O,s:s,s:{s:i,s:i,s:i,s:i,s:i},s:O,s:I,s:I,s:I}", "a", sa, "b", sb,
                     "metric", metric, "counts", "improved", improved, "regressed", regressed,
                     "unchanged", same, "outputs_changed", outputs_changed, "unmatched", only_one,
                     "changes", changes, "matched", (json_int_t)n, "offset", (json_int_t)offset,
                     "limit", (json_int_t)limit);
out:
    free(list);
    json_decref(sa);
    json_decref(sb);
    json_decref(ma);
    json_decref(mb);
    json_decref(changes);
    return rc;
}

/* GET /leaderboard?suite=S&policy=P&require=R: the ranked models of a
 * suite. Without ?policy the ranking policy of the suite at the commit the
 * newest of the ranked runs used applies (the weighted default when it
 * names none). */
static int leaderboard(web_req *r, json_t **out)
{
    char suite[CAT_NAME_MAX + 1], policy[512], require[512];
    char *suite_policy = NULL;
    json_t *list = NULL, *v, *newest = NULL;
    size_t i;
    int rc;

    if (!web_query_str(r, "suite", suite, sizeof suite) || suite[0] == '\0')
        return as_error_set(AS_EINVAL, "query parameter 'suite' is required");
    if (!web_query_str(r, "policy", policy, sizeof policy))
        policy[0] = '\0';
    if (!web_query_str(r, "require", require, sizeof require))
        require[0] = '\0';
    if ((rc = web_summaries_latest(&list, web_ctx_summaries(r->ctx), r->db, suite)) < 0)
        return rc;
    if (policy[0] == '\0') {
        json_array_foreach(list, i, v)
            if (newest == NULL || json_integer_value(json_object_get(v, "id")) >
                                      json_integer_value(json_object_get(newest, "id")))
                newest = v;
        if ((rc = web_suite_policy(&suite_policy, web_ctx_summaries(r->ctx),
                                   web_ctx_data_dir(r->ctx), suite,
                                   json_string_value(json_object_get(newest, "suite_commit")) ?: "")) < 0)
            goto out;
    }
    rc = eval_rank_summaries(out, list, suite, policy[0] ? policy : suite_policy,
                             require[0] ? require : NULL);
out:
    free(suite_policy);
    json_decref(list);
    return rc;
}

const web_route web_routes_runs[] = {
    {"POST", "/runs", WEB_PERM_EDIT, runs_start},
    {"POST", "/runs/{}/cancel", WEB_PERM_EDIT, runs_cancel},
    {"GET", "/runs", WEB_PERM_READ | WEB_CACHED, runs_list},
    {"GET", "/runs/{}", WEB_PERM_READ | WEB_CACHED, runs_get},
    {"GET", "/runs/{}/items", WEB_PERM_READ | WEB_CACHED, runs_items},
    {"GET", "/runs/{}/diff/{}", WEB_PERM_READ | WEB_CACHED, runs_diff},
    {"GET", "/compare", WEB_PERM_READ | WEB_CACHED, runs_compare},
    {"GET", "/leaderboard", WEB_PERM_READ | WEB_CACHED, leaderboard},
    {NULL, NULL, 0, NULL}
};
