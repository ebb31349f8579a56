/* Users and API tokens: created by `assay user add` and the admin API.
 * A token is 32 random bytes in hex behind an "as_" prefix; only its
 * SHA-256 is stored, so it is shown once, when it is made. */
#include "web/web.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/rand.h"
#include "common/sha256.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_BYTES 32

static int valid_name(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
            return 0;
    }
    return 1;
}

/* Make a token for user 'uid' into *token (caller frees). */
static int add_token(store *db, int64_t uid, char **token)
{
    unsigned char raw[TOKEN_BYTES], h[AS_SHA256_LEN];
    char hex[2 * TOKEN_BYTES + 1], hhex[2 * AS_SHA256_LEN + 1], now[32];
    store_stmt *st = NULL;
    size_t n = 3 + 2 * TOKEN_BYTES + 1;
    char *t;
    int rc;

    *token = NULL;
    if ((rc = as_random_bytes(raw, sizeof raw)) < 0)
        return rc;
    as_hex(raw, sizeof raw, hex);
    if ((t = malloc(n)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    snprintf(t, n, "as_%s", hex);
    as_sha256_once(t, strlen(t), h);
    as_hex(h, sizeof h, hhex);
    as_time_iso8601(now, sizeof now);
    if ((rc = store_prepare(&st, db,
                            "INSERT INTO user_tokens (user_id, token_hash, created_at) "
                            "VALUES (?1, ?2, ?3)")) < 0)
        goto out;
    if ((rc = store_bind_int(st, 1, uid)) < 0 || (rc = store_bind_text(st, 2, hhex)) < 0 ||
        (rc = store_bind_text(st, 3, now)) < 0 || (rc = store_step_done(st)) < 0)
        goto out;
    *token = t;
    t = NULL;
out:
    store_finalize(st);
    free(t);
    return rc;
}

int web_user_add(store *db, const char *name, const char *role, char **token)
{
    web_role r;
    store_stmt *st = NULL;
    char now[32];
    int64_t uid;
    int rc;

    *token = NULL;
    if (!valid_name(name))
        return as_error_set(AS_EINVAL, "user name '%s': use 1-64 letters, digits, '-', '_' or '.'",
                            name);
    if ((rc = web_role_parse(&r, role)) < 0)
        return rc;
    as_time_iso8601(now, sizeof now);
    if ((rc = store_begin(db)) < 0)
        return rc;
    if ((rc = store_prepare(&st, db,
                            "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)")) < 0)
        goto fail;
    if ((rc = store_bind_text(st, 1, name)) < 0 || (rc = store_bind_text(st, 2, role)) < 0 ||
        (rc = store_bind_text(st, 3, now)) < 0)
        goto fail;
    if ((rc = store_step_done(st)) < 0) {
        if (rc == AS_EEXISTS)
            as_error_set(rc, "user '%s' already exists", name);
        goto fail;
    }
    uid = store_last_id(db);
    if ((rc = add_token(db, uid, token)) < 0 || (rc = store_commit(db)) < 0)
        goto fail;
    store_finalize(st);
    return 0;
fail:
    store_finalize(st);
    store_rollback(db);
    free(*token);
    *token = NULL;
    return rc;
}

static int find_user(store *db, const char *name, int64_t *uid)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, db, "SELECT id FROM users WHERE name = ?1")) < 0)
        return rc;
    if ((rc = store_bind_text(st, 1, name)) >= 0 && (rc = store_step(st)) >= 0) {
        if (rc == STORE_ROW) {
            *uid = store_col_int(st, 0);
            rc = 0;
        } else {
            rc = as_error_set(AS_ENOTFOUND, "no user '%s'", name);
        }
    }
    store_finalize(st);
    return rc;
}

int web_user_new_token(store *db, const char *name, char **token)
{
    int64_t uid = 0;
    int rc;

    *token = NULL;
    if ((rc = find_user(db, name, &uid)) < 0)
        return rc;
    return add_token(db, uid, token);
}

int web_user_list(store *db, json_t **out)
{
    store_stmt *st = NULL;
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if ((rc = store_prepare(&st, db,
                            "SELECT u.id, u.name, u.role, u.created_at, "
                            "(SELECT count(*) FROM user_tokens t WHERE t.user_id = u.id) "
                            "FROM users u ORDER BY u.name")) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:s,s:I}", "id",
                                              (json_int_t)store_col_int(st, 0), "name",
                                              store_col_text(st, 1), "role", store_col_text(st, 2),
                                              "created_at", store_col_text(st, 3), "tokens",
                                              (json_int_t)store_col_int(st, 4)));
    }
    if (rc < 0)
        goto out;
    *out = list;
    list = NULL;
    rc = 0;
out:
    store_finalize(st);
    json_decref(list);
    return rc;
}

int web_user_rm(store *db, const char *name)
{
    store_stmt *st = NULL;
    int64_t uid = 0;
    int rc;

    if ((rc = find_user(db, name, &uid)) < 0)
        return rc;
    if ((rc = store_prepare(&st, db, "DELETE FROM users WHERE id = ?1")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, uid)) >= 0)
        rc = store_step_done(st);
    store_finalize(st);
    return rc;
}

int web_user_count(store *db, int64_t *out)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, db, "SELECT count(*) FROM users")) < 0)
        return rc;
    if ((rc = store_step(st)) == STORE_ROW) {
        *out = store_col_int(st, 0);
        rc = 0;
    } else if (rc >= 0) {
        rc = as_error_set(AS_ERROR, "cannot count users");
    }
    store_finalize(st);
    return rc;
}
