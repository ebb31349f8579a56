/* assay db: the SQLite schema of the data directory. */
#include "cli/cli.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

const char cli_db_usage[] =
    "usage: assay db migrate\n"
    "       assay db status [--json]\n"
    "\n"
    "migrate  apply the schema migrations this assay has and the database lacks\n"
    "status   show the schema version of the database and the migrations\n";

static int open_db(cli_ctx *ctx, store **db, int flags)
{
    char *path;
    int rc;

    if ((rc = as_mkdir_p(ctx->data_dir)) < 0)
        return rc;
    if ((path = cli_data_path(ctx, "assay.db")) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = store_open(db, path, flags);
    free(path);
    return rc;
}

static int db_migrate(cli_ctx *ctx)
{
    store *db;
    int applied = 0, version = 0;

    if (open_db(ctx, &db, 0) < 0 || store_migrate(db, &applied) < 0 ||
        store_schema_version(db, &version) < 0) {
        int rc = cli_fail();
        store_close(db);
        return rc;
    }
    printf("applied %d migration%s; schema version %d\n", applied, applied == 1 ? "" : "s",
           version);
    store_close(db);
    return CLI_OK;
}

static int db_status(cli_ctx *ctx, int json)
{
    store *db = NULL;
    int version = 0, i, n = store_migration_count();

    if (open_db(ctx, &db, 0) < 0 || store_schema_version(db, &version) < 0) {
        int rc = cli_fail();
        store_close(db);
        return rc;
    }
    if (json) {
        json_t *o = json_object(), *list = json_array();
        as_json_set_str(o, "path", store_path(db));
        as_json_set_int(o, "version", version);
        as_json_set_int(o, "latest", store_schema_latest());
        for (i = 0; i < n; i++) {
            json_t *m = json_object();
            as_json_set_str(m, "name", store_migration_name(i));
            json_object_set_new(m, "applied", json_boolean(i < version));
            json_array_append_new(list, m);
        }
        json_object_set_new(o, "migrations", list);
        as_json_print(stdout, o);
        json_decref(o);
    } else {
        printf("database  %s\nschema    version %d of %d%s\n", store_path(db), version,
               store_schema_latest(), version < store_schema_latest() ? " (run 'assay db migrate')" : "");
        for (i = 0; i < n; i++)
            printf("  [%c] %s\n", i < version ? 'x' : ' ', store_migration_name(i));
    }
    store_close(db);
    return CLI_OK;
}

int cli_cmd_db(cli_ctx *ctx, int argc, char **argv)
{
    int json = 0, i;

    if (argc < 2)
        return cli_usage("db", "db needs a subcommand: migrate or status");
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return cli_usage("db", "unknown option '%s'", argv[i]);
    }
    if (strcmp(argv[1], "migrate") == 0)
        return db_migrate(ctx);
    if (strcmp(argv[1], "status") == 0)
        return db_status(ctx, json);
    return cli_usage("db", "unknown db subcommand '%s'", argv[1]);
}
