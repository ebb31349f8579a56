/* Core routes: health, log in and out, the current user, users and
 * tokens (admin only). */
#include "web/http.h"

#include "common/error.h"
#include "common/json.h"
#include "common/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int health(web_req *r, json_t **out)
{
    (void)r;
    *out = json_pack("{s:s,s:s}", "status", "ok", "version", AS_VERSION);
    return 0;
}

static json_t *user_json(const web_user *u)
{
    json_t *o = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)u->id, "name", u->name, "role",
                          web_role_name(u->role));
    if (u->via_session)
        json_object_set_new(o, "csrf", json_string(u->csrf));
    return o;
}

/* POST /session {"token"}: set the session cookie; the answer carries the
 * CSRF token the page sends back in X-CSRF-Token. */
static int session_login(web_req *r, json_t **out)
{
    json_t *body;
    const char *token;
    char *sid = NULL;
    web_user u;
    size_t n;
    int rc;

    if ((rc = web_body_object(r, &body)) < 0 ||
        (rc = as_json_get_str(body, "token", 1, &token)) < 0)
        return rc;
    if ((rc = web_auth_token(r->db, token, &u)) < 0 ||
        (rc = web_session_create(r->db, &u, &sid, u.csrf)) < 0)
        return rc;
    u.via_session = 1;
    n = strlen(sid) + 100;
    if ((r->set_cookie = malloc(n)) == NULL) {
        free(sid);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    snprintf(r->set_cookie, n, "assay_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200",
             sid);
    free(sid);
    *out = user_json(&u);
    return 0;
}

static int session_get(web_req *r, json_t **out)
{
    *out = user_json(&r->user);
    return 0;
}

static int session_logout(web_req *r, json_t **out)
{
    int rc;

    if (r->user.via_session && (rc = web_session_delete(r->db, r->session_id)) < 0)
        return rc;
    if ((r->set_cookie = strdup("assay_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")) ==
        NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    *out = json_pack("{s:b}", "ok", 1);
    return 0;
}

static int users_list(web_req *r, json_t **out)
{
    json_t *list;
    int rc;

    if ((rc = web_user_list(r->db, &list)) < 0)
        return rc;
    *out = json_pack("{s:o}", "users", list);
    return 0;
}

/* POST /users {"name","role"}: the token is in this answer only. */
static int users_add(web_req *r, json_t **out)
{
    json_t *body;
    const char *name, *role;
    char *token = NULL;
    int rc;

    if ((rc = web_body_object(r, &body)) < 0 || (rc = as_json_get_str(body, "name", 1, &name)) < 0 ||
        (rc = as_json_get_str(body, "role", 1, &role)) < 0)
        return rc;
    if ((rc = web_user_add(r->db, name, role, &token)) < 0)
        return rc;
    *out = json_pack("{s:s,s:s,s:s}", "name", name, "role", role, "token", token);
    free(token);
    r->status = 201;
    return 0;
}

static int users_rm(web_req *r, json_t **out)
{
    int rc;

    if (strcmp(r->params[0], r->user.name) == 0)
        return as_error_set(AS_EINVAL, "you cannot remove yourself");
    if ((rc = web_user_rm(r->db, r->params[0])) < 0)
        return rc;
    *out = json_pack("{s:b}", "ok", 1);
    return 0;
}

static int users_token(web_req *r, json_t **out)
{
    char *token = NULL;
    int rc;

    if ((rc = web_user_new_token(r->db, r->params[0], &token)) < 0)
        return rc;
    *out = json_pack("{s:s,s:s}", "name", r->params[0], "token", token);
    free(token);
    r->status = 201;
    return 0;
}

const web_route web_routes_core[] = {
    {"GET", "/health", WEB_PERM_PUBLIC, health},
    {"POST", "/session", WEB_PERM_PUBLIC, session_login},
    {"GET", "/session", WEB_PERM_READ, session_get},
    {"DELETE", "/session", WEB_PERM_READ, session_logout},
    {"GET", "/users", WEB_PERM_ADMIN, users_list},
    {"POST", "/users", WEB_PERM_ADMIN, users_add},
    {"DELETE", "/users/{}", WEB_PERM_ADMIN, users_rm},
    {"POST", "/users/{}/tokens", WEB_PERM_ADMIN, users_token},
    {NULL, NULL, 0, NULL}
};
