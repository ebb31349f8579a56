/* Suites (suites/NAME.json): the evaluation prompt catalog entry pairing a
 * prompt reference with a dataset reference, metrics, models, a judge,
 * thresholds and a ranking policy. This file checks the structure; each
 * metric entry (name and options) is checked by the metrics registry. */
#include "catalog/catalog.h"
#include "common/error.h"
#include "common/json.h"
#include "metrics/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const suite_fields[] = {"name",       "description",    "prompt", "dataset",
                                           "metrics",    "primary_metric", "models", "judge",
                                           "thresholds", "ranking",        "params", NULL};

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

void cat_suite_free(cat_suite *s)
{
    if (s == NULL)
        return;
    json_decref(s->metrics);
    json_decref(s->doc);
    free(s);
}

/* A metric or model name: 1-64 of [a-zA-Z0-9_.:/-]. */
static int plain_name(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == ':' || ch == '/' || ch == '-'))
            return 0;
    }
    return 1;
}

static int opt_string(const char **out, const json_t *doc, const char *key, const char *what)
{
    json_t *v = json_object_get(doc, key);

    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return as_error_set(AS_EINVAL, "%s: field '%s' must be a string", what, key);
    *out = json_string_value(v);
    return 0;
}

static int ref_field(const char **out, const json_t *doc, const char *key, const char *what)
{
    cat_ref r;
    int rc;

    if ((rc = opt_string(out, doc, key, what)) < 0)
        return rc;
    if (*out == NULL)
        return as_error_set(AS_EINVAL, "%s: field '%s' is missing", what, key);
    if ((rc = cat_ref_parse(&r, *out)) < 0)
        return as_error_wrap(rc, "%s: field '%s'", what, key);
    return 0;
}

static int has_metric(const json_t *metrics, const char *name)
{
    return met_spec_find(metrics, name) != NULL;
}

/* The metrics registry's verdict on one entry; "judge" belongs to the
 * evaluator and is accepted here (its settings are the suite's "judge"). */
static int check_metric_spec(const json_t *entry)
{
    met_spec *spec = NULL;
    int rc = met_spec_parse(&spec, entry);

    met_spec_free(spec);
    if (rc == MET_EEVALUATOR) {
        as_error_clear();
        return 0;
    }
    return rc;
}

/* cosine_embedding names a model, and one suite has one such metric (its
 * scores are kept under the metric's name). */
static int check_embedding(const json_t *metrics, const json_t *entry)
{
    const char *name = json_string_value(json_object_get(entry, "name"));

    if (strcmp(name, MET_COSINE_EMBEDDING) != 0)
        return 0;
    if (!plain_name(json_string_value(json_object_get(entry, "model"))))
        return as_error_set(AS_EINVAL, "metric 'cosine_embedding': 'model' must be a model name");
    if (has_metric(metrics, name))
        return as_error_set(AS_EINVAL, "metric 'cosine_embedding' is given twice");
    return 0;
}

static int check_metrics(cat_suite *s, const char *what)
{
    json_t *arr = json_object_get(s->doc, "metrics"), *m, *norm;
    size_t i;
    int rc;

    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return as_error_set(AS_EINVAL, "%s: field 'metrics' must be a non-empty array", what);
    if ((s->metrics = json_array()) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    json_array_foreach(arr, i, m)
    {
        json_t *name;
        if (json_is_string(m)) {
            norm = json_pack("{s:O}", "name", m);
        } else if (json_is_object(m)) {
            norm = json_deep_copy(m);
        } else {
            return as_error_set(
                AS_EINVAL, "%s: metrics[%zu] must be a name or an object with a 'name'", what, i);
        }
        if (norm == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        name = json_object_get(norm, "name");
        if (!json_is_string(name) || !plain_name(json_string_value(name))) {
            json_decref(norm);
            return as_error_set(AS_EINVAL, "%s: metrics[%zu]: 'name' must be a metric name", what,
                                i);
        }
        if ((rc = check_metric_spec(norm)) < 0) {
            json_decref(norm);
            return as_error_wrap(rc, "%s: metrics[%zu]", what, i);
        }
        if ((rc = check_embedding(s->metrics, norm)) < 0) {
            json_decref(norm);
            return as_error_wrap(rc, "%s: metrics[%zu]", what, i);
        }
        if (json_array_append_new(s->metrics, norm) < 0)
            return as_error_set(AS_ENOMEM, "out of memory");
    }
    return 0;
}

static int check_models(cat_suite *s, const char *what)
{
    json_t *arr = json_object_get(s->doc, "models"), *m;
    size_t i;

    s->models = arr;
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return as_error_set(AS_EINVAL, "%s: field 'models' must be an array", what);
    json_array_foreach(arr, i, m)
    {
        json_t *name = json_is_object(m) ? json_object_get(m, "name") : m;
        if (!json_is_string(name) || !plain_name(json_string_value(name)))
            return as_error_set(AS_EINVAL,
                                "%s: models[%zu] must be a model name or an object with a 'name'",
                                what, i);
    }
    return 0;
}

static int check_judge(cat_suite *s, const char *what)
{
    json_t *j = json_object_get(s->doc, "judge"), *v;
    const char *key;

    s->judge = j;
    if (j == NULL) {
        if (has_metric(s->metrics, "judge"))
            return as_error_set(AS_EINVAL, "%s: metric 'judge' needs a 'judge' object", what);
        return 0;
    }
    if (!json_is_object(j))
        return as_error_set(AS_EINVAL, "%s: field 'judge' must be an object", what);
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "model") == 0) {
            if (!json_is_string(v) || !plain_name(json_string_value(v)))
                return as_error_set(AS_EINVAL, "%s: judge.model must be a model name", what);
        } else if (strcmp(key, "mode") == 0) {
            if (!json_is_string(v) || (strcmp(json_string_value(v), "single") != 0 &&
                                       strcmp(json_string_value(v), "pairwise") != 0))
                return as_error_set(AS_EINVAL, "%s: judge.mode must be single or pairwise", what);
        } else if (strcmp(key, "rubric") == 0) {
            if (!json_is_string(v))
                return as_error_set(AS_EINVAL, "%s: judge.rubric must be a string", what);
        } else if (strcmp(key, "with_reference") == 0) {
            if (!json_is_boolean(v))
                return as_error_set(AS_EINVAL, "%s: judge.with_reference must be true or false",
                                    what);
        } else {
            return as_error_set(AS_EINVAL, "%s: judge: unknown field '%.40s'", what, key);
        }
    }
    if (!json_is_string(json_object_get(j, "model")))
        return as_error_set(AS_EINVAL, "%s: judge.model is missing", what);
    return 0;
}

static int check_thresholds(cat_suite *s, const char *what)
{
    json_t *t = json_object_get(s->doc, "thresholds"), *v;
    const char *key;

    s->thresholds = t;
    if (t == NULL)
        return 0;
    if (!json_is_object(t))
        return as_error_set(AS_EINVAL, "%s: field 'thresholds' must be an object", what);
    json_object_foreach(t, key, v)
    {
        if (!json_is_number(v))
            return as_error_set(AS_EINVAL, "%s: thresholds.%.60s must be a number", what, key);
        if (!has_metric(s->metrics, key))
            return as_error_set(AS_EINVAL, "%s: thresholds.%.60s names no metric of the suite",
                                what, key);
    }
    return 0;
}

static int check_ranking(cat_suite *s, const char *what)
{
    json_t *r = json_object_get(s->doc, "ranking"), *p;

    s->ranking = r;
    if (r == NULL)
        return 0;
    if (!json_is_object(r))
        return as_error_set(AS_EINVAL, "%s: field 'ranking' must be an object", what);
    p = json_object_get(r, "policy");
    if (p != NULL && (!json_is_string(p) || json_string_length(p) == 0))
        return as_error_set(AS_EINVAL, "%s: ranking.policy must be a non-empty string", what);
    return 0;
}

static int suite_check(cat_suite *s, const char *what)
{
    json_t *v;
    const char *key;
    int rc;

    if (!json_is_object(s->doc))
        return as_error_set(AS_EINVAL, "%s: a suite is a JSON object", what);
    json_object_foreach(s->doc, key, v)
    {
        if (!in_list(key, suite_fields))
            return as_error_set(AS_EINVAL, "%s: unknown field '%.40s'", what, key);
    }
    if ((rc = opt_string(&s->name, s->doc, "name", what)) < 0)
        return rc;
    if (s->name && !cat_name_valid(s->name))
        return as_error_wrap(AS_EINVAL, "%s: field 'name'", what);
    if ((rc = opt_string(&s->description, s->doc, "description", what)) < 0)
        return rc;
    if (s->description == NULL)
        s->description = "";
    if ((rc = ref_field(&s->prompt_ref, s->doc, "prompt", what)) < 0 ||
        (rc = ref_field(&s->dataset_ref, s->doc, "dataset", what)) < 0 ||
        (rc = check_metrics(s, what)) < 0)
        return rc;
    if ((rc = opt_string(&s->primary_metric, s->doc, "primary_metric", what)) < 0)
        return rc;
    if (s->primary_metric == NULL)
        s->primary_metric =
            json_string_value(json_object_get(json_array_get(s->metrics, 0), "name"));
    else if (!has_metric(s->metrics, s->primary_metric))
        return as_error_set(AS_EINVAL, "%s: primary_metric '%.60s' is not among the metrics", what,
                            s->primary_metric);
    if ((v = json_object_get(s->doc, "params")) != NULL && !json_is_object(v))
        return as_error_set(AS_EINVAL, "%s: field 'params' must be an object", what);
    if ((rc = check_models(s, what)) < 0 || (rc = check_judge(s, what)) < 0 ||
        (rc = check_thresholds(s, what)) < 0 || (rc = check_ranking(s, what)) < 0)
        return rc;
    return 0;
}

int cat_suite_parse(cat_suite **out, const char *data, size_t len, const char *what)
{
    cat_suite *s;
    int rc;

    *out = NULL;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = as_json_parse_doc(&s->doc, data, len, CAT_DOC_MAX, what)) < 0 ||
        (rc = suite_check(s, what)) < 0) {
        cat_suite_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int cat_suite_load(cat_suite **out, cat_version *ver, cat *c, const char *ref)
{
    char what[CAT_NAME_MAX + 32];
    cat_version v, pv;
    char *data = NULL;
    size_t len;
    int rc;

    *out = NULL;
    if ((rc = cat_resolve(&v, c, CAT_SUITE, ref)) < 0 || (rc = cat_read(&data, &len, c, &v)) < 0)
        return rc;
    snprintf(what, sizeof(what), "suite %s@v%d", v.name, v.version);
    rc = cat_suite_parse(out, data, len, what);
    free(data);
    if (rc < 0)
        return rc;
    if ((rc = cat_resolve(&pv, c, CAT_PROMPT, (*out)->prompt_ref)) < 0)
        rc = as_error_wrap(rc, "%s: field 'prompt'", what);
    else if ((rc = cat_resolve(&pv, c, CAT_DATASET, (*out)->dataset_ref)) < 0)
        rc = as_error_wrap(rc, "%s: field 'dataset'", what);
    if (rc < 0) {
        cat_suite_free(*out);
        *out = NULL;
        return rc;
    }
    if (ver)
        *ver = v;
    return 0;
}
