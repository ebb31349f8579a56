/* The command table. Each group lives in its own cli/cmd_NAME.c. */
#include "cli/cli.h"

#include <stddef.h>

const cli_command cli_commands[] = {
    {"db", cli_cmd_db, "database schema: migrate, status", cli_db_usage},
    {NULL, NULL, NULL, NULL}
};
