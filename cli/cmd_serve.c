/* assay serve: the web dashboard, the rating UI and the JSON API. */
#include "cli/cli.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "store/store.h"
#include "web/web.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

const char cli_serve_usage[] =
    "usage: assay serve [--bind ADDR] [--port N] [--threads N] [--demo]\n"
    "\n"
    "Serve the dashboard (leaderboard, runs, catalog, rating) and the JSON API\n"
    "under /api/v1/ until SIGINT or SIGTERM; requests in flight finish first and\n"
    "runs in progress stay resumable.\n"
    "\n"
    "  --bind ADDR   IP address to listen on (default 127.0.0.1; 0.0.0.0: all;\n"
    "                IPv6 where the civetweb library has it)\n"
    "  --port N      port (default 8080; 0 picks a free one)\n"
    "  --threads N   worker threads (default 16)\n"
    "  --demo        when the data directory is empty, seed an example catalog\n"
    "                (sentiment, news summarization, short-answer QA), run it with\n"
    "                the baseline providers and open on a ranked leaderboard\n"
    "\n"
    "With no users yet, an admin user is created and its token printed once.\n"
    "Log in to the dashboard with a token; make more with 'assay user add'.\n";

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* With an empty user table, make "admin" and print its token. */
static int first_admin(const char *data_dir)
{
    store *db = NULL;
    char *path = as_path_join(data_dir, "assay.db"), *token = NULL;
    int64_t n = 0;
    int rc;

    if (path == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = store_open(&db, path, STORE_OPEN_MIGRATE);
    free(path);
    if (rc < 0)
        return rc;
    if ((rc = web_user_count(db, &n)) == 0 && n == 0 &&
        (rc = web_user_add(db, "admin", "admin", &token)) == 0) {
        printf("admin token (shown once; log in with it): %s\n", token);
        free(token);
    }
    store_close(db);
    return rc;
}

int cli_cmd_serve(cli_ctx *ctx, int argc, char **argv)
{
    web_config cfg = {0};
    web_server *srv = NULL;
    sigset_t set;
    int i, sig = 0, demo = 0;

    cfg.bind = "127.0.0.1";
    cfg.port = 8080;
    cfg.data_dir = ctx->data_dir;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--bind") == 0 && i + 1 < argc) {
            cfg.bind = argv[++i];
        } else if (strcmp(a, "--port") == 0 && i + 1 < argc) {
            if (parse_int(argv[++i], 0, 65535, &cfg.port) < 0)
                return cli_usage("serve", "--port: expected 0-65535, got '%s'", argv[i]);
        } else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
            if (parse_int(argv[++i], 1, 256, &cfg.threads) < 0)
                return cli_usage("serve", "--threads: expected 1-256, got '%s'", argv[i]);
        } else if (strcmp(a, "--demo") == 0) {
            demo = 1;
        } else {
            return cli_usage("serve", "unknown argument '%s'", a);
        }
    }
    if (as_mkdir_p(ctx->data_dir) < 0)
        return cli_fail();
    /* libgit2 and libcurl were started by main, before any thread. */
    if (web_prepare_data(ctx->data_dir, demo) < 0 || first_admin(ctx->data_dir) < 0)
        return cli_fail();
    /* Block the stop signals before any thread starts so that every thread
     * inherits the mask and only sigwait below receives them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (web_server_start(&srv, &cfg) < 0)
        return cli_fail();
    if (strchr(cfg.bind, ':'))
        printf("assay: serving on http://[%s]:%d/\n", cfg.bind, web_server_port(srv));
    else
        printf("assay: serving on http://%s:%d/\n", cfg.bind, web_server_port(srv));
    fflush(stdout);
    if (sigwait(&set, &sig) != 0)
        sig = 0;
    as_log_info("serve: signal %d, stopping", sig);
    web_server_stop(srv);
    fprintf(stderr, "assay: server stopped\n");
    return CLI_OK;
}
