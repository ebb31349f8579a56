/* Getting a data directory ready for `assay serve`, and the --demo seed:
 * the example catalog embedded from demo/ is committed into an empty data
 * directory, its baseline models are added, and every demo suite is run
 * once so that the leaderboard opens with a real ranking. */
#include "web/web.h"

#include "catalog/catalog.h"
#include "common/embed.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "evaluator/eval.h"
#include "evaluator/models.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const as_embed web_demo[];
extern const int web_demo_count;

/* 1 when 'dir' is missing or holds no entries. */
static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;

    if (d == NULL)
        return 1;
    while (empty && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

static const as_embed *demo_file(const char *name)
{
    int i;

    for (i = 0; i < web_demo_count; i++)
        if (strcmp(web_demo[i].name, name) == 0)
            return &web_demo[i];
    return NULL;
}

/* "prompts/x.json" -> "x" into buf. */
static void base_name(const char *path, const char *ext, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    path = slash ? slash + 1 : path;
    n = strlen(path) - strlen(ext);
    snprintf(buf, size, "%.*s", (int)n, path);
}

static int has_prefix_suffix(const char *s, const char *pre, const char *suf)
{
    size_t ls = strlen(s), lp = strlen(pre), lf = strlen(suf);

    return ls > lp + lf && strncmp(s, pre, lp) == 0 && strcmp(s + ls - lf, suf) == 0;
}

/* Commit every demo prompt, dataset and suite (datasets before suites, so
 * that the suites' references resolve). */
static int seed_catalog(cat *c, const char *data_dir)
{
    static const cat_commit_opts opts = {"assay demo <demo@assay.local>", NULL};
    char name[CAT_NAME_MAX + 1];
    cat_version v;
    char *tmp = as_path_join(data_dir, "demo-dataset.tmp");
    int i, rc = 0;

    if (tmp == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (i = 0; i < web_demo_count && rc == 0; i++) {
        const as_embed *f = &web_demo[i];
        if (has_prefix_suffix(f->name, "prompts/", ".json")) {
            base_name(f->name, ".json", name, sizeof name);
            rc = cat_put_doc(&v, c, CAT_PROMPT, name, (const char *)f->data, f->len, &opts);
        } else if (has_prefix_suffix(f->name, "datasets/", ".jsonl")) {
            base_name(f->name, ".jsonl", name, sizeof name);
            if ((rc = as_file_write_atomic(tmp, f->data, f->len)) == 0)
                rc = cat_put_dataset_file(&v, c, name, tmp, &opts);
            unlink(tmp);
        }
        if (rc < 0)
            rc = as_error_wrap(rc, "demo %s", f->name);
    }
    for (i = 0; i < web_demo_count && rc == 0; i++) {
        const as_embed *f = &web_demo[i];
        if (has_prefix_suffix(f->name, "suites/", ".json")) {
            base_name(f->name, ".json", name, sizeof name);
            if ((rc = cat_put_doc(&v, c, CAT_SUITE, name, (const char *)f->data, f->len, &opts)) < 0)
                rc = as_error_wrap(rc, "demo %s", f->name);
        }
    }
    free(tmp);
    return rc;
}

static int seed_models(store *db)
{
    const as_embed *f = demo_file("models.json");
    json_t *list = NULL, *m;
    size_t i;
    int rc;

    if (f == NULL)
        return as_error_set(AS_ENOTFOUND, "demo models.json is not embedded");
    if ((rc = as_json_parse(&list, (const char *)f->data, f->len, "demo models.json")) < 0)
        return rc;
    json_array_foreach(list, i, m) {
        eval_model em;
        eval_model_init(&em);
        if ((rc = eval_model_from_json(&em, m)) == 0)
            rc = eval_model_put(db, &em, 1);
        eval_model_clear(&em);
        if (rc < 0)
            break;
    }
    json_decref(list);
    return rc;
}

/* Run each demo suite with its own models, one after the other. */
static int run_suites(const char *data_dir)
{
    char name[CAT_NAME_MAX + 1];
    int i, rc = 0;

    for (i = 0; i < web_demo_count && rc == 0; i++) {
        eval_opts o;
        eval_job *job = NULL;
        if (!has_prefix_suffix(web_demo[i].name, "suites/", ".json"))
            continue;
        base_name(web_demo[i].name, ".json", name, sizeof name);
        memset(&o, 0, sizeof o);
        o.data_dir = data_dir;
        o.suite = name;
        fprintf(stderr, "assay: demo: running suite %s\n", name);
        if ((rc = eval_prepare(&job, &o)) == 0)
            rc = eval_job_run(job);
        eval_job_free(job);
        if (rc < 0)
            rc = as_error_wrap(rc, "demo suite %s", name);
    }
    return rc;
}

int web_prepare_data(const char *data_dir, int demo)
{
    int seed = demo && dir_is_empty(data_dir);
    cat *c = NULL;
    int rc;

    if ((rc = as_mkdir_p(data_dir)) < 0 || (rc = cat_init(&c, data_dir, NULL)) < 0)
        return rc;
    if (seed) {
        fprintf(stderr, "assay: demo: seeding an example catalog into %s\n", data_dir);
        if ((rc = seed_catalog(c, data_dir)) == 0)
            rc = seed_models(cat_store(c));
    }
    cat_close(c);
    if (rc == 0 && seed)
        rc = run_suites(data_dir);
    return rc;
}
