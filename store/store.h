/* SQLite access for every module: opening a database in WAL mode with a busy
 * timeout, applying the embedded migrations, and a thin prepared-statement
 * layer. This is the only place that includes sqlite3.h; SQL is always
 * prepared with bound parameters, never built with printf.
 *
 * One store handle belongs to one thread at a time. */
#ifndef AS_STORE_H
#define AS_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_stmt store_stmt;

enum { STORE_ROW = 1, STORE_DONE = 0 };

enum {
    STORE_NULL = 0,
    STORE_INT = 1,
    STORE_FLOAT = 2,
    STORE_TEXT = 3,
    STORE_BLOB = 4
};

/* Open flags. */
enum {
    STORE_OPEN_MIGRATE = 1,  /* apply pending migrations (default for writers) */
    STORE_OPEN_NOCREATE = 2  /* fail with AS_ENOTFOUND if the file is missing */
};

/* Start SQLite once in main, before any thread opens a database. */
int store_global_init(void);

/* Open (creating when allowed) the database at 'path' into *out (caller
 * frees with store_close). A database whose schema is newer than this
 * binary is refused with AS_EUNSUPPORTED; one that is not SQLite with
 * AS_ECORRUPT. With STORE_OPEN_MIGRATE pending migrations are applied. */
int store_open(store **out, const char *path, int flags);
void store_close(store *db);
const char *store_path(const store *db);

/* Schema version of the open database, and the newest this binary knows. */
int store_schema_version(store *db, int *out);
int store_schema_latest(void);
/* Apply every pending migration, each in its own transaction; *applied
 * (may be NULL) receives how many were applied. */
int store_migrate(store *db, int *applied);
/* The embedded migrations, for `assay db status`. */
int store_migration_count(void);
const char *store_migration_name(int i);   /* "0001_catalog" */

/* Run fixed SQL with no parameters (DDL, BEGIN, ...). */
int store_exec(store *db, const char *sql);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int store_begin(store *db);
int store_commit(store *db);
int store_rollback(store *db);

int store_prepare(store_stmt **out, store *db, const char *sql);
/* Parameters are numbered from 1 as in SQLite. Text is copied. */
int store_bind_text(store_stmt *st, int idx, const char *s);
int store_bind_textn(store_stmt *st, int idx, const char *s, size_t len);
int store_bind_blob(store_stmt *st, int idx, const void *p, size_t len);
int store_bind_int(store_stmt *st, int idx, int64_t v);
int store_bind_double(store_stmt *st, int idx, double v);
int store_bind_null(store_stmt *st, int idx);
/* Returns STORE_ROW, STORE_DONE or a negative AS_E* code. A constraint
 * violation gives AS_EEXISTS; a lock held too long AS_EBUSY. */
int store_step(store_stmt *st);
/* Step a statement expected to produce no rows, then reset it. */
int store_step_done(store_stmt *st);
int store_reset(store_stmt *st);
void store_finalize(store_stmt *st);

/* Column getters (columns from 0). Text and blobs are borrowed until the
 * next step, reset or finalize. NULL text reads as NULL. */
int store_col_type(store_stmt *st, int col);
const char *store_col_text(store_stmt *st, int col);
const void *store_col_blob(store_stmt *st, int col, size_t *len);
int64_t store_col_int(store_stmt *st, int col);
double store_col_double(store_stmt *st, int col);

int64_t store_last_id(store *db);
int store_changes(store *db);

#endif
