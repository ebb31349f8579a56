/* assay runs: runs and their items (evaluator/runs.h). */
#include "cli/cli.h"
#include "catalog/catalog.h"
#include "evaluator/runs.h"
#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char cli_runs_usage[] =
    "usage: assay runs list [--suite S] [--model M] [--status S] [--limit N] [--offset N] [--json]\n"
    "       assay runs show RUN [--items] [--json]\n"
    "       assay runs rm RUN\n"
    "\n"
    "list  runs, newest first: status, items, primary metric with its 95% interval,\n"
    "      cost and latency\n"
    "show  one run: versions it was made from, metrics with bootstrap intervals,\n"
    "      classification report, judge, cost, latency and time to first token\n"
    "      percentiles (steady: calls that waited for a cold endpoint are reported\n"
    "      apart as cold starts), server-reported latency, tokens and throughput;\n"
    "      --items adds every item\n"
    "rm    delete a run with its items\n";

/* 1 when 'v' is a whole number >= min, stored in *out. */
static int whole_at_least(const char *v, long long min, int64_t *out)
{
    char *end;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || *end || end == v || n < min)
        return 0;
    *out = n;
    return 1;
}

static int parse_id(const char *v, int64_t *out)
{
    if (!whole_at_least(v, 1, out))
        return as_error_set(AS_EINVAL, "run '%s': not a run id", v);
    return 0;
}

/* --limit (at least 1) and --offset (at least 0). */
static int parse_count(const char *opt, const char *v, long long min, int64_t *out)
{
    if (!whole_at_least(v, min, out))
        return as_error_set(AS_EINVAL, "%s '%s': not a whole number >= %lld", opt, v, min);
    return 0;
}

/* "in_progress": whether a job works on the run now, as the API says. */
static void mark_one(const cli_ctx *ctx, json_t *s)
{
    int64_t id = json_integer_value(json_object_get(s, "id"));

    json_object_set_new(s, "in_progress", json_boolean(eval_run_in_progress(ctx->data_dir, id)));
}

static void mark_in_progress(const cli_ctx *ctx, json_t *list)
{
    size_t k;

    for (k = 0; k < json_array_size(list); k++)
        mark_one(ctx, json_array_get(list, k));
}

/* The tables show a 'running' run that no job holds as interrupted. */
static const char *status_of(const json_t *s)
{
    const char *st = json_string_value(json_object_get(s, "status"));

    if (st && strcmp(st, "running") == 0 && !json_is_true(json_object_get(s, "in_progress")))
        return "interrupted";
    return st;
}

static void print_row(const json_t *s)
{
    const json_t *q = json_object_get(s, "quality");
    const json_t *l = json_object_get(s, "latency_ms");
    char qual[64] = "-", p50[32] = "-";

    if (json_is_number(json_object_get(q, "mean")))
        snprintf(qual, sizeof(qual), "%.4f", json_number_value(json_object_get(q, "mean")));
    if (json_is_number(json_object_get(l, "p50")))
        snprintf(p50, sizeof(p50), "%.0f", json_number_value(json_object_get(l, "p50")));
    printf("%-6lld %-20.20s %-20.20s %-9s %6lld/%-6lld %6lld %10s %12.6f %8s\n",
           (long long)json_integer_value(json_object_get(s, "id")),
           json_string_value(json_object_get(s, "suite")),
           json_string_value(json_object_get(s, "model")),
           status_of(s),
           (long long)json_integer_value(json_object_get(s, "items_ok")),
           (long long)json_integer_value(json_object_get(s, "items_total")),
           (long long)json_integer_value(json_object_get(s, "items_failed")), qual,
           json_number_value(json_object_get(s, "cost_usd")), p50);
}

static void print_show(const json_t *s)
{
    const char *k;
    json_t *v;
    const json_t *l = json_object_get(s, "latency_ms"), *t = json_object_get(s, "ttft_ms");
    const json_t *tpot = json_object_get(s, "per_token_ms");
    const json_t *cold = json_object_get(s, "cold_start_ms");
    const json_t *srv = json_object_get(s, "server_latency_ms");

    printf("run          %lld\n", (long long)json_integer_value(json_object_get(s, "id")));
    printf("suite        %s @ %.12s\n", json_string_value(json_object_get(s, "suite")),
           json_string_value(json_object_get(s, "suite_commit")));
    printf("prompt       %s v%lld (%.12s)\n",
           json_string_value(json_object_get(json_object_get(s, "prompt"), "name")),
           (long long)json_integer_value(json_object_get(json_object_get(s, "prompt"), "version")),
           json_string_value(json_object_get(json_object_get(s, "prompt"), "commit")));
    printf("dataset      %s v%lld (%.12s)\n",
           json_string_value(json_object_get(json_object_get(s, "dataset"), "name")),
           (long long)json_integer_value(json_object_get(json_object_get(s, "dataset"), "version")),
           json_string_value(json_object_get(json_object_get(s, "dataset"), "commit")));
    printf("model        %s (%s)\n", json_string_value(json_object_get(s, "model")),
           json_string_value(json_object_get(s, "provider")));
    printf("status       %s\n", status_of(s));
    if (json_is_string(json_object_get(s, "error")))
        printf("error        %s\n", json_string_value(json_object_get(s, "error")));
    printf("items        %lld ok, %lld failed, %lld cached of %lld\n",
           (long long)json_integer_value(json_object_get(s, "items_ok")),
           (long long)json_integer_value(json_object_get(s, "items_failed")),
           (long long)json_integer_value(json_object_get(s, "items_cached")),
           (long long)json_integer_value(json_object_get(s, "items_total")));
    printf("metrics\n");
    json_object_foreach(json_object_get(s, "metrics"), k, v) {
        if (json_is_number(json_object_get(v, "mean")))
            printf("  %-16s %.4f  [%.4f, %.4f]  n=%lld\n", k,
                   json_number_value(json_object_get(v, "mean")),
                   json_number_value(json_object_get(v, "ci_low")),
                   json_number_value(json_object_get(v, "ci_high")),
                   (long long)json_integer_value(json_object_get(v, "n")));
        else
            printf("  %-16s -\n", k);
    }
    if (json_is_object(json_object_get(s, "classification"))) {
        const json_t *c = json_object_get(s, "classification");
        printf("labels       %-14s %9s %9s %9s %8s\n", "", "precision", "recall", "f1", "support");
        json_object_foreach(json_object_get(c, "labels"), k, v)
            printf("  %-25s %9.4f %9.4f %9.4f %8lld\n", k,
                   json_number_value(json_object_get(v, "precision")),
                   json_number_value(json_object_get(v, "recall")),
                   json_number_value(json_object_get(v, "f1")),
                   (long long)json_integer_value(json_object_get(v, "support")));
        printf("  outputs outside the labels: %lld\n",
               (long long)json_integer_value(json_object_get(s, "out_of_labels")));
    }
    if (json_is_object(json_object_get(s, "judge"))) {
        const json_t *j = json_object_get(s, "judge");
        printf("judge        %s (%s), %lld errors", json_string_value(json_object_get(j, "model")),
               json_string_value(json_object_get(j, "mode")),
               (long long)json_integer_value(json_object_get(j, "errors")));
        if (json_is_number(json_object_get(j, "disagreement_rate")))
            printf(", %lld wins %lld losses %lld ties, order disagreement %.2f",
                   (long long)json_integer_value(json_object_get(j, "wins")),
                   (long long)json_integer_value(json_object_get(j, "losses")),
                   (long long)json_integer_value(json_object_get(j, "ties")),
                   json_number_value(json_object_get(j, "disagreement_rate")));
        printf("\n");
    }
    if (json_is_object(json_object_get(s, "embedding"))) {
        const json_t *e = json_object_get(s, "embedding");
        printf("embedding    %s, %lld errors\n", json_string_value(json_object_get(e, "model")),
               (long long)json_integer_value(json_object_get(e, "errors")));
    }
    printf("cost         $%.6f ($%.6f per 1,000 cases; judge $%.6f; embedding $%.6f)\n",
           json_number_value(json_object_get(s, "cost_usd")),
           json_number_value(json_object_get(s, "cost_per_1k")),
           json_number_value(json_object_get(s, "judge_cost_usd")),
           json_number_value(json_object_get(s, "embedding_cost_usd")));
    printf("latency ms   p50 %.1f  p95 %.1f  p99 %.1f\n", json_number_value(json_object_get(l, "p50")),
           json_number_value(json_object_get(l, "p95")), json_number_value(json_object_get(l, "p99")));
    if (json_is_number(json_object_get(t, "p50")))
        printf("ttft ms      p50 %.1f  p95 %.1f\n", json_number_value(json_object_get(t, "p50")),
               json_number_value(json_object_get(t, "p95")));
    if (json_is_number(json_object_get(tpot, "p50")))
        printf("per token ms p50 %.2f  p95 %.2f\n", json_number_value(json_object_get(tpot, "p50")),
               json_number_value(json_object_get(tpot, "p95")));
    if (json_integer_value(json_object_get(cold, "count")) > 0)
        printf("cold starts  %lld of %lld calls, wait p50 %.1f ms  max %.1f ms (left out of "
               "the latency above)\n", (long long)json_integer_value(json_object_get(cold, "count")),
               (long long)json_integer_value(json_object_get(cold, "checked")),
               json_number_value(json_object_get(cold, "p50")),
               json_number_value(json_object_get(cold, "max")));
    if (json_is_number(json_object_get(srv, "p50")))
        printf("server ms    p50 %.1f  p95 %.1f  p99 %.1f (latency reported by the server)\n",
               json_number_value(json_object_get(srv, "p50")),
               json_number_value(json_object_get(srv, "p95")),
               json_number_value(json_object_get(srv, "p99")));
    printf("tokens       %lld prompt, %lld completion\n",
           (long long)json_integer_value(json_object_get(json_object_get(s, "tokens"), "prompt")),
           (long long)json_integer_value(json_object_get(json_object_get(s, "tokens"), "completion")));
    printf("throughput   %.1f output tokens/s, %.2f cases/s at concurrency %lld\n",
           json_number_value(json_object_get(s, "output_tokens_per_s")),
           json_number_value(json_object_get(s, "cases_per_s")),
           (long long)json_integer_value(json_object_get(s, "concurrency")));
}

int cli_cmd_runs(cli_ctx *ctx, int argc, char **argv)
{
    eval_runs_filter f;
    cat *c = NULL;
    json_t *out = NULL, *items = NULL;
    const char *arg = NULL;
    int json = 0, with_items = 0, rc = CLI_OK, i;
    int64_t id = 0;
    size_t k;

    memset(&f, 0, sizeof(f));
    if (argc < 2)
        return cli_usage("runs", "runs needs a subcommand: list, show or rm");
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--items") == 0) {
            with_items = 1;
        } else if (strcmp(a, "--suite") == 0 || strcmp(a, "--model") == 0 ||
                   strcmp(a, "--status") == 0 || strcmp(a, "--limit") == 0 ||
                   strcmp(a, "--offset") == 0) {
            int64_t n = 0;
            if (v == NULL)
                return cli_usage("runs", "%s needs a value", a);
            if (strcmp(a, "--suite") == 0)
                f.suite = v;
            else if (strcmp(a, "--model") == 0)
                f.model = v;
            else if (strcmp(a, "--status") == 0)
                f.status = v;
            else if (parse_count(a, v, strcmp(a, "--limit") == 0 ? 1 : 0, &n) < 0)
                return cli_fail();
            else if (strcmp(a, "--limit") == 0)
                f.limit = n;
            else
                f.offset = n;
            i++;
        } else if (a[0] == '-') {
            return cli_usage("runs", "unknown option '%s'", a);
        } else if (arg == NULL) {
            arg = a;
        } else {
            return cli_usage("runs", "unexpected argument '%s'", a);
        }
    }
    if (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "show") != 0 && strcmp(argv[1], "rm") != 0)
        return cli_usage("runs", "unknown runs subcommand '%s'", argv[1]);
    if (strcmp(argv[1], "list") != 0) {
        if (arg == NULL)
            return cli_usage("runs", "runs %s needs a RUN id", argv[1]);
        if (parse_id(arg, &id) < 0)
            return cli_fail();
    } else if (arg) {
        return cli_usage("runs", "unexpected argument '%s'", arg);
    }
    if (cat_open(&c, ctx->data_dir) < 0)
        return cli_fail();
    if (strcmp(argv[1], "list") == 0) {
        if (eval_runs_list(&out, cat_store(c), &f) < 0) {
            rc = cli_fail();
        } else if (mark_in_progress(ctx, out), json) {
            as_json_print(stdout, out);
        } else {
            printf("%-6s %-20s %-20s %-9s %13s %6s %10s %12s %8s\n", "RUN", "SUITE", "MODEL",
                   "STATUS", "OK/TOTAL", "FAILED", "QUALITY", "COST USD", "P50 MS");
            for (k = 0; k < json_array_size(out); k++)
                print_row(json_array_get(out, k));
        }
    } else if (strcmp(argv[1], "show") == 0) {
        if (eval_run_summary(&out, cat_store(c), id) < 0 ||
            (with_items && eval_run_items(&items, cat_store(c), id, 0, 0) < 0)) {
            rc = cli_fail();
        } else if (mark_one(ctx, out), json) {
            if (items)
                json_object_set(out, "items", items);
            as_json_print(stdout, out);
        } else {
            print_show(out);
            for (k = 0; items && k < json_array_size(items); k++) {
                json_t *it = json_array_get(items, k);
                const char *o = json_string_value(json_object_get(it, "output"));
                printf("%-20.20s %-6s %8.0f ms  %.60s\n",
                       json_string_value(json_object_get(it, "case_id")),
                       json_string_value(json_object_get(it, "status")),
                       json_number_value(json_object_get(it, "latency_ms")),
                       o ? o : json_string_value(json_object_get(it, "error")));
            }
        }
    } else {
        if (eval_run_in_progress(ctx->data_dir, id)) {
            as_error_set(AS_ECONFLICT, "run %lld is in progress; stop it (Ctrl-C, or cancel it "
                         "in the dashboard) before removing it", (long long)id);
            rc = cli_fail();
        } else if (eval_run_delete(cat_store(c), id) < 0)
            rc = cli_fail();
        else
            printf("run %lld removed\n", (long long)id);
    }
    json_decref(out);
    json_decref(items);
    cat_close(c);
    return rc;
}
