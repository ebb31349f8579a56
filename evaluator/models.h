/* Models: a name, a provider, the provider's settings (JSON, never a
 * secret: keys are named by environment variable), prices and limits.
 * Stored in the models table (migrations/0003_runs.sql); a suite may also
 * define a model inline as an object with "provider". */
#ifndef AS_EVAL_MODELS_H
#define AS_EVAL_MODELS_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

#define EVAL_MODEL_NAME_MAX 128

typedef struct eval_model {
    int64_t id;                         /* 0 for an inline model */
    char name[EVAL_MODEL_NAME_MAX + 1];
    char provider[33];
    json_t *settings;                   /* object, owned */
    double price_in, price_out;         /* USD per 1M tokens */
    double price_hour;                  /* USD per instance-hour of busy time */
    int instance_count;                 /* instances billed by the hour (1..100000) */
    int64_t price_version;
    int concurrency;                    /* requests in flight at most */
    int rpm;                            /* requests per minute at most, 0 none */
    double timeout_s;                   /* per request */
    int max_retries;
    char created_at[32], updated_at[32];
} eval_model;

/* Defaults: concurrency 4, rpm 0, timeout 60 s, 2 retries, prices 0,
 * 1 instance. */
void eval_model_init(eval_model *m);
void eval_model_clear(eval_model *m);

/* 1 when 'name' is a valid model name (1-128 of [A-Za-z0-9._:/-], starting
 * with a letter or digit), else 0 with AS_EINVAL set. */
int eval_model_name_valid(const char *name);

/* Check name, limits, prices, and the settings with the provider's own
 * validation (unknown provider: AS_ENOTFOUND). */
int eval_model_validate(const eval_model *m);

/* Insert 'm' (validated first). An existing name is AS_EEXISTS unless
 * 'replace', which updates it and bumps price_version when a price changed. */
int eval_model_put(store *db, const eval_model *m, int replace);
/* Load model 'name' into *out (clear with eval_model_clear);
 * AS_ENOTFOUND naming it. */
int eval_model_get(eval_model *out, store *db, const char *name);
/* Remove model 'name'; its runs stay. AS_ENOTFOUND when absent. */
int eval_model_remove(store *db, const char *name);

/* A model as JSON (new reference): name, provider, settings, prices,
 * limits. */
json_t *eval_model_json(const eval_model *m);
/* Every model, sorted by name: a new JSON array of eval_model_json. */
int eval_model_list(json_t **out, store *db);

/* A suite's inline model object {"name","provider","settings"?,
 * "price_in"?, "price_out"?, "price_hour"?, "instance_count"?, ...} into
 * *out (validated). */
int eval_model_from_json(eval_model *out, const json_t *obj);

#endif
