/* store: migrations, version guard, statements, error translation. */
#include "store/store.h"
#include "tests/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/assay-test-store-XXXXXX";

static char *db_path(const char *name)
{
    static char path[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

static void store__open_applies_all_migrations(void)
{
    store *db = NULL;
    int v = -1;

    T_OK(store_open(&db, db_path("a.db"), STORE_OPEN_MIGRATE));
    T_OK(store_schema_version(db, &v));
    T_EQ_INT(v, store_schema_latest());
    T_CHECK(store_migration_count() >= 1);
    store_close(db);
}

static void store__statements_bind_and_read(void)
{
    store *db = NULL;
    store_stmt *st = NULL;

    T_OK(store_open(&db, db_path("b.db"), STORE_OPEN_MIGRATE));
    T_OK(store_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT UNIQUE, x REAL)"));
    T_OK(store_prepare(&st, db, "INSERT INTO t (s, x) VALUES (?1, ?2)"));
    T_OK(store_bind_text(st, 1, "one"));
    T_OK(store_bind_double(st, 2, 0.5));
    T_OK(store_step_done(st));
    T_EQ_INT(store_last_id(db), 1);
    /* the same text again violates UNIQUE */
    T_ERR(store_step_done(st), AS_EEXISTS);
    store_finalize(st);
    T_OK(store_prepare(&st, db, "SELECT s, x FROM t WHERE id = ?1"));
    T_OK(store_bind_int(st, 1, 1));
    T_EQ_INT(store_step(st), STORE_ROW);
    T_EQ_STR(store_col_text(st, 0), "one");
    T_NEAR(store_col_double(st, 1), 0.5, 0);
    T_EQ_INT(store_step(st), STORE_DONE);
    store_finalize(st);
    store_close(db);
}

static void store__refuses_newer_schema(void)
{
    store *db = NULL;
    char pragma[64];

    T_OK(store_open(&db, db_path("c.db"), STORE_OPEN_MIGRATE));
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", store_schema_latest() + 1);
    T_OK(store_exec(db, pragma));
    store_close(db);
    db = NULL;
    T_ERR(store_open(&db, db_path("c.db"), STORE_OPEN_MIGRATE), AS_EUNSUPPORTED);
    T_CHECK(strstr(as_error_msg(), "newer") != NULL);
}

static void store__refuses_non_database(void)
{
    store *db = NULL;
    FILE *fp = fopen(db_path("d.db"), "w");

    fputs("this is not a database, just some text that is long enough\n", fp);
    fclose(fp);
    T_ERR(store_open(&db, db_path("d.db"), STORE_OPEN_MIGRATE), AS_ECORRUPT);
    T_ERR(store_open(&db, db_path("missing.db"), STORE_OPEN_NOCREATE), AS_ENOTFOUND);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    T_RUN(store__open_applies_all_migrations);
    T_RUN(store__statements_bind_and_read);
    T_RUN(store__refuses_newer_schema);
    T_RUN(store__refuses_non_database);
    return t_done();
}
