/* Authentication: API tokens and browser sessions, both looked up by the
 * SHA-256 of the secret (the secrets themselves are never stored), and the
 * role checks of every route. */
#include "web/http.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/rand.h"
#include "common/sha256.h"

#include <string.h>

#define SESSION_SECONDS (12 * 3600)
#define MAX_SECRET 256

static const char *const role_names[] = {"admin", "editor", "rater", "viewer"};

int web_role_parse(web_role *out, const char *name)
{
    int i;

    for (i = 0; i < 4; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (web_role)i;
            return 0;
        }
    }
    return as_error_set(AS_EINVAL, "role '%s': must be admin, editor, rater or viewer", name);
}

const char *web_role_name(web_role r)
{
    return (unsigned)r < 4 ? role_names[r] : "viewer";
}

int web_can(const web_user *u, int perm)
{
    switch (perm & ~WEB_CACHED) {
    case WEB_PERM_PUBLIC:
    case WEB_PERM_READ:
        return 1;
    case WEB_PERM_RATE:
        return u->role == WEB_ROLE_ADMIN || u->role == WEB_ROLE_EDITOR ||
               u->role == WEB_ROLE_RATER;
    case WEB_PERM_EDIT:
        return u->role == WEB_ROLE_ADMIN || u->role == WEB_ROLE_EDITOR;
    case WEB_PERM_ADMIN:
        return u->role == WEB_ROLE_ADMIN;
    default:
        return 0;
    }
}

int web_str_eq_ct(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i;
    unsigned char d = (unsigned char)(la != lb);

    for (i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int web_random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    int rc;

    if (nbytes > sizeof raw)
        return as_error_set(AS_EINVAL, "too many random bytes");
    if ((rc = as_random_bytes(raw, nbytes)) < 0)
        return rc;
    as_hex(raw, nbytes, out);
    return 0;
}

static void hash_hex(const char *secret, char out[2 * AS_SHA256_LEN + 1])
{
    unsigned char h[AS_SHA256_LEN];

    as_sha256_once(secret, strlen(secret), h);
    as_hex(h, sizeof h, out);
}

static int fill_user(store_stmt *st, web_user *out)
{
    const char *name = store_col_text(st, 1), *role = store_col_text(st, 2);

    memset(out, 0, sizeof *out);
    out->id = store_col_int(st, 0);
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    return web_role_parse(&out->role, role ? role : "");
}

int web_auth_token(store *db, const char *token, web_user *out)
{
    char hex[2 * AS_SHA256_LEN + 1];
    store_stmt *st = NULL;
    int rc;

    if (token[0] == '\0' || strlen(token) > MAX_SECRET)
        return as_error_set(AS_EAUTH, "invalid token");
    hash_hex(token, hex);
    if ((rc = store_prepare(&st, db,
                            "SELECT u.id, u.name, u.role FROM user_tokens t "
                            "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1")) < 0)
        return rc;
    if ((rc = store_bind_text(st, 1, hex)) < 0 || (rc = store_step(st)) < 0)
        goto out;
    if (rc != STORE_ROW) {
        rc = as_error_set(AS_EAUTH, "invalid token");
        goto out;
    }
    rc = fill_user(st, out);
out:
    store_finalize(st);
    return rc;
}

int web_auth_session(store *db, const char *session_id, web_user *out)
{
    char hex[2 * AS_SHA256_LEN + 1];
    store_stmt *st = NULL;
    int rc;

    if (session_id[0] == '\0' || strlen(session_id) > MAX_SECRET)
        return as_error_set(AS_EAUTH, "invalid session; log in again");
    hash_hex(session_id, hex);
    if ((rc = store_prepare(&st, db,
                            "SELECT u.id, u.name, u.role, s.csrf FROM user_sessions s "
                            "JOIN users u ON u.id = s.user_id "
                            "WHERE s.session_hash = ?1 AND s.expires_at > ?2")) < 0)
        return rc;
    if ((rc = store_bind_text(st, 1, hex)) < 0 || (rc = store_bind_int(st, 2, as_time_unix())) < 0 ||
        (rc = store_step(st)) < 0)
        goto out;
    if (rc != STORE_ROW) {
        rc = as_error_set(AS_EAUTH, "session expired or unknown; log in again");
        goto out;
    }
    if ((rc = fill_user(st, out)) < 0)
        goto out;
    out->via_session = 1;
    snprintf(out->csrf, sizeof out->csrf, "%s", store_col_text(st, 3));
out:
    store_finalize(st);
    return rc;
}

int web_session_create(store *db, const web_user *user, char **cookie_value, char csrf[65])
{
    char sid[65], hex[2 * AS_SHA256_LEN + 1], now[32];
    store_stmt *st = NULL;
    int rc;

    *cookie_value = NULL;
    if ((rc = web_random_hex(sid, 32)) < 0 || (rc = web_random_hex(csrf, 32)) < 0)
        return rc;
    hash_hex(sid, hex);
    as_time_iso8601(now, sizeof now);
    if ((rc = store_prepare(&st, db, "DELETE FROM user_sessions WHERE expires_at <= ?1")) < 0 ||
        (rc = store_bind_int(st, 1, as_time_unix())) < 0 || (rc = store_step_done(st)) < 0)
        goto out;
    store_finalize(st);
    st = NULL;
    if ((rc = store_prepare(&st, db,
                            "INSERT INTO user_sessions (session_hash, user_id, csrf, created_at, "
                            "expires_at) VALUES (?1, ?2, ?3, ?4, ?5)")) < 0)
        goto out;
    if ((rc = store_bind_text(st, 1, hex)) < 0 || (rc = store_bind_int(st, 2, user->id)) < 0 ||
        (rc = store_bind_text(st, 3, csrf)) < 0 || (rc = store_bind_text(st, 4, now)) < 0 ||
        (rc = store_bind_int(st, 5, as_time_unix() + SESSION_SECONDS)) < 0 ||
        (rc = store_step_done(st)) < 0)
        goto out;
    if ((*cookie_value = strdup(sid)) == NULL)
        rc = as_error_set(AS_ENOMEM, "out of memory");
out:
    store_finalize(st);
    return rc;
}

int web_session_delete(store *db, const char *session_id)
{
    char hex[2 * AS_SHA256_LEN + 1];
    store_stmt *st = NULL;
    int rc;

    if (strlen(session_id) > MAX_SECRET)
        return 0;
    hash_hex(session_id, hex);
    if ((rc = store_prepare(&st, db, "DELETE FROM user_sessions WHERE session_hash = ?1")) < 0)
        return rc;
    if ((rc = store_bind_text(st, 1, hex)) >= 0)
        rc = store_step_done(st);
    store_finalize(st);
    return rc;
}
