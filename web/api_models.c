/* Model routes: list, add or replace, remove (editors). The settings never
 * hold secrets: keys are named by environment variable (evaluator/models.h). */
#include "web/http.h"

#include "common/error.h"
#include "common/json.h"
#include "evaluator/models.h"
#include "evaluator/provider.h"

#include <string.h>

static int models_list(web_req *r, json_t **out)
{
    json_t *list;
    int rc;

    if ((rc = eval_model_list(&list, r->db)) < 0)
        return rc;
    *out = json_pack("{s:o}", "models", list);
    return 0;
}

static int models_get(web_req *r, json_t **out)
{
    eval_model m;
    int rc;

    eval_model_init(&m);
    if ((rc = eval_model_get(&m, r->db, r->params[0])) == 0)
        *out = eval_model_json(&m);
    eval_model_clear(&m);
    return rc;
}

/* Settings naming files must be absolute: a client does not know the
 * server's working folder. */
static int check_paths(const eval_model *m)
{
    const prov_vtable *vt = prov_find(m->provider);
    size_t i;

    for (i = 0; vt && vt->path_keys && vt->path_keys[i]; i++) {
        const char *v = json_string_value(json_object_get(m->settings, vt->path_keys[i]));
        if (v && v[0] != '/')
            return as_error_set(AS_EINVAL, "settings.%s: '%s' is not an absolute path on the "
                                "server", vt->path_keys[i], v);
    }
    return 0;
}

/* POST /models {"name","provider","settings"?,"price_in"?,...}; with
 * ?replace=1 an existing model is updated. */
static int models_put(web_req *r, json_t **out)
{
    json_t *body;
    eval_model m;
    int64_t replace;
    int rc;

    if ((rc = web_body_object(r, &body)) < 0 ||
        (rc = web_query_int(r, "replace", 0, 0, 1, &replace)) < 0)
        return rc;
    eval_model_init(&m);
    if ((rc = eval_model_from_json(&m, body)) == 0 && (rc = check_paths(&m)) == 0 &&
        (rc = eval_model_put(r->db, &m, (int)replace)) == 0) {
        eval_model_clear(&m);
        eval_model_init(&m);
        if ((rc = eval_model_get(&m, r->db, json_string_value(json_object_get(body, "name")))) == 0) {
            *out = eval_model_json(&m);
            r->status = 201;
        }
    }
    eval_model_clear(&m);
    return rc;
}

static int models_rm(web_req *r, json_t **out)
{
    int rc;

    if ((rc = eval_model_remove(r->db, r->params[0])) < 0)
        return rc;
    *out = json_pack("{s:b}", "ok", 1);
    return 0;
}

const web_route web_routes_models[] = {
    {"GET", "/models", WEB_PERM_READ, models_list},
    {"POST", "/models", WEB_PERM_EDIT, models_put},
    {"GET", "/models/{}", WEB_PERM_READ, models_get},
    {"DELETE", "/models/{}", WEB_PERM_EDIT, models_rm},
    {NULL, NULL, 0, NULL}
};
