/* The gate's decision logic on hand-made run summaries and items: limits
 * and their sources, the significance tests, per-case changes, flaky
 * cases, and the escaping of the reports. */
#include "tests/test.h"
#include "common/error.h"
#include "evaluator/gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* An item of case 'id': status ok with score 'v' for 'metric' (v < 0: a
 * failed item). */
static json_t *item(const char *id, int rep, const char *metric, double v)
{
    json_t *o = json_pack("{s:s,s:i,s:s,s:s,s:s}", "case_id", id, "rep", rep, "status",
                          v < 0 ? "failed" : "ok", "output", v < 0 ? "" : "out", "expected", "exp");

    if (v >= 0)
        json_object_set_new(o, "scores", json_pack("{s:f}", metric, v));
    else
        json_object_set_new(o, "error", json_string("HTTP 500"));
    return o;
}

static json_t *summary(const char *metric, double mean)
{
    return json_pack("{s:s,s:{s:{s:f}},s:f,s:f,s:{s:f}}", "model", "m", "metrics", metric, "mean",
                     mean, "cost_usd", 0.5, "judge_cost_usd", 0.25, "latency_ms", "p95", 900.0);
}

/* n cases "cNN" scoring 1 except the first 'fails' (0). */
static json_t *items_binary(size_t n, size_t fails)
{
    json_t *a = json_array();
    char id[32];
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "c%02zu", i);
        json_array_append_new(a, item(id, 0, "exact_match", i < fails ? 0.0 : 1.0));
    }
    return a;
}

static json_t *names(const char *a, const char *b)
{
    return b ? json_pack("[s,s]", a, b) : json_pack("[s]", a);
}

static const json_t *find_check(const json_t *v, const char *name)
{
    const json_t *c;
    size_t i;

    json_array_foreach(json_object_get(v, "checks"), i, c)
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return c;
    return NULL;
}

static int passed(const json_t *o)
{
    return json_is_true(json_object_get(o, "passed"));
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static void gate__parse_limit(void)
{
    gate_limit l;

    T_OK(gate_parse_limit(&l, "rougeL=0.4", "--min"));
    T_EQ_STR(l.metric, "rougeL");
    T_NEAR(l.value, 0.4, 0);
    T_OK(gate_parse_limit(&l, "f1=-1e-3", "--min"));
    T_NEAR(l.value, -1e-3, 0);
    T_ERR(gate_parse_limit(&l, "rougeL=abc", "--min"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "'abc' is not a number") != NULL);
    T_ERR(gate_parse_limit(&l, "rougeL=", "--min"), AS_EINVAL);
    T_ERR(gate_parse_limit(&l, "rougeL=inf", "--min"), AS_EINVAL);
    T_ERR(gate_parse_limit(&l, "rougeL=0.4x", "--min"), AS_EINVAL);
    T_ERR(gate_parse_limit(&l, "=0.4", "--min"), AS_EINVAL);
    T_ERR(gate_parse_limit(&l, "rougeL", "--min"), AS_EINVAL);
}

static void gate__command_line_wins_over_suite(void)
{
    gate_rules r;
    gate_limit l;
    json_t *th = json_pack("{s:f,s:f,s:f}", "exact_match", 0.5, "token_f1", 0.3, "max_cost_usd", 2.0);
    json_t *n = names("exact_match", "token_f1");

    T_OK(gate_rules_init(&r, "exact_match"));
    T_OK(gate_parse_limit(&l, "exact_match=0.9", "--min"));
    T_OK(gate_rules_add_min(&r, &l));
    T_OK(gate_rules_add_suite(&r, th));
    T_OK(gate_rules_finish(&r, n));
    T_EQ_INT(r.nmins, 2);
    T_EQ_STR(r.mins[0].metric, "exact_match");
    T_NEAR(r.mins[0].value, 0.9, 0);
    T_EQ_INT(r.mins[0].source, GATE_SRC_CLI);
    T_EQ_STR(r.mins[1].metric, "token_f1");
    T_EQ_INT(r.mins[1].source, GATE_SRC_SUITE);
    T_CHECK(r.has_max_cost && r.max_cost_usd.value == 2.0);
    /* the primary metric's regression check is added with a maximum drop of 0 */
    T_EQ_INT(r.nregressions, 1);
    T_EQ_STR(r.regressions[0].metric, "exact_match");
    T_EQ_INT(r.regressions[0].source, GATE_SRC_DEFAULT);
    T_NEAR(r.regressions[0].value, 0, 0);
    json_decref(th);
    json_decref(n);
}

static void gate__unknown_metric_refused(void)
{
    gate_rules r;
    gate_limit l;
    json_t *n = names("exact_match", NULL), *bad = json_pack("{s:s}", "exact_match", "x");

    T_OK(gate_rules_init(&r, "exact_match"));
    T_OK(gate_parse_limit(&l, "rogueL=0.5", "--min"));
    T_OK(gate_rules_add_min(&r, &l));
    T_ERR(gate_rules_finish(&r, n), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "--min rogueL: unknown metric") != NULL);
    T_OK(gate_rules_init(&r, "exact_match"));
    T_OK(gate_parse_limit(&l, "exact_match=-0.1", "--max-regression"));
    T_ERR(gate_rules_add_regression(&r, &l), AS_EINVAL);
    T_ERR(gate_rules_add_suite(&r, bad), AS_EINVAL);
    r.alpha = 1.5;
    T_ERR(gate_rules_finish(&r, n), AS_EINVAL);
    json_decref(n);
    json_decref(bad);
}

static int rules_for(gate_rules *r, const char *primary, const char *other, const char *min,
                     const char *maxreg)
{
    gate_limit l;
    json_t *n = names(primary, other);
    int rc = gate_rules_init(r, primary);

    if (rc == 0 && min && (rc = gate_parse_limit(&l, min, "--min")) == 0)
        rc = gate_rules_add_min(r, &l);
    if (rc == 0 && maxreg && (rc = gate_parse_limit(&l, maxreg, "--max-regression")) == 0)
        rc = gate_rules_add_regression(r, &l);
    if (rc == 0)
        rc = gate_rules_finish(r, n);
    json_decref(n);
    return rc;
}

static void gate__minimum_and_budgets(void)
{
    gate_rules r;
    json_t *s = summary("exact_match", 0.8), *it = items_binary(10, 2), *v = NULL;

    T_OK(rules_for(&r, "exact_match", NULL, "exact_match=0.9", NULL));
    r.has_max_cost = 1;
    r.max_cost_usd.value = 0.7;         /* cost 0.5 + judge 0.25 */
    r.has_max_p95 = 1;
    r.max_p95_ms.value = 1000;
    T_OK(gate_judge_model(&v, &r, s, it, NULL, NULL));
    T_CHECK(!passed(v));
    T_CHECK(!passed(find_check(v, "min exact_match")));
    T_NEAR(num(find_check(v, "min exact_match"), "actual"), 0.8, 1e-12);
    T_CHECK(!passed(find_check(v, "max cost_usd")));
    T_NEAR(num(find_check(v, "max cost_usd"), "actual"), 0.75, 1e-12);
    T_CHECK(passed(find_check(v, "max p95_ms")));
    /* no baseline: no regression check, no case changes */
    T_CHECK(find_check(v, "regression exact_match") == NULL);
    T_CHECK(json_is_null(json_object_get(json_array_get(json_object_get(v, "cases"), 0), "change")));
    json_decref(v);
    T_OK(rules_for(&r, "exact_match", NULL, "exact_match=0.8", NULL));
    T_OK(gate_judge_model(&v, &r, s, it, NULL, NULL));
    T_CHECK(passed(v));
    json_decref(v);
    json_decref(s);
    json_decref(it);
}

/* 30 cases passing on the baseline; the candidate fails the first k. */
static json_t *mcnemar_verdict(size_t k, const char *maxreg, double alpha)
{
    gate_rules r;
    json_t *bs = summary("exact_match", 1.0), *cs = summary("exact_match", (30.0 - k) / 30.0);
    json_t *bi = items_binary(30, 0), *ci = items_binary(30, k), *v = NULL;

    if (rules_for(&r, "exact_match", NULL, NULL, maxreg) == 0) {
        if (alpha > 0)
            r.alpha = alpha;
        T_OK(gate_judge_model(&v, &r, cs, ci, bs, bi));
    }
    json_decref(bs);
    json_decref(cs);
    json_decref(bi);
    json_decref(ci);
    return v;
}

static void gate__mcnemar_decides_pass_fail_metrics(void)
{
    json_t *v = mcnemar_verdict(12, NULL, 0);
    const json_t *c = find_check(v, "regression exact_match");

    T_CHECK(!passed(v) && !passed(c));
    T_EQ_STR(json_string_value(json_object_get(c, "test")), "mcnemar");
    T_NEAR(num(c, "p_value"), 2 * pow(0.5, 12), 1e-15);
    T_EQ_INT(json_integer_value(json_object_get(c, "b")), 12);
    T_EQ_INT(json_integer_value(json_object_get(c, "c")), 0);
    T_NEAR(num(c, "delta"), -0.4, 1e-12);
    T_EQ_INT(json_array_size(json_object_get(json_object_get(v, "changes"), "regressed")), 12);
    json_decref(v);
    /* the same drop within the allowed regression passes */
    v = mcnemar_verdict(12, "exact_match=0.45", 0);
    T_CHECK(passed(v) && json_is_true(json_object_get(find_check(v, "regression exact_match"), "significant")));
    json_decref(v);
    /* a significant drop at a smaller alpha is not significant */
    v = mcnemar_verdict(12, NULL, 1e-5);
    T_CHECK(passed(v));
    json_decref(v);
    /* a small drop: 2 discordant cases, p = 0.5 */
    v = mcnemar_verdict(2, NULL, 0);
    T_CHECK(passed(v));
    T_NEAR(num(find_check(v, "regression exact_match"), "p_value"), 0.5, 1e-15);
    json_decref(v);
}

static void gate__paired_bootstrap_decides_scores(void)
{
    gate_rules r;
    json_t *bi = json_array(), *ci = json_array(), *bs, *cs, *v = NULL;
    const json_t *c;
    char id[32];
    size_t i;

    for (i = 0; i < 40; i++) {
        snprintf(id, sizeof(id), "c%02zu", i);
        json_array_append_new(bi, item(id, 0, "rougeL", 0.6 + 0.01 * (double)(i % 7)));
        json_array_append_new(ci, item(id, 0, "rougeL", 0.4 + 0.01 * (double)(i % 5)));
    }
    bs = summary("rougeL", 0.63);
    cs = summary("rougeL", 0.42);
    T_OK(rules_for(&r, "rougeL", NULL, NULL, NULL));
    T_OK(gate_judge_model(&v, &r, cs, ci, bs, bi));
    c = find_check(v, "regression rougeL");
    T_EQ_STR(json_string_value(json_object_get(c, "test")), "paired_bootstrap");
    T_CHECK(num(c, "p_value") < 0.001 && !passed(c) && !passed(v));
    T_CHECK(num(c, "ci_high") < 0);
    T_NEAR(num(c, "delta"), 0.42 - 0.63, 1e-12);        /* from the run summaries */
    /* every case under the 0.5 pass line: all "regressed" */
    T_EQ_INT(json_array_size(json_object_get(json_object_get(v, "changes"), "regressed")), 40);
    json_decref(v);
    json_decref(bi);
    json_decref(ci);
    json_decref(bs);
    json_decref(cs);
}

static void gate__changes_flaky_and_failed_items(void)
{
    gate_rules r;
    json_t *bi = json_array(), *ci = json_array(), *s = summary("exact_match", 0.5), *v = NULL;
    const json_t *cases;

    /* a: flaky on the candidate (pass, fail, pass) — passes by majority
     * b: passed before, a failed item now (regressed)
     * c: failed before, passes now (fixed)
     * d: only in the candidate (new) */
    json_array_append_new(bi, item("a", 0, "exact_match", 1));
    json_array_append_new(bi, item("b", 0, "exact_match", 1));
    json_array_append_new(bi, item("c", 0, "exact_match", 0));
    json_array_append_new(ci, item("a", 0, "exact_match", 1));
    json_array_append_new(ci, item("a", 1, "exact_match", 0));
    json_array_append_new(ci, item("a", 2, "exact_match", 1));
    json_array_append_new(ci, item("b", 0, "exact_match", -1));
    json_array_append_new(ci, item("c", 0, "exact_match", 1));
    json_array_append_new(ci, item("d", 0, "exact_match", 1));
    T_OK(rules_for(&r, "exact_match", NULL, NULL, NULL));
    T_OK(gate_judge_model(&v, &r, s, ci, s, bi));
    cases = json_object_get(v, "cases");
    T_EQ_INT(json_array_size(cases), 4);
    T_CHECK(passed(json_array_get(cases, 0)));
    T_CHECK(json_is_true(json_object_get(json_array_get(cases, 0), "flaky")));
    T_EQ_INT(json_integer_value(json_object_get(json_array_get(cases, 0), "reps")), 3);
    T_EQ_STR(json_string_value(json_object_get(json_array_get(cases, 0), "change")), "same");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(cases, 1), "change")), "regressed");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(cases, 1), "output")), "HTTP 500");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(cases, 2), "change")), "fixed");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(cases, 3), "change")), "new");
    T_EQ_STR(json_string_value(json_array_get(json_object_get(v, "flaky"), 0)), "a");
    T_EQ_INT(json_array_size(json_object_get(v, "flaky")), 1);
    json_decref(v);
    json_decref(bi);
    json_decref(ci);
    json_decref(s);
}

static void gate__classification_correctness(void)
{
    gate_rules r;
    json_t *bi = json_array(), *ci = json_array(), *bs = summary("f1", 0.9), *cs = summary("f1", 0.2);
    json_t *v = NULL;
    const json_t *c;
    size_t i;
    char id[32];

    for (i = 0; i < 30; i++) {
        snprintf(id, sizeof(id), "c%02zu", i);
        json_array_append_new(bi, json_pack("{s:s,s:i,s:s,s:s,s:s}", "case_id", id, "rep", 0,
                                            "status", "ok", "label", "pos", "expected", "pos"));
        json_array_append_new(ci, json_pack("{s:s,s:i,s:s,s:o,s:s}", "case_id", id, "rep", 0,
                                            "status", "ok", "label",
                                            i < 20 ? json_null() : json_string("pos"),
                                            "expected", "pos"));
    }
    T_OK(rules_for(&r, "f1", NULL, NULL, NULL));
    T_OK(gate_judge_model(&v, &r, cs, ci, bs, bi));
    c = find_check(v, "regression f1");
    T_EQ_STR(json_string_value(json_object_get(c, "test")), "mcnemar");
    T_EQ_INT(json_integer_value(json_object_get(c, "b")), 20);
    T_NEAR(num(c, "delta"), -0.7, 1e-12);
    T_CHECK(!passed(v));
    json_decref(v);
    json_decref(bi);
    json_decref(ci);
    json_decref(bs);
    json_decref(cs);
}

static void gate__reports_escape_everything(void)
{
    gate_rules r;
    json_t *s = json_pack("{s:s,s:{s:{s:f}}}", "model", "m<1>&\"x\"", "metrics", "exact_match",
                          "mean", 0.0);
    json_t *it = json_array(), *v = NULL, *res;
    char *x = NULL, *md = NULL;

    json_array_append_new(it, json_pack("{s:s,s:i,s:s,s:s,s:s,s:{s:f}}", "case_id", "a|b&<c>",
                                        "rep", 0, "status", "ok", "output",
                                        "</failure>\x01 ]]> \xEF\xBF\xBE ok", "expected", "y & z",
                                        "scores", "exact_match", 0.0));
    T_OK(rules_for(&r, "exact_match", NULL, "exact_match=0.5", NULL));
    T_OK(gate_judge_model(&v, &r, s, it, NULL, NULL));
    json_object_set_new(v, "candidate", json_pack("{s:i,s:b}", "run_id", 7, "reused", 0));
    json_object_set_new(v, "baseline", json_null());
    res = json_pack("{s:s,s:{s:s,s:i,s:s},s:{s:{s:s,s:i,s:s}},s:{s:s,s:s},s:f,s:b,s:[],s:[o]}",
                    "suite", "s\"q", "dataset", "name", "d", "version", 1, "commit", "abcdef0123",
                    "candidate", "prompt", "name", "p", "version", 2, "commit", "0123456789",
                    "baseline", "kind", "none", "ref", "none", "alpha", 0.05, "passed", 0, "notes",
                    "models", v);
    T_OK(gate_report_junit(&x, res));
    T_CHECK(strstr(x, "<testsuite name=\"m&lt;1&gt;&amp;&quot;x&quot;\" tests=\"2\" failures=\"2\"") != NULL);
    T_CHECK(strstr(x, "name=\"a|b&amp;&lt;c&gt;\"") != NULL);
    T_CHECK(strstr(x, "actual: &lt;/failure&gt;\xEF\xBF\xBD ]]&gt; \xEF\xBF\xBD ok</failure>") != NULL);
    T_CHECK(strstr(x, "expected: y &amp; z") != NULL);
    T_CHECK(strchr(x, '\x01') == NULL);
    T_CHECK(strstr(x, "<testsuites name=\"assay gate s&quot;q\"") != NULL);
    T_OK(gate_report_markdown(&md, res));
    T_CHECK(strncmp(md, "## assay gate: \xE2\x9D\x8C failed", 22) == 0);
    T_CHECK(strstr(md, "| min exact\\_match | &gt;= 0.5 | 0 | cli | \xE2\x9D\x8C failed |") != NULL);
    T_CHECK(strstr(md, "### Model m&lt;1&gt;&amp;\"x\": ") != NULL);
    free(x);
    free(md);
    json_decref(res);
    json_decref(s);
    json_decref(it);
}

int main(void)
{
    T_RUN(gate__parse_limit);
    T_RUN(gate__command_line_wins_over_suite);
    T_RUN(gate__unknown_metric_refused);
    T_RUN(gate__minimum_and_budgets);
    T_RUN(gate__mcnemar_decides_pass_fail_metrics);
    T_RUN(gate__paired_bootstrap_decides_scores);
    T_RUN(gate__changes_flaky_and_failed_items);
    T_RUN(gate__classification_correctness);
    T_RUN(gate__reports_escape_everything);
    return t_done();
}
