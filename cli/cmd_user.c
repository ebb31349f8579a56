/* assay user: the users of the web server and their API tokens. */
#include "cli/cli.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "store/store.h"
#include "web/web.h"

#include <stdlib.h>
#include <string.h>

const char cli_user_usage[] =
    "usage: assay user add NAME --role admin|editor|rater|viewer\n"
    "       assay user token NAME\n"
    "       assay user list [--json]\n"
    "       assay user rm NAME\n"
    "\n"
    "add    create a user and print a new API token (shown once: only its hash is kept)\n"
    "token  print one more API token for NAME\n"
    "list   the users, their roles and how many tokens each holds\n"
    "rm     remove a user with their tokens, sessions and ratings\n"
    "\n"
    "Roles: admin (everything, users), editor (catalog, models, runs), rater\n"
    "(rating queues), viewer (read only). Log in to the dashboard with a token.\n";

static int open_db(cli_ctx *ctx, store **db)
{
    char *path;
    int rc;

    *db = NULL;
    if ((rc = as_mkdir_p(ctx->data_dir)) < 0)
        return rc;
    if ((path = cli_data_path(ctx, "assay.db")) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = store_open(db, path, STORE_OPEN_MIGRATE);
    free(path);
    return rc;
}

static int user_add(store *db, int argc, char **argv)
{
    const char *name = NULL, *role = NULL;
    char *token = NULL;
    int i;

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role = argv[++i];
        else if (strncmp(argv[i], "--role=", 7) == 0)
            role = argv[i] + 7;
        else if (argv[i][0] == '-')
            return cli_usage("user", "unknown option '%s'", argv[i]);
        else if (name == NULL)
            name = argv[i];
        else
            return cli_usage("user", "unexpected argument '%s'", argv[i]);
    }
    if (name == NULL || role == NULL)
        return cli_usage("user", "user add needs NAME and --role");
    if (web_user_add(db, name, role, &token) < 0)
        return cli_fail();
    printf("%s\n", token);
    fprintf(stderr, "user %s (%s) created; the token above is shown only once\n", name, role);
    free(token);
    return CLI_OK;
}

static int user_list(store *db, int json)
{
    json_t *list = NULL, *u;
    size_t i;

    if (web_user_list(db, &list) < 0)
        return cli_fail();
    if (json) {
        as_json_print(stdout, list);
    } else {
        printf("%-24s %-8s %-6s %s\n", "NAME", "ROLE", "TOKENS", "CREATED");
        json_array_foreach(list, i, u) {
            printf("%-24s %-8s %-6lld %s\n", json_string_value(json_object_get(u, "name")),
                   json_string_value(json_object_get(u, "role")),
                   (long long)json_integer_value(json_object_get(u, "tokens")),
                   json_string_value(json_object_get(u, "created_at")));
        }
    }
    json_decref(list);
    return CLI_OK;
}

int cli_cmd_user(cli_ctx *ctx, int argc, char **argv)
{
    store *db = NULL;
    int rc;

    if (argc < 2)
        return cli_usage("user", "user needs a subcommand: add, token, list or rm");
    if (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "list") != 0 &&
        strcmp(argv[1], "rm") != 0 && strcmp(argv[1], "token") != 0)
        return cli_usage("user", "unknown user subcommand '%s'", argv[1]);
    if (strcmp(argv[1], "list") == 0) {
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json") != 0))
            return cli_usage("user", "user list takes only --json");
    } else if (strcmp(argv[1], "add") != 0 && argc != 3) {
        return cli_usage("user", "user %s needs exactly one NAME", argv[1]);
    }
    if (open_db(ctx, &db) < 0)
        return cli_fail();
    if (strcmp(argv[1], "add") == 0) {
        rc = user_add(db, argc, argv);
    } else if (strcmp(argv[1], "list") == 0) {
        rc = user_list(db, argc == 3);
    } else if (strcmp(argv[1], "token") == 0) {
        char *token = NULL;
        if (web_user_new_token(db, argv[2], &token) < 0) {
            rc = cli_fail();
        } else {
            printf("%s\n", token);
            free(token);
            rc = CLI_OK;
        }
    } else {
        rc = web_user_rm(db, argv[2]) < 0 ? cli_fail() : CLI_OK;
    }
    store_close(db);
    return rc;
}
