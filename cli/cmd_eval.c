/* assay eval: run a suite against its models (evaluator/eval.h). */
#include "cli/cli.h"
#include "catalog/catalog.h"
#include "evaluator/eval.h"
#include "evaluator/runs.h"
#include "common/error.h"
#include "common/json.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char cli_eval_usage[] =
    "usage: assay eval SUITE [--model M]... [--prompt REF] [--limit N] [--concurrency N]\n"
    "                  [--no-cache] [--repeat K] [--no-judge] [--json]\n"
    "       assay eval --resume RUN [--json]\n"
    "\n"
    "Run every case of the suite's dataset through each model (the suite's models,\n"
    "or those given with --model), one run per model, scoring each answer with the\n"
    "suite's metrics and its judge. Run ids are printed first; results are written\n"
    "as they arrive, so an interrupted run is finished with --resume, which never\n"
    "calls a model again for a case it has.\n"
    "\n"
    "  --model M        a model instead of the suite's (repeatable)\n"
    "  --prompt REF     another version of the prompt (name@v3, name@staging, ...)\n"
    "  --limit N        only the first N cases\n"
    "  --concurrency N  requests in flight per model (default: the model's; at\n"
    "                   most 4096)\n"
    "  --no-cache       do not answer from the response cache\n"
    "  --repeat K       send each case K times (variance across samples; at most\n"
    "                   1000)\n"
    "  --no-judge       skip the suite's LLM judge\n"
    "  --json           print the runs' summaries as JSON\n"
    "\n"
    "Exit status 1 when a run ends partial (cases failed after their retries).\n";

static eval_job *g_job;     /* for the signal handler */

static void on_signal(int sig)
{
    (void)sig;
    if (g_job)
        eval_job_cancel(g_job);   /* an atomic store: async-signal-safe */
}

typedef struct progress_state {
    int tty;
    double last;
} progress_state;

static void on_progress(void *arg, const eval_progress *p)
{
    progress_state *ps = arg;
    double rate, eta;
    int width = 30, fill;

    if (!ps->tty || p->total <= 0)
        return;
    if (p->elapsed_s - ps->last < 0.1 && p->done < p->total)
        return;
    ps->last = p->elapsed_s;
    rate = p->elapsed_s > 0 ? (double)p->done / p->elapsed_s : 0;
    eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
    fill = (int)((double)width * (double)p->done / (double)p->total);
    if (fill > width)
        fill = width;
    fprintf(stderr, "\r%-16.16s [%.*s%*s] %lld/%lld %.1f/s errors %lld ETA %.0fs   ", p->model,
            fill, "##############################", width - fill, "", (long long)p->done,
            (long long)p->total, rate, (long long)p->failed, eta);
    fflush(stderr);
}

static void print_line(const json_t *s)
{
    const json_t *q = json_object_get(s, "quality");
    const json_t *lat = json_object_get(s, "latency_ms");
    double mean = json_number_value(json_object_get(q, "mean"));

    printf("run %lld %s: %s, %lld/%lld ok, %lld failed", 
           (long long)json_integer_value(json_object_get(s, "id")),
           json_string_value(json_object_get(s, "model")),
           json_string_value(json_object_get(s, "status")),
           (long long)json_integer_value(json_object_get(s, "items_ok")),
           (long long)json_integer_value(json_object_get(s, "items_total")),
           (long long)json_integer_value(json_object_get(s, "items_failed")));
    if (json_is_number(json_object_get(q, "mean")))
        printf("; %s %.4f [%.4f, %.4f]", json_string_value(json_object_get(s, "primary_metric")),
               mean, json_number_value(json_object_get(q, "ci_low")),
               json_number_value(json_object_get(q, "ci_high")));
    printf("; $%.6f", json_number_value(json_object_get(s, "cost_usd")));
    /* scorers' failures leave items unscored: say so, a resume scores them */
    if (json_integer_value(json_object_get(json_object_get(s, "judge"), "errors")) > 0)
        printf("; %lld judge errors",
               (long long)json_integer_value(json_object_get(json_object_get(s, "judge"), "errors")));
    if (json_integer_value(json_object_get(json_object_get(s, "embedding"), "errors")) > 0)
        printf("; %lld embedding errors", (long long)json_integer_value(
                                              json_object_get(json_object_get(s, "embedding"), "errors")));
    if (json_is_number(json_object_get(lat, "p50")))
        printf("; p50 %.0f ms, p95 %.0f ms", json_number_value(json_object_get(lat, "p50")),
               json_number_value(json_object_get(lat, "p95")));
    printf("\n");
}

static int parse_long(const char *opt, const char *v, long min, long max, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(v, &end, 10);
    if (errno || *end || end == v || *out < min || *out > max)
        return as_error_set(AS_EINVAL, "%s: '%s' is not a whole number in %ld..%ld", opt, v, min, max);
    return 0;
}

int cli_cmd_eval(cli_ctx *ctx, int argc, char **argv)
{
    eval_opts o;
    eval_job *job = NULL;
    const char **models = NULL;
    progress_state ps = {0, -1};
    struct sigaction sa, old_int, old_term;
    const int64_t *ids;
    size_t n, i;
    int json = 0, rc, status = CLI_OK, partial = 0;
    long v;
    json_t *sums = NULL;
    cat *c = NULL;

    memset(&o, 0, sizeof(o));
    o.data_dir = ctx->data_dir;
    if ((models = calloc((size_t)argc, sizeof(*models))) == NULL) {
        as_error_set(AS_ENOMEM, "out of memory");
        return cli_fail();
    }
    for (i = 1; i < (size_t)argc; i++) {
        const char *a = argv[i], *val = i + 1 < (size_t)argc ? argv[i + 1] : NULL;
        int takes = strcmp(a, "--model") == 0 || strcmp(a, "--prompt") == 0 ||
                    strcmp(a, "--limit") == 0 ||
                    strcmp(a, "--concurrency") == 0 || strcmp(a, "--repeat") == 0 ||
                    strcmp(a, "--resume") == 0;
        if (takes && val == NULL) {
            free(models);
            return cli_usage("eval", "%s needs a value", a);
        }
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--no-cache") == 0) {
            o.no_cache = 1;
        } else if (strcmp(a, "--no-judge") == 0) {
            o.no_judge = 1;
        } else if (strcmp(a, "--model") == 0) {
            models[o.nmodels++] = val;
            i++;
        } else if (strcmp(a, "--prompt") == 0) {
            o.prompt = val;
            i++;
        } else if (takes) {
            /* the largest values a run takes; larger ones are refused, not cut */
            long max = strcmp(a, "--concurrency") == 0 ? 4096
                       : strcmp(a, "--repeat") == 0   ? 1000
                                                      : 1000000000L;
            if (parse_long(a, val, 1, max, &v) < 0) {
                free(models);
                return cli_fail();
            }
            if (strcmp(a, "--limit") == 0)
                o.limit = v;
            else if (strcmp(a, "--concurrency") == 0)
                o.concurrency = (int)v;
            else if (strcmp(a, "--repeat") == 0)
                o.repeat = (int)v;
            else
                o.resume_run = v;
            i++;
        } else if (a[0] == '-') {
            free(models);
            return cli_usage("eval", "unknown option '%s'", a);
        } else if (o.suite == NULL) {
            o.suite = a;
        } else {
            free(models);
            return cli_usage("eval", "unexpected argument '%s'", a);
        }
    }
    if ((o.suite == NULL) == (o.resume_run == 0)) {
        free(models);
        return cli_usage("eval", "give a SUITE or --resume RUN");
    }
    if (o.resume_run && (o.nmodels || o.limit || o.repeat || o.concurrency || o.prompt)) {
        free(models);
        return cli_usage("eval", "--resume takes the run's own models and options");
    }
    if (o.nmodels)
        o.models = models;
    ps.tty = isatty(STDERR_FILENO);
    o.progress = on_progress;
    o.progress_arg = &ps;
    if (eval_prepare(&job, &o) < 0) {
        free(models);
        return cli_fail();
    }
    ids = eval_job_runs(job, &n);
    if (!json)
        for (i = 0; i < n; i++)
            printf("run %lld\n", (long long)ids[i]);
    fflush(stdout);
    g_job = job;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    rc = eval_job_run(job);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    g_job = NULL;
    if (ps.tty)
        fputs("\n", stderr);
    if (rc < 0) {
        status = cli_fail();
        goto out;
    }
    if (cat_open(&c, ctx->data_dir) < 0 || (sums = json_array()) == NULL) {
        status = cli_fail();
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_t *s;
        if (eval_run_summary(&s, cat_store(c), ids[i]) < 0) {
            status = cli_fail();
            goto out;
        }
        if (strcmp(json_string_value(json_object_get(s, "status")), "complete") != 0)
            partial = (int)i + 1;
        if (!json)
            print_line(s);
        json_array_append_new(sums, s);
    }
    if (json)
        as_json_print(stdout, sums);
    if (partial) {
        const json_t *s = json_array_get(sums, (size_t)partial - 1);
        fprintf(stderr, "assay: run %lld is %s: %lld cases failed (finish it with 'assay eval "
                "--resume %lld')\n", (long long)ids[partial - 1],
                json_string_value(json_object_get(s, "status")),
                (long long)json_integer_value(json_object_get(s, "items_failed")),
                (long long)ids[partial - 1]);
        status = CLI_FAIL;
    }
out:
    json_decref(sums);
    cat_close(c);
    eval_job_free(job);
    free(models);
    return status;
}
