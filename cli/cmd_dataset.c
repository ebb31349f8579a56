/* assay dataset: evaluation datasets of the catalog (datasets/NAME.jsonl,
 * one case a line). Every subcommand is shared with prompts and suites
 * (catalog_items.c); datasets are validated and stored streamed. */
#include "catalog/catalog.h"
#include "cli/catalog_items.h"
#include "cli/cli.h"

const char cli_dataset_usage[] =
    "usage: assay dataset add NAME --file FILE.jsonl [-m MSG] [--author \"Name <email>\"] "
    "[--json]\n"
    "       assay dataset list [--all] [--json]\n"
    "       assay dataset show REF [--limit N] [--json]\n"
    "       assay dataset log NAME [--json]\n"
    "       assay dataset diff NAME REF1 REF2 [--json]\n"
    "       assay dataset label NAME REF LABEL [--json]\n"
    "       assay dataset unlabel NAME LABEL [--json]\n"
    "       assay dataset rm NAME [-m MSG] [--json]\n"
    "\n"
    "A dataset is datasets/NAME.jsonl in the catalog: one case a line,\n"
    "  {\"id\": \"c1\", \"vars\": {...}, \"expected\": \"...\", \"tags\": [...]}\n"
    "where id (a string or an integer, unique) is required, vars is an object,\n"
    "expected is a string or absent (unlabelled), and \"meta\" may hold an object.\n"
    "add checks every line and commits nothing when any is bad; the error names\n"
    "the line and the field. show prints the first cases (--limit N, default 10).\n"
    "REF is NAME, NAME@vN, NAME@LABEL or NAME@<commit prefix>.\n";

int cli_cmd_dataset(cli_ctx *ctx, int argc, char **argv)
{
    int rc;

    if (argc < 2)
        return cli_usage("dataset", "dataset needs a subcommand");
    if ((rc = cli_items_run(ctx, CAT_DATASET, "dataset", argc, argv)) >= 0)
        return rc;
    return cli_usage("dataset", "unknown dataset subcommand '%s'", argv[1]);
}
