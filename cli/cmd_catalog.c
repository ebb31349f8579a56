/* assay catalog: the data directory's catalog as a whole: create it, show
 * its state, rebuild the index, pull from and push to other repositories. */
#include "catalog/catalog.h"
#include "cli/catalog_items.h"
#include "cli/cli.h"
#include "common/error.h"
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_catalog_usage[] =
    "usage: assay catalog init [--json]\n"
    "       assay catalog status [--json]\n"
    "       assay catalog reindex [--json]\n"
    "       assay catalog pull [REMOTE] [--json]\n"
    "       assay catalog push [REMOTE] [--json]\n"
    "\n"
    "init     create the data directory: the git repository catalog/ (with an\n"
    "         initial commit) and the database; rebuilds a missing database\n"
    "status   branch head, what the index reflects, counts\n"
    "reindex  rebuild the index from the repository's history (version numbers\n"
    "         come out the same)\n"
    "pull     fetch REMOTE (a remote name, path or URL; default origin) and\n"
    "         fast-forward; diverged histories are refused\n"
    "push     push the branch and labels; a non-fast-forward push is refused\n"
    "\n"
    "Every command notices commits made with plain git and indexes them first.\n";

static json_t *status_json(const cat_status *s, const char *data_dir)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I}", "data", data_dir, "branch",
                     s->branch, "head", s->head, "indexed", s->indexed, "current", s->current,
                     "prompts", (json_int_t)s->prompts, "datasets", (json_int_t)s->datasets,
                     "suites", (json_int_t)s->suites, "versions", (json_int_t)s->versions, "labels",
                     (json_int_t)s->labels);
}

static int print_status(cat *c, const char *data_dir, int json, const char *headline)
{
    cat_status s;
    int rc = CLI_OK;

    if (cat_get_status(&s, c) < 0)
        return cli_fail();
    if (json) {
        json_t *j = status_json(&s, data_dir);
        if (j && headline)
            as_json_set_str(j, "result", headline);
        rc = j && as_json_print(stdout, j) == 0 ? CLI_OK : cli_fail();
        json_decref(j);
        return rc;
    }
    if (headline)
        printf("%s\n", headline);
    printf("catalog   %s\nbranch    %s\nhead      %s\nindex     %s%s\n", cat_repo_path(c), s.branch,
           s.head[0] ? s.head : "(no commit)", s.indexed[0] ? s.indexed : "(empty)",
           s.current ? " (current)" : " (behind: any assay command will catch up)");
    printf("prompts   %lld\ndatasets  %lld\nsuites    %lld\nversions  %lld\nlabels    %lld\n",
           (long long)s.prompts, (long long)s.datasets, (long long)s.suites, (long long)s.versions,
           (long long)s.labels);
    return CLI_OK;
}

static int remote_cmd(cli_ctx *ctx, const cli_item_opts *o, int push)
{
    char *summary = NULL;
    cat *c = NULL;
    int rc;

    if (o->npos > 1)
        return cli_usage("catalog", "usage: assay catalog %s [REMOTE]", push ? "push" : "pull");
    if (cli_catalog_open(ctx, &c) != 0)
        return CLI_FAIL;
    rc = push ? cat_push(&summary, c, o->npos ? o->pos[0] : NULL)
              : cat_pull(&summary, c, o->npos ? o->pos[0] : NULL);
    if (rc < 0) {
        rc = cli_fail();
    } else if (o->json) {
        rc = print_status(c, ctx->data_dir, 1, summary);
    } else {
        printf("%s\n", summary);
        rc = CLI_OK;
    }
    free(summary);
    cat_close(c);
    return rc;
}

int cli_cmd_catalog(cli_ctx *ctx, int argc, char **argv)
{
    cli_item_opts o;
    cat *c = NULL;
    int rc, created = 0;

    if (argc < 2)
        return cli_usage("catalog", "catalog needs a subcommand");
    if ((rc = cli_item_parse(&o, "catalog", "json", argc, argv)) != 0)
        return rc;
    if (strcmp(argv[1], "pull") == 0 || strcmp(argv[1], "push") == 0)
        return remote_cmd(ctx, &o, argv[1][1] == 'u' && argv[1][2] == 's');
    if (o.npos != 0)
        return cli_usage("catalog", "catalog %s takes no arguments", argv[1]);
    if (strcmp(argv[1], "init") == 0) {
        if (cat_init(&c, ctx->data_dir, &created) < 0)
            return cli_fail();
        rc = print_status(c, ctx->data_dir, o.json,
                          created ? "initialized the catalog" : "the catalog already exists");
    } else if (strcmp(argv[1], "status") == 0) {
        if (cat_open_flags(&c, ctx->data_dir, CAT_OPEN_NO_REINDEX) < 0)
            return cli_fail();
        rc = print_status(c, ctx->data_dir, o.json, NULL);
    } else if (strcmp(argv[1], "reindex") == 0) {
        if (cat_open_flags(&c, ctx->data_dir, CAT_OPEN_NO_REINDEX) < 0)
            return cli_fail();
        rc = cat_reindex(c) < 0 ? cli_fail()
                                : print_status(c, ctx->data_dir, o.json, "rebuilt the index");
    } else {
        return cli_usage("catalog", "unknown catalog subcommand '%s'", argv[1]);
    }
    cat_close(c);
    return rc;
}
