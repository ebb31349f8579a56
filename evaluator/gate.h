/* The CI gate: compare a candidate run of a suite with a baseline run and
 * decide whether a change may ship (`assay gate`).
 *
 * Two layers. gate_rules and gate_judge_model are pure: they take run
 * summaries and items (the JSON of evaluator/runs.h) and give a verdict,
 * with no database or model (unit-tested on their own). gate_run does the
 * work around them: resolves the suite, the candidate prompt, the baseline
 * and the thresholds, reuses identical complete runs or runs the suite
 * (evaluator/eval.h), and gathers the verdicts of every model.
 *
 * The decision, per model:
 *   - minimums: the candidate's metric mean >= the value (from --min, else
 *     the suite's "thresholds");
 *   - cost and speed: the run's cost (model + judge + embedding) <= --max-cost-usd,
 *     latency p95 <= --max-p95-ms (suite keys "max_cost_usd", "max_p95_ms");
 *   - regressions: for every metric given a maximum regression (the primary
 *     metric always, 0 by default) the drop baseline - candidate fails only
 *     when it is larger than the maximum AND significant at alpha: McNemar's
 *     test on per-case pass/fail for pass/fail metrics (exact_match, match,
 *     accuracy, precision, recall, f1), else the paired bootstrap test on
 *     per-case scores (10,000 resamples, seed 0); both two-sided; cases are
 *     paired by id, repetitions averaged.
 * A case passes when its primary metric's score reaches the pass line: 1
 * for pass/fail metrics, the primary metric's minimum when one is set, else
 * 0.5 (6 for the 1-10 judge); a failed item fails. Flaky cases: with
 * repetitions, a case whose repetitions do not all agree.
 *
 * Result JSON (gate_run): {"suite", "dataset": {name,version,commit},
 * "candidate": {"prompt": {name,version,commit}}, "baseline": {"kind":
 * "prompt"|"run"|"none", "ref", "prompt"?, "run_id"?}, "alpha", "passed",
 * "exit_status", "notes": [...], "models": [verdict...]} where a verdict
 * is {"model", "passed", "primary_metric", "candidate": run, "baseline":
 * run|null, "checks": [check...], "cases": [case...] in case id order,
 * "changes": {"regressed": [ids], "fixed": [ids]}, "flaky": [ids]}; a
 * check is {"name", "kind": "min"|"max_cost_usd"|"max_p95_ms"|
 * "regression", "metric"?, "source": "cli"|"suite"|"default", "expected"
 * (text), "actual" (number or null), "limit", "passed", "message"} plus for
 * regressions "baseline", "candidate", "delta", "test": "mcnemar"|
 * "paired_bootstrap"|"none", "p_value", "alpha", "significant", "n" and the
 * test's own figures (b, c / ci_low, ci_high); a case is {"id", "passed",
 * "baseline_passed" (or null), "change": "regressed"|"fixed"|"same"|"new",
 * "score", "baseline_score", "reps", "passes", "flaky", "expected",
 * "output", "latency_ms"}; a run is {"run_id", "reused", "status",
 * "prompt", "dataset", "items_total", "busy_s"}. */
#ifndef AS_EVAL_GATE_H
#define AS_EVAL_GATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "evaluator/eval.h"

/* Exit statuses of `assay gate`. */
enum {
    GATE_PASSED = 0,
    GATE_FAILED = 1,        /* a threshold or a significant regression */
    GATE_CONFIG = 2,        /* usage or configuration error, nothing was run */
    GATE_INCOMPLETE = 3     /* a run could not complete (provider down, ...) */
};

#define GATE_METRIC_MAX 63
#define GATE_LIMITS_MAX 64
#define GATE_RESAMPLES 10000

typedef enum { GATE_SRC_CLI = 0, GATE_SRC_SUITE, GATE_SRC_DEFAULT } gate_source;

typedef struct gate_limit {
    char metric[GATE_METRIC_MAX + 1];
    double value;
    gate_source source;
} gate_limit;

typedef struct gate_rules {
    gate_limit mins[GATE_LIMITS_MAX];
    size_t nmins;
    gate_limit regressions[GATE_LIMITS_MAX];    /* maximum drop allowed */
    size_t nregressions;
    int has_max_cost, has_max_p95;
    gate_limit max_cost_usd, max_p95_ms;        /* metric unused */
    double alpha;                               /* 0 < alpha < 1 */
    char primary[GATE_METRIC_MAX + 1];
} gate_rules;

/* Empty rules: no limits, alpha 0.05, primary metric 'primary'. */
int gate_rules_init(gate_rules *r, const char *primary);

/* Parse "METRIC=VALUE" given to option 'opt' (for messages) into *out; the
 * value must be a finite number (AS_EINVAL naming the argument). */
int gate_parse_limit(gate_limit *out, const char *arg, const char *opt);

/* Add a minimum or a maximum regression. A metric already set keeps its
 * value (command-line limits are added first, so they win over the
 * suite's). AS_ETOOBIG past GATE_LIMITS_MAX. */
int gate_rules_add_min(gate_rules *r, const gate_limit *l);
int gate_rules_add_regression(gate_rules *r, const gate_limit *l);

/* Add a suite's "thresholds" object (borrowed; may be NULL): metric ->
 * minimum, plus "max_cost_usd" and "max_p95_ms". Entries already set from
 * the command line are kept. Non-numbers are AS_EINVAL. */
int gate_rules_add_suite(gate_rules *r, const json_t *thresholds);

/* Check every metric named by the rules against 'metrics' (an array of
 * metric names the suite computes), add the primary metric's default
 * regression check (maximum drop 0) when none is given, and check alpha.
 * AS_EINVAL names the first unknown metric. */
int gate_rules_finish(gate_rules *r, const json_t *metrics);

/* 1 for metrics judged pass/fail per case (McNemar's test). */
int gate_metric_binary(const char *metric);

/* The verdict for one model (see above) into *out (new object). 'cand_sum'
 * and 'cand_items' are the candidate run's summary and items; 'base_sum'
 * and 'base_items' the baseline's, both NULL when there is none. All are
 * borrowed. */
int gate_judge_model(json_t **out, const gate_rules *r, const json_t *cand_sum,
                     const json_t *cand_items, const json_t *base_sum, const json_t *base_items);

/* ---- running the gate ---- */

typedef struct gate_opts {
    const char *data_dir;
    const char *suite;                  /* a suite reference */
    const char *const *models;          /* NULL: the suite's models */
    size_t nmodels;
    const char *prompt;                 /* candidate prompt ref; NULL: the suite's prompt at HEAD */
    const char *baseline;               /* NULL: "production"; "none"; a run id; LABEL, vN or NAME@REF */
    const gate_limit *mins;             /* from the command line */
    size_t nmins;
    const gate_limit *regressions;
    size_t nregressions;
    int has_max_cost, has_max_p95;
    double max_cost_usd, max_p95_ms;
    double alpha;                       /* 0: 0.05 */
    int repeat;                         /* 0: 1 */
    int allow_dataset_change;
    eval_progress_fn progress;          /* may be NULL (local runs only) */
    void *progress_arg;
    const char *server;                 /* an assay server's base URL; NULL: the data directory */
    const char *token;                  /* its API token (bearer), with server */
} gate_opts;

/* Run the gate into *out (the result above; caller frees with
 * json_decref). On success *status is GATE_PASSED or GATE_FAILED. On error
 * *out is NULL, the message is set and *status says which: GATE_CONFIG
 * when the inputs were refused before any model was called, GATE_INCOMPLETE
 * when a run did not complete or the server (o->server) could not be
 * reached (runs left behind stay as they are; a later gate reuses only
 * complete ones). */
int gate_run(json_t **out, int *status, const gate_opts *o);

/* ---- reports (gate_report.c), from gate_run's result ---- */

/* JUnit XML: a <testsuites> with one <testsuite> per model, a <testcase>
 * per check and per case, <failure message="..."> with expected and actual.
 * Everything is XML-escaped; characters XML 1.0 forbids are replaced. Into
 * *out (caller frees with free()). */
int gate_report_junit(char **out, const json_t *result);

/* A GitHub-flavoured markdown summary: verdict, one table row per check
 * and model, the per-case changes and flaky cases. Into *out (caller
 * frees with free()). */
int gate_report_markdown(char **out, const json_t *result);

#endif
