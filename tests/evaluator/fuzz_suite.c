/* Fuzz target for a suite file and the ranking it asks for: the input is a
 * --require constraint line, then a suite's JSON. The suite is parsed and
 * checked (catalog/suite.c, with the metrics registry); the ranking policy
 * it names (or the default) and the constraint are then applied to fixed
 * run summaries (rank.c). Errors are expected; nothing may crash or leak,
 * and a ranking that succeeds must list every model once, ranked or
 * excluded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "evaluator/rank.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *summaries(void)
{
    static const struct {
        const char *model;
        double q, cost, p50;
    } m[] = {{"A", 0.80, 1.00, 500}, {"B", 0.79, 0.20, 900}, {"C", 0.60, 0.10, 300},
             {"D", 0.60, 0.10, 300}};
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        json_array_append_new(
            a, json_pack("{s:i,s:s,s:s,s:{s:f,s:f,s:f},s:{s:{s:f}},s:f,s:{s:f,s:f,s:f},s:f}",
                         "id", (int)i + 1, "model", m[i].model, "primary_metric", "rougeL",
                         "quality", "mean", m[i].q, "ci_low", m[i].q - 0.05, "ci_high",
                         m[i].q + 0.05, "metrics", "bleu", "mean", m[i].q / 2, "cost_per_1k",
                         m[i].cost, "latency_ms", "p50", m[i].p50, "p95", 2 * m[i].p50, "p99",
                         3 * m[i].p50, "output_tokens_per_s", 50.0));
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *runs;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t rlen = nl ? (size_t)(nl - data) : size;
    char *require = NULL;
    const char *policy = NULL;
    cat_suite *suite = NULL;
    json_t *out = NULL;

    if (runs == NULL)
        runs = summaries();
    if (rlen > 0) {
        if ((require = malloc(rlen + 1)) == NULL)
            abort();
        memcpy(require, data, rlen);
        require[rlen] = '\0';
        if (memchr(require, '\0', rlen))
            goto out;
    }
    if (nl && cat_suite_parse(&suite, (const char *)nl + 1, size - rlen - 1, "fuzz") == 0 &&
        suite->ranking)
        policy = json_string_value(json_object_get(suite->ranking, "policy"));
    if (eval_rank_summaries(&out, runs, "fuzz", policy, require) == 0 &&
        json_array_size(json_object_get(out, "models")) +
                json_array_size(json_object_get(out, "excluded")) != json_array_size(runs))
        abort();
out:
    json_decref(out);
    cat_suite_free(suite);
    free(require);
    return 0;
}
