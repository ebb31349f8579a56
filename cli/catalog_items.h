/* The subcommands that prompts, datasets and suites share (add, list,
 * show, log, diff, label, unlabel, rm), written once over cat_kind and used
 * by cmd_prompt.c, cmd_dataset.c and cmd_suite.c. */
#ifndef AS_CLI_CATALOG_ITEMS_H
#define AS_CLI_CATALOG_ITEMS_H

#include "catalog/catalog.h"
#include "cli/cli.h"

/* Options of the catalog subcommands, parsed from argv after the
 * subcommand name. */
typedef struct cli_item_opts {
    const char *pos[4]; /* positional arguments */
    int npos;
    const char *file;      /* --file */
    const char *message;   /* -m, --message */
    const char *author;    /* --author */
    const char *tag;       /* --tag */
    const char *vars;      /* --vars */
    const char *vars_file; /* --vars-file */
    long limit;            /* --limit (-1 when not given) */
    int json;              /* --json */
    int all;               /* --all */
} cli_item_opts;

/* Parse argv[2..] allowing only the options named in 'allowed' (a
 * comma-separated list such as "file,message,author,json"); 'cmd' names
 * the group in usage errors. Returns 0 or CLI_USAGE after printing. */
int cli_item_parse(cli_item_opts *o, const char *cmd, const char *allowed, int argc, char **argv);

/* Open the data directory's catalog; prints the error and returns
 * CLI_FAIL on failure. */
int cli_catalog_open(cli_ctx *ctx, cat **out);

/* Run the shared subcommand argv[1] for items of 'kind'; 'cmd' is the
 * group's name ("prompt"). Returns an exit status; -1 when argv[1] is not
 * a shared subcommand (the group handles it or reports it). */
int cli_items_run(cli_ctx *ctx, cat_kind kind, const char *cmd, int argc, char **argv);

#endif
