/* Rating queues: loading, JSON and the deterministic sample; see queue.h. */
#include "web/queue.h"

#include "common/error.h"
#include "common/json.h"
#include "web/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int web_queue_runs_from_json(web_queue *q, const json_t *a)
{
    json_t *v;
    size_t i;

    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > WEB_QUEUE_MAX_RUNS)
        return as_error_set(AS_EINVAL, "runs: expected 1 to %d run ids", WEB_QUEUE_MAX_RUNS);
    q->nruns = 0;
    json_array_foreach(a, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return as_error_set(AS_EINVAL, "runs[%zu]: expected a run id", i);
        q->runs[q->nruns++] = json_integer_value(v);
    }
    return 0;
}

int web_queue_load(store *db, int64_t id, web_queue *q)
{
    store_stmt *st = NULL;
    json_t *runs = NULL;
    const char *text;
    int rc;

    memset(q, 0, sizeof *q);
    if ((rc = store_prepare(&st, db,
                            "SELECT id, name, mode, coalesce(suite, ''), runs, rate, seed, "
                            "raters_per_item FROM rating_queues WHERE id = ?1")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, id)) < 0 || (rc = store_step(st)) < 0)
        goto out;
    if (rc != STORE_ROW) {
        rc = as_error_set(AS_ENOTFOUND, "no rating queue %lld", (long long)id);
        goto out;
    }
    q->id = store_col_int(st, 0);
    snprintf(q->name, sizeof q->name, "%s", store_col_text(st, 1));
    snprintf(q->mode, sizeof q->mode, "%s", store_col_text(st, 2));
    snprintf(q->suite, sizeof q->suite, "%s", store_col_text(st, 3));
    text = store_col_text(st, 4);
    if ((rc = as_json_parse(&runs, text, strlen(text), "queue runs")) < 0 ||
        (rc = web_queue_runs_from_json(q, runs)) < 0)
        goto out;
    q->rate = store_col_double(st, 5);
    q->seed = store_col_int(st, 6);
    q->raters = store_col_int(st, 7);
out:
    json_decref(runs);
    store_finalize(st);
    return rc;
}

json_t *web_queue_json(const web_queue *q)
{
    json_t *runs = json_array();
    size_t i;

    for (i = 0; i < q->nruns; i++)
        json_array_append_new(runs, json_integer(q->runs[i]));
    return json_pack("{s:I,s:s,s:s,s:s,s:o,s:f,s:I,s:I}", "id", (json_int_t)q->id, "name", q->name,
                     "mode", q->mode, "suite", q->suite, "runs", runs, "rate", q->rate, "seed",
                     (json_int_t)q->seed, "raters_per_item", (json_int_t)q->raters);
}

int web_queue_samples(const web_queue *q, const char *case_id)
{
    uint64_t h = web_stats_hash((uint64_t)q->seed, case_id);

    return (double)(h >> 11) * 0x1.0p-53 < q->rate;
}
