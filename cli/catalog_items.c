/* Shared subcommands of assay prompt, dataset and suite: one
 * implementation over cat_kind (see catalog_items.h). */
#include "cli/catalog_items.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_SHOW_LIMIT 10

static int allowed_opt(const char *allowed, const char *name)
{
    size_t n = strlen(name);
    const char *p = allowed;

    while ((p = strstr(p, name)) != NULL) {
        if ((p == allowed || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
        p += n;
    }
    return 0;
}

int cli_item_parse(cli_item_opts *o, const char *cmd, const char *allowed, int argc, char **argv)
{
    static const struct {
        const char *flag, *alias, *name;
        int takes_value;
    } table[] = {
        {"--file", "-f", "file", 1},     {"--message", "-m", "message", 1},
        {"--author", NULL, "author", 1}, {"--tag", NULL, "tag", 1},
        {"--vars", NULL, "vars", 1},     {"--vars-file", NULL, "vars_file", 1},
        {"--limit", NULL, "limit", 1},   {"--json", NULL, "json", 0},
        {"--all", NULL, "all", 0},
    };
    int i;
    size_t k;

    memset(o, 0, sizeof(*o));
    o->limit = -1;
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        int found = 0;
        if (a[0] != '-' || a[1] == '\0') {
            if (o->npos == (int)(sizeof(o->pos) / sizeof(o->pos[0])))
                return cli_usage(cmd, "too many arguments");
            o->pos[o->npos++] = a;
            continue;
        }
        for (k = 0; k < sizeof(table) / sizeof(table[0]); k++) {
            if (strcmp(a, table[k].flag) != 0 &&
                !(table[k].alias && strcmp(a, table[k].alias) == 0))
                continue;
            found = 1;
            if (!allowed_opt(allowed, table[k].name))
                return cli_usage(cmd, "option '%s' does not apply to '%s %s'", a, cmd, argv[1]);
            if (table[k].takes_value) {
                if (i + 1 >= argc)
                    return cli_usage(cmd, "%s needs a value", a);
                val = argv[++i];
            }
            if (strcmp(table[k].name, "file") == 0) {
                o->file = val;
            } else if (strcmp(table[k].name, "message") == 0) {
                o->message = val;
            } else if (strcmp(table[k].name, "author") == 0) {
                o->author = val;
            } else if (strcmp(table[k].name, "tag") == 0) {
                o->tag = val;
            } else if (strcmp(table[k].name, "vars") == 0) {
                o->vars = val;
            } else if (strcmp(table[k].name, "vars_file") == 0) {
                o->vars_file = val;
            } else if (strcmp(table[k].name, "limit") == 0) {
                char *end;
                errno = 0;
                o->limit = strtol(val, &end, 10);
                if (errno || *end || end == val || o->limit < 0)
                    return cli_usage(cmd, "--limit needs a number >= 0, not '%s'", val);
            } else if (strcmp(table[k].name, "json") == 0) {
                o->json = 1;
            } else if (strcmp(table[k].name, "all") == 0) {
                o->all = 1;
            }
            break;
        }
        if (!found)
            return cli_usage(cmd, "unknown option '%s'", a);
    }
    return 0;
}

int cli_catalog_open(cli_ctx *ctx, cat **out)
{
    if (cat_open(out, ctx->data_dir) < 0)
        return cli_fail();
    return 0;
}

static void format_time(char *out, size_t size, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(out, size, "%lld", (long long)t);
}

static json_t *version_json(const cat_version *v)
{
    char when[32];
    json_t *o;

    format_time(when, sizeof(when), v->time);
    o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "kind", cat_kind_name(v->kind),
                  "name", v->name, "version", v->version, "ref", "", "commit", v->commit, "blob",
                  v->blob, "path", v->path, "time", (json_int_t)v->time, "author", v->author,
                  "message", v->message);
    if (o) {
        char ref[CAT_NAME_MAX + 16];
        snprintf(ref, sizeof(ref), "%s@v%d", v->name, v->version);
        as_json_set_str(o, "ref", v->version ? ref : "");
        if (v->kind == CAT_DATASET)
            as_json_set_int(o, "cases", v->cases);
        if (v->version == 0)
            json_object_set_new(o, "removed", json_true());
    }
    return o;
}

/* Print a JSON value to stdout and release it. */
static int emit_json(json_t *v)
{
    int rc;

    if (v == NULL) {
        as_error_set(AS_ENOMEM, "out of memory");
        return cli_fail();
    }
    rc = as_json_print(stdout, v);
    json_decref(v);
    return rc < 0 ? cli_fail() : CLI_OK;
}

/* ---- add ------------------------------------------------------------------ */

static int cmd_add(cat *c, cat_kind kind, const char *cmd, const cli_item_opts *o)
{
    cat_commit_opts co = {o->author, o->message};
    cat_version v;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (o->npos != 1 || o->file == NULL)
        return cli_usage(
            cmd, "usage: assay %s add NAME --file FILE [-m MSG] [--author \"Name <email>\"]", cmd);
    if (kind == CAT_DATASET) {
        rc = cat_put_dataset_file(&v, c, o->pos[0], o->file, &co);
    } else {
        if ((rc = as_file_read(&data, &len, o->file, CAT_DOC_MAX)) == 0)
            rc = cat_put_doc(&v, c, kind, o->pos[0], data, len, &co);
        free(data);
    }
    if (rc < 0 && rc != AS_EEXISTS)
        return cli_fail();
    if (o->json) {
        json_t *j = version_json(&v);
        if (j)
            json_object_set_new(j, "changed", json_boolean(rc == 0));
        return emit_json(j);
    }
    if (rc == AS_EEXISTS)
        printf("%s %s: identical to %s@v%d; nothing committed\n", cmd, v.name, v.name, v.version);
    else if (kind == CAT_DATASET)
        printf("%s %s@v%d (commit %.12s, %lld cases)\n", cmd, v.name, v.version, v.commit,
               (long long)v.cases);
    else
        printf("%s %s@v%d (commit %.12s)\n", cmd, v.name, v.version, v.commit);
    return CLI_OK;
}

/* ---- list ----------------------------------------------------------------- */

static int cmd_list(cat *c, cat_kind kind, const char *cmd, const cli_item_opts *o)
{
    cat_list l;
    size_t i, j;

    if (o->npos != 0)
        return cli_usage(cmd, "%s list takes no arguments", cmd);
    if (cat_list_items(&l, c, kind, o->tag, o->all) < 0)
        return cli_fail();
    if (o->json) {
        json_t *arr = json_array();
        for (i = 0; arr && i < l.n; i++) {
            cat_item *it = &l.items[i];
            json_t *obj = version_json(&it->latest), *labels = json_object();
            for (j = 0; labels && j < it->nlabels; j++) {
                json_t *lab = json_pack("{s:i,s:s}", "version", it->labels[j].version, "commit",
                                        it->labels[j].commit);
                json_object_set_new(labels, it->labels[j].label, lab);
            }
            if (obj == NULL || labels == NULL) {
                json_decref(obj);
                json_decref(labels);
                json_decref(arr);
                arr = NULL;
                break;
            }
            json_object_set_new(obj, "labels", labels);
            json_object_set(obj, "tags", it->tags);
            json_object_set_new(obj, "versions", json_integer(it->versions));
            json_object_set_new(obj, "removed", json_boolean(it->removed));
            json_array_append_new(arr, obj);
        }
        cat_list_free(&l);
        return emit_json(arr);
    }
    if (l.n == 0) {
        printf("no %ss%s\n", cmd, o->tag ? " with that tag" : "");
        cat_list_free(&l);
        return CLI_OK;
    }
    printf("%-32s %-8s %-16s %-24s %s\n", "NAME", "VERSION", "UPDATED", "LABELS",
           kind == CAT_DATASET ? "CASES" : (kind == CAT_PROMPT ? "TAGS" : ""));
    for (i = 0; i < l.n; i++) {
        cat_item *it = &l.items[i];
        char when[32], labels[256] = "", ver[24], extra[256] = "";
        size_t used = 0;
        format_time(when, sizeof(when), it->latest.time);
        for (j = 0; j < it->nlabels && used < sizeof(labels); j++) {
            int n = snprintf(labels + used, sizeof(labels) - used, "%s%s=v%d", j ? "," : "",
                             it->labels[j].label, it->labels[j].version);
            if (n < 0)
                break;
            used += (size_t)n;
        }
        snprintf(ver, sizeof(ver), it->removed ? "v%d(rm)" : "v%d", it->versions);
        if (kind == CAT_DATASET) {
            snprintf(extra, sizeof(extra), "%lld", (long long)it->latest.cases);
        } else if (kind == CAT_PROMPT) {
            size_t k, eu = 0;
            json_t *t;
            json_array_foreach(it->tags, k, t)
            {
                int n = snprintf(extra + eu, sizeof(extra) - eu, "%s%s", k ? "," : "",
                                 json_string_value(t));
                if (n < 0 || (size_t)n >= sizeof(extra) - eu)
                    break;
                eu += (size_t)n;
            }
        }
        printf("%-32s %-8s %-16s %-24s %s\n", it->name, ver, when, labels[0] ? labels : "-", extra);
    }
    cat_list_free(&l);
    return CLI_OK;
}

/* ---- show ----------------------------------------------------------------- */

static int show_dataset(cat *c, const cat_version *v, const cli_item_opts *o)
{
    long limit = o->limit >= 0 ? o->limit : DEFAULT_SHOW_LIMIT, shown = 0;
    cat_cases *it = NULL;
    const cat_case *cs;
    json_t *out = NULL, *cases = NULL;
    int rc = 0;

    if (cat_cases_open(&it, c, v) < 0)
        return cli_fail();
    if (o->json) {
        out = version_json(v);
        cases = json_array();
    } else {
        char when[32];
        format_time(when, sizeof(when), v->time);
        printf("dataset %s@v%d  commit %s  %s  %s\n%lld cases%s\n", v->name, v->version, v->commit,
               when, v->author, (long long)v->cases,
               (long long)v->cases > limit ? " (showing the first ones; --limit N for more)" : "");
    }
    while (shown < limit && (rc = cat_cases_next(it, &cs)) == 1) {
        json_t *j = json_pack("{s:s,s:O,s:O}", "id", cs->id, "vars", cs->vars, "tags", cs->tags);
        if (j && cs->expected)
            as_json_set_str(j, "expected", cs->expected);
        if (j == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            break;
        }
        if (o->json) {
            json_array_append_new(cases, j);
        } else {
            as_json_print(stdout, j);
            json_decref(j);
        }
        shown++;
    }
    cat_cases_close(it);
    if (rc < 0) {
        json_decref(out);
        json_decref(cases);
        return cli_fail();
    }
    if (o->json) {
        json_object_set_new(out, "items", cases);
        return emit_json(out);
    }
    return CLI_OK;
}

static int cmd_show(cat *c, cat_kind kind, const char *cmd, const cli_item_opts *o)
{
    cat_version v;
    char *data = NULL;
    size_t len;
    json_t *doc = NULL, *out;

    if (o->npos != 1)
        return cli_usage(cmd, "usage: assay %s show REF", cmd);
    if (cat_resolve(&v, c, kind, o->pos[0]) < 0)
        return cli_fail();
    if (kind == CAT_DATASET)
        return show_dataset(c, &v, o);
    if (cat_read(&data, &len, c, &v) < 0)
        return cli_fail();
    if (!o->json) {
        char when[32];
        format_time(when, sizeof(when), v.time);
        printf("# %s %s@v%d  commit %s  %s  %s\n", cmd, v.name, v.version, v.commit, when,
               v.author);
        fwrite(data, 1, len, stdout);
        if (len && data[len - 1] != '\n')
            putchar('\n');
        free(data);
        return CLI_OK;
    }
    /* A file edited with plain git may not parse; show it as text then. */
    doc = json_loadb(data, len, 0, NULL);
    out = version_json(&v);
    if (out) {
        if (doc)
            json_object_set_new(out, "content", doc);
        else
            json_object_set_new(out, "text", json_stringn(data, len));
    } else {
        json_decref(doc);
    }
    free(data);
    return emit_json(out);
}

/* ---- log / diff ----------------------------------------------------------- */

static int cmd_log(cat *c, cat_kind kind, const char *cmd, const cli_item_opts *o)
{
    cat_version *v = NULL;
    size_t n, i;

    if (o->npos != 1)
        return cli_usage(cmd, "usage: assay %s log NAME", cmd);
    if (cat_log(&v, &n, c, kind, o->pos[0]) < 0)
        return cli_fail();
    if (o->json) {
        json_t *arr = json_array();
        for (i = 0; arr && i < n; i++)
            json_array_append_new(arr, version_json(&v[i]));
        free(v);
        return emit_json(arr);
    }
    for (i = n; i > 0; i--) {
        const cat_version *x = &v[i - 1];
        char when[32], ver[16];
        format_time(when, sizeof(when), x->time);
        snprintf(ver, sizeof(ver), x->version ? "v%d" : "removed", x->version);
        printf("%-8s %.12s  %s  %s  %s\n", ver, x->commit, when, x->author, x->message);
    }
    free(v);
    return CLI_OK;
}

static int cmd_diff(cat *c, cat_kind kind, const char *cmd, const cli_item_opts *o)
{
    char *diff = NULL;

    if (o->npos != 3)
        return cli_usage(cmd, "usage: assay %s diff NAME REF1 REF2", cmd);
    if (cat_diff(&diff, c, kind, o->pos[0], o->pos[1], o->pos[2]) < 0)
        return cli_fail();
    if (o->json) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "name", o->pos[0], "from", o->pos[1], "to",
                              o->pos[2], "diff", diff);
        free(diff);
        return emit_json(j);
    }
    fputs(diff, stdout);
    free(diff);
    return CLI_OK;
}

/* ---- label / unlabel / rm ---------------------------------------------------- */

static int cmd_label(cat *c, cat_kind kind, const char *cmd, const cli_item_opts *o)
{
    cat_version v;

    if (o->npos != 3)
        return cli_usage(cmd, "usage: assay %s label NAME REF LABEL", cmd);
    if (cat_label_set(&v, c, kind, o->pos[0], o->pos[1], o->pos[2]) < 0)
        return cli_fail();
    if (o->json) {
        json_t *j = version_json(&v);
        if (j)
            as_json_set_str(j, "label", o->pos[2]);
        return emit_json(j);
    }
    printf("%s %s: label %s -> v%d (commit %.12s)\n", cmd, v.name, o->pos[2], v.version, v.commit);
    return CLI_OK;
}

static int cmd_unlabel(cat *c, cat_kind kind, const char *cmd, const cli_item_opts *o)
{
    if (o->npos != 2)
        return cli_usage(cmd, "usage: assay %s unlabel NAME LABEL", cmd);
    if (cat_label_delete(c, kind, o->pos[0], o->pos[1]) < 0)
        return cli_fail();
    if (o->json)
        return emit_json(
            json_pack("{s:s,s:s,s:b}", "name", o->pos[0], "label", o->pos[1], "removed", 1));
    printf("%s %s: label %s removed\n", cmd, o->pos[0], o->pos[1]);
    return CLI_OK;
}

static int cmd_rm(cat *c, cat_kind kind, const char *cmd, const cli_item_opts *o)
{
    cat_commit_opts co = {o->author, o->message};
    char commit[41];

    if (o->npos != 1)
        return cli_usage(cmd, "usage: assay %s rm NAME [-m MSG]", cmd);
    if (cat_remove(c, kind, o->pos[0], &co, commit) < 0)
        return cli_fail();
    if (o->json)
        return emit_json(
            json_pack("{s:s,s:s,s:b}", "name", o->pos[0], "commit", commit, "removed", 1));
    printf("%s %s removed (commit %.12s); its versions stay reachable as %s@vN\n", cmd, o->pos[0],
           commit, o->pos[0]);
    return CLI_OK;
}

int cli_items_run(cli_ctx *ctx, cat_kind kind, const char *cmd, int argc, char **argv)
{
    static const struct {
        const char *name, *opts;
        int (*fn)(cat *, cat_kind, const char *, const cli_item_opts *);
    } subs[] = {
        {"add", "file,message,author,json", cmd_add},
        {"list", "tag,json,all", cmd_list},
        {"show", "json,limit", cmd_show},
        {"log", "json", cmd_log},
        {"diff", "json", cmd_diff},
        {"label", "json", cmd_label},
        {"unlabel", "json", cmd_unlabel},
        {"rm", "message,author,json", cmd_rm},
    };
    cli_item_opts o;
    cat *c = NULL;
    size_t i;
    int rc;

    if (argc < 2)
        return -1;
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(argv[1], subs[i].name) != 0)
            continue;
        if ((rc = cli_item_parse(&o, cmd, subs[i].opts, argc, argv)) != 0)
            return rc;
        if (o.limit >= 0 && kind != CAT_DATASET)
            return cli_usage(cmd, "--limit applies to datasets");
        if (o.tag && kind != CAT_PROMPT)
            return cli_usage(cmd, "--tag applies to prompts");
        if (cli_catalog_open(ctx, &c) != 0)
            return CLI_FAIL;
        rc = subs[i].fn(c, kind, cmd, &o);
        cat_close(c);
        return rc;
    }
    return -1;
}
