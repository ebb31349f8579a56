/* SQLite wrapper, migrations and error translation; see store.h. */
#include "store/store.h"
#include "common/error.h"
#include "common/embed.h"
#include "common/fs.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generated at build time from migrations/NNNN_name.sql, sorted by name,
 * so the file name's number is the schema version it brings. */
extern const as_embed store_migrations[];
extern const int store_migrations_count;

#define STORE_BUSY_TIMEOUT_MS 10000

struct store {
    sqlite3 *db;
    char *path;
};

struct store_stmt {
    sqlite3_stmt *st;
    store *db;
};

static int translate(sqlite3 *db, int src, const char *what)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(src);

    switch (src & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return as_error_set(AS_EBUSY, "%s: database is busy (%s)", what, msg);
    case SQLITE_CONSTRAINT:
        return as_error_set(AS_EEXISTS, "%s: %s", what, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return as_error_set(AS_ECORRUPT, "%s: the database is not a valid assay database (%s)",
                            what, msg);
    case SQLITE_TOOBIG:
        return as_error_set(AS_ETOOBIG, "%s: %s", what, msg);
    case SQLITE_NOMEM:
        return as_error_set(AS_ENOMEM, "%s: out of memory", what);
    default:
        return as_error_set(AS_ERROR, "%s: %s", what, msg);
    }
}

int store_global_init(void)
{
    int rc = sqlite3_initialize();

    return rc == SQLITE_OK ? 0 : translate(NULL, rc, "starting SQLite");
}

int store_schema_latest(void)
{
    return store_migrations_count;
}

int store_migration_count(void)
{
    return store_migrations_count;
}

const char *store_migration_name(int i)
{
    if (i < 0 || i >= store_migrations_count)
        return NULL;
    return store_migrations[i].name;
}

int store_schema_version(store *db, int *out)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, db, "PRAGMA user_version")) < 0)
        return rc;
    if ((rc = store_step(st)) == STORE_ROW) {
        *out = (int)store_col_int(st, 0);
        rc = 0;
    } else if (rc == STORE_DONE) {
        rc = as_error_set(AS_ECORRUPT, "%s: cannot read the schema version", db->path);
    }
    store_finalize(st);
    return rc;
}

int store_migrate(store *db, int *applied)
{
    int version, rc, n = 0;
    char pragma[64];

    if ((rc = store_begin(db)) < 0)
        return rc;
    /* Read the version inside the write lock so two processes cannot both
     * apply the same migration. */
    if ((rc = store_schema_version(db, &version)) < 0)
        goto fail;
    if (version > store_migrations_count) {
        rc = as_error_set(AS_EUNSUPPORTED,
                          "%s: database schema version %d is newer than this assay "
                          "(knows up to %d); upgrade assay",
                          db->path, version, store_migrations_count);
        goto fail;
    }
    while (version < store_migrations_count) {
        const as_embed *m = &store_migrations[version];
        char *err = NULL;
        if (sqlite3_exec(db->db, (const char *)m->data, NULL, NULL, &err) != SQLITE_OK) {
            rc = as_error_set(AS_ERROR, "migration %s: %s", m->name, err ? err : "failed");
            sqlite3_free(err);
            goto fail;
        }
        version++;
        /* PRAGMA takes no parameters; the value is an integer we made. */
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
        if ((rc = store_exec(db, pragma)) < 0)
            goto fail;
        n++;
        if ((rc = store_commit(db)) < 0)
            return rc;
        if (version < store_migrations_count && (rc = store_begin(db)) < 0)
            return rc;
    }
    if (n == 0 && (rc = store_commit(db)) < 0)
        return rc;
    if (applied)
        *applied = n;
    return 0;
fail:
    store_rollback(db);
    return rc;
}

int store_open(store **out, const char *path, int flags)
{
    store *db;
    int rc, version;
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;

    if (!(flags & STORE_OPEN_NOCREATE))
        oflags |= SQLITE_OPEN_CREATE;
    else if (!as_path_exists(path))
        return as_error_set(AS_ENOTFOUND, "%s: no database here", path);
    if ((db = calloc(1, sizeof(*db))) == NULL || (db->path = strdup(path)) == NULL) {
        free(db);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    if ((rc = sqlite3_open_v2(path, &db->db, oflags, NULL)) != SQLITE_OK) {
        rc = translate(db->db, rc, path);
        store_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db->db, STORE_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db->db, 1);
    if ((rc = store_exec(db, "PRAGMA journal_mode=WAL")) < 0 ||
        (rc = store_exec(db, "PRAGMA foreign_keys=ON")) < 0 ||
        (rc = store_exec(db, "PRAGMA synchronous=NORMAL")) < 0 ||
        (rc = store_schema_version(db, &version)) < 0)
        goto fail;
    if (version > store_migrations_count) {
        rc = as_error_set(AS_EUNSUPPORTED,
                          "%s: database schema version %d is newer than this assay "
                          "(knows up to %d); upgrade assay",
                          path, version, store_migrations_count);
        goto fail;
    }
    if ((flags & STORE_OPEN_MIGRATE) && version < store_migrations_count &&
        (rc = store_migrate(db, NULL)) < 0)
        goto fail;
    *out = db;
    return 0;
fail:
    if (rc == AS_ERROR || rc == AS_ECORRUPT)
        as_error_wrap(rc, "%s", path);
    store_close(db);
    return rc;
}

void store_close(store *db)
{
    if (db == NULL)
        return;
    sqlite3_close_v2(db->db);
    free(db->path);
    free(db);
}

const char *store_path(const store *db)
{
    return db->path;
}

int store_exec(store *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db->db, sql, NULL, NULL, &err);

    if (rc != SQLITE_OK) {
        sqlite3_free(err);
        return translate(db->db, rc, sql);
    }
    return 0;
}

int store_begin(store *db)
{
    return store_exec(db, "BEGIN IMMEDIATE");
}

int store_commit(store *db)
{
    return store_exec(db, "COMMIT");
}

int store_rollback(store *db)
{
    if (sqlite3_get_autocommit(db->db))
        return 0;
    return store_exec(db, "ROLLBACK");
}

int store_prepare(store_stmt **out, store *db, const char *sql)
{
    store_stmt *st = calloc(1, sizeof(*st));
    int rc;

    if (st == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = sqlite3_prepare_v2(db->db, sql, -1, &st->st, NULL)) != SQLITE_OK) {
        free(st);
        return translate(db->db, rc, "prepare");
    }
    st->db = db;
    *out = st;
    return 0;
}

static int bind_rc(store_stmt *st, int rc)
{
    return rc == SQLITE_OK ? 0 : translate(st->db->db, rc, "bind");
}

int store_bind_text(store_stmt *st, int idx, const char *s)
{
    if (s == NULL)
        return store_bind_null(st, idx);
    return bind_rc(st, sqlite3_bind_text(st->st, idx, s, -1, SQLITE_TRANSIENT));
}

int store_bind_textn(store_stmt *st, int idx, const char *s, size_t len)
{
    return bind_rc(st, sqlite3_bind_text64(st->st, idx, s, len, SQLITE_TRANSIENT, SQLITE_UTF8));
}

int store_bind_blob(store_stmt *st, int idx, const void *p, size_t len)
{
    return bind_rc(st, sqlite3_bind_blob64(st->st, idx, p, len, SQLITE_TRANSIENT));
}

int store_bind_int(store_stmt *st, int idx, int64_t v)
{
    return bind_rc(st, sqlite3_bind_int64(st->st, idx, v));
}

int store_bind_double(store_stmt *st, int idx, double v)
{
    return bind_rc(st, sqlite3_bind_double(st->st, idx, v));
}

int store_bind_null(store_stmt *st, int idx)
{
    return bind_rc(st, sqlite3_bind_null(st->st, idx));
}

int store_step(store_stmt *st)
{
    int rc = sqlite3_step(st->st);

    if (rc == SQLITE_ROW)
        return STORE_ROW;
    if (rc == SQLITE_DONE)
        return STORE_DONE;
    rc = translate(st->db->db, rc, "query");
    sqlite3_reset(st->st);
    return rc;
}

int store_step_done(store_stmt *st)
{
    int rc = store_step(st);

    sqlite3_reset(st->st);
    if (rc == STORE_ROW)
        return 0;
    return rc < 0 ? rc : 0;
}

int store_reset(store_stmt *st)
{
    sqlite3_reset(st->st);
    sqlite3_clear_bindings(st->st);
    return 0;
}

void store_finalize(store_stmt *st)
{
    if (st == NULL)
        return;
    sqlite3_finalize(st->st);
    free(st);
}

int store_col_type(store_stmt *st, int col)
{
    switch (sqlite3_column_type(st->st, col)) {
    case SQLITE_INTEGER: return STORE_INT;
    case SQLITE_FLOAT: return STORE_FLOAT;
    case SQLITE_TEXT: return STORE_TEXT;
    case SQLITE_BLOB: return STORE_BLOB;
    default: return STORE_NULL;
    }
}

const char *store_col_text(store_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st->st, col);
}

const void *store_col_blob(store_stmt *st, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(st->st, col);

    if (len)
        *len = (size_t)sqlite3_column_bytes(st->st, col);
    return p;
}

int64_t store_col_int(store_stmt *st, int col)
{
    return sqlite3_column_int64(st->st, col);
}

double store_col_double(store_stmt *st, int col)
{
    return sqlite3_column_double(st->st, col);
}

int64_t store_last_id(store *db)
{
    return sqlite3_last_insert_rowid(db->db);
}

int store_changes(store *db)
{
    return sqlite3_changes(db->db);
}
