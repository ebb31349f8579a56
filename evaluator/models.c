/* Models: storage and validation (models.h). */
#include "evaluator/models.h"
#include "evaluator/provider.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void eval_model_init(eval_model *m)
{
    memset(m, 0, sizeof(*m));
    m->price_version = 1;
    m->concurrency = 4;
    m->timeout_s = 60;
    m->max_retries = 2;
    m->instance_count = 1;
}

void eval_model_clear(eval_model *m)
{
    if (m == NULL)
        return;
    json_decref(m->settings);
    eval_model_init(m);
}

int eval_model_name_valid(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > EVAL_MODEL_NAME_MAX || !isalnum((unsigned char)name[0])) {
        as_error_set(AS_EINVAL, "model name '%.140s': must be 1-128 characters starting "
                     "with a letter or digit", name);
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && !strchr("._:/-", c)) {
            as_error_set(AS_EINVAL, "model name '%s': character '%c' is not allowed", name, c);
            return 0;
        }
    }
    return 1;
}

int eval_model_validate(const eval_model *m)
{
    prov *p = NULL;
    int rc;

    if (!eval_model_name_valid(m->name))
        return AS_EINVAL;
    if (m->concurrency < 1 || m->concurrency > 4096)
        return as_error_set(AS_EINVAL, "concurrency: %d is not in 1..4096", m->concurrency);
    if (m->rpm < 0 || m->rpm > 10000000)
        return as_error_set(AS_EINVAL, "rpm: %d is not in 0..10000000", m->rpm);
    if (!(m->timeout_s > 0 && m->timeout_s <= 86400))
        return as_error_set(AS_EINVAL, "timeout: %g s is not in (0, 86400]", m->timeout_s);
    if (m->max_retries < 0 || m->max_retries > 100)
        return as_error_set(AS_EINVAL, "max retries: %d is not in 0..100", m->max_retries);
    if (!(m->price_in >= 0 && isfinite(m->price_in)) ||
        !(m->price_out >= 0 && isfinite(m->price_out)) ||
        !(m->price_hour >= 0 && isfinite(m->price_hour)))
        return as_error_set(AS_EINVAL, "prices must be finite and not negative");
    if (m->instance_count < 1 || m->instance_count > 100000)
        return as_error_set(AS_EINVAL, "instance count: %d is not in 1..100000", m->instance_count);
    if ((rc = prov_create(&p, m->provider, m->name, m->settings)) < 0)
        return as_error_wrap(rc, "model %s", m->name);
    prov_destroy(p);
    return 0;
}

#define MODEL_COLS                                                                  \
    "id, name, provider, settings, price_in, price_out, price_hour, price_version, " \
    "concurrency, rpm, timeout_s, max_retries, created_at, updated_at, instance_count"

static int read_row(eval_model *m, store_stmt *st)
{
    const char *s;
    int rc;

    eval_model_init(m);
    m->id = store_col_int(st, 0);
    snprintf(m->name, sizeof(m->name), "%s", store_col_text(st, 1));
    snprintf(m->provider, sizeof(m->provider), "%s", store_col_text(st, 2));
    s = store_col_text(st, 3);
    if ((rc = as_json_parse(&m->settings, s ? s : "{}", s ? strlen(s) : 2, "model settings")) < 0)
        return as_error_set(AS_ECORRUPT, "model %s: settings are not JSON", m->name);
    m->price_in = store_col_double(st, 4);
    m->price_out = store_col_double(st, 5);
    m->price_hour = store_col_double(st, 6);
    m->price_version = store_col_int(st, 7);
    m->concurrency = (int)store_col_int(st, 8);
    m->rpm = (int)store_col_int(st, 9);
    m->timeout_s = store_col_double(st, 10);
    m->max_retries = (int)store_col_int(st, 11);
    snprintf(m->created_at, sizeof(m->created_at), "%s", store_col_text(st, 12));
    snprintf(m->updated_at, sizeof(m->updated_at), "%s", store_col_text(st, 13));
    m->instance_count = (int)store_col_int(st, 14);
    return 0;
}

int eval_model_get(eval_model *out, store *db, const char *name)
{
    store_stmt *st = NULL;
    int rc;

    eval_model_init(out);
    if ((rc = store_prepare(&st, db, "SELECT " MODEL_COLS " FROM models WHERE name = ?")) < 0 || (rc = store_bind_text(st, 1, name)) < 0)
        goto out;
    rc = store_step(st);
    if (rc == STORE_ROW)
        rc = read_row(out, st);
    else if (rc == STORE_DONE)
        rc = as_error_set(AS_ENOTFOUND, "unknown model '%s' (see 'assay model list')", name);
out:
    store_finalize(st);
    return rc;
}

int eval_model_put(store *db, const eval_model *m, int replace)
{
    eval_model old;
    store_stmt *st = NULL;
    char now[32], *settings = NULL;
    int rc, exists;
    int64_t price_version = 1;

    if ((rc = eval_model_validate(m)) < 0)
        return rc;
    as_time_iso8601(now, sizeof(now));
    if ((settings = as_json_dump(m->settings)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = store_begin(db)) < 0) {
        free(settings);
        return rc;
    }
    rc = eval_model_get(&old, db, m->name);
    exists = rc == 0;
    if (rc < 0 && rc != AS_ENOTFOUND)
        goto fail;
    if (exists && !replace) {
        eval_model_clear(&old);
        rc = as_error_set(AS_EEXISTS, "model '%s' exists (add --replace to change it)", m->name);
        goto fail;
    }
    if (exists) {
        price_version = old.price_version;
        if (old.price_in != m->price_in || old.price_out != m->price_out ||
            old.price_hour != m->price_hour || old.instance_count != m->instance_count)
            price_version++;
        eval_model_clear(&old);
        rc = store_prepare(&st, db,
            "UPDATE models SET provider = ?2, settings = ?3, price_in = ?4, price_out = ?5, "
            "price_hour = ?6, price_version = ?7, concurrency = ?8, rpm = ?9, timeout_s = ?10, "
            "max_retries = ?11, updated_at = ?12, instance_count = ?13 WHERE name = ?1");
    } else {
        rc = store_prepare(&st, db,
            "INSERT INTO models (name, provider, settings, price_in, price_out, price_hour, "
            "price_version, concurrency, rpm, timeout_s, max_retries, updated_at, created_at, "
            "instance_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)");
    }
    if (rc < 0)
        goto fail;
    if ((rc = store_bind_text(st, 1, m->name)) < 0 || (rc = store_bind_text(st, 2, m->provider)) < 0 ||
        (rc = store_bind_text(st, 3, settings)) < 0 ||
        (rc = store_bind_double(st, 4, m->price_in)) < 0 ||
        (rc = store_bind_double(st, 5, m->price_out)) < 0 ||
        (rc = store_bind_double(st, 6, m->price_hour)) < 0 ||
        (rc = store_bind_int(st, 7, price_version)) < 0 ||
        (rc = store_bind_int(st, 8, m->concurrency)) < 0 || (rc = store_bind_int(st, 9, m->rpm)) < 0 ||
        (rc = store_bind_double(st, 10, m->timeout_s)) < 0 ||
        (rc = store_bind_int(st, 11, m->max_retries)) < 0 || (rc = store_bind_text(st, 12, now)) < 0 ||
        (rc = store_bind_int(st, 13, m->instance_count)) < 0 ||
        (rc = store_step_done(st)) < 0)
        goto fail;
    store_finalize(st);
    free(settings);
    return store_commit(db);
fail:
    store_finalize(st);
    free(settings);
    store_rollback(db);
    return rc;
}

int eval_model_remove(store *db, const char *name)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, db, "DELETE FROM models WHERE name = ?")) < 0 ||
        (rc = store_bind_text(st, 1, name)) < 0 || (rc = store_step_done(st)) < 0) {
        store_finalize(st);
        return rc;
    }
    store_finalize(st);
    if (store_changes(db) == 0)
        return as_error_set(AS_ENOTFOUND, "unknown model '%s'", name);
    return 0;
}

json_t *eval_model_json(const eval_model *m)
{
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    as_json_set_str(o, "name", m->name);
    as_json_set_str(o, "provider", m->provider);
    json_object_set_new(o, "settings", m->settings ? json_deep_copy(m->settings) : json_object());
    as_json_set_num(o, "price_in", m->price_in);
    as_json_set_num(o, "price_out", m->price_out);
    as_json_set_num(o, "price_hour", m->price_hour);
    as_json_set_int(o, "instance_count", m->instance_count);
    as_json_set_int(o, "price_version", m->price_version);
    as_json_set_int(o, "concurrency", m->concurrency);
    as_json_set_int(o, "rpm", m->rpm);
    as_json_set_num(o, "timeout_s", m->timeout_s);
    as_json_set_int(o, "max_retries", m->max_retries);
    if (m->created_at[0])
        as_json_set_str(o, "created_at", m->created_at);
    if (m->updated_at[0])
        as_json_set_str(o, "updated_at", m->updated_at);
    return o;
}

int eval_model_list(json_t **out, store *db)
{
    store_stmt *st = NULL;
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if (list == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = store_prepare(&st, db, "SELECT " MODEL_COLS " FROM models ORDER BY name")) < 0)
        goto fail;
    while ((rc = store_step(st)) == STORE_ROW) {
        eval_model m;
        if ((rc = read_row(&m, st)) < 0)
            goto fail;
        json_array_append_new(list, eval_model_json(&m));
        eval_model_clear(&m);
    }
    if (rc < 0)
        goto fail;
    store_finalize(st);
    *out = list;
    return 0;
fail:
    store_finalize(st);
    json_decref(list);
    return rc;
}

static int num_field(const json_t *obj, const char *key, double *out)
{
    int rc = as_json_get_num(obj, key, 0, out);
    return rc == AS_ENOTFOUND ? 0 : rc;
}

static int int_field(const json_t *obj, const char *key, int *out)
{
    int64_t v = *out;
    int rc = as_json_get_int(obj, key, 0, &v);

    if (rc == AS_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (v < 0 || v > 10000000)
        return as_error_set(AS_EINVAL, "%s: %lld is out of range", key, (long long)v);
    *out = (int)v;
    return 0;
}

int eval_model_from_json(eval_model *out, const json_t *obj)
{
    const char *name, *provider;
    json_t *settings = NULL;
    int rc;

    eval_model_init(out);
    if ((rc = as_json_get_str(obj, "name", 1, &name)) < 0 ||
        (rc = as_json_get_str(obj, "provider", 1, &provider)) < 0)
        return as_error_wrap(rc, "inline model");
    if (strlen(name) > EVAL_MODEL_NAME_MAX || strlen(provider) >= sizeof(out->provider))
        return as_error_set(AS_EINVAL, "inline model: name or provider too long");
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->provider, sizeof(out->provider), "%s", provider);
    rc = as_json_get_object(obj, "settings", 0, &settings);
    if (rc < 0 && rc != AS_ENOTFOUND)
        return as_error_wrap(rc, "model %s", name);
    out->settings = settings ? json_deep_copy(settings) : json_object();
    if ((rc = num_field(obj, "price_in", &out->price_in)) < 0 ||
        (rc = num_field(obj, "price_out", &out->price_out)) < 0 ||
        (rc = num_field(obj, "price_hour", &out->price_hour)) < 0 ||
        (rc = num_field(obj, "timeout_s", &out->timeout_s)) < 0 ||
        (rc = int_field(obj, "concurrency", &out->concurrency)) < 0 ||
        (rc = int_field(obj, "rpm", &out->rpm)) < 0 ||
        (rc = int_field(obj, "max_retries", &out->max_retries)) < 0 ||
        (rc = int_field(obj, "instance_count", &out->instance_count)) < 0)
        return as_error_wrap(rc, "model %s", name);
    return eval_model_validate(out);
}
