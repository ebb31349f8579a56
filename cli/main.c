/* assay's entry point: global options, library start-up, dispatch to a
 * command group. */
#include "cli/cli.h"
#include "catalog/catalog.h"
#include "evaluator/eval.h"
#include "common/error.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/version.h"
#include "store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char main_usage[] =
    "usage: assay [--data DIR] [--verbose|--quiet] COMMAND [ARGS]\n"
    "\n"
    "assay indexes prompts and datasets kept in git, runs candidate models over\n"
    "them, scores the outputs and ranks the models by quality, cost and speed.\n"
    "\n"
    "Global options:\n"
    "  --data DIR     data directory (else $ASSAY_DATA, else ./assay-data)\n"
    "  -v, --verbose  log progress and details to stderr\n"
    "  -q, --quiet    log nothing but errors\n"
    "  --version      print the version\n"
    "\n"
    "Commands:\n";

int cli_fail(void)
{
    const char *msg = as_error_msg();

    fprintf(stderr, "assay: %s\n", msg[0] ? msg : "failed");
    return CLI_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* as_error_set makes quoted arguments one line of UTF-8. */
    as_error_set(AS_EINVAL, "%s", msg);
    if (cmd)
        fprintf(stderr, "assay: %s (see 'assay %s --help')\n", as_error_msg(), cmd);
    else
        fprintf(stderr, "assay: %s (see 'assay help')\n", as_error_msg());
    return CLI_USAGE;
}

char *cli_data_path(const cli_ctx *ctx, const char *name)
{
    size_t n = strlen(ctx->data_dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/%s", ctx->data_dir, name);
    return p;
}

static const cli_command *find_command(const char *name)
{
    const cli_command *c;

    for (c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void print_help(FILE *fp)
{
    const cli_command *c;

    fputs(main_usage, fp);
    for (c = cli_commands; c->name; c++)
        fprintf(fp, "  %-10s %s\n", c->name, c->summary);
    fputs("\nRun 'assay help COMMAND' or 'assay COMMAND --help' for details.\n", fp);
}

static int cmd_help(int argc, char **argv)
{
    const cli_command *c;

    if (argc < 2) {
        print_help(stdout);
        return CLI_OK;
    }
    if ((c = find_command(argv[1])) == NULL)
        return cli_usage(NULL, "unknown command '%s'", argv[1]);
    fputs(c->usage, stdout);
    return CLI_OK;
}

/* Take the global options out of argv wherever they stand before "--";
 * returns the new argc, or -1 after printing a usage error. */
static int take_global_options(cli_ctx *ctx, int argc, char **argv)
{
    int i, n = 1;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                argv[n++] = argv[i++];
            break;
        }
        if (strcmp(a, "--data") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                cli_usage(NULL, "--data needs a directory");
                return -1;
            }
            ctx->data_dir = argv[++i];
        } else if (strncmp(a, "--data=", 7) == 0) {
            if (a[7] == '\0') {
                cli_usage(NULL, "--data needs a directory");
                return -1;
            }
            ctx->data_dir = a + 7;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            as_log_set_level(AS_LOG_DEBUG);
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            as_log_set_level(AS_LOG_QUIET);
        } else {
            argv[n++] = argv[i];
        }
    }
    argv[n] = NULL;
    return n;
}

/* The output is the result (scores, reports, listings): one that could not
 * all be written (a full disk, a closed file) is an error, not a success. */
static int finish_output(int rc)
{
    int err;

    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return rc;
    err = errno;
    /* a failed command has said why already; a reader that stopped early
     * (| head) is not an error */
    if (rc != CLI_OK || err == EPIPE)
        return rc;
    as_error_set(AS_ERROR, "writing the output: %s", err ? strerror(err) : "write error");
    fprintf(stderr, "assay: %s\n", as_error_msg());
    return CLI_FAIL;
}

static int wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    cli_ctx ctx = {0};
    const cli_command *c;
    const char *env;
    int rc;

    ctx.argv0 = argv[0];
    if ((argc = take_global_options(&ctx, argc, argv)) < 0)
        return CLI_USAGE;
    if (ctx.data_dir == NULL)
        ctx.data_dir = ((env = getenv("ASSAY_DATA")) && env[0]) ? env : "./assay-data";
    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0)
        return finish_output(cmd_help(argc - 1, argv + 1));
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("assay %s\n", AS_VERSION);
        return finish_output(CLI_OK);
    }
    if ((c = find_command(argv[1])) == NULL)
        return cli_usage(NULL, "unknown command '%s'", argv[1]);
    if (wants_help(argc - 1, argv + 1)) {
        fputs(c->usage, stdout);
        return finish_output(CLI_OK);
    }
    /* Commands write the data directory into JSON and messages. */
    if (!as_utf8_valid(ctx.data_dir, strlen(ctx.data_dir), NULL))
        return cli_usage(NULL, "--data '%s': the path is not UTF-8", ctx.data_dir);
    /* The libraries that must start before any thread (SQLite, libgit2,
     * libcurl) start here, for every command, and stop after it. */
    if (store_global_init() < 0 || cat_global_init() < 0)
        return cli_fail();
    if (eval_global_init() < 0) {
        cat_global_shutdown();
        return cli_fail();
    }
    rc = c->fn(&ctx, argc - 1, argv + 1);
    eval_global_shutdown();
    cat_global_shutdown();
    return finish_output(rc);
}
