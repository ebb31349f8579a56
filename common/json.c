/* jansson wrappers that speak the AS_E* convention; see json.h. */
#include "common/json.h"
#include "common/error.h"
#include "common/utf8.h"

#include <stdio.h>
#include <stdlib.h>

int as_json_parse(json_t **out, const char *data, size_t len, const char *what)
{
    json_error_t err;
    json_t *v = NULL;

    v = json_loadb(data, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (v == NULL)
        return as_error_set(AS_EINVAL, "%s: line %d column %d: %s", what, err.line,
                            err.column, err.text);
    *out = v;
    return 0;
}

int as_json_parse_doc(json_t **out, const char *data, size_t len, size_t max, const char *what)
{
    size_t bad;

    if (len > max)
        return as_error_set(AS_ETOOBIG, "%s: larger than the limit of %zu bytes", what, max);
    if (!as_utf8_valid(data, len, &bad))
        return as_error_set(AS_EINVAL, "%s: invalid UTF-8 at byte %zu", what, bad);
    return as_json_parse(out, data, len, what);
}

char *as_json_dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY);
}

char *as_json_dump_pretty(const json_t *v)
{
    return json_dumps(v, JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_ENCODE_ANY);
}

int as_json_print(FILE *fp, const json_t *v)
{
    char *s = as_json_dump(v);

    if (s == NULL)
        return as_error_set(AS_ENOMEM, "out of memory printing JSON");
    fputs(s, fp);
    fputc('\n', fp);
    free(s);
    return 0;
}

static int get_field(const json_t *obj, const char *key, int required, json_t **out)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    if (v == NULL) {
        if (required)
            return as_error_set(AS_EINVAL, "field '%s' is missing", key);
        return AS_ENOTFOUND;
    }
    *out = v;
    return 0;
}

int as_json_get_str(const json_t *obj, const char *key, int required, const char **out)
{
    json_t *v = NULL;
    int rc;

    if ((rc = get_field(obj, key, required, &v)) < 0)
        return rc;
    if (!json_is_string(v))
        return as_error_set(AS_EINVAL, "field '%s' must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int as_json_get_int(const json_t *obj, const char *key, int required, int64_t *out)
{
    json_t *v = NULL;
    int rc;

    if ((rc = get_field(obj, key, required, &v)) < 0)
        return rc;
    if (!json_is_integer(v))
        return as_error_set(AS_EINVAL, "field '%s' must be an integer", key);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int as_json_get_num(const json_t *obj, const char *key, int required, double *out)
{
    json_t *v = NULL;
    int rc;

    if ((rc = get_field(obj, key, required, &v)) < 0)
        return rc;
    if (!json_is_number(v))
        return as_error_set(AS_EINVAL, "field '%s' must be a number", key);
    *out = json_number_value(v);
    return 0;
}

int as_json_get_bool(const json_t *obj, const char *key, int required, int *out)
{
    json_t *v = NULL;
    int rc;

    if ((rc = get_field(obj, key, required, &v)) < 0)
        return rc;
    if (!json_is_boolean(v))
        return as_error_set(AS_EINVAL, "field '%s' must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

int as_json_get_array(const json_t *obj, const char *key, int required, json_t **out)
{
    json_t *v = NULL;
    int rc;

    if ((rc = get_field(obj, key, required, &v)) < 0)
        return rc;
    if (!json_is_array(v))
        return as_error_set(AS_EINVAL, "field '%s' must be an array", key);
    *out = v;
    return 0;
}

int as_json_get_object(const json_t *obj, const char *key, int required, json_t **out)
{
    json_t *v = NULL;
    int rc;

    if ((rc = get_field(obj, key, required, &v)) < 0)
        return rc;
    if (!json_is_object(v))
        return as_error_set(AS_EINVAL, "field '%s' must be an object", key);
    *out = v;
    return 0;
}

static int set_new(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        return as_error_set(AS_ENOMEM, "out of memory setting JSON field '%s'", key);
    return 0;
}

int as_json_set_str(json_t *obj, const char *key, const char *value)
{
    return set_new(obj, key, json_string(value));
}

int as_json_set_int(json_t *obj, const char *key, int64_t value)
{
    return set_new(obj, key, json_integer((json_int_t)value));
}

int as_json_set_num(json_t *obj, const char *key, double value)
{
    return set_new(obj, key, json_real(value));
}
