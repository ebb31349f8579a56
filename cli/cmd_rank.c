/* assay rank: the models of a suite by quality, cost and speed
 * (evaluator/rank.h). */
#include "cli/cli.h"
#include "catalog/catalog.h"
#include "evaluator/rank.h"
#include "common/error.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

const char cli_rank_usage[] =
    "usage: assay rank SUITE [--policy P] [--require C] [--json]\n"
    "\n"
    "Rank the models of SUITE over each model's latest complete run.\n"
    "Quality is the suite's primary metric, cost is USD per 1,000 cases, speed\n"
    "is the p50 latency. Policies (default: the suite's \"ranking\", else weighted):\n"
    "  weighted[:quality=0.5,cost=0.3,speed=0.2]\n"
    "            each dimension min-max normalized over the models (1 = best),\n"
    "            ranked by the weighted sum\n"
    "  priority:cost,quality,speed[,tolerance=0.02]   (';' also separates)\n"
    "            lexicographic; values within the tolerance band (2% by default),\n"
    "            or quality means inside each other's 95% interval, are near-ties\n"
    "            that fall through to the next criterion\n"
    "  pareto    the non-dominated set first, then the next front\n"
    "Constraints exclude models first: --require quality>=0.8,p95_ms<=2000\n"
    "(keys: quality, cost, p50_ms, p95_ms, p99_ms, tokens_per_s, or a metric).\n";

static void fmt(char *buf, size_t n, const json_t *v, const char *f)
{
    if (json_is_number(v))
        snprintf(buf, n, f, json_number_value(v));
    else
        snprintf(buf, n, "-");
}

int cli_cmd_rank(cli_ctx *ctx, int argc, char **argv)
{
    const char *suite = NULL, *policy = NULL, *require = NULL;
    cat *c = NULL;
    cat_suite *s = NULL;
    json_t *out = NULL, *m;
    int json = 0, i, rc = CLI_OK;
    size_t k;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--policy") == 0 || strcmp(a, "--require") == 0) {
            if (v == NULL)
                return cli_usage("rank", "%s needs a value", a);
            if (a[2] == 'p')
                policy = v;
            else
                require = v;
            i++;
        } else if (a[0] == '-') {
            return cli_usage("rank", "unknown option '%s'", a);
        } else if (suite == NULL) {
            suite = a;
        } else {
            return cli_usage("rank", "unexpected argument '%s'", a);
        }
    }
    if (suite == NULL)
        return cli_usage("rank", "rank needs a SUITE");
    if (cat_open(&c, ctx->data_dir) < 0)
        return cli_fail();
    if (policy == NULL && cat_suite_load(&s, NULL, c, suite) == 0 && s->ranking)
        policy = json_string_value(json_object_get(s->ranking, "policy"));
    if (eval_rank(&out, cat_store(c), suite, policy, require) < 0) {
        rc = cli_fail();
    } else if (json) {
        as_json_print(stdout, out);
    } else {
        printf("policy %s; quality = %s\n", json_string_value(json_object_get(out, "policy")),
               json_is_string(json_object_get(out, "primary_metric"))
                   ? json_string_value(json_object_get(out, "primary_metric")) : "-");
        printf("%-4s %-22s %-20s %12s %9s %9s %9s  %s\n", "RANK", "MODEL", "QUALITY (95% CI)",
               "$/1K CASES", "P50 MS", "P95 MS", "TOK/S", "WHY");
        json_array_foreach(json_object_get(out, "models"), k, m) {
            char q[64], cost[32], p50[32], p95[32], tps[32], lo[24], hi[24];
            fmt(q, sizeof(q), json_object_get(m, "quality"), "%.4f");
            fmt(lo, sizeof(lo), json_object_get(m, "quality_ci_low"), "%.3f");
            fmt(hi, sizeof(hi), json_object_get(m, "quality_ci_high"), "%.3f");
            fmt(cost, sizeof(cost), json_object_get(m, "cost_per_1k"), "%.4f");
            fmt(p50, sizeof(p50), json_object_get(m, "p50_ms"), "%.0f");
            fmt(p95, sizeof(p95), json_object_get(m, "p95_ms"), "%.0f");
            fmt(tps, sizeof(tps), json_object_get(m, "tokens_per_s"), "%.1f");
            {
                char qual[160];
                snprintf(qual, sizeof(qual), "%s [%s,%s]", q, lo, hi);
                printf("%-4lld %-22.22s %-20s %12s %9s %9s %9s  %s\n",
                       (long long)json_integer_value(json_object_get(m, "rank")),
                       json_string_value(json_object_get(m, "model")), qual, cost, p50, p95, tps,
                       json_string_value(json_object_get(m, "why")));
            }
        }
        json_array_foreach(json_object_get(out, "excluded"), k, m)
            printf("-    %-22.22s %s\n", json_string_value(json_object_get(m, "model")),
                   json_string_value(json_object_get(m, "why")));
    }
    json_decref(out);
    cat_suite_free(s);
    cat_close(c);
    return rc;
}
