/* assay prompt: prompts of the catalog (prompts/NAME.json). The shared
 * subcommands live in catalog_items.c; render is the prompt's own. */
#include "catalog/catalog.h"
#include "cli/catalog_items.h"
#include "cli/cli.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VARS_MAX ((size_t)16 << 20)

const char cli_prompt_usage[] =
    "usage: assay prompt add NAME --file FILE [-m MSG] [--author \"Name <email>\"] [--json]\n"
    "       assay prompt list [--tag TAG] [--all] [--json]\n"
    "       assay prompt show REF [--json]\n"
    "       assay prompt log NAME [--json]\n"
    "       assay prompt diff NAME REF1 REF2 [--json]\n"
    "       assay prompt label NAME REF LABEL [--json]\n"
    "       assay prompt unlabel NAME LABEL [--json]\n"
    "       assay prompt rm NAME [-m MSG] [--author \"Name <email>\"] [--json]\n"
    "       assay prompt render REF (--vars JSON | --vars-file FILE) [--json]\n"
    "\n"
    "Prompts live in the catalog's git repository as prompts/NAME.json; each\n"
    "commit that changes the file is a version (v1, v2, ...).\n"
    "\n"
    "add      validate FILE (schema, template syntax, declared variables), write\n"
    "         prompts/NAME.json and commit it; an identical file commits nothing\n"
    "list     prompts with their newest version, labels and tags (--all: removed too)\n"
    "show     the prompt file at REF\n"
    "log      every version of NAME, newest first\n"
    "diff     unified diff of the file between two references\n"
    "label    point LABEL (a git ref refs/labels/prompts/NAME@LABEL) at REF\n"
    "unlabel  delete a label\n"
    "rm       remove the file by a commit; old versions stay reachable\n"
    "render   render REF with variables: the text, or every chat message\n"
    "\n"
    "REF is NAME, NAME@vN, NAME@LABEL or NAME@<commit prefix>; in diff a REF may\n"
    "also be just vN, LABEL or a commit prefix. Names: [a-z0-9][a-z0-9._/-]*, up to\n"
    "128 characters; labels: [a-z0-9_.-]{1,36}. Templates use {{name}}; write \\{{\n"
    "for literal braces.\n";

static int read_vars(json_t **out, const cli_item_opts *o)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (o->vars_file) {
        if ((rc = as_file_read(&data, &len, o->vars_file, VARS_MAX)) < 0)
            return rc;
        rc = as_json_parse(out, data, len, o->vars_file);
        free(data);
    } else {
        rc = as_json_parse(out, o->vars, strlen(o->vars), "--vars");
    }
    if (rc == 0 && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return as_error_set(AS_EINVAL, "%s: variables must be a JSON object",
                            o->vars_file ? o->vars_file : "--vars");
    }
    return rc;
}

static int prompt_render(cli_ctx *ctx, int argc, char **argv)
{
    cli_item_opts o;
    cat_prompt *p = NULL;
    cat_version v;
    json_t *vars = NULL, *out = NULL;
    cat *c = NULL;
    int rc;

    if ((rc = cli_item_parse(&o, "prompt", "vars,vars_file,json", argc, argv)) != 0)
        return rc;
    if (o.npos != 1 || (o.vars == NULL) == (o.vars_file == NULL))
        return cli_usage("prompt",
                         "usage: assay prompt render REF (--vars JSON | --vars-file FILE)");
    if (read_vars(&vars, &o) < 0)
        return cli_fail();
    if (cli_catalog_open(ctx, &c) != 0) {
        json_decref(vars);
        return CLI_FAIL;
    }
    if (cat_prompt_load(&p, &v, c, o.pos[0]) < 0) {
        rc = cli_fail();
    } else if (cat_prompt_render(&out, p, vars) < 0) {
        as_error_wrap(AS_EINVAL, "prompt %s@v%d", v.name, v.version);
        rc = cli_fail();
    } else if (o.json) {
        json_t *j = json_pack("{s:s,s:i,s:s,s:O}", "name", v.name, "version", v.version, "commit",
                              v.commit, json_is_string(out) ? "text" : "messages", out);
        rc = j && as_json_print(stdout, j) == 0 ? CLI_OK : cli_fail();
        json_decref(j);
    } else if (json_is_string(out)) {
        fwrite(json_string_value(out), 1, json_string_length(out), stdout);
        putchar('\n');
        rc = CLI_OK;
    } else {
        size_t i;
        json_t *m;
        json_array_foreach(out, i, m)
        {
            printf("%s[%s]\n%s\n", i ? "\n" : "", json_string_value(json_object_get(m, "role")),
                   json_string_value(json_object_get(m, "content")));
        }
        rc = CLI_OK;
    }
    json_decref(out);
    json_decref(vars);
    cat_prompt_free(p);
    cat_close(c);
    return rc;
}

int cli_cmd_prompt(cli_ctx *ctx, int argc, char **argv)
{
    int rc;

    if (argc < 2)
        return cli_usage("prompt", "prompt needs a subcommand");
    if (strcmp(argv[1], "render") == 0)
        return prompt_render(ctx, argc, argv);
    if ((rc = cli_items_run(ctx, CAT_PROMPT, "prompt", argc, argv)) >= 0)
        return rc;
    return cli_usage("prompt", "unknown prompt subcommand '%s'", argv[1]);
}
