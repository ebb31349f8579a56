/* The replay provider: outputs produced elsewhere, read from a JSONL file
 * of {"id", "output", "latency_ms"?, "prompt_tokens"?, "completion_tokens"?}
 * and scored like any other model's. The file is read once, at run start. */
#include "evaluator/provider.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

#define REPLAY_FILE_MAX ((size_t)512 << 20)

typedef struct replay_prov {
    prov base;
    char *file;
    json_t *by_id;      /* id -> record */
} replay_prov;

static const char *const replay_keys[] = {"file", NULL};
static const char *const replay_path_keys[] = {"file", NULL};

static void replay_destroy(prov *p)
{
    replay_prov *r = (replay_prov *)p;

    if (r == NULL)
        return;
    free(r->file);
    json_decref(r->by_id);
    free(r);
}

static int replay_create(prov **out, const char *model_name, const json_t *settings)
{
    replay_prov *r;
    const char *file, *key;
    json_t *v;

    (void)model_name;
    *out = NULL;
    if (!json_is_object(settings))
        return as_error_set(AS_EINVAL, "settings: must be an object");
    json_object_foreach((json_t *)settings, key, v)
        if (strcmp(key, "file") != 0)
            return as_error_set(AS_EINVAL, "setting %s: unknown to provider replay", key);
    if (prov_setting_str(settings, "file", NULL, &file) < 0)
        return AS_EINVAL;
    if (file == NULL || file[0] == '\0')
        return as_error_set(AS_EINVAL, "setting file: required (a JSONL file of outputs)");
    if ((r = calloc(1, sizeof(*r))) == NULL || (r->file = strdup(file)) == NULL) {
        free(r);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    *out = &r->base;
    return 0;
}

static int check_record(const json_t *rec)
{
    const char *counts[] = {"prompt_tokens", "completion_tokens"};
    const json_t *v;
    size_t i;

    if (!json_is_string(json_object_get(rec, "id")))
        return as_error_set(AS_EINVAL, "\"id\" must be a string");
    if (!json_is_string(json_object_get(rec, "output")))
        return as_error_set(AS_EINVAL, "\"output\" must be a string");
    v = json_object_get(rec, "latency_ms");
    if (v && (!json_is_number(v) || json_number_value(v) < 0))
        return as_error_set(AS_EINVAL, "\"latency_ms\" must be a number >= 0");
    for (i = 0; i < 2; i++) {
        v = json_object_get(rec, counts[i]);
        if (v && (!json_is_integer(v) || json_integer_value(v) < 0))
            return as_error_set(AS_EINVAL, "\"%s\" must be a whole number >= 0", counts[i]);
    }
    return 0;
}

static int replay_start(prov *p, const prov_run_info *info)
{
    replay_prov *r = (replay_prov *)p;
    char *text, *line, *end;
    size_t len, lineno = 0;
    int rc = 0;

    (void)info;
    if (r->by_id)
        return 0;
    if ((rc = as_file_read(&text, &len, r->file, REPLAY_FILE_MAX)) < 0)
        return as_error_wrap(rc, "replay file");
    if ((r->by_id = json_object()) == NULL) {
        free(text);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    for (line = text; line < text + len; line = end + 1) {
        json_t *rec;
        end = memchr(line, '\n', (size_t)(text + len - line));
        if (end == NULL)
            end = text + len;
        lineno++;
        if (end == line || (end == line + 1 && line[0] == '\r'))
            continue;
        if ((rc = as_json_parse(&rec, line, (size_t)(end - line), "record")) < 0) {
            rc = as_error_wrap(AS_EINVAL, "%s: line %zu", r->file, lineno);
            break;
        }
        if ((rc = check_record(rec)) < 0) {
            json_decref(rec);
            rc = as_error_wrap(AS_EINVAL, "%s: line %zu", r->file, lineno);
            break;
        }
        if (json_object_get(r->by_id, json_string_value(json_object_get(rec, "id")))) {
            rc = as_error_set(AS_EINVAL, "%s: line %zu: id '%s' appears twice", r->file, lineno,
                              json_string_value(json_object_get(rec, "id")));
            json_decref(rec);
            break;
        }
        json_object_set_new(r->by_id, json_string_value(json_object_get(rec, "id")), rec);
    }
    free(text);
    return rc;
}

static int replay_invoke(prov *p, const prov_call *calls, size_t n, prov_result *res)
{
    replay_prov *r = (replay_prov *)p;
    size_t i;

    for (i = 0; i < n; i++) {
        json_t *rec = json_object_get(r->by_id, calls[i].case_id), *v;
        const char *out;
        if (rec == NULL) {
            prov_result_fail(&res[i], AS_ENOTFOUND, PROV_RETRY_NO,
                             "replay file has no output for case '%s'", calls[i].case_id);
            continue;
        }
        out = json_string_value(json_object_get(rec, "output"));
        if (prov_result_set_output(&res[i], out, strlen(out)) < 0)
            return AS_ENOMEM;
        res[i].latency_ms = (v = json_object_get(rec, "latency_ms")) ? json_number_value(v) : 0;
        if ((v = json_object_get(rec, "prompt_tokens")))
            res[i].prompt_tokens = (int64_t)json_integer_value(v);
        if ((v = json_object_get(rec, "completion_tokens")))
            res[i].completion_tokens = (int64_t)json_integer_value(v);
        if (res[i].prompt_tokens < 0 || res[i].completion_tokens < 0) {
            res[i].usage_estimated = 1;
            if (res[i].prompt_tokens < 0)
                res[i].prompt_tokens = prov_estimate_tokens(calls[i].prompt,
                                                            strlen(calls[i].prompt));
            if (res[i].completion_tokens < 0)
                res[i].completion_tokens = prov_estimate_tokens(out, strlen(out));
        }
    }
    return 0;
}

const prov_vtable prov_replay = {
    .name = "replay",
    .summary = "outputs produced elsewhere: --file OUTPUTS.jsonl "
               "({\"id\",\"output\",\"latency_ms\"?,\"prompt_tokens\"?,\"completion_tokens\"?})",
    .settings_keys = replay_keys,
    .path_keys = replay_path_keys,
    .create = replay_create,
    .start = replay_start,
    .destroy = replay_destroy,
    .invoke = replay_invoke,
};
