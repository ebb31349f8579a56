/* The gate's verdict for one model: thresholds, significant regressions,
 * per-case changes and flaky cases, from run summaries and items alone
 * (evaluator/gate.h). No I/O. */
#include "evaluator/gate.h"
#include "common/error.h"
#include "common/json.h"
#include "metrics/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GATE_TEXT_MAX 2000      /* bytes of an output or expected answer kept per case */

/* One case of one run: per-metric sums over its repetitions and the
 * pass/fail of each repetition on the primary metric. */
typedef struct gcase {
    const char *id;             /* borrowed from the items */
    const char *output, *expected;
    double latency_ms;          /* the first repetition's, NAN when not measured */
    double *sum;                /* per metric of the rules' regressions */
    int *cnt;
    int reps, judged, passes;
} gcase;

typedef struct side {
    json_t *index;              /* case id -> position */
    gcase *c;
    size_t n;
    size_t nmetrics;
} side;

static void side_free(side *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        free(s->c[i].sum);
        free(s->c[i].cnt);
    }
    free(s->c);
    json_decref(s->index);
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static const char *str_or(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "";
}

static const char *source_name(gate_source s)
{
    return s == GATE_SRC_CLI ? "cli" : s == GATE_SRC_SUITE ? "suite" : "default";
}

/* The value of 'metric' for one item; 0 when it has none (a metric that
 * needs the reference of an unlabelled case, a judge that gave no score). */
static int item_value(const json_t *item, const char *metric, double *v)
{
    const char *status = json_string_value(json_object_get(item, "status"));
    int ok = status && strcmp(status, "ok") == 0;

    if (strcmp(metric, "judge") == 0) {
        json_t *s = json_object_get(item, "judge_score");
        if (!json_is_number(s))
            return 0;
        *v = json_number_value(s);
        return 1;
    }
    if (strcmp(metric, "accuracy") == 0 || strcmp(metric, "precision") == 0 ||
        strcmp(metric, "recall") == 0 || strcmp(metric, "f1") == 0) {
        const char *expected = json_string_value(json_object_get(item, "expected"));
        const char *label = json_string_value(json_object_get(item, "label"));
        if (expected == NULL)
            return 0;
        *v = ok && label && strcmp(label, expected) == 0 ? 1.0 : 0.0;
        return 1;
    }
    if (!ok) {
        *v = 0.0;               /* a failed item scores 0, as in the run summary */
        return 1;
    }
    {
        json_t *s = json_object_get(json_object_get(item, "scores"), metric);
        if (!json_is_number(s))
            return 0;
        *v = json_number_value(s);
        return 1;
    }
}

static double pass_line(const gate_rules *r)
{
    size_t i;

    if (gate_metric_binary(r->primary))
        return 0.5;
    for (i = 0; i < r->nmins; i++)
        if (strcmp(r->mins[i].metric, r->primary) == 0)
            return r->mins[i].value;
    return strcmp(r->primary, "judge") == 0 ? 6.0 : 0.5;
}

/* Group the items of one run by case. */
static int side_build(side *s, const gate_rules *r, const json_t *items)
{
    size_t i, k, nm = r->nregressions;
    double line = pass_line(r), v;
    json_t *item;

    memset(s, 0, sizeof(*s));
    s->nmetrics = nm;
    if ((s->index = json_object()) == NULL ||
        (json_array_size(items) && (s->c = calloc(json_array_size(items), sizeof(*s->c))) == NULL))
        return as_error_set(AS_ENOMEM, "out of memory");
    json_array_foreach(items, i, item) {
        const char *id = json_string_value(json_object_get(item, "case_id"));
        json_t *pos;
        gcase *c;
        if (id == NULL)
            continue;
        if ((pos = json_object_get(s->index, id)) != NULL) {
            c = &s->c[json_integer_value(pos)];
        } else {
            c = &s->c[s->n];
            c->id = id;
            /* a failed item shows its error in place of an output */
            c->output = json_string_value(json_object_get(item, "error"));
            if (c->output == NULL || strcmp(str_or(json_object_get(item, "status")), "ok") == 0)
                c->output = json_string_value(json_object_get(item, "output"));
            c->expected = json_string_value(json_object_get(item, "expected"));
            c->latency_ms = json_is_number(json_object_get(item, "latency_ms"))
                                ? json_number_value(json_object_get(item, "latency_ms"))
                                : NAN;
            if ((nm && ((c->sum = calloc(nm, sizeof(double))) == NULL ||
                        (c->cnt = calloc(nm, sizeof(int))) == NULL)) ||
                json_object_set_new(s->index, id, json_integer((json_int_t)s->n)) < 0) {
                free(c->sum);
                free(c->cnt);
                return as_error_set(AS_ENOMEM, "out of memory");
            }
            s->n++;
        }
        c->reps++;
        for (k = 0; k < nm; k++) {
            if (!item_value(item, r->regressions[k].metric, &v))
                continue;
            c->sum[k] += v;
            c->cnt[k]++;
        }
        if (item_value(item, r->primary, &v)) {
            c->judged++;
            c->passes += v >= line;
        }
    }
    return 0;
}

static int cmp_case(const void *a, const void *b)
{
    return strcmp(((const gcase *)a)->id, ((const gcase *)b)->id);
}

/* Cases in id order (items come in the order they were answered), so that
 * reports are the same from one gate to the next. */
static int side_sort(side *s)
{
    size_t i;

    if (s->n > 1)
        qsort(s->c, s->n, sizeof(*s->c), cmp_case);
    for (i = 0; i < s->n; i++)
        if (json_object_set_new(s->index, s->c[i].id, json_integer((json_int_t)i)) < 0)
            return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

static int case_passed(const gcase *c)
{
    return c->judged > 0 && 2 * c->passes > c->judged;
}

static double metric_mean(const json_t *sum, const char *metric)
{
    json_t *m = json_object_get(json_object_get(json_object_get(sum, "metrics"), metric), "mean");

    return json_is_number(m) ? json_number_value(m) : NAN;
}

static json_t *check_new(const char *name, const char *kind, const char *metric, gate_source src,
                         double limit, double actual, int passed, const char *expected,
                         const char *message)
{
    json_t *o = json_object();

    as_json_set_str(o, "name", name);
    as_json_set_str(o, "kind", kind);
    if (metric)
        as_json_set_str(o, "metric", metric);
    as_json_set_str(o, "source", source_name(src));
    as_json_set_str(o, "expected", expected);
    json_object_set_new(o, "actual", num_or_null(actual));
    json_object_set_new(o, "limit", num_or_null(limit));
    json_object_set_new(o, "passed", json_boolean(passed));
    as_json_set_str(o, "message", message);
    return o;
}

static void add_min_checks(json_t *checks, const gate_rules *r, const json_t *cand)
{
    char name[128], exp[96], msg[256];
    size_t i;

    for (i = 0; i < r->nmins; i++) {
        const gate_limit *l = &r->mins[i];
        double a = metric_mean(cand, l->metric);
        int ok = isfinite(a) && a >= l->value;
        snprintf(name, sizeof(name), "min %s", l->metric);
        snprintf(exp, sizeof(exp), ">= %g", l->value);
        if (isfinite(a))
            snprintf(msg, sizeof(msg), "%s: expected >= %g, actual %.6g", l->metric, l->value, a);
        else
            snprintf(msg, sizeof(msg), "%s: expected >= %g, actual: not measured", l->metric,
                     l->value);
        json_array_append_new(checks, check_new(name, "min", l->metric, l->source, l->value, a, ok,
                                                exp, msg));
    }
}

static void add_budget_checks(json_t *checks, const gate_rules *r, const json_t *cand)
{
    char exp[96], msg[256];

    if (r->has_max_cost) {
        json_t *c = json_object_get(cand, "cost_usd"), *jc = json_object_get(cand, "judge_cost_usd");
        json_t *ec = json_object_get(cand, "embedding_cost_usd");
        double a = (json_is_number(c) ? json_number_value(c) : NAN) +
                   (json_is_number(jc) ? json_number_value(jc) : 0.0) +
                   (json_is_number(ec) ? json_number_value(ec) : 0.0);
        int ok = isfinite(a) && a <= r->max_cost_usd.value;
        snprintf(exp, sizeof(exp), "<= %g", r->max_cost_usd.value);
        snprintf(msg, sizeof(msg), "cost (model + judge + embedding): expected <= %g USD, actual %.6g USD",
                 r->max_cost_usd.value, a);
        json_array_append_new(checks, check_new("max cost_usd", "max_cost_usd", NULL,
                                                r->max_cost_usd.source, r->max_cost_usd.value, a,
                                                ok, exp, msg));
    }
    if (r->has_max_p95) {
        json_t *p = json_object_get(json_object_get(cand, "latency_ms"), "p95");
        double a = json_is_number(p) ? json_number_value(p) : NAN;
        json_t *ck;
        snprintf(exp, sizeof(exp), "<= %g", r->max_p95_ms.value);
        if (isfinite(a))
            snprintf(msg, sizeof(msg), "latency p95: expected <= %g ms, actual %.6g ms",
                     r->max_p95_ms.value, a);
        else
            snprintf(msg, sizeof(msg), "latency p95: not measured (every answer came from the "
                     "cache)");
        ck = check_new("max p95_ms", "max_p95_ms", NULL, r->max_p95_ms.source,
                       r->max_p95_ms.value, a, !isfinite(a) || a <= r->max_p95_ms.value, exp, msg);
        if (!isfinite(a))
            json_object_set_new(ck, "skipped", json_true());
        json_array_append_new(checks, ck);
    }
}

/* One regression check of metric k between paired cases. */
static int regression_check(json_t **out, const gate_rules *r, size_t k, const side *cand,
                            const side *base, const json_t *cand_sum, const json_t *base_sum)
{
    const gate_limit *l = &r->regressions[k];
    double *a = NULL, *b = NULL, delta, pa = NAN, pb = NAN, p = 1.0;
    int *pass_a = NULL, *pass_b = NULL, binary = gate_metric_binary(l->metric), rc = 0;
    size_t i, n = 0;
    char name[128], exp[96], msg[512];
    const char *test = "none";
    json_t *o, *extra = json_object();

    if (cand->n && ((a = malloc(cand->n * sizeof(*a))) == NULL ||
                    (b = malloc(cand->n * sizeof(*b))) == NULL ||
                    (pass_a = malloc(cand->n * sizeof(*pass_a))) == NULL ||
                    (pass_b = malloc(cand->n * sizeof(*pass_b))) == NULL)) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < cand->n; i++) {
        const gcase *c = &cand->c[i];
        json_t *pos = json_object_get(base->index, c->id);
        const gcase *d;
        if (pos == NULL || c->cnt[k] == 0)
            continue;
        d = &base->c[json_integer_value(pos)];
        if (d->cnt[k] == 0)
            continue;
        a[n] = d->sum[k] / d->cnt[k];
        b[n] = c->sum[k] / c->cnt[k];
        pass_a[n] = a[n] >= 0.5;
        pass_b[n] = b[n] >= 0.5;
        n++;
    }
    if (n > 0 && binary) {
        met_mcnemar mc;
        if ((rc = met_mcnemar_test(pass_a, pass_b, n, &mc)) < 0)
            goto out;
        test = "mcnemar";
        p = mc.p_value;
        as_json_set_int(extra, "b", mc.b);
        as_json_set_int(extra, "c", mc.c);
        as_json_set_num(extra, "statistic", mc.statistic);
        json_object_set_new(extra, "exact", json_boolean(mc.exact));
        pa = met_mean(a, n);
        pb = met_mean(b, n);
    } else if (n > 0) {
        met_paired pr;
        if ((rc = met_paired_bootstrap(a, b, n, 0, GATE_RESAMPLES, 0.95, &pr)) < 0)
            goto out;
        test = "paired_bootstrap";
        p = pr.p_value;
        json_object_set_new(extra, "ci_low", num_or_null(pr.low));
        json_object_set_new(extra, "ci_high", num_or_null(pr.high));
        as_json_set_int(extra, "resamples", (int64_t)pr.resamples);
        pa = pr.mean_a;
        pb = pr.mean_b;
    }
    /* the size of the change: the runs' own means (corpus metrics such as
     * f1 are not means of cases), else the paired cases' */
    {
        double ma = metric_mean(base_sum, l->metric), mb = metric_mean(cand_sum, l->metric);
        if (isfinite(ma) && isfinite(mb)) {
            pa = ma;
            pb = mb;
        }
    }
    delta = pb - pa;
    {
        int significant = n > 0 && p < r->alpha;
        int too_big = isfinite(delta) && -delta > l->value;
        int passed = !(significant && too_big);
        snprintf(name, sizeof(name), "regression %s", l->metric);
        snprintf(exp, sizeof(exp), "drop <= %g or not significant at alpha %g", l->value, r->alpha);
        if (n == 0)
            snprintf(msg, sizeof(msg), "%s: no case scored in both runs; no test", l->metric);
        else
            snprintf(msg, sizeof(msg),
                     "%s: baseline %.6g, candidate %.6g, change %+.6g (allowed drop %g); %s "
                     "p = %.4g on %zu paired cases, %s at alpha %g",
                     l->metric, pa, pb, delta, l->value,
                     binary ? "McNemar's test" : "paired bootstrap", p, n,
                     significant ? "significant" : "not significant", r->alpha);
        if (!passed && n > 0) {
            size_t used = strlen(msg);
            snprintf(msg + used, sizeof(msg) - used, ": significant regression");
        }
        o = check_new(name, "regression", l->metric, l->source, l->value, pb, passed, exp, msg);
        json_object_set_new(o, "baseline", num_or_null(pa));
        json_object_set_new(o, "candidate", num_or_null(pb));
        json_object_set_new(o, "delta", num_or_null(delta));
        as_json_set_str(o, "test", test);
        json_object_set_new(o, "p_value", n ? num_or_null(p) : json_null());
        as_json_set_num(o, "alpha", r->alpha);
        json_object_set_new(o, "significant", json_boolean(significant));
        as_json_set_int(o, "n", (int64_t)n);
        json_object_update(o, extra);
    }
    *out = o;
out:
    json_decref(extra);
    free(a);
    free(b);
    free(pass_a);
    free(pass_b);
    return rc;
}

/* A copy of at most GATE_TEXT_MAX bytes, cut at a UTF-8 boundary. */
static json_t *text_or_null(const char *s)
{
    size_t n;

    if (s == NULL)
        return json_null();
    n = strlen(s);
    if (n > GATE_TEXT_MAX) {
        n = GATE_TEXT_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    {
        json_t *t = json_stringn(s, n);
        return t ? t : json_string("(not valid UTF-8)");
    }
}

/* 'have_base' 0: no baseline at all; else 'd' is the case in the baseline
 * or NULL when the baseline lacks it. */
static json_t *case_json(size_t kp, const gcase *c, int have_base, const gcase *d)
{
    json_t *o = json_object();
    int passed = case_passed(c);

    as_json_set_str(o, "id", c->id);
    json_object_set_new(o, "passed", json_boolean(passed));
    json_object_set_new(o, "baseline_passed", d ? json_boolean(case_passed(d)) : json_null());
    if (!have_base)
        json_object_set_new(o, "change", json_null());
    else
        as_json_set_str(o, "change", d == NULL                     ? "new"
                                     : case_passed(d) && !passed ? "regressed"
                                     : !case_passed(d) && passed ? "fixed"
                                                                 : "same");
    json_object_set_new(o, "score", c->cnt[kp] ? json_real(c->sum[kp] / c->cnt[kp]) : json_null());
    json_object_set_new(o, "baseline_score",
                        d && d->cnt[kp] ? json_real(d->sum[kp] / d->cnt[kp]) : json_null());
    as_json_set_int(o, "reps", c->reps);
    as_json_set_int(o, "passes", c->passes);
    json_object_set_new(o, "flaky", json_boolean(c->passes > 0 && c->passes < c->judged));
    json_object_set_new(o, "expected", text_or_null(c->expected));
    json_object_set_new(o, "output", text_or_null(c->output));
    json_object_set_new(o, "latency_ms", num_or_null(c->latency_ms));
    return o;
}

int gate_judge_model(json_t **out, const gate_rules *r, const json_t *cand_sum,
                     const json_t *cand_items, const json_t *base_sum, const json_t *base_items)
{
    side cand, base;
    json_t *v = NULL, *checks = NULL, *cases = NULL, *reg = NULL, *fix = NULL, *flaky = NULL, *ck;
    size_t i, k, kp = 0;
    int rc, passed = 1, have_base = base_sum != NULL && base_items != NULL;

    *out = NULL;
    memset(&base, 0, sizeof(base));
    for (k = 0; k < r->nregressions; k++)
        if (strcmp(r->regressions[k].metric, r->primary) == 0)
            kp = k;
    if (r->nregressions == 0 || strcmp(r->regressions[kp].metric, r->primary) != 0)
        return as_error_set(AS_EINVAL, "gate rules: not finished (no primary metric check)");
    if ((rc = side_build(&cand, r, cand_items)) < 0 || (rc = side_sort(&cand)) < 0)
        goto out;
    if (have_base && ((rc = side_build(&base, r, base_items)) < 0 || (rc = side_sort(&base)) < 0))
        goto out;
    v = json_object();
    checks = json_array();
    cases = json_array();
    reg = json_array();
    fix = json_array();
    flaky = json_array();
    if (!v || !checks || !cases || !reg || !fix || !flaky) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    add_min_checks(checks, r, cand_sum);
    add_budget_checks(checks, r, cand_sum);
    for (k = 0; have_base && k < r->nregressions; k++) {
        if ((rc = regression_check(&ck, r, k, &cand, &base, cand_sum, base_sum)) < 0)
            goto out;
        json_array_append_new(checks, ck);
    }
    json_array_foreach(checks, i, ck)
        passed &= json_is_true(json_object_get(ck, "passed"));
    for (i = 0; i < cand.n; i++) {
        json_t *pos = have_base ? json_object_get(base.index, cand.c[i].id) : NULL;
        const gcase *d = pos ? &base.c[json_integer_value(pos)] : NULL;
        json_t *cj = case_json(kp, &cand.c[i], have_base, d);
        const char *change = json_string_value(json_object_get(cj, "change"));
        if (change && strcmp(change, "regressed") == 0)
            json_array_append_new(reg, json_string(cand.c[i].id));
        else if (change && strcmp(change, "fixed") == 0)
            json_array_append_new(fix, json_string(cand.c[i].id));
        if (json_is_true(json_object_get(cj, "flaky")))
            json_array_append_new(flaky, json_string(cand.c[i].id));
        json_array_append_new(cases, cj);
    }
    as_json_set_str(v, "model", json_string_value(json_object_get(cand_sum, "model")));
    json_object_set_new(v, "passed", json_boolean(passed));
    as_json_set_str(v, "primary_metric", r->primary);
    json_object_set_new(v, "checks", checks);
    json_object_set_new(v, "cases", cases);
    json_object_set_new(v, "changes", json_pack("{s:o,s:o}", "regressed", reg, "fixed", fix));
    json_object_set_new(v, "flaky", flaky);
    checks = cases = reg = fix = flaky = NULL;
    *out = v;
    v = NULL;
    rc = 0;
out:
    json_decref(v);
    json_decref(checks);
    json_decref(cases);
    json_decref(reg);
    json_decref(fix);
    json_decref(flaky);
    side_free(&cand);
    side_free(&base);
    return rc;
}
