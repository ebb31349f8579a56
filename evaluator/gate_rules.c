/* The gate's rules: thresholds from the command line and the suite, and
 * the check of their metric names (evaluator/gate.h). */
#include "evaluator/gate.h"
#include "common/error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gate_rules_init(gate_rules *r, const char *primary)
{
    memset(r, 0, sizeof(*r));
    r->alpha = 0.05;
    if (primary == NULL || strlen(primary) > GATE_METRIC_MAX)
        return as_error_set(AS_EINVAL, "primary metric: missing or too long");
    snprintf(r->primary, sizeof(r->primary), "%s", primary);
    return 0;
}

/* A finite number spelling the whole of 's'. */
static int parse_number(const char *s, double *out)
{
    char *end;
    double v;

    if (*s == '\0')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int gate_parse_limit(gate_limit *out, const char *arg, const char *opt)
{
    const char *eq = strchr(arg, '=');
    size_t n;

    memset(out, 0, sizeof(*out));
    out->source = GATE_SRC_CLI;
    if (eq == NULL || eq == arg)
        return as_error_set(AS_EINVAL, "%s %s: expected METRIC=VALUE", opt, arg);
    n = (size_t)(eq - arg);
    if (n > GATE_METRIC_MAX)
        return as_error_set(AS_EINVAL, "%s %.*s...: metric name too long", opt, 32, arg);
    memcpy(out->metric, arg, n);
    out->metric[n] = '\0';
    if (parse_number(eq + 1, &out->value) < 0)
        return as_error_set(AS_EINVAL, "%s %s: '%s' is not a number", opt, arg, eq + 1);
    return 0;
}

static int find(const gate_limit *l, size_t n, const char *metric)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(l[i].metric, metric) == 0)
            return (int)i;
    return -1;
}

static int add(gate_limit *arr, size_t *n, const gate_limit *l, const char *what)
{
    if (find(arr, *n, l->metric) >= 0)
        return 0;
    if (*n >= GATE_LIMITS_MAX)
        return as_error_set(AS_ETOOBIG, "more than %d %s limits", GATE_LIMITS_MAX, what);
    arr[(*n)++] = *l;
    return 0;
}

int gate_rules_add_min(gate_rules *r, const gate_limit *l)
{
    return add(r->mins, &r->nmins, l, "minimum");
}

int gate_rules_add_regression(gate_rules *r, const gate_limit *l)
{
    if (l->value < 0)
        return as_error_set(AS_EINVAL, "--max-regression %s=%g: must be 0 or more", l->metric,
                            l->value);
    return add(r->regressions, &r->nregressions, l, "regression");
}

int gate_rules_add_suite(gate_rules *r, const json_t *thresholds)
{
    const char *key;
    json_t *v;
    gate_limit l;
    int rc;

    if (thresholds == NULL)
        return 0;
    if (!json_is_object(thresholds))
        return as_error_set(AS_EINVAL, "suite thresholds: not an object");
    json_object_foreach((json_t *)thresholds, key, v) {
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return as_error_set(AS_EINVAL, "suite thresholds: %s: not a number", key);
        memset(&l, 0, sizeof(l));
        l.value = json_number_value(v);
        l.source = GATE_SRC_SUITE;
        if (strcmp(key, "max_cost_usd") == 0) {
            if (!r->has_max_cost) {
                r->max_cost_usd = l;
                r->has_max_cost = 1;
            }
            continue;
        }
        if (strcmp(key, "max_p95_ms") == 0) {
            if (!r->has_max_p95) {
                r->max_p95_ms = l;
                r->has_max_p95 = 1;
            }
            continue;
        }
        if (strlen(key) > GATE_METRIC_MAX)
            return as_error_set(AS_EINVAL, "suite thresholds: metric name too long");
        snprintf(l.metric, sizeof(l.metric), "%s", key);
        if ((rc = gate_rules_add_min(r, &l)) < 0)
            return rc;
    }
    return 0;
}

static int known(const json_t *metrics, const char *name)
{
    size_t i;
    json_t *v;

    json_array_foreach(metrics, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return 1;
    return 0;
}

/* "a, b, c" of the known metrics, for the message. */
static void list_names(char *buf, size_t size, const json_t *metrics)
{
    size_t i, used = 0;
    json_t *v;

    buf[0] = '\0';
    json_array_foreach(metrics, i, v) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", json_string_value(v));
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

static int check_names(const gate_limit *l, size_t n, const json_t *metrics, const char *opt)
{
    char names[512];
    size_t i;

    for (i = 0; i < n; i++) {
        if (known(metrics, l[i].metric))
            continue;
        list_names(names, sizeof(names), metrics);
        return as_error_set(AS_EINVAL, "%s %s: unknown metric (the suite computes: %s)",
                            l[i].source == GATE_SRC_SUITE ? "suite threshold" : opt,
                            l[i].metric, names);
    }
    return 0;
}

int gate_rules_finish(gate_rules *r, const json_t *metrics)
{
    gate_limit def;
    int rc;

    if (!(r->alpha > 0 && r->alpha < 1))
        return as_error_set(AS_EINVAL, "--alpha %g: must be between 0 and 1", r->alpha);
    if ((rc = check_names(r->mins, r->nmins, metrics, "--min")) < 0 ||
        (rc = check_names(r->regressions, r->nregressions, metrics, "--max-regression")) < 0)
        return rc;
    if (r->has_max_cost && r->max_cost_usd.value < 0)
        return as_error_set(AS_EINVAL, "max cost %g: must be 0 or more", r->max_cost_usd.value);
    if (r->has_max_p95 && r->max_p95_ms.value < 0)
        return as_error_set(AS_EINVAL, "max p95 %g: must be 0 or more", r->max_p95_ms.value);
    if (!known(metrics, r->primary))
        return as_error_set(AS_EINVAL, "primary metric %s is not computed by the suite", r->primary);
    memset(&def, 0, sizeof(def));
    snprintf(def.metric, sizeof(def.metric), "%s", r->primary);
    def.source = GATE_SRC_DEFAULT;
    return gate_rules_add_regression(r, &def);
}

int gate_metric_binary(const char *metric)
{
    static const char *const names[] = {"exact_match", "match", "accuracy", "precision",
                                        "recall", "f1", NULL};
    size_t i;

    for (i = 0; names[i]; i++)
        if (strcmp(names[i], metric) == 0)
            return 1;
    return 0;
}
