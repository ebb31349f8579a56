/* Ranking models by quality, cost and speed (rank.h). */
#include "evaluator/rank.h"
#include "evaluator/runs.h"
#include "common/error.h"
#include "common/utf8.h"
#include "common/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DIM_QUALITY, DIM_COST, DIM_SPEED, NDIM };
static const char *const dim_names[NDIM] = {"quality", "cost", "speed"};

typedef struct cand {
    const json_t *sum;
    const char *model;
    double v[NDIM];         /* quality, cost per 1k, p50 ms; NaN unknown */
    double qlo, qhi;
    double score;           /* weighted */
    int front;              /* pareto */
    char why[600];
} cand;

typedef struct policy {
    int kind;               /* 0 weighted, 1 priority, 2 pareto */
    double w[NDIM];
    int order[NDIM];
    int norder;
    double tol;
    char text[200];
} policy;

static double getnum(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int dim_index(const char *s, size_t n)
{
    int d;

    for (d = 0; d < NDIM; d++)
        if (strlen(dim_names[d]) == n && strncmp(s, dim_names[d], n) == 0)
            return d;
    return -1;
}

static int parse_double(const char *s, size_t n, double *out)
{
    char buf[64], *end;

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    return (*end || errno || !isfinite(*out)) ? -1 : 0;
}

static int parse_policy(policy *p, const char *text)
{
    const char *s, *e;

    memset(p, 0, sizeof(*p));
    p->w[DIM_QUALITY] = 0.5;
    p->w[DIM_COST] = 0.3;
    p->w[DIM_SPEED] = 0.2;
    p->tol = 0.02;
    if (text == NULL || *text == '\0')
        text = "weighted";
    snprintf(p->text, sizeof(p->text), "%s", text);
    if (strcmp(text, "pareto") == 0) {
        p->kind = 2;
        return 0;
    }
    if (strncmp(text, "weighted", 8) == 0 && (text[8] == '\0' || text[8] == ':')) {
        p->kind = 0;
        if (text[8] == '\0')
            return 0;
        p->w[0] = p->w[1] = p->w[2] = 0;
        for (s = text + 9; *s; s = *e ? e + 1 : e) {
            const char *eq;
            int d;
            e = strchr(s, ',');
            if (e == NULL)
                e = s + strlen(s);
            eq = memchr(s, '=', (size_t)(e - s));
            if (eq == NULL || (d = dim_index(s, (size_t)(eq - s))) < 0 ||
                parse_double(eq + 1, (size_t)(e - eq - 1), &p->w[d]) < 0 || p->w[d] < 0)
                return as_error_set(AS_EINVAL, "policy '%s': expected weighted:quality=W,cost=W,"
                                    "speed=W with weights >= 0", text);
        }
        if (p->w[0] + p->w[1] + p->w[2] <= 0)
            return as_error_set(AS_EINVAL, "policy '%s': the weights are all zero", text);
        return 0;
    }
    if (strncmp(text, "priority:", 9) == 0) {
        p->kind = 1;
        /* items split at ',' (the documented form) or ';' (also accepted) */
        for (s = text + 9; *s; s = *e ? e + 1 : e) {
            int d, k;
            e = strpbrk(s, ",;");
            if (e == NULL)
                e = s + strlen(s);
            if ((size_t)(e - s) > 10 && strncmp(s, "tolerance=", 10) == 0) {
                if (parse_double(s + 10, (size_t)(e - s - 10), &p->tol) < 0 || p->tol < 0 || p->tol >= 1)
                    return as_error_set(AS_EINVAL, "policy '%s': tolerance must be in [0, 1)", text);
                continue;
            }
            if ((d = dim_index(s, (size_t)(e - s))) < 0)
                return as_error_set(AS_EINVAL, "policy '%s': '%.*s' is not quality, cost or speed",
                                    text, (int)(e - s), s);
            for (k = 0; k < p->norder; k++)
                if (p->order[k] == d)
                    return as_error_set(AS_EINVAL, "policy '%s': %s appears twice", text, dim_names[d]);
            p->order[p->norder++] = d;
        }
        if (p->norder == 0)
            return as_error_set(AS_EINVAL, "policy '%s': name at least one criterion", text);
        return 0;
    }
    return as_error_set(AS_EINVAL, "policy '%s': expected weighted[:...], priority:... or pareto",
                        text);
}

/* The value of constraint key 'key' for a candidate. */
static double constraint_value(const cand *c, const char *key)
{
    const json_t *s = c->sum;

    if (strcmp(key, "quality") == 0)
        return c->v[DIM_QUALITY];
    if (strcmp(key, "cost") == 0)
        return c->v[DIM_COST];
    if (strcmp(key, "p50_ms") == 0)
        return getnum(json_object_get(s, "latency_ms"), "p50");
    if (strcmp(key, "p95_ms") == 0)
        return getnum(json_object_get(s, "latency_ms"), "p95");
    if (strcmp(key, "p99_ms") == 0)
        return getnum(json_object_get(s, "latency_ms"), "p99");
    if (strcmp(key, "tokens_per_s") == 0)
        return getnum(s, "output_tokens_per_s");
    return getnum(json_object_get(json_object_get(s, "metrics"), key), "mean");
}

/* Check 'require' against c: 1 passes, 0 fails (why written), <0 bad syntax. */
static int check_require(cand *c, const char *require, int validate_only)
{
    const char *s, *e;

    /* names go into the answer's JSON */
    if (validate_only && require && as_utf8_valid(require, strlen(require), NULL) != 1)
        return as_error_set(AS_EINVAL, "constraints '%s': not valid UTF-8", require);
    for (s = require; s && *s; s = *e ? e + 1 : e) {
        const char *op;
        size_t klen, oplen;
        char key[64];
        double lim, v;
        int pass;
        e = strchr(s, ',');
        if (e == NULL)
            e = s + strlen(s);
        op = s;
        while (op < e && *op != '<' && *op != '>')
            op++;
        if (op == e || op == s)
            return as_error_set(AS_EINVAL, "constraint '%.*s': expected NAME>=VALUE or NAME<=VALUE",
                                (int)(e - s), s);
        klen = (size_t)(op - s);
        oplen = op + 1 < e && op[1] == '=' ? 2 : 1;
        if (klen >= sizeof(key) || parse_double(op + oplen, (size_t)(e - op - oplen), &lim) < 0)
            return as_error_set(AS_EINVAL, "constraint '%.*s': bad name or number", (int)(e - s), s);
        memcpy(key, s, klen);
        key[klen] = '\0';
        if (validate_only)
            continue;
        v = constraint_value(c, key);
        if (op[0] == '>')
            pass = oplen == 2 ? v >= lim : v > lim;
        else
            pass = oplen == 2 ? v <= lim : v < lim;
        if (!pass) {
            snprintf(c->why, sizeof(c->why), "excluded: %s = %s%g fails %.*s", key,
                     isnan(v) ? "unknown " : "", isnan(v) ? 0.0 : v, (int)(e - s), s);
            return 0;
        }
    }
    return 1;
}

/* Better value of dimension d: +1 a better, -1 b better, 0 equal. */
static int better(int d, double a, double b)
{
    if (isnan(a) && isnan(b))
        return 0;
    if (isnan(a))
        return -1;
    if (isnan(b))
        return 1;
    if (a == b)
        return 0;
    if (d == DIM_QUALITY)
        return a > b ? 1 : -1;
    return a < b ? 1 : -1;
}

/* 1 when a and b tie on d under the policy's band (and, for quality,
 * when each mean lies in the other's interval). */
static int near_tie(const policy *p, int d, const cand *a, const cand *b)
{
    double x = a->v[d], y = b->v[d], m;

    if (isnan(x) || isnan(y))
        return isnan(x) && isnan(y);
    m = fabs(x) > fabs(y) ? fabs(x) : fabs(y);
    if (fabs(x - y) <= p->tol * m)
        return 1;
    if (d == DIM_QUALITY && !isnan(a->qlo) && !isnan(b->qlo) &&
        x >= b->qlo && x <= b->qhi && y >= a->qlo && y <= a->qhi)
        return 1;
    return 0;
}

/* priority comparison: <0 when a ranks before b; *decided the criterion. */
static int prio_cmp(const policy *p, const cand *a, const cand *b, int *decided)
{
    int k;

    for (k = 0; k < p->norder; k++) {
        int d = p->order[k];
        if (near_tie(p, d, a, b))
            continue;
        *decided = d;
        return -better(d, a->v[d], b->v[d]);
    }
    *decided = -1;
    return 0;
}

static int cmp_weighted(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return strcmp(a->model, b->model);
}

static int cmp_front(const void *x, const void *y)
{
    const cand *a = x, *b = y;
    int q;
    if (a->front != b->front)
        return a->front - b->front;
    if ((q = better(DIM_QUALITY, a->v[0], b->v[0])) != 0)
        return -q;
    return strcmp(a->model, b->model);
}

static int dominates(const cand *a, const cand *b)
{
    int d, strict = 0;

    for (d = 0; d < NDIM; d++) {
        int r = better(d, a->v[d], b->v[d]);
        if (r < 0)
            return 0;
        if (r > 0)
            strict = 1;
    }
    return strict;
}

static const char *fmt_dim(char *buf, size_t n, int d, double v)
{
    if (isnan(v))
        snprintf(buf, n, "unknown");
    else if (d == DIM_COST)
        snprintf(buf, n, "$%.4g/1k", v);
    else if (d == DIM_SPEED)
        snprintf(buf, n, "p50 %.0f ms", v);
    else
        snprintf(buf, n, "%.4g", v);
    return buf;
}

static void rank_weighted(const policy *p, cand *c, size_t n)
{
    double lo[NDIM], hi[NDIM];
    size_t i;
    int d;

    for (d = 0; d < NDIM; d++) {
        lo[d] = INFINITY;
        hi[d] = -INFINITY;
        for (i = 0; i < n; i++)
            if (!isnan(c[i].v[d])) {
                if (c[i].v[d] < lo[d])
                    lo[d] = c[i].v[d];
                if (c[i].v[d] > hi[d])
                    hi[d] = c[i].v[d];
            }
    }
    for (i = 0; i < n; i++) {
        double norm[NDIM], total = 0;
        for (d = 0; d < NDIM; d++) {
            double v = c[i].v[d];
            if (isnan(v))
                norm[d] = 0;
            else if (hi[d] - lo[d] <= 0)
                norm[d] = 1;
            else if (d == DIM_QUALITY)
                norm[d] = (v - lo[d]) / (hi[d] - lo[d]);
            else
                norm[d] = (hi[d] - v) / (hi[d] - lo[d]);
            total += p->w[d] * norm[d];
        }
        c[i].score = total;
        snprintf(c[i].why, sizeof(c[i].why),
                 "score %.3f = %.2f x quality %.2f + %.2f x cost %.2f + %.2f x speed %.2f "
                 "(each normalized to [0,1] over the ranked models, 1 best)",
                 total, p->w[0], norm[0], p->w[1], norm[1], p->w[2], norm[2]);
    }
    qsort(c, n, sizeof(*c), cmp_weighted);
}

static void rank_priority(const policy *p, cand *c, size_t n)
{
    size_t i, k;

    /* insertion sort: the comparison has tolerance bands, so keep it
     * simple and stable */
    for (i = 1; i < n; i++) {
        cand t = c[i];
        int dd;
        for (k = i; k > 0 && prio_cmp(p, &t, &c[k - 1], &dd) < 0; k--)
            c[k] = c[k - 1];
        c[k] = t;
    }
    for (i = 0; i < n; i++) {
        const cand *o = i + 1 < n ? &c[i + 1] : (i > 0 ? &c[i - 1] : NULL);
        char va[64], vb[64], ties[200] = "";
        int d = -1, r, t;
        if (o == NULL) {
            snprintf(c[i].why, sizeof(c[i].why), "the only model ranked");
            continue;
        }
        r = i + 1 < n ? prio_cmp(p, &c[i], o, &d) : prio_cmp(p, o, &c[i], &d);
        for (t = 0; t < p->norder && p->order[t] != d; t++) {
            size_t l = strlen(ties);
            snprintf(ties + l, sizeof(ties) - l, "%s%s", l ? ", " : "", dim_names[p->order[t]]);
        }
        if (d < 0)
            snprintf(c[i].why, sizeof(c[i].why), "ties with %s on every criterion (within %.0f%%)",
                     o->model, p->tol * 100);
        else
            snprintf(c[i].why, sizeof(c[i].why), "%s%s%s%s %s: %s %s vs %s", ties[0] ? "near-tie on " : "",
                     ties, ties[0] ? "; " : "", i + 1 < n ? "ranks above" : "ranks below", o->model,
                     dim_names[d], fmt_dim(va, sizeof(va), d, c[i].v[d]),
                     fmt_dim(vb, sizeof(vb), d, o->v[d]));
        (void)r;
    }
}

static void rank_pareto(cand *c, size_t n)
{
    size_t i, k, left = n;
    int front = 0;

    for (i = 0; i < n; i++)
        c[i].front = 0;
    while (left > 0) {
        front++;
        for (i = 0; i < n; i++) {
            int dom = 0;
            if (c[i].front)
                continue;
            for (k = 0; k < n && !dom; k++)
                if (k != i && (c[k].front == 0 || c[k].front == -front) && dominates(&c[k], &c[i]))
                    dom = 1;
            if (!dom)
                c[i].front = -front;    /* mark; set after the pass */
        }
        for (i = 0; i < n; i++)
            if (c[i].front == -front) {
                c[i].front = front;
                left--;
            }
    }
    for (i = 0; i < n; i++) {
        char by[400] = "";
        for (k = 0; k < n; k++)
            if (c[k].front == c[i].front - 1 && dominates(&c[k], &c[i])) {
                size_t l = strlen(by);
                snprintf(by + l, sizeof(by) - l, "%s%s", l ? ", " : "", c[k].model);
            }
        if (c[i].front == 1)
            snprintf(c[i].why, sizeof(c[i].why), "on the Pareto front: no model is at least as "
                     "good on quality, cost and speed and better on one");
        else
            snprintf(c[i].why, sizeof(c[i].why), "front %d: dominated by %s", c[i].front,
                     by[0] ? by : "a model of the front above");
    }
    qsort(c, n, sizeof(*c), cmp_front);
}

int eval_rank_summaries(json_t **out, const json_t *summaries, const char *suite,
                        const char *policy_text, const char *require)
{
    policy p;
    cand *c = NULL;
    size_t n = json_array_size(summaries), i, kept = 0;
    json_t *res = NULL, *models, *excluded;
    const char *primary = NULL;
    int rc;

    *out = NULL;
    if ((rc = parse_policy(&p, policy_text)) < 0)
        return rc;
    if (require && (rc = check_require(NULL, require, 1)) < 0)
        return rc;
    if (n > 0 && (c = calloc(n, sizeof(*c))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    res = json_object();
    models = json_array();
    excluded = json_array();
    for (i = 0; i < n; i++) {
        const json_t *s = json_array_get(summaries, i);
        const json_t *q = json_object_get(s, "quality");
        cand *x = &c[kept];
        x->sum = s;
        x->model = json_string_value(json_object_get(s, "model"));
        if (x->model == NULL)
            x->model = "?";
        if (primary == NULL)
            primary = json_string_value(json_object_get(s, "primary_metric"));
        x->v[DIM_QUALITY] = getnum(q, "mean");
        x->qlo = getnum(q, "ci_low");
        x->qhi = getnum(q, "ci_high");
        x->v[DIM_COST] = getnum(s, "cost_per_1k");
        x->v[DIM_SPEED] = getnum(json_object_get(s, "latency_ms"), "p50");
        if (require && check_require(x, require, 0) == 0) {
            json_array_append_new(excluded, json_pack("{s:s,s:O,s:s}", "model", x->model, "run_id",
                                                      json_object_get(s, "id"), "why", x->why));
            continue;
        }
        kept++;
    }
    if (p.kind == 0)
        rank_weighted(&p, c, kept);
    else if (p.kind == 1)
        rank_priority(&p, c, kept);
    else
        rank_pareto(c, kept);
    for (i = 0; i < kept; i++) {
        const json_t *s = c[i].sum;
        json_t *m = json_object();
        as_json_set_int(m, "rank", (int64_t)i + 1);
        as_json_set_str(m, "model", c[i].model);
        json_object_set(m, "run_id", json_object_get(s, "id"));
        json_object_set_new(m, "quality", isnan(c[i].v[0]) ? json_null() : json_real(c[i].v[0]));
        json_object_set_new(m, "quality_ci_low", isnan(c[i].qlo) ? json_null() : json_real(c[i].qlo));
        json_object_set_new(m, "quality_ci_high", isnan(c[i].qhi) ? json_null() : json_real(c[i].qhi));
        json_object_set_new(m, "cost_per_1k", isnan(c[i].v[1]) ? json_null() : json_real(c[i].v[1]));
        json_object_set(m, "p50_ms", json_object_get(json_object_get(s, "latency_ms"), "p50"));
        json_object_set(m, "p95_ms", json_object_get(json_object_get(s, "latency_ms"), "p95"));
        json_object_set(m, "tokens_per_s", json_object_get(s, "output_tokens_per_s"));
        if (p.kind == 0)
            as_json_set_num(m, "score", c[i].score);
        if (p.kind == 2) {
            as_json_set_int(m, "front", c[i].front);
            json_object_set_new(m, "pareto", json_boolean(c[i].front == 1));
        }
        as_json_set_str(m, "why", c[i].why);
        json_array_append_new(models, m);
    }
    json_object_set_new(res, "suite", json_string(suite ? suite : ""));
    as_json_set_str(res, "policy", p.text);
    json_object_set_new(res, "primary_metric", primary ? json_string(primary) : json_null());
    json_object_set_new(res, "models", models);
    json_object_set_new(res, "excluded", excluded);
    free(c);
    *out = res;
    return 0;
}

int eval_rank(json_t **out, store *db, const char *suite, const char *policy_text,
              const char *require)
{
    store_stmt *st = NULL;
    json_t *sums = json_array();
    int rc;

    *out = NULL;
    /* each model's latest complete run of the suite */
    if ((rc = store_prepare(&st, db,
             "SELECT max(id) FROM runs WHERE suite = ?1 AND status = 'complete' GROUP BY model "
             "ORDER BY model")) < 0 ||
        (rc = store_bind_text(st, 1, suite)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        json_t *s;
        if ((rc = eval_run_summary(&s, db, store_col_int(st, 0))) < 0)
            goto out;
        json_array_append_new(sums, s);
    }
    if (rc < 0)
        goto out;
    if (json_array_size(sums) == 0) {
        rc = as_error_set(AS_ENOTFOUND, "suite '%s' has no complete run (see 'assay eval')", suite);
        goto out;
    }
    rc = eval_rank_summaries(out, sums, suite, policy_text, require);
out:
    store_finalize(st);
    json_decref(sums);
    return rc;
}
