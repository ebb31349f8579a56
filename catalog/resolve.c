/* Reading the index: resolving references to versions, listing items,
 * their logs, and diffs between two versions of a file. */
#include "catalog/internal.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_COLS                                                                               \
    "SELECT ch.version, cm.commit_id, ch.blob_id, cm.time, cm.author, cm.message, "                \
    "ch.cases FROM cat_changes ch JOIN cat_commits cm ON cm.seq = ch.seq "

/* Fill 'out' from a row selected with VERSION_COLS. */
static void version_from_row(cat_version *out, store_stmt *st, cat_kind kind, const char *name)
{
    const char *s;

    memset(out, 0, sizeof(*out));
    out->kind = kind;
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->version = (int)store_col_int(st, 0);
    snprintf(out->commit, sizeof(out->commit), "%s", store_col_text(st, 1));
    if ((s = store_col_text(st, 2)) != NULL)
        snprintf(out->blob, sizeof(out->blob), "%s", s);
    out->time = store_col_int(st, 3);
    snprintf(out->author, sizeof(out->author), "%s", store_col_text(st, 4));
    snprintf(out->message, sizeof(out->message), "%s", store_col_text(st, 5));
    out->cases = store_col_int(st, 6);
    cat__item_path(out->path, sizeof(out->path), kind, name);
}

int cat__version_at(cat_version *out, cat *c, cat_kind kind, const char *name, int version)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(
             &st, c->db, VERSION_COLS "WHERE ch.kind = ? AND ch.name = ? AND ch.version = ?")) < 0)
        return rc;
    store_bind_int(st, 1, kind);
    store_bind_text(st, 2, name);
    store_bind_int(st, 3, version);
    if ((rc = store_step(st)) == STORE_ROW)
        version_from_row(out, st, kind, name);
    store_finalize(st);
    if (rc == STORE_DONE)
        return as_error_set(AS_ENOTFOUND, "%s %s@v%d: no such version", cat_kind_name(kind), name,
                            version);
    return rc < 0 ? rc : 0;
}

int cat__item_state(cat *c, cat_kind kind, const char *name, int *exists, int *versions,
                    int *removed)
{
    store_stmt *st = NULL;
    int rc;

    *exists = *versions = *removed = 0;
    if ((rc = store_prepare(
             &st, c->db, "SELECT versions, removed FROM cat_items WHERE kind = ? AND name = ?")) <
        0)
        return rc;
    store_bind_int(st, 1, kind);
    store_bind_text(st, 2, name);
    if ((rc = store_step(st)) == STORE_ROW) {
        *exists = 1;
        *versions = (int)store_col_int(st, 0);
        *removed = (int)store_col_int(st, 1);
    }
    store_finalize(st);
    return rc < 0 ? rc : 0;
}

/* The version of 'name' in effect at commit 'commit' of the first-parent
 * history: 0 with *version set, *version 0 when the file did not exist
 * there (never added or removed), AS_ENOTFOUND when the commit is not on
 * the branch. */
static int version_in_effect(int *version, cat *c, cat_kind kind, const char *name,
                             const char *commit)
{
    store_stmt *st = NULL;
    int64_t seq = 0;
    int rc;

    *version = 0;
    if ((rc = store_prepare(&st, c->db, "SELECT seq FROM cat_commits WHERE commit_id = ?")) < 0)
        return rc;
    store_bind_text(st, 1, commit);
    if ((rc = store_step(st)) == STORE_ROW)
        seq = store_col_int(st, 0);
    store_finalize(st);
    if (rc < 0)
        return rc;
    if (rc == STORE_DONE)
        return as_error_set(AS_ENOTFOUND, "commit %.12s is not on the catalog branch", commit);
    if ((rc = store_prepare(&st, c->db,
                            "SELECT version FROM cat_changes WHERE kind = ? AND name = ? AND "
                            "seq <= ? ORDER BY seq DESC LIMIT 1")) < 0)
        return rc;
    store_bind_int(st, 1, kind);
    store_bind_text(st, 2, name);
    store_bind_int(st, 3, seq);
    if ((rc = store_step(st)) == STORE_ROW)
        *version = (int)store_col_int(st, 0);
    store_finalize(st);
    return rc < 0 ? rc : 0;
}

static int label_commit(char *commit, int *found, cat *c, cat_kind kind, const char *name,
                        const char *label)
{
    store_stmt *st = NULL;
    int rc;

    *found = 0;
    if ((rc = store_prepare(&st, c->db,
                            "SELECT commit_id FROM cat_labels WHERE kind = ? AND name = ? AND "
                            "label = ?")) < 0)
        return rc;
    store_bind_int(st, 1, kind);
    store_bind_text(st, 2, name);
    store_bind_text(st, 3, label);
    if ((rc = store_step(st)) == STORE_ROW) {
        snprintf(commit, 41, "%s", store_col_text(st, 0));
        *found = 1;
    }
    store_finalize(st);
    return rc < 0 ? rc : 0;
}

/* The one commit of the branch whose id starts with 'prefix'. */
static int commit_by_prefix(char *commit, cat *c, const char *ref, const char *prefix)
{
    store_stmt *st = NULL;
    int rc, n = 0;

    if ((rc = store_prepare(&st, c->db,
                            "SELECT commit_id FROM cat_commits WHERE substr(commit_id, 1, ?) = ? "
                            "LIMIT 2")) < 0)
        return rc;
    store_bind_int(st, 1, (int64_t)strlen(prefix));
    store_bind_text(st, 2, prefix);
    while ((rc = store_step(st)) == STORE_ROW) {
        if (n++ == 0)
            snprintf(commit, 41, "%s", store_col_text(st, 0));
    }
    store_finalize(st);
    if (rc < 0)
        return rc;
    if (n == 0)
        return as_error_set(AS_ENOTFOUND, "%s: no label or commit '%s'", ref, prefix);
    if (n > 1)
        return as_error_set(AS_EINVAL, "%s: commit prefix '%s' is ambiguous", ref, prefix);
    return 0;
}

int cat_resolve(cat_version *out, cat *c, cat_kind kind, const char *ref)
{
    const char *kn = cat_kind_name(kind);
    int exists, versions, removed, found, version, rc;
    char commit[41];
    cat_ref r;

    memset(out, 0, sizeof(*out));
    if ((rc = cat_ref_parse(&r, ref)) < 0)
        return rc;
    if ((rc = cat__item_state(c, kind, r.name, &exists, &versions, &removed)) < 0)
        return rc;
    if (!exists)
        return as_error_set(AS_ENOTFOUND, "%s '%s': not found", kn, r.name);
    switch (r.form) {
    case CAT_REF_LATEST:
        if (removed)
            return as_error_set(AS_ENOTFOUND,
                                "%s '%s': removed (its versions stay reachable as %s@v1..v%d)", kn,
                                r.name, r.name, versions);
        version = versions;
        break;
    case CAT_REF_VERSION:
        if (r.version > versions)
            return as_error_set(AS_ENOTFOUND, "%s %s: no such version (newest is v%d)", kn, ref,
                                versions);
        version = r.version;
        break;
    default:
        if ((rc = label_commit(commit, &found, c, kind, r.name, r.label)) < 0)
            return rc;
        if (!found) {
            if (r.form == CAT_REF_LABEL)
                return as_error_set(AS_ENOTFOUND, "%s %s: no such label", kn, ref);
            if ((rc = commit_by_prefix(commit, c, ref, r.label)) < 0)
                return rc;
        }
        if ((rc = version_in_effect(&version, c, kind, r.name, commit)) < 0)
            return as_error_wrap(rc, "%s %s", kn, ref);
        if (version == 0)
            return as_error_set(AS_ENOTFOUND, "%s %s: '%s' does not exist at commit %.12s", kn, ref,
                                r.name, commit);
        break;
    }
    return cat__version_at(out, c, kind, r.name, version);
}

/* ---- Lists -------------------------------------------------------------- */

void cat_list_free(cat_list *l)
{
    size_t i;

    if (l == NULL)
        return;
    for (i = 0; i < l->n; i++) {
        free(l->items[i].labels);
        json_decref(l->items[i].tags);
    }
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int has_tag(const json_t *tags, const char *tag)
{
    size_t i;
    json_t *v;

    json_array_foreach(tags, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), tag) == 0)
            return 1;
    }
    return 0;
}

static int item_labels(cat_item *it, cat *c)
{
    store_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    if ((rc = store_prepare(&st, c->db,
                            "SELECT label, commit_id FROM cat_labels WHERE kind = ? AND name = ? "
                            "ORDER BY label")) < 0)
        return rc;
    store_bind_int(st, 1, it->kind);
    store_bind_text(st, 2, it->name);
    while ((rc = store_step(st)) == STORE_ROW) {
        cat_label *l;
        if (it->nlabels == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            cat_label *v = realloc(it->labels, ncap * sizeof(*v));
            if (v == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                break;
            }
            it->labels = v;
            cap = ncap;
        }
        l = &it->labels[it->nlabels++];
        memset(l, 0, sizeof(*l));
        snprintf(l->label, sizeof(l->label), "%s", store_col_text(st, 0));
        snprintf(l->commit, sizeof(l->commit), "%s", store_col_text(st, 1));
    }
    store_finalize(st);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < it->nlabels; i++) {
        if (version_in_effect(&it->labels[i].version, c, it->kind, it->name, it->labels[i].commit) <
            0) {
            it->labels[i].version = 0;
            as_error_clear();
        }
    }
    return 0;
}

int cat_list_items(cat_list *out, cat *c, cat_kind kind, const char *tag, int include_removed)
{
    store_stmt *st = NULL;
    size_t cap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = store_prepare(&st, c->db,
                            "SELECT name, versions, removed, tags FROM cat_items WHERE kind = ? "
                            "AND (removed = 0 OR ?) ORDER BY name")) < 0)
        return rc;
    store_bind_int(st, 1, kind);
    store_bind_int(st, 2, include_removed ? 1 : 0);
    while ((rc = store_step(st)) == STORE_ROW) {
        cat_item *it;
        json_t *tags = json_loads(store_col_text(st, 3), 0, NULL);
        if (tags == NULL || !json_is_array(tags)) {
            json_decref(tags);
            tags = json_array();
        }
        if (tag && !has_tag(tags, tag)) {
            json_decref(tags);
            continue;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            cat_item *v = realloc(out->items, ncap * sizeof(*v));
            if (v == NULL) {
                json_decref(tags);
                rc = as_error_set(AS_ENOMEM, "out of memory");
                break;
            }
            out->items = v;
            cap = ncap;
        }
        it = &out->items[out->n++];
        memset(it, 0, sizeof(*it));
        it->kind = kind;
        snprintf(it->name, sizeof(it->name), "%s", store_col_text(st, 0));
        it->versions = (int)store_col_int(st, 1);
        it->removed = (int)store_col_int(st, 2);
        it->tags = tags;
    }
    store_finalize(st);
    for (size_t i = 0; rc >= 0 && i < out->n; i++) {
        cat_item *it = &out->items[i];
        if ((rc = cat__version_at(&it->latest, c, kind, it->name, it->versions)) < 0 ||
            (rc = item_labels(it, c)) < 0)
            break;
    }
    if (rc < 0) {
        cat_list_free(out);
        return rc;
    }
    return 0;
}

int cat_log(cat_version **out, size_t *n, cat *c, cat_kind kind, const char *name)
{
    store_stmt *st = NULL;
    cat_version *v = NULL;
    size_t cap = 0;
    int rc, exists, versions, removed;

    *out = NULL;
    *n = 0;
    if (!cat_name_valid(name))
        return AS_EINVAL;
    if ((rc = cat__item_state(c, kind, name, &exists, &versions, &removed)) < 0)
        return rc;
    if (!exists)
        return as_error_set(AS_ENOTFOUND, "%s '%s': not found", cat_kind_name(kind), name);
    if ((rc = store_prepare(&st, c->db,
                            VERSION_COLS "WHERE ch.kind = ? AND ch.name = ? ORDER BY ch.seq")) < 0)
        return rc;
    store_bind_int(st, 1, kind);
    store_bind_text(st, 2, name);
    while ((rc = store_step(st)) == STORE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            cat_version *nv = realloc(v, ncap * sizeof(*nv));
            if (nv == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = ncap;
        }
        version_from_row(&v[(*n)++], st, kind, name);
    }
    store_finalize(st);
    if (rc < 0) {
        free(v);
        *n = 0;
        return rc;
    }
    *out = v;
    return 0;
}

int cat__full_ref(char *out, size_t size, const char *name, const char *ref)
{
    size_t nl = strlen(name);
    int n;

    if (strcmp(ref, name) == 0 || (strncmp(ref, name, nl) == 0 && ref[nl] == '@'))
        n = snprintf(out, size, "%s", ref);
    else
        n = snprintf(out, size, "%s@%s", name, ref);
    if (n < 0 || (size_t)n >= size)
        return as_error_set(AS_EINVAL, "reference '%.60s': too long", ref);
    return 0;
}

int cat_diff(char **out, cat *c, cat_kind kind, const char *name, const char *ref1,
             const char *ref2)
{
    char r1[CAT_NAME_MAX + 64], r2[CAT_NAME_MAX + 64];
    cat_version v1, v2;
    char *a = NULL, *b = NULL;
    size_t alen, blen;
    git_diff_options opts;
    git_patch *patch = NULL;
    git_buf buf = GIT_BUF_INIT;
    int rc;

    *out = NULL;
    git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
    if (!cat_name_valid(name))
        return AS_EINVAL;
    if ((rc = cat__full_ref(r1, sizeof(r1), name, ref1)) < 0 ||
        (rc = cat__full_ref(r2, sizeof(r2), name, ref2)) < 0 ||
        (rc = cat_resolve(&v1, c, kind, r1)) < 0 || (rc = cat_resolve(&v2, c, kind, r2)) < 0)
        return rc;
    if (strcmp(v1.blob, v2.blob) == 0) {
        *out = strdup("");
        return *out ? 0 : as_error_set(AS_ENOMEM, "out of memory");
    }
    if ((rc = cat_read(&a, &alen, c, &v1)) < 0 || (rc = cat_read(&b, &blen, c, &v2)) < 0)
        goto done;
    if ((rc = git_patch_from_buffers(&patch, a, alen, v1.path, b, blen, v2.path, &opts)) < 0 ||
        (rc = git_patch_to_buf(&buf, patch)) < 0) {
        rc = cat__git_fail(rc, "diff");
        goto done;
    }
    if ((*out = strndup(buf.ptr ? buf.ptr : "", buf.size)) == NULL)
        rc = as_error_set(AS_ENOMEM, "out of memory");
done:
    git_buf_dispose(&buf);
    git_patch_free(patch);
    free(a);
    free(b);
    return rc;
}
