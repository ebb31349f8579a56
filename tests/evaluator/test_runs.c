/* Reading runs back (evaluator/runs.h): a page of items is read without the
 * run's summary, in case order, with hour-priced costs attributed as the
 * summary attributes them. One hour-priced run of 10,000 items is written
 * straight into a fresh database. How much faster a page is than a summary
 * is measured by bench/web, not here: timings make flaky tests. */
#include "evaluator/runs.h"
#include "common/json.h"
#include "store/store.h"
#include "tests/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NITEMS 10000

static store *db;

/* Run 1: 10,000 items of a model at 36 USD/hour on 2 instances, busy 90 s;
 * every 7th item failed, every 11th answered from the cache, four metrics
 * scored. Items are inserted in an order unlike case order. */
static int seed(void)
{
    static const char *const sql[] = {
        "INSERT INTO runs (id, suite, suite_commit, prompt, prompt_version, prompt_commit, "
        "dataset, dataset_version, dataset_commit, model, provider, model_settings, metrics, "
        "primary_metric, labels, price_in, price_out, price_hour, price_version, assay_version, "
        "status, concurrency, items_total, busy_ms, created_at, finished_at, instance_count) "
        "VALUES (1, 's', 'c', 'p', 1, 'c', 'd', 1, 'c', 'gpu', 'openai', '{}', "
        "'[\"exact_match\",\"token_f1\",\"rougeL\",\"bleu\"]', 'exact_match', '[]', 0, 0, 36, 1, "
        "'test', 'complete', 4, 10000, "
        "90000, '2026-11-24T00:00:00Z', '2026-11-24T00:01:30Z', 2)",
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999) "
        "INSERT INTO items (run_id, case_id, rep, status, output, expected, scores, latency_ms, "
        "prompt_tokens, completion_tokens, busy_ms, cached, attempts, created_at) "
        "SELECT 1, printf('c%05d', (i * 7919) % 10000), 0, "
        "CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'ok' END, 'answer', 'answer', "
        "CASE WHEN i % 7 = 0 THEN NULL ELSE json_object('exact_match', i % 2, 'token_f1', "
        "(i % 13) / 13.0, 'rougeL', (i % 17) / 17.0, 'bleu', (i % 19) / 19.0) END, "
        "10 + i % 50, 20, 5, CASE WHEN i % 7 = 0 THEN NULL ELSE 9 END, "
        "CASE WHEN i % 11 = 0 THEN 1 ELSE 0 END, 1, '2026-11-24T00:00:00Z' FROM n",
    };
    size_t i;
    int rc;

    for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
        if ((rc = store_exec(db, sql[i])) < 0)
            return rc;
    return 0;
}

static void items__page_in_case_order(void)
{
    json_t *page = NULL;
    size_t i;
    char want[16];

    T_OK(eval_run_items(&page, db, 1, 5000, 50));
    T_EQ_INT((long long)json_array_size(page), 50);
    for (i = 0; i < json_array_size(page); i++) {
        snprintf(want, sizeof(want), "c%05zu", 5000 + i);
        T_EQ_STR(json_string_value(json_object_get(json_array_get(page, i), "case_id")), want);
    }
    T_CHECK(json_is_object(json_object_get(json_array_get(page, 1), "scores")));
    json_decref(page);
    T_OK(eval_run_items(&page, db, 1, 9990, 50));
    T_EQ_INT((long long)json_array_size(page), 10);
    json_decref(page);
    T_ERR(eval_run_items(&page, db, 2, 0, 50), AS_ENOTFOUND);
    T_CHECK(page == NULL);
}

/* The items' attributed costs add up to the summary's cost: the page
 * computes the run's cost as the summary does, without the summary. */
static void items__hour_cost_matches_the_summary(void)
{
    json_t *all = NULL, *sum = NULL, *v;
    double total = 0;
    size_t i;

    T_OK(eval_run_items(&all, db, 1, 0, 0));
    T_OK(eval_run_summary(&sum, db, 1));
    T_EQ_INT((long long)json_array_size(all), NITEMS);
    json_array_foreach(all, i, v) {
        double c = json_number_value(json_object_get(v, "cost_usd"));
        if (json_integer_value(json_object_get(v, "cached")))
            T_CHECK(c == 0);
        total += c;
    }
    T_CHECK(json_number_value(json_object_get(sum, "cost_usd")) > 0);
    T_NEAR(total, json_number_value(json_object_get(sum, "cost_usd")), 1e-9);
    json_decref(all);
    json_decref(sum);
}

int main(void)
{
    char dir[] = "/tmp/assay-test-runs-XXXXXX", path[64];

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/assay.db", dir);
    if (store_open(&db, path, STORE_OPEN_MIGRATE) < 0 || seed() < 0) {
        fprintf(stderr, "setup: %s\n", as_error_msg());
        return 1;
    }
    T_RUN(items__page_in_case_order);
    T_RUN(items__hour_cost_matches_the_summary);
    store_close(db);
    unlink(path);
    snprintf(path, sizeof(path), "%s/assay.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/assay.db-shm", dir);
    unlink(path);
    rmdir(dir);
    return t_done();
}
