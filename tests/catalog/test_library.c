/* The catalog library as the evaluator and web server call it: open a
 * fresh data directory, put documents, append cases (promote to dataset),
 * stream cases from loose and packed objects, load suites. */
#include "catalog/catalog.h"
#include "tests/test.h"

#include <stdlib.h>
#include <unistd.h>

static char data_dir[256];

static void run(const char *fmt, const char *arg)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), fmt, arg);
    T_EQ_INT(system(cmd), 0);
}

static cat *open_fresh(void)
{
    cat *c = NULL;

    snprintf(data_dir, sizeof(data_dir), "/tmp/assay-catlib-%d", (int)getpid());
    run("rm -rf %s", data_dir);
    T_OK(cat_open(&c, data_dir));
    return c;
}

static void library__put_and_load_prompt(void)
{
    const char *doc = "{\"template\": \"Q: {{q}}\", \"task\": \"qa\", \"tags\": [\"t\"]}";
    cat *c = open_fresh();
    cat_commit_opts opts = {"Ann <ann@example.org>", "first"};
    cat_version v, v2;
    cat_prompt *p = NULL;
    json_t *vars = json_pack("{s:s}", "q", "why"), *out = NULL;
    cat_list l;

    if (c == NULL)
        return;
    T_CHECK(cat_store(c) != NULL);
    T_OK(cat_put_doc(&v, c, CAT_PROMPT, "qa", doc, strlen(doc), &opts));
    T_EQ_INT(v.version, 1);
    T_EQ_STR(v.author, "Ann <ann@example.org>");
    T_EQ_STR(v.message, "first");
    T_ERR(cat_put_doc(&v2, c, CAT_PROMPT, "qa", doc, strlen(doc), NULL), AS_EEXISTS);
    T_EQ_STR(v2.commit, v.commit);
    T_OK(cat_prompt_load(&p, &v2, c, "qa@v1"));
    if (p) {
        T_OK(cat_prompt_render(&out, p, vars));
        T_EQ_STR(json_string_value(out), "Q: why");
    }
    T_OK(cat_label_set(NULL, c, CAT_PROMPT, "qa", "v1", "production"));
    T_OK(cat_list_items(&l, c, CAT_PROMPT, "t", 0));
    T_EQ_INT(l.n, 1);
    if (l.n == 1) {
        T_EQ_INT(l.items[0].nlabels, 1);
        T_EQ_STR(l.items[0].labels[0].label, "production");
        T_EQ_INT(l.items[0].labels[0].version, 1);
    }
    cat_list_free(&l);
    json_decref(out);
    json_decref(vars);
    cat_prompt_free(p);
    cat_close(c);
    run("rm -rf %s", data_dir);
}

/* Count the cases of 'ref' through the stream, checking ids in order. */
static long stream_count(cat *c, const char *ref)
{
    cat_version v;
    cat_cases *it = NULL;
    const cat_case *cs;
    long n = 0;
    int rc;

    if (cat_resolve(&v, c, CAT_DATASET, ref) < 0 || cat_cases_open(&it, c, &v) < 0)
        return -1;
    while ((rc = cat_cases_next(it, &cs)) == 1) {
        char want[32];
        snprintf(want, sizeof(want), "k%ld", n);
        if (strcmp(cs->id, want) != 0)
            break;
        n++;
    }
    cat_cases_close(it);
    return rc < 0 ? -1 : n;
}

static void library__append_cases_and_stream(void)
{
    cat *c = open_fresh();
    json_t *cases = json_array(), *dup;
    cat_version v;
    int i;

    if (c == NULL)
        return;
    for (i = 0; i < 3000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "k%d", i);
        json_array_append_new(
            cases, json_pack("{s:s,s:{s:i},s:s}", "id", id, "vars", "x", i, "expected", "good"));
    }
    T_OK(cat_dataset_append(&v, c, "promoted", cases, NULL));
    T_EQ_INT(v.version, 1);
    T_EQ_INT(v.cases, 3000);
    T_EQ_INT(stream_count(c, "promoted"), 3000);
    /* Appending an id that exists is refused, and nothing is committed. */
    dup = json_pack("[{s:s},{s:s}]", "id", "k3000", "id", "k5");
    T_ERR(cat_dataset_append(&v, c, "promoted", dup, NULL), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "k5") != NULL);
    T_OK(cat_resolve(&v, c, CAT_DATASET, "promoted"));
    T_EQ_INT(v.version, 1);
    json_decref(dup);
    dup = json_pack("[{s:s,s:{s:b}}]", "id", "k3000", "vars", "ok", 1);
    T_OK(cat_dataset_append(&v, c, "promoted", dup, NULL));
    T_EQ_INT(v.version, 2);
    T_EQ_INT(v.cases, 3001);
    T_EQ_INT(stream_count(c, "promoted@v2"), 3001);
    /* The same streams from packed objects once git has packed them. */
    run("git -C %s/catalog gc -q --prune=now", data_dir);
    T_EQ_INT(stream_count(c, "promoted@v1"), 3000);
    T_EQ_INT(stream_count(c, "promoted@v2"), 3001);
    /* Appending copies the packed file into the new version. */
    json_decref(dup);
    dup = json_pack("[{s:s}]", "id", "k3001");
    T_OK(cat_dataset_append(&v, c, "promoted", dup, NULL));
    T_EQ_INT(v.version, 3);
    T_EQ_INT(v.cases, 3002);
    T_EQ_INT(stream_count(c, "promoted"), 3002);
    json_decref(dup);
    json_decref(cases);
    cat_close(c);
    run("rm -rf %s", data_dir);
}

static void library__append_after_a_last_line_without_newline(void)
{
    cat *c = open_fresh();
    char path[300], *data = NULL;
    json_t *more = json_pack("[{s:s}]", "id", "b");
    cat_version v;
    size_t len = 0;
    FILE *fp;

    if (c == NULL)
        return;
    snprintf(path, sizeof(path), "%s/in.jsonl", data_dir);
    if ((fp = fopen(path, "w")) != NULL) {
        fputs("{\"id\": \"a\"}", fp);
        fclose(fp);
    }
    T_OK(cat_put_dataset_file(&v, c, "d", path, NULL));
    T_OK(cat_dataset_append(&v, c, "d", more, NULL));
    T_OK(cat_read(&data, &len, c, &v));
    T_EQ_STR(data, "{\"id\": \"a\"}\n{\"id\":\"b\"}\n");
    T_EQ_STR(v.message, "dataset d: append cases");
    free(data);
    json_decref(more);
    cat_close(c);
    run("rm -rf %s", data_dir);
}

static void library__suite_load_checks_refs(void)
{
    const char *prompt = "{\"template\": \"{{x}}\"}";
    const char *suite = "{\"prompt\": \"p@production\", \"dataset\": \"d@v1\", \"metrics\": "
                        "[\"exact_match\"], \"models\": [\"m1\", {\"name\": \"m2\"}]}";
    cat *c = open_fresh();
    json_t *cases = json_pack("[{s:i}]", "id", 1);
    cat_suite *s = NULL;
    cat_version v;
    char commit[41];

    if (c == NULL)
        return;
    T_OK(cat_put_doc(&v, c, CAT_PROMPT, "p", prompt, strlen(prompt), NULL));
    T_ERR(cat_put_doc(&v, c, CAT_SUITE, "s", suite, strlen(suite), NULL), AS_ENOTFOUND);
    T_OK(cat_label_set(NULL, c, CAT_PROMPT, "p", "p@v1", "production"));
    T_OK(cat_dataset_append(&v, c, "d", cases, NULL));
    T_OK(cat_put_doc(&v, c, CAT_SUITE, "s", suite, strlen(suite), NULL));
    T_OK(cat_suite_load(&s, &v, c, "s"));
    if (s) {
        T_EQ_STR(s->prompt_ref, "p@production");
        T_EQ_STR(s->primary_metric, "exact_match");
        T_EQ_INT(json_array_size(s->models), 2);
    }
    cat_suite_free(s);
    /* A removed dataset's versions stay reachable: the suite still loads. */
    T_OK(cat_remove(c, CAT_DATASET, "d", NULL, commit));
    T_OK(cat_suite_load(&s, NULL, c, "s@v1"));
    cat_suite_free(s);
    T_OK(cat_label_delete(c, CAT_PROMPT, "p", "production"));
    T_ERR(cat_suite_load(&s, NULL, c, "s"), AS_ENOTFOUND);
    T_CHECK(strstr(as_error_msg(), "p@production") != NULL);
    json_decref(cases);
    cat_close(c);
    run("rm -rf %s", data_dir);
}

int main(void)
{
    T_RUN(library__put_and_load_prompt);
    T_RUN(library__append_cases_and_stream);
    T_RUN(library__append_after_a_last_line_without_newline);
    T_RUN(library__suite_load_checks_refs);
    return t_done();
}
