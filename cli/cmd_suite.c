/* assay suite: evaluation suites of the catalog (suites/NAME.json). Every
 * subcommand is shared with prompts and datasets (catalog_items.c). */
#include "catalog/catalog.h"
#include "cli/catalog_items.h"
#include "cli/cli.h"

const char cli_suite_usage[] =
    "usage: assay suite add NAME --file FILE [-m MSG] [--author \"Name <email>\"] [--json]\n"
    "       assay suite list [--all] [--json]\n"
    "       assay suite show REF [--json]\n"
    "       assay suite log NAME [--json]\n"
    "       assay suite diff NAME REF1 REF2 [--json]\n"
    "       assay suite label NAME REF LABEL [--json]\n"
    "       assay suite unlabel NAME LABEL [--json]\n"
    "       assay suite rm NAME [-m MSG] [--json]\n"
    "\n"
    "A suite pairs a prompt with a dataset and says how to score and rank:\n"
    "  {\"prompt\": \"summarize@production\", \"dataset\": \"news@v2\",\n"
    "   \"metrics\": [\"rougeL\", {\"name\": \"rouge1\", \"stem\": true}],\n"
    "   \"primary_metric\": \"rougeL\", \"models\": [\"model-a\"],\n"
    "   \"judge\": {\"model\": \"m\", \"mode\": \"single\"}, \"thresholds\": {\"rougeL\": 0.4},\n"
    "   \"ranking\": {\"policy\": \"priority:cost,quality,speed\"}}\n"
    "add checks the structure and that the prompt and dataset references resolve.\n";

int cli_cmd_suite(cli_ctx *ctx, int argc, char **argv)
{
    int rc;

    if (argc < 2)
        return cli_usage("suite", "suite needs a subcommand");
    if ((rc = cli_items_run(ctx, CAT_SUITE, "suite", argc, argv)) >= 0)
        return rc;
    return cli_usage("suite", "unknown suite subcommand '%s'", argv[1]);
}
