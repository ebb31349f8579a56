/* Runs as data: the summary of a run (what `assay runs show --json`, the
 * web API and the CI gate give), listings and items. Every function reads
 * SQLite only and returns new JSON.
 *
 * Summary fields: id, suite, suite_commit, prompt{name,version,commit},
 * dataset{name,version,commit}, model, provider, model_settings, price{in,
 * out, hour, instances, version} (cost: tokens x price, or busy time x price.hour x
 * price.instances), assay_version, status, error, created_at,
 * finished_at, items_total, items_done (answered, ok or failed), items_ok,
 * items_failed, items_cached, items_truncated, out_of_labels,
 * metrics{NAME:{mean, ci_low, ci_high, n}} (per-case metrics: a failed item
 * scores 0; 95% percentile bootstrap, 1000 resamples, seed 0; accuracy,
 * precision, recall and f1 over the normalized labels, an output outside
 * the label set counting as wrong; "judge" when a single judge rated the
 * items), primary_metric, quality (the primary metric's entry),
 * classification (per-label report) when the prompt has labels,
 * judge{model, mode, ...}, cost_usd, cost_per_1k (per 1,000 answered
 * cases), judge_cost_usd, busy_s, latency_ms{mean,p50,p95,p99},
 * ttft_ms{p50,p95} (streamed items), cold_start_ms{count, checked, p50,
 * max}, server_latency_ms{n, p50, p95, p99}, tokens{prompt, completion,
 * estimated_items}, output_tokens_per_s (completion tokens / model time),
 * cases_per_s (answered cases / busy time), concurrency. Cached items
 * cost nothing and are left out of speed figures and cost_per_1k, except
 * when every item came from the cache: then those come from the cached
 * answers' recorded latencies and tokens (speed_basis "cache", else
 * "calls").
 *
 * Cold starts (SageMaker async endpoints scaled to zero): a call whose
 * item has cold_start_ms > 0 waited for an instance to start. Such calls
 * are left out of latency_ms, ttft_ms and output_tokens_per_s, which are
 * the steady figures; cold_start_ms gives how many calls were cold
 * ('count', out of 'checked' calls whose provider told cold from warm) and
 * the p50 and max of their wait. server_latency_ms is the latency the
 * server reported itself (Bedrock's metrics.latencyMs) over the calls that
 * carried one; latency_ms stays what assay measured. Cost and cases_per_s
 * count every call, cold or not. */
#ifndef AS_EVAL_RUNS_H
#define AS_EVAL_RUNS_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

/* The summary of run 'id' into *out; AS_ENOTFOUND for an unknown run. */
int eval_run_summary(json_t **out, store *db, int64_t id);

typedef struct eval_runs_filter {
    const char *suite;      /* NULL: any */
    const char *model;
    const char *status;
    int64_t offset;
    int64_t limit;          /* 0: 50 */
} eval_runs_filter;

/* Summaries of the runs matching 'f', newest first: a new array. */
int eval_runs_list(json_t **out, store *db, const eval_runs_filter *f);

/* The items [offset, offset + limit) of run 'id' (limit 0: all), ordered
 * by case id then repetition: a new array of {id, case_id, rep,
 * status, output, output_truncated, label, out_of_labels, expected,
 * scores, latency_ms, ttft_ms, prompt_tokens, completion_tokens,
 * usage_estimated, cost_usd (hour-priced: the attributed share), cached,
 * attempts, finish_reason, error, judge_score, judge_rationale,
 * judge_error, cold_start_ms, server_latency_ms} (null when unknown).
 * The run's summary is not computed, so a page costs what its rows cost;
 * AS_ENOTFOUND for an unknown run. */
int eval_run_items(json_t **out, store *db, int64_t id, int64_t offset, int64_t limit);

/* 1 when a job (an 'assay eval', a gate, a server) works on run 'id' of
 * the data directory now, whichever process it is in; 0 otherwise (a run
 * still 'running' that no job holds was interrupted: resume it). */
int eval_run_in_progress(const char *data_dir, int64_t id);

/* Delete run 'id' with its items, attempts and judgments. */
int eval_run_delete(store *db, int64_t id);

#endif
