/* assay model: the models runs are made with (evaluator/models.h). */
#include "cli/cli.h"
#include "catalog/catalog.h"
#include "evaluator/models.h"
#include "evaluator/provider.h"
#include "common/error.h"
#include "common/json.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The fixed part of the usage text; model_usage_build appends the provider
 * registry's names and summaries. */
static const char usage_head[] =
    "usage: assay model add NAME --provider P [--SETTING VALUE]... [--price-in USD]\n"
    "                       [--price-out USD] [--price-hour USD] [--instance-count N]\n"
    "                       [--concurrency N] [--rpm N] [--timeout-s S] [--max-retries N]\n"
    "                       [--replace]\n"
    "       assay model list [--json]\n"
    "       assay model show NAME [--json]\n"
    "       assay model rm NAME\n"
    "\n"
    "add   register a model: a provider and its settings. Prices are USD per 1M\n"
    "      prompt tokens (--price-in) and completion tokens (--price-out), or USD per\n"
    "      hour of busy time per instance (--price-hour, for self-hosted endpoints\n"
    "      and GPUs; --instance-count, default 1, instances billed: cost = busy\n"
    "      time x price per hour x instances).\n"
    "      Limits: requests in flight (--concurrency, default 4), requests per minute\n"
    "      (--rpm, default none), per-request timeout (--timeout-s, default 60) and\n"
    "      retries (--max-retries, default 2). --replace changes an existing model.\n"
    "      Secrets are never stored: --api-key-env VAR names the environment\n"
    "      variable read when a run starts.\n"
    "list  every model; show: one model; rm: remove a model (its runs stay)\n"
    "\n"
    "Providers and their settings (docs/PROVIDERS.md for the cloud ones):\n";

/* The whole usage text: usage_head, then each registered provider with its
 * summary wrapped at 78 columns. Built once at start-up (the registry is
 * constant data) because main.c prints it for --help before dispatching. */
char cli_model_usage[8192];

static void usage_add(size_t *at, const char *s, size_t n)
{
    if (*at + n >= sizeof(cli_model_usage))
        n = sizeof(cli_model_usage) - 1 - *at;      /* cut, never overrun */
    memcpy(cli_model_usage + *at, s, n);
    *at += n;
    cli_model_usage[*at] = 0;
}

__attribute__((constructor)) static void model_usage_build(void)
{
    const prov_vtable *const *all = prov_all();
    size_t at = 0, i;

    usage_add(&at, usage_head, strlen(usage_head));
    for (i = 0; all[i]; i++) {
        const char *s = all[i]->summary ? all[i]->summary : "";
        size_t col = 6;
        usage_add(&at, "  ", 2);
        usage_add(&at, all[i]->name, strlen(all[i]->name));
        usage_add(&at, "\n     ", 6);
        while (*s) {                    /* one word at a time */
            size_t w = strcspn(s, " ");
            if (col + 1 + w > 78 && col > 6) {
                usage_add(&at, "\n     ", 6);
                col = 6;
            }
            usage_add(&at, " ", 1);
            usage_add(&at, s, w);
            col += 1 + w;
            s += w;
            s += strspn(s, " ");
        }
        usage_add(&at, "\n", 1);
    }
}

static int open_store(cli_ctx *ctx, cat **c)
{
    if (cat_open(c, ctx->data_dir) < 0)
        return -1;
    return 0;
}

static int parse_num(const char *opt, const char *v, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(v, &end);
    if (errno || *end || end == v)
        return as_error_set(AS_EINVAL, "%s: '%s' is not a number", opt, v);
    return 0;
}

static int parse_int(const char *opt, const char *v, int *out)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < 0 || n > 10000000)
        return as_error_set(AS_EINVAL, "%s: '%s' is not a whole number in 0..10000000", opt, v);
    *out = (int)n;
    return 0;
}

/* "--base-url" -> "base_url" when the provider knows that setting. */
static int setting_key(const prov_vtable *vt, const char *opt, char *key, size_t size)
{
    size_t i;

    if (strncmp(opt, "--", 2) != 0 || strlen(opt + 2) >= size)
        return 0;
    snprintf(key, size, "%s", opt + 2);
    for (i = 0; key[i]; i++)
        if (key[i] == '-')
            key[i] = '_';
    for (i = 0; vt->settings_keys && vt->settings_keys[i]; i++)
        if (strcmp(vt->settings_keys[i], key) == 0)
            return 1;
    return 0;
}

/* Settings naming files, made absolute from the current folder; one that
 * does not exist is left for the provider's own check to name. */
static int absolute_paths(const prov_vtable *vt, json_t *settings)
{
    size_t i;

    for (i = 0; vt->path_keys && vt->path_keys[i]; i++) {
        const char *v = json_string_value(json_object_get(settings, vt->path_keys[i]));
        char *abs;
        if (v == NULL || v[0] == '\0' || v[0] == '/' || (abs = realpath(v, NULL)) == NULL)
            continue;
        if (!as_utf8_valid(abs, strlen(abs), NULL)) {
            free(abs);
            return as_error_set(AS_EINVAL, "--%s: the absolute path is not UTF-8",
                                vt->path_keys[i]);
        }
        json_object_set_new(settings, vt->path_keys[i], json_string(abs));
        free(abs);
    }
    return 0;
}

static int model_add(cli_ctx *ctx, int argc, char **argv)
{
    eval_model m;
    const prov_vtable *vt = NULL;
    cat *c = NULL;
    int i, replace = 0, rc = CLI_OK;

    if (argc < 3 || argv[2][0] == '-')
        return cli_usage("model", "model add needs a NAME");
    eval_model_init(&m);
    m.settings = json_object();
    snprintf(m.name, sizeof(m.name), "%s", argv[2]);
    if (strlen(argv[2]) > EVAL_MODEL_NAME_MAX) {
        eval_model_clear(&m);
        as_error_set(AS_EINVAL, "model name: longer than %d bytes", EVAL_MODEL_NAME_MAX);
        return cli_fail();
    }
    for (i = 3; i < argc; i++) {       /* the provider first: it owns the settings */
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc) {
            if ((vt = prov_find(argv[i + 1])) == NULL) {
                eval_model_clear(&m);
                as_error_set(AS_ENOTFOUND, "--provider: unknown provider '%s'", argv[i + 1]);
                return cli_fail();
            }
            snprintf(m.provider, sizeof(m.provider), "%s", argv[i + 1]);
        }
    }
    if (vt == NULL) {
        eval_model_clear(&m);
        return cli_usage("model", "model add needs --provider");
    }
    for (i = 3; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char key[64];
        int bad = 0;
        if (strcmp(o, "--replace") == 0) {
            replace = 1;
            continue;
        }
        if (setting_key(vt, o, key, sizeof(key))) {
            /* a setting given without a value is a flag: "true" */
            if (v == NULL || strncmp(v, "--", 2) == 0) {
                json_object_set_new(m.settings, key, json_string("true"));
            } else if (!as_utf8_valid(v, strlen(v), NULL)) {
                eval_model_clear(&m);
                as_error_set(AS_EINVAL, "%s: the value is not UTF-8", o);
                return cli_fail();
            } else {
                json_object_set_new(m.settings, key, json_string(v));
                i++;
            }
            continue;
        }
        if (v == NULL) {
            eval_model_clear(&m);
            return cli_usage("model", "%s needs a value", o);
        }
        if (strcmp(o, "--provider") == 0) {
            i++;
            continue;
        }
        if (strcmp(o, "--price-in") == 0)
            bad = parse_num(o, v, &m.price_in);
        else if (strcmp(o, "--price-out") == 0)
            bad = parse_num(o, v, &m.price_out);
        else if (strcmp(o, "--price-hour") == 0)
            bad = parse_num(o, v, &m.price_hour);
        else if (strcmp(o, "--instance-count") == 0)
            bad = parse_int(o, v, &m.instance_count);
        else if (strcmp(o, "--timeout-s") == 0)
            bad = parse_num(o, v, &m.timeout_s);
        else if (strcmp(o, "--concurrency") == 0)
            bad = parse_int(o, v, &m.concurrency);
        else if (strcmp(o, "--rpm") == 0)
            bad = parse_int(o, v, &m.rpm);
        else if (strcmp(o, "--max-retries") == 0)
            bad = parse_int(o, v, &m.max_retries);
        else {
            eval_model_clear(&m);
            return cli_usage("model", "unknown option '%s' for provider %s", o, vt->name);
        }
        if (bad < 0) {
            eval_model_clear(&m);
            return cli_fail();
        }
        i++;
    }
    if (absolute_paths(vt, m.settings) < 0) {
        eval_model_clear(&m);
        return cli_fail();
    }
    if (open_store(ctx, &c) < 0 || eval_model_put(cat_store(c), &m, replace) < 0)
        rc = cli_fail();
    else
        printf("model %s %s (%s)\n", m.name, replace ? "saved" : "added", m.provider);
    cat_close(c);
    eval_model_clear(&m);
    return rc;
}

static void print_model(const json_t *m)
{
    const char *k;
    json_t *v;
    char *settings = as_json_dump(json_object_get(m, "settings"));

    printf("name         %s\n", json_string_value(json_object_get(m, "name")));
    printf("provider     %s\n", json_string_value(json_object_get(m, "provider")));
    printf("settings     %s\n", settings ? settings : "{}");
    free(settings);
    json_object_foreach((json_t *)m, k, v) {
        if (json_is_number(v))
            printf("%-12s %g\n", k, json_number_value(v));
        else if (json_is_string(v) && strcmp(k, "name") != 0 && strcmp(k, "provider") != 0)
            printf("%-12s %s\n", k, json_string_value(v));
    }
}

static int model_list(cli_ctx *ctx, int json)
{
    cat *c = NULL;
    json_t *list = NULL, *m;
    size_t i;

    if (open_store(ctx, &c) < 0 || eval_model_list(&list, cat_store(c)) < 0) {
        cat_close(c);
        return cli_fail();
    }
    if (json) {
        as_json_print(stdout, list);
    } else {
        printf("%-24s %-10s %10s %10s %10s %5s %6s\n", "NAME", "PROVIDER", "$/1M IN", "$/1M OUT",
               "$/HOUR", "CONC", "RPM");
        json_array_foreach(list, i, m)
            printf("%-24s %-10s %10g %10g %10g %5lld %6lld\n",
                   json_string_value(json_object_get(m, "name")),
                   json_string_value(json_object_get(m, "provider")),
                   json_number_value(json_object_get(m, "price_in")),
                   json_number_value(json_object_get(m, "price_out")),
                   json_number_value(json_object_get(m, "price_hour")),
                   (long long)json_integer_value(json_object_get(m, "concurrency")),
                   (long long)json_integer_value(json_object_get(m, "rpm")));
    }
    json_decref(list);
    cat_close(c);
    return CLI_OK;
}

static int model_show(cli_ctx *ctx, const char *name, int json)
{
    cat *c = NULL;
    eval_model m;
    json_t *o;

    eval_model_init(&m);
    if (open_store(ctx, &c) < 0 || eval_model_get(&m, cat_store(c), name) < 0) {
        cat_close(c);
        return cli_fail();
    }
    o = eval_model_json(&m);
    if (json)
        as_json_print(stdout, o);
    else
        print_model(o);
    json_decref(o);
    eval_model_clear(&m);
    cat_close(c);
    return CLI_OK;
}

static int model_rm(cli_ctx *ctx, const char *name)
{
    cat *c = NULL;
    int rc = CLI_OK;

    if (open_store(ctx, &c) < 0 || eval_model_remove(cat_store(c), name) < 0)
        rc = cli_fail();
    else
        printf("model %s removed\n", name);
    cat_close(c);
    return rc;
}

int cli_cmd_model(cli_ctx *ctx, int argc, char **argv)
{
    int json = 0, i;
    const char *name = NULL;

    if (argc < 2)
        return cli_usage("model", "model needs a subcommand: add, list, show or rm");
    if (strcmp(argv[1], "add") == 0)
        return model_add(ctx, argc, argv);
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-')
            return cli_usage("model", "unknown option '%s'", argv[i]);
        else if (name == NULL)
            name = argv[i];
        else
            return cli_usage("model", "unexpected argument '%s'", argv[i]);
    }
    if (strcmp(argv[1], "list") == 0)
        return name ? cli_usage("model", "model list takes no name") : model_list(ctx, json);
    if (strcmp(argv[1], "show") == 0)
        return name ? model_show(ctx, name, json) : cli_usage("model", "model show needs a NAME");
    if (strcmp(argv[1], "rm") == 0)
        return name ? model_rm(ctx, name) : cli_usage("model", "model rm needs a NAME");
    return cli_usage("model", "unknown model subcommand '%s'", argv[1]);
}
