/* assay gate: the CI evaluation gate (evaluator/gate.h). Exit status 0
 * passed, 1 failed, 2 usage or configuration error, 3 a run could not
 * complete. */
#include "cli/cli.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "evaluator/gate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GATE_MODELS_MAX 32

const char cli_gate_usage[] =
    "usage: assay gate SUITE [--model M]... [--prompt REF] [--baseline REF|RUN|none]\n"
    "                  [--min METRIC=VALUE]... [--max-regression METRIC=DELTA]...\n"
    "                  [--alpha A] [--max-cost-usd X] [--max-p95-ms X] [--repeat K]\n"
    "                  [--allow-dataset-change] [--junit FILE] [--markdown FILE] [--json]\n"
    "                  [--server URL [--token-env VAR]]\n"
    "\n"
    "Run SUITE for a candidate prompt and compare it with a baseline; exit non-zero\n"
    "when quality falls. Identical complete runs (same prompt and dataset commits,\n"
    "model settings, repetitions) are reused instead of run again.\n"
    "\n"
    "  --model M            a model to gate (repeatable; default: the suite's models)\n"
    "  --prompt REF         the candidate prompt (default: the suite's prompt at the\n"
    "                       catalog's head); NAME@vN, NAME@LABEL, or a label/version\n"
    "  --baseline X         'production' label by default (none yet: no baseline);\n"
    "                       a label or version of the prompt, NAME@REF, a run id, or none\n"
    "  --min METRIC=VALUE   the candidate's mean must reach VALUE (wins over the\n"
    "                       suite's \"thresholds\")\n"
    "  --max-regression METRIC=DELTA\n"
    "                       fail when METRIC drops by more than DELTA AND the drop is\n"
    "                       significant (the primary metric is always checked, DELTA 0)\n"
    "  --alpha A            significance level (default 0.05): McNemar's test for\n"
    "                       pass/fail metrics, paired bootstrap for scores\n"
    "  --max-cost-usd X     the run's cost (model + judge) at most X\n"
    "  --max-p95-ms X       latency p95 at most X milliseconds\n"
    "  --repeat K           each case K times; cases whose repetitions disagree are\n"
    "                       reported as flaky\n"
    "  --allow-dataset-change  accept a baseline run made on another dataset version\n"
    "  --junit FILE         JUnit XML: a testsuite per model, a testcase per check and case\n"
    "  --markdown FILE      a markdown summary (pull-request comment, job summary)\n"
    "  --json               the whole result on stdout\n"
    "  --server URL         use a shared assay server (its catalog, models and runs)\n"
    "                       instead of the data directory: runs start and are read\n"
    "                       through its API, so every CI job's results land there\n"
    "  --token-env VAR      the environment variable holding the server's API token\n"
    "                       (default ASSAY_TOKEN)\n"
    "\n"
    "Exit status: 0 passed, 1 failed (a threshold or a significant regression),\n"
    "2 usage or configuration error (nothing was run), 3 a run could not complete\n"
    "(provider down, ...).\n";

static int parse_num(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return s[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(*out) ? -1 : 0;
}

/* Progress of local runs on a terminal (CI logs stay quiet). */
typedef struct progress_state {
    double last;
    int shown;
} progress_state;

static void on_progress(void *arg, const eval_progress *p)
{
    progress_state *ps = arg;

    if (p->total <= 0 || (p->elapsed_s - ps->last < 0.2 && p->done < p->total))
        return;
    ps->last = p->elapsed_s;
    ps->shown = 1;
    fprintf(stderr, "\rgate: %-24.24s %s %lld/%lld, %lld errors   ", p->model, p->phase,
            (long long)p->done, (long long)p->total, (long long)p->failed);
    fflush(stderr);
}

static int write_report(const char *path, int (*fn)(char **, const json_t *), const json_t *res)
{
    char *text = NULL;
    int rc;

    if ((rc = fn(&text, res)) < 0)
        return rc;
    rc = as_file_write_atomic(path, text, strlen(text));
    free(text);
    if (rc < 0)
        return as_error_wrap(rc, "%s", path);
    return 0;
}

static void print_summary(const json_t *res)
{
    const json_t *m, *ck, *note;
    size_t i, k;

    json_array_foreach(json_object_get(res, "notes"), i, note)
        printf("note: %s\n", json_string_value(note));
    json_array_foreach(json_object_get(res, "models"), i, m) {
        const json_t *ch = json_object_get(m, "changes");
        printf("%s: %s\n", json_string_value(json_object_get(m, "model")),
               json_is_true(json_object_get(m, "passed")) ? "passed" : "FAILED");
        json_array_foreach(json_object_get(m, "checks"), k, ck)
            printf("  %-6s %s\n",
                   json_is_true(json_object_get(ck, "skipped")) ? "skip"
                   : json_is_true(json_object_get(ck, "passed")) ? "ok" : "FAIL",
                   json_string_value(json_object_get(ck, "message")));
        printf("  cases: %zu regressed, %zu fixed, %zu flaky\n",
               json_array_size(json_object_get(ch, "regressed")),
               json_array_size(json_object_get(ch, "fixed")),
               json_array_size(json_object_get(m, "flaky")));
    }
    printf("gate %s\n", json_is_true(json_object_get(res, "passed")) ? "passed" : "FAILED");
}

int cli_cmd_gate(cli_ctx *ctx, int argc, char **argv)
{
    const char *models[GATE_MODELS_MAX], *junit = NULL, *markdown = NULL;
    const char *token_env = "ASSAY_TOKEN";
    gate_limit mins[GATE_LIMITS_MAX], regs[GATE_LIMITS_MAX];
    gate_opts o;
    progress_state ps = {0, 0};
    json_t *res = NULL;
    int i, json = 0, status, rc;
    double v;

    memset(&o, 0, sizeof(o));
    o.data_dir = ctx->data_dir;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--allow-dataset-change") == 0) {
            o.allow_dataset_change = 1;
        } else if (a[0] == '-' && a[1] == '-' && val == NULL) {
            return cli_usage("gate", "%s needs a value", a);
        } else if (strcmp(a, "--model") == 0) {
            if (o.nmodels >= GATE_MODELS_MAX)
                return cli_usage("gate", "more than %d --model options", GATE_MODELS_MAX);
            models[o.nmodels++] = argv[++i];
        } else if (strcmp(a, "--prompt") == 0) {
            o.prompt = argv[++i];
        } else if (strcmp(a, "--baseline") == 0) {
            o.baseline = argv[++i];
        } else if (strcmp(a, "--min") == 0 || strcmp(a, "--max-regression") == 0) {
            int is_min = a[2] == 'm' && a[3] == 'i';
            size_t *n = is_min ? &o.nmins : &o.nregressions;
            if (*n >= GATE_LIMITS_MAX)
                return cli_usage("gate", "more than %d %s options", GATE_LIMITS_MAX, a);
            if (gate_parse_limit(is_min ? &mins[*n] : &regs[*n], argv[++i], a) < 0) {
                fprintf(stderr, "assay: %s\n", as_error_msg());
                return GATE_CONFIG;
            }
            (*n)++;
        } else if (strcmp(a, "--alpha") == 0) {
            if (parse_num(argv[++i], &o.alpha) < 0 || !(o.alpha > 0 && o.alpha < 1))
                return cli_usage("gate", "--alpha: expected a number between 0 and 1, got '%s'", argv[i]);
        } else if (strcmp(a, "--max-cost-usd") == 0) {
            if (parse_num(argv[++i], &v) < 0 || v < 0)
                return cli_usage("gate", "--max-cost-usd: expected a number >= 0, got '%s'", argv[i]);
            o.has_max_cost = 1;
            o.max_cost_usd = v;
        } else if (strcmp(a, "--max-p95-ms") == 0) {
            if (parse_num(argv[++i], &v) < 0 || v < 0)
                return cli_usage("gate", "--max-p95-ms: expected a number >= 0, got '%s'", argv[i]);
            o.has_max_p95 = 1;
            o.max_p95_ms = v;
        } else if (strcmp(a, "--repeat") == 0) {
            if (parse_num(argv[++i], &v) < 0 || v < 1 || v > 100 || v != floor(v))
                return cli_usage("gate", "--repeat: expected 1-100, got '%s'", argv[i]);
            o.repeat = (int)v;
        } else if (strcmp(a, "--server") == 0) {
            o.server = argv[++i];
        } else if (strcmp(a, "--token-env") == 0) {
            token_env = argv[++i];
        } else if (strcmp(a, "--junit") == 0) {
            junit = argv[++i];
        } else if (strcmp(a, "--markdown") == 0) {
            markdown = argv[++i];
        } else if (a[0] == '-') {
            return cli_usage("gate", "unknown option '%s'", a);
        } else if (o.suite == NULL) {
            o.suite = a;
        } else {
            return cli_usage("gate", "unexpected argument '%s'", a);
        }
    }
    if (o.suite == NULL)
        return cli_usage("gate", "gate needs a SUITE");
    if (o.server && ((o.token = getenv(token_env)) == NULL || o.token[0] == '\0')) {
        as_error_set(AS_EINVAL, "--token-env %s: the variable is not set", token_env);
        fprintf(stderr, "assay: %s\n", as_error_msg());
        return GATE_CONFIG;
    }
    if (isatty(STDERR_FILENO)) {
        o.progress = on_progress;
        o.progress_arg = &ps;
    }
    o.models = o.nmodels ? models : NULL;
    o.mins = mins;
    o.regressions = regs;
    rc = gate_run(&res, &status, &o);
    if (ps.shown)
        fputs("\r\033[K", stderr);
    if (rc < 0) {
        fprintf(stderr, "assay: %s\n", as_error_msg());
        return status;
    }
    if ((junit && write_report(junit, gate_report_junit, res) < 0) ||
        (markdown && write_report(markdown, gate_report_markdown, res) < 0)) {
        fprintf(stderr, "assay: %s\n", as_error_msg());
        json_decref(res);
        return GATE_CONFIG;
    }
    if (json)
        as_json_print(stdout, res);
    else
        print_summary(res);
    json_decref(res);
    return status;
}
