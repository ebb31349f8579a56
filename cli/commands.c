/* The command table. Each group lives in its own cli/cmd_NAME.c. */
#include "cli/cli.h"

#include <stddef.h>

const cli_command cli_commands[] = {
    {"db", cli_cmd_db, "database schema: migrate, status", cli_db_usage},
    {"catalog", cli_cmd_catalog, "the catalog repository: init, status, reindex, pull, push", cli_catalog_usage},
    {"prompt", cli_cmd_prompt, "prompts: add, list, show, log, diff, label, rm, render", cli_prompt_usage},
    {"dataset", cli_cmd_dataset, "datasets: add, list, show, log, diff, label, rm", cli_dataset_usage},
    {"suite", cli_cmd_suite, "suites: add, list, show, log, diff, rm", cli_suite_usage},
    {"serve", cli_cmd_serve, "web dashboard, rating UI and JSON API", cli_serve_usage},
    {"user", cli_cmd_user, "users of the web server and their API tokens", cli_user_usage},
    {"generate", cli_cmd_generate, "run a local model folder on one prompt", cli_generate_usage},
    {"tokenize", cli_cmd_tokenize, "run a model tokenizer over JSON lines: ids or text", cli_tokenize_usage},
    {"metrics", cli_cmd_metrics, "score outputs made elsewhere: rouge, classification, match, bleu, cosine", cli_metrics_usage},
    {"model", cli_cmd_model, "models and their prices: add, list, show, rm", cli_model_usage},
    {"eval", cli_cmd_eval, "run a suite against its models: scores, cost, speed", cli_eval_usage},
    {"runs", cli_cmd_runs, "runs and their items: list, show, rm", cli_runs_usage},
    {"rank", cli_cmd_rank, "rank a suite's models by quality, cost and speed", cli_rank_usage},
    {"gate", cli_cmd_gate, "CI gate: thresholds and significant regressions, JUnit and markdown reports", cli_gate_usage},
    {NULL, NULL, NULL, NULL}
};
