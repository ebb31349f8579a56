/* The assay command line: global options, the command table and the helpers
 * every command group shares. Exit status: 0 ok, 1 error, 2 usage error
 * (the gate adds 3: the run could not complete). */
#ifndef AS_CLI_H
#define AS_CLI_H

#include <stdio.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_ctx {
    const char *data_dir;   /* --data, else $ASSAY_DATA, else ./assay-data */
    const char *argv0;
} cli_ctx;

/* A command group: argv[0] is the group's own name. Returns an exit status. */
typedef int (*cli_fn)(cli_ctx *ctx, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    cli_fn fn;
    const char *summary;    /* one line for `assay help` */
    const char *usage;      /* full text for `assay help NAME` and --help */
} cli_command;

/* The table, in the order `assay help` lists it; ends with a NULL name. */
extern const cli_command cli_commands[];

/* Print "assay: <as_error_msg()>" to stderr; returns CLI_FAIL. */
int cli_fail(void);
/* Print "assay: <message>" and a hint to run --help; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The path of a file in the data directory (caller frees). */
char *cli_data_path(const cli_ctx *ctx, const char *name);

/* Command groups, one file each (cli/cmd_NAME.c). */
int cli_cmd_db(cli_ctx *ctx, int argc, char **argv);
extern const char cli_db_usage[];
int cli_cmd_catalog(cli_ctx *ctx, int argc, char **argv);
extern const char cli_catalog_usage[];
int cli_cmd_prompt(cli_ctx *ctx, int argc, char **argv);
extern const char cli_prompt_usage[];
int cli_cmd_dataset(cli_ctx *ctx, int argc, char **argv);
extern const char cli_dataset_usage[];
int cli_cmd_suite(cli_ctx *ctx, int argc, char **argv);
extern const char cli_suite_usage[];
int cli_cmd_serve(cli_ctx *ctx, int argc, char **argv);
extern const char cli_serve_usage[];
int cli_cmd_user(cli_ctx *ctx, int argc, char **argv);
extern const char cli_user_usage[];
int cli_cmd_gate(cli_ctx *ctx, int argc, char **argv);
extern const char cli_gate_usage[];

int cli_cmd_generate(cli_ctx *ctx, int argc, char **argv);
/* assay generate --loglik FILE (cmd_loglik.c): score FILE's JSON lines
 * through the batch of 'e' ('slots' sequences at once); closes nothing. */
struct eng_engine;
int cli_generate_loglik(struct eng_engine *e, const char *path, int slots);
extern const char cli_generate_usage[];
int cli_cmd_tokenize(cli_ctx *ctx, int argc, char **argv);
extern const char cli_tokenize_usage[];
int cli_cmd_metrics(cli_ctx *ctx, int argc, char **argv);
extern const char cli_metrics_usage[];
int cli_cmd_model(cli_ctx *ctx, int argc, char **argv);
extern char cli_model_usage[];      /* built at start-up from the provider registry */
int cli_cmd_eval(cli_ctx *ctx, int argc, char **argv);
extern const char cli_eval_usage[];
int cli_cmd_runs(cli_ctx *ctx, int argc, char **argv);
extern const char cli_runs_usage[];
int cli_cmd_rank(cli_ctx *ctx, int argc, char **argv);
extern const char cli_rank_usage[];
#endif
