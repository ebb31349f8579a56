/* Catalog routes: prompts, datasets and suites with their versions, labels
 * and diffs; editing a prompt from the browser commits it with the user as
 * author. Each request opens the catalog on its own thread (cat handles
 * belong to one thread), which also picks up commits pushed meanwhile. */
#include "web/http.h"

#include "catalog/catalog.h"
#include "common/error.h"
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int open_cat(web_req *r, cat **c)
{
    return cat_open(c, web_ctx_data_dir(r->ctx));
}

static json_t *version_json(const cat_version *v)
{
    json_t *o = json_pack("{s:s,s:i,s:s,s:I,s:s,s:s}", "name", v->name, "version", v->version,
                          "commit", v->commit, "time", (json_int_t)v->time, "author", v->author,
                          "message", v->message);
    if (v->kind == CAT_DATASET)
        json_object_set_new(o, "cases", json_integer(v->cases));
    return o;
}

static json_t *labels_json(const cat_label *l, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:i}", "label", l[i].label, "commit",
                                           l[i].commit, "version", l[i].version));
    return a;
}

static int list_kind(web_req *r, json_t **out, cat_kind kind, const char *key)
{
    char tag[128];
    int64_t offset, limit;
    cat *c = NULL;
    cat_list l = {0};
    json_t *a;
    size_t i;
    int rc;

    if ((rc = web_query_page(r, &offset, &limit)) < 0)
        return rc;
    if (!web_query_str(r, "tag", tag, sizeof tag))
        tag[0] = '\0';
    if ((rc = open_cat(r, &c)) < 0)
        return rc;
    if ((rc = cat_list_items(&l, c, kind, tag[0] ? tag : NULL, 0)) < 0)
        goto out;
    a = json_array();
    for (i = (size_t)offset; i < l.n && i < (size_t)(offset + limit); i++) {
        const cat_item *it = &l.items[i];
        json_array_append_new(a, json_pack("{s:s,s:i,s:o,s:o,s:O}", "name", it->name, "versions",
                                           it->versions, "latest", version_json(&it->latest),
                                           "labels", labels_json(it->labels, it->nlabels), "tags",
                                           it->tags ? it->tags : json_array()));
    }
    *out = json_pack("{s:o,s:I,s:I,s:I}", key, a, "total", (json_int_t)l.n, "offset",
                     (json_int_t)offset, "limit", (json_int_t)limit);
out:
    cat_list_free(&l);
    cat_close(c);
    return rc;
}

static int prompts_list(web_req *r, json_t **out) { return list_kind(r, out, CAT_PROMPT, "prompts"); }
static int datasets_list(web_req *r, json_t **out) { return list_kind(r, out, CAT_DATASET, "datasets"); }
static int suites_list(web_req *r, json_t **out) { return list_kind(r, out, CAT_SUITE, "suites"); }

/* The reference of the item named in the path, with ?ref= (a version, a
 * label or a commit) when given. */
static int item_ref(web_req *r, char *buf, size_t size)
{
    char ref[96];

    if (web_query_str(r, "ref", ref, sizeof ref) && ref[0]) {
        if (strchr(ref, '@'))
            return as_error_set(AS_EINVAL, "ref '%s': give only the part after '@'", ref);
        snprintf(buf, size, "%s@%s", r->params[0], ref);
    } else {
        snprintf(buf, size, "%s", r->params[0]);
    }
    return 0;
}

/* The labels of one item (from the listing, which carries them). */
static json_t *item_labels(cat *c, cat_kind kind, const char *name)
{
    cat_list l = {0};
    json_t *a = NULL;
    size_t i;

    if (cat_list_items(&l, c, kind, NULL, 1) == 0)
        for (i = 0; i < l.n && a == NULL; i++)
            if (strcmp(l.items[i].name, name) == 0)
                a = labels_json(l.items[i].labels, l.items[i].nlabels);
    cat_list_free(&l);
    return a ? a : json_array();
}

/* GET /prompts/{name} and /suites/{name}: the document at ?ref=. */
static int doc_get(web_req *r, json_t **out, cat_kind kind)
{
    char ref[600];
    cat_version v;
    cat *c = NULL;
    char *data = NULL;
    size_t len;
    json_t *doc = NULL;
    int rc;

    if ((rc = item_ref(r, ref, sizeof ref)) < 0 || (rc = open_cat(r, &c)) < 0)
        return rc;
    if ((rc = cat_resolve(&v, c, kind, ref)) < 0 || (rc = cat_read(&data, &len, c, &v)) < 0)
        goto out;
    if ((rc = as_json_parse(&doc, data, len, v.path)) < 0)
        goto out;
    *out = json_pack("{s:s,s:o,s:o,s:o,s:s}", "name", r->params[0], "version", version_json(&v),
                     "labels", item_labels(c, kind, r->params[0]), "doc", doc, "text", data);
out:
    free(data);
    cat_close(c);
    return rc;
}

static int prompt_get(web_req *r, json_t **out) { return doc_get(r, out, CAT_PROMPT); }
static int suite_get(web_req *r, json_t **out) { return doc_get(r, out, CAT_SUITE); }

static int versions(web_req *r, json_t **out, cat_kind kind)
{
    cat_version *v = NULL;
    size_t n = 0, i;
    cat *c = NULL;
    json_t *a;
    int rc;

    if ((rc = open_cat(r, &c)) < 0)
        return rc;
    if ((rc = cat_log(&v, &n, c, kind, r->params[0])) == 0) {
        a = json_array();
        for (i = n; i-- > 0;)   /* newest first */
            if (v[i].version > 0)
                json_array_append_new(a, version_json(&v[i]));
        *out = json_pack("{s:s,s:o,s:o}", "name", r->params[0], "versions", a, "labels",
                         item_labels(c, kind, r->params[0]));
    }
    free(v);
    cat_close(c);
    return rc;
}

static int prompt_versions(web_req *r, json_t **out) { return versions(r, out, CAT_PROMPT); }
static int dataset_versions(web_req *r, json_t **out) { return versions(r, out, CAT_DATASET); }
static int suite_versions(web_req *r, json_t **out) { return versions(r, out, CAT_SUITE); }

/* GET /prompts/{name}/diff?from=v1&to=v2 (to defaults to the newest). */
static int diff(web_req *r, json_t **out, cat_kind kind)
{
    char from[96], to[96], r1[600], r2[600];
    char *text = NULL;
    cat *c = NULL;
    int rc;

    if (!web_query_str(r, "from", from, sizeof from) || from[0] == '\0')
        return as_error_set(AS_EINVAL, "query parameter 'from' is required");
    if (!web_query_str(r, "to", to, sizeof to))
        to[0] = '\0';
    snprintf(r1, sizeof r1, "%s@%s", r->params[0], from);
    if (to[0])
        snprintf(r2, sizeof r2, "%s@%s", r->params[0], to);
    else
        snprintf(r2, sizeof r2, "%s", r->params[0]);
    if ((rc = open_cat(r, &c)) < 0)
        return rc;
    if ((rc = cat_diff(&text, c, kind, r->params[0], r1, r2)) == 0)
        *out = json_pack("{s:s,s:s,s:s,s:s}", "name", r->params[0], "from", r1, "to", r2, "diff",
                         text);
    free(text);
    cat_close(c);
    return rc;
}

static int prompt_diff(web_req *r, json_t **out) { return diff(r, out, CAT_PROMPT); }
static int dataset_diff(web_req *r, json_t **out) { return diff(r, out, CAT_DATASET); }
static int suite_diff(web_req *r, json_t **out) { return diff(r, out, CAT_SUITE); }

/* "Name <name@assay.local>": commits made from the browser name the user. */
static void author_of(const web_req *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s <%s@assay.local>", r->user.name, r->user.name);
}

static int put_doc(web_req *r, json_t **out, cat_kind kind, const char *name)
{
    char author[300], message[CAT_MESSAGE_MAX];
    cat_commit_opts opts = {author, NULL};
    cat_version v;
    cat *c = NULL;
    int rc;

    if (r->json == NULL || !json_is_object(r->json))
        return as_error_set(AS_EINVAL, "request body: expected the %s as a JSON object",
                            cat_kind_name(kind));
    author_of(r, author, sizeof author);
    if (web_query_str(r, "message", message, sizeof message) && message[0])
        opts.message = message;
    if ((rc = open_cat(r, &c)) < 0)
        return rc;
    rc = cat_put_doc(&v, c, kind, name, r->body, r->body_len, &opts);
    if (rc == 0 || rc == AS_EEXISTS) {
        *out = json_pack("{s:o,s:b}", "version", version_json(&v), "changed", rc == 0);
        r->status = rc == 0 ? 201 : 200;
        rc = 0;
    }
    cat_close(c);
    return rc;
}

static int prompt_put(web_req *r, json_t **out) { return put_doc(r, out, CAT_PROMPT, r->params[0]); }
static int suite_put(web_req *r, json_t **out) { return put_doc(r, out, CAT_SUITE, r->params[0]); }

/* POST /prompts: the body is the prompt, named by its "name". */
static int prompt_add(web_req *r, json_t **out)
{
    const char *name;
    char buf[CAT_NAME_MAX + 1];
    int rc;

    if (r->json == NULL || !json_is_object(r->json))
        return as_error_set(AS_EINVAL, "request body: expected the prompt as a JSON object");
    if ((rc = as_json_get_str(r->json, "name", 1, &name)) < 0)
        return rc;
    snprintf(buf, sizeof buf, "%s", name);
    return put_doc(r, out, CAT_PROMPT, buf);
}

/* POST /prompts/{name}/labels {"label","ref"}: point a label at a version. */
static int label_set(web_req *r, json_t **out, cat_kind kind)
{
    json_t *body;
    const char *label, *ref = NULL;
    char full[600];
    cat_version v;
    cat *c = NULL;
    int rc;

    if ((rc = web_body_object(r, &body)) < 0 || (rc = as_json_get_str(body, "label", 1, &label)) < 0 ||
        ((rc = as_json_get_str(body, "ref", 0, &ref)) < 0 && rc != AS_ENOTFOUND))
        return rc;
    if (ref && strchr(ref, '@'))
        return as_error_set(AS_EINVAL, "ref '%s': give only the part after '@'", ref);
    if (ref)
        snprintf(full, sizeof full, "%s@%s", r->params[0], ref);
    else
        snprintf(full, sizeof full, "%s", r->params[0]);
    if ((rc = open_cat(r, &c)) < 0)
        return rc;
    if ((rc = cat_label_set(&v, c, kind, r->params[0], full, label)) == 0)
        *out = json_pack("{s:s,s:o}", "label", label, "version", version_json(&v));
    cat_close(c);
    return rc;
}

static int prompt_label_set(web_req *r, json_t **out) { return label_set(r, out, CAT_PROMPT); }

static int prompt_label_delete(web_req *r, json_t **out)
{
    cat *c = NULL;
    int rc;

    if ((rc = open_cat(r, &c)) < 0)
        return rc;
    if ((rc = cat_label_delete(c, CAT_PROMPT, r->params[0], r->params[1])) == 0)
        *out = json_pack("{s:b}", "ok", 1);
    cat_close(c);
    return rc;
}

static json_t *case_json(const cat_case *cs)
{
    json_t *o = json_pack("{s:s,s:O,s:O}", "id", cs->id, "vars", cs->vars, "tags", cs->tags);

    json_object_set_new(o, "expected", cs->expected ? json_string(cs->expected) : json_null());
    return o;
}

/* GET /datasets/{name}?ref=&offset=&limit=: one page of cases. */
static int dataset_get(web_req *r, json_t **out)
{
    char ref[600];
    int64_t offset, limit, i = 0;
    cat_version v;
    cat_cases *it = NULL;
    const cat_case *cs;
    cat *c = NULL;
    json_t *cases;
    int rc;

    if ((rc = web_query_page(r, &offset, &limit)) < 0 || (rc = item_ref(r, ref, sizeof ref)) < 0)
        return rc;
    if ((rc = open_cat(r, &c)) < 0)
        return rc;
    if ((rc = cat_resolve(&v, c, CAT_DATASET, ref)) < 0 || (rc = cat_cases_open(&it, c, &v)) < 0)
        goto out;
    cases = json_array();
    while (i < offset + limit && (rc = cat_cases_next(it, &cs)) == 1) {
        if (i++ >= offset)
            json_array_append_new(cases, case_json(cs));
    }
    if (rc < 0) {
        json_decref(cases);
        goto out;
    }
    rc = 0;
    *out = json_pack("{s:s,s:o,s:o,s:o,s:I,s:I,s:I}", "name", r->params[0], "version",
                     version_json(&v), "labels", item_labels(c, CAT_DATASET, r->params[0]),
                     "cases", cases, "total", (json_int_t)v.cases, "offset", (json_int_t)offset,
                     "limit", (json_int_t)limit);
out:
    cat_cases_close(it);
    cat_close(c);
    return rc;
}

const web_route web_routes_catalog[] = {
    {"GET", "/prompts", WEB_PERM_READ, prompts_list},
    {"POST", "/prompts", WEB_PERM_EDIT, prompt_add},
    {"GET", "/prompts/{}", WEB_PERM_READ, prompt_get},
    {"PUT", "/prompts/{}", WEB_PERM_EDIT, prompt_put},
    {"GET", "/prompts/{}/versions", WEB_PERM_READ, prompt_versions},
    {"GET", "/prompts/{}/diff", WEB_PERM_READ, prompt_diff},
    {"POST", "/prompts/{}/labels", WEB_PERM_EDIT, prompt_label_set},
    {"DELETE", "/prompts/{}/labels/{}", WEB_PERM_EDIT, prompt_label_delete},
    {"GET", "/datasets", WEB_PERM_READ, datasets_list},
    {"GET", "/datasets/{}", WEB_PERM_READ, dataset_get},
    {"GET", "/datasets/{}/versions", WEB_PERM_READ, dataset_versions},
    {"GET", "/datasets/{}/diff", WEB_PERM_READ, dataset_diff},
    {"GET", "/suites", WEB_PERM_READ, suites_list},
    {"GET", "/suites/{}", WEB_PERM_READ, suite_get},
    {"PUT", "/suites/{}", WEB_PERM_EDIT, suite_put},
    {"GET", "/suites/{}/versions", WEB_PERM_READ, suite_versions},
    {"GET", "/suites/{}/diff", WEB_PERM_READ, suite_diff},
    {NULL, NULL, 0, NULL}
};
