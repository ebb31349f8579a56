/* The SQLite index of the catalog: versions numbered along the
 * first-parent history of the branch, and the label mirror.
 *
 * Incremental and full indexing run the same code over the same commits in
 * the same order (oldest first), so the numbering after `catalog reindex`
 * equals the numbering built up commit by commit. When the indexed commit
 * is no longer on the branch's first-parent chain (history rewritten) the
 * index is rebuilt from scratch. Each update is one SQLite transaction. */
#include "catalog/internal.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct oid_vec {
    git_oid *v;
    size_t n, cap;
} oid_vec;

static int oid_push(oid_vec *vec, const git_oid *id)
{
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 64;
        git_oid *v = realloc(vec->v, cap * sizeof(*v));
        if (v == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        vec->v = v;
        vec->cap = cap;
    }
    git_oid_cpy(&vec->v[vec->n++], id);
    return 0;
}

/* The indexed state: commit id (empty when none), seq and branch. */
static int read_state(cat *c, char *indexed, char *branch, size_t bsize, int64_t *seq)
{
    store_stmt *st = NULL;
    int rc;

    indexed[0] = branch[0] = '\0';
    *seq = 0;
    if ((rc = store_prepare(&st, c->db,
                            "SELECT indexed, branch, seq FROM cat_state WHERE id = 1")) < 0)
        return rc;
    if ((rc = store_step(st)) == STORE_ROW) {
        if (store_col_text(st, 0))
            snprintf(indexed, 41, "%s", store_col_text(st, 0));
        if (store_col_text(st, 1))
            snprintf(branch, bsize, "%s", store_col_text(st, 1));
        *seq = store_col_int(st, 2);
    }
    store_finalize(st);
    return rc < 0 ? rc : 0;
}

/* ---- Labels ------------------------------------------------------------- */

typedef struct label_row {
    cat_kind kind;
    char name[CAT_NAME_MAX + 1];
    char label[CAT_LABEL_MAX + 1];
    char commit[41];
} label_row;

typedef struct label_vec {
    label_row *v;
    size_t n, cap;
} label_vec;

static int label_cmp(const void *a, const void *b)
{
    const label_row *x = a, *y = b;
    int d;

    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    if ((d = strcmp(x->name, y->name)) != 0)
        return d;
    return strcmp(x->label, y->label);
}

static int label_push(label_vec *vec, const label_row *r)
{
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 16;
        label_row *v = realloc(vec->v, cap * sizeof(*v));
        if (v == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = *r;
    return 0;
}

/* 1 with *r filled when 'ref' is a label ref pointing at a commit; other
 * refs under refs/labels/ (hand-made, malformed) are ignored. */
static int label_from_ref(label_row *r, git_reference *ref)
{
    git_object *obj = NULL;

    memset(r, 0, sizeof(*r));
    if (!cat__label_parse_ref(git_reference_name(ref), &r->kind, r->name, sizeof(r->name), r->label,
                              sizeof(r->label)) ||
        git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) < 0) {
        as_log_debug("catalog: ignoring ref %s", git_reference_name(ref));
        git_error_clear();
        return 0;
    }
    git_oid_tostr(r->commit, sizeof(r->commit), git_object_id(obj));
    git_object_free(obj);
    return 1;
}

static int labels_from_refs(label_vec *out, cat *c)
{
    git_reference_iterator *it = NULL;
    git_reference *ref;
    label_row r;
    int rc, pushed = 0;

    if ((rc = git_reference_iterator_glob_new(&it, c->repo, "refs/labels/*")) < 0)
        return cat__git_fail(rc, "listing labels");
    while ((rc = git_reference_next(&ref, it)) == 0) {
        if (label_from_ref(&r, ref))
            pushed = label_push(out, &r);
        git_reference_free(ref);
        if (pushed < 0)
            break;
    }
    git_reference_iterator_free(it);
    if (pushed < 0)
        return pushed;
    if (rc < 0 && rc != GIT_ITEROVER)
        return cat__git_fail(rc, "listing labels");
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(out->v[0]), label_cmp);
    return 0;
}

static int labels_from_db(label_vec *out, cat *c)
{
    store_stmt *st = NULL;
    label_row r;
    int rc;

    if ((rc = store_prepare(&st, c->db,
                            "SELECT kind, name, label, commit_id FROM cat_labels "
                            "ORDER BY kind, name, label")) < 0)
        return rc;
    while ((rc = store_step(st)) == STORE_ROW) {
        memset(&r, 0, sizeof(r));
        r.kind = (cat_kind)store_col_int(st, 0);
        snprintf(r.name, sizeof(r.name), "%s", store_col_text(st, 1));
        snprintf(r.label, sizeof(r.label), "%s", store_col_text(st, 2));
        snprintf(r.commit, sizeof(r.commit), "%s", store_col_text(st, 3));
        if ((rc = label_push(out, &r)) < 0)
            break;
    }
    store_finalize(st);
    if (rc < 0)
        return rc;
    /* SQLite's ORDER BY is bytewise like strcmp, but sort to be sure. */
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(out->v[0]), label_cmp);
    return 0;
}

static int labels_equal(const label_vec *a, const label_vec *b)
{
    size_t i;

    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (label_cmp(&a->v[i], &b->v[i]) != 0 || strcmp(a->v[i].commit, b->v[i].commit) != 0)
            return 0;
    return 1;
}

static int labels_write(cat *c, const label_vec *refs)
{
    store_stmt *st = NULL;
    size_t i;
    int rc;

    if ((rc = store_exec(c->db, "DELETE FROM cat_labels")) < 0)
        return rc;
    if ((rc = store_prepare(&st, c->db,
                            "INSERT INTO cat_labels (kind, name, label, commit_id) "
                            "VALUES (?, ?, ?, ?)")) < 0)
        return rc;
    for (i = 0; i < refs->n && rc >= 0; i++) {
        store_bind_int(st, 1, refs->v[i].kind);
        store_bind_text(st, 2, refs->v[i].name);
        store_bind_text(st, 3, refs->v[i].label);
        store_bind_text(st, 4, refs->v[i].commit);
        rc = store_step_done(st);
    }
    store_finalize(st);
    return rc < 0 ? rc : 0;
}

/* ---- Staleness ------------------------------------------------------------ */

int cat__index_stale(cat *c)
{
    char indexed[41], branch[256], headhex[41] = "", curbranch[256];
    label_vec a = {0}, b = {0};
    git_oid head;
    int64_t seq;
    int stale;

    if (read_state(c, indexed, branch, sizeof(branch), &seq) < 0)
        return 1;
    if (cat__head(c, &head, curbranch, sizeof(curbranch)) == 0)
        git_oid_tostr(headhex, sizeof(headhex), &head);
    as_error_clear();
    if (strcmp(indexed, headhex) != 0 || (headhex[0] && strcmp(branch, curbranch) != 0))
        return 1;
    if (labels_from_refs(&a, c) < 0 || labels_from_db(&b, c) < 0)
        stale = 1;
    else
        stale = !labels_equal(&a, &b);
    free(a.v);
    free(b.v);
    return stale;
}

/* ---- Versions ------------------------------------------------------------- */

static int insert_commit(cat *c, int64_t seq, git_commit *commit)
{
    const git_signature *a = git_commit_author(commit);
    const char *summary = git_commit_summary(commit);
    char id[41], who[300];
    store_stmt *st = NULL;
    int rc;

    git_oid_tostr(id, sizeof(id), git_commit_id(commit));
    snprintf(who, sizeof(who), "%s <%s>", a && a->name ? a->name : "",
             a && a->email ? a->email : "");
    if ((rc = store_prepare(&st, c->db,
                            "INSERT INTO cat_commits (seq, commit_id, time, author, message) "
                            "VALUES (?, ?, ?, ?, ?)")) < 0)
        return rc;
    store_bind_int(st, 1, seq);
    store_bind_text(st, 2, id);
    store_bind_int(st, 3, (int64_t)git_commit_time(commit));
    store_bind_text(st, 4, who);
    store_bind_text(st, 5, summary ? summary : "");
    rc = store_step_done(st);
    store_finalize(st);
    return rc;
}

/* Tags of a prompt file (an empty array when the file does not parse: a
 * plain-git edit may be broken; using it reports the problem then). */
static char *prompt_tags(cat *c, const git_oid *blob_id)
{
    git_blob *blob = NULL;
    cat_prompt *p = NULL;
    char *tags = NULL;

    if (git_blob_lookup(&blob, c->repo, blob_id) == 0 &&
        cat_prompt_parse(&p, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), "prompt") ==
            0)
        tags = as_json_dump(p->tags);
    as_error_clear();
    cat_prompt_free(p);
    git_blob_free(blob);
    return tags ? tags : strdup("[]");
}

/* Count the non-blank lines of a dataset blob: streamed from loose
 * objects, from the inflated blob for packed ones. */
static int64_t dataset_cases(cat *c, const git_oid *blob_id)
{
    git_odb *odb = NULL;
    git_odb_stream *rs = NULL;
    git_blob *blob = NULL;
    git_object_t type;
    size_t len;
    char buf[65536];
    int64_t n = 0;
    int got, inline_text = 0;

    if (git_repository_odb(&odb, c->repo) == 0 &&
        git_odb_open_rstream(&rs, &len, &type, odb, blob_id) == 0) {
        while ((got = rs->read(rs, buf, sizeof(buf))) > 0) {
            for (int i = 0; i < got; i++) {
                char ch = buf[i];
                if (ch == '\n') {
                    n += inline_text;
                    inline_text = 0;
                } else if (ch != ' ' && ch != '\t' && ch != '\r') {
                    inline_text = 1;
                }
            }
        }
        n += inline_text;
        git_odb_stream_free(rs);
    } else if (git_blob_lookup(&blob, c->repo, blob_id) == 0) {
        n = cat__count_cases(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
    }
    git_error_clear();
    git_blob_free(blob);
    git_odb_free(odb);
    return n;
}

/* Record one change of one item file in commit 'seq'. */
static int index_change(cat *c, int64_t seq, cat_kind kind, const char *name,
                        const git_oid *blob_id)
{
    store_stmt *st = NULL;
    char blobhex[41];
    char *tags = NULL;
    int versions, exists, removed, rc;

    if ((rc = cat__item_state(c, kind, name, &exists, &versions, &removed)) < 0)
        return rc;
    if (blob_id == NULL) {
        if (!exists)
            return 0;
        if ((rc = store_prepare(&st, c->db,
                                "INSERT INTO cat_changes (kind, name, version, seq, blob_id) "
                                "VALUES (?, ?, NULL, ?, NULL)")) < 0)
            return rc;
        store_bind_int(st, 1, kind);
        store_bind_text(st, 2, name);
        store_bind_int(st, 3, seq);
        rc = store_step_done(st);
        store_finalize(st);
        if (rc < 0)
            return rc;
        if ((rc = store_prepare(
                 &st, c->db, "UPDATE cat_items SET removed = 1 WHERE kind = ? AND name = ?")) < 0)
            return rc;
        store_bind_int(st, 1, kind);
        store_bind_text(st, 2, name);
        rc = store_step_done(st);
        store_finalize(st);
        return rc;
    }
    git_oid_tostr(blobhex, sizeof(blobhex), blob_id);
    if ((rc = store_prepare(&st, c->db,
                            "INSERT INTO cat_changes (kind, name, version, seq, blob_id, cases) "
                            "VALUES (?, ?, ?, ?, ?, ?)")) < 0)
        return rc;
    store_bind_int(st, 1, kind);
    store_bind_text(st, 2, name);
    store_bind_int(st, 3, versions + 1);
    store_bind_int(st, 4, seq);
    store_bind_text(st, 5, blobhex);
    store_bind_int(st, 6, kind == CAT_DATASET ? dataset_cases(c, blob_id) : 0);
    rc = store_step_done(st);
    store_finalize(st);
    if (rc < 0)
        return rc;
    tags = kind == CAT_PROMPT ? prompt_tags(c, blob_id) : strdup("[]");
    if (tags == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = store_prepare(&st, c->db,
                            "INSERT INTO cat_items (kind, name, versions, removed, tags) "
                            "VALUES (?, ?, ?, 0, ?) ON CONFLICT (kind, name) DO UPDATE SET "
                            "versions = excluded.versions, removed = 0, tags = excluded.tags")) <
        0) {
        free(tags);
        return rc;
    }
    store_bind_int(st, 1, kind);
    store_bind_text(st, 2, name);
    store_bind_int(st, 3, versions + 1);
    store_bind_text(st, 4, tags);
    rc = store_step_done(st);
    store_finalize(st);
    free(tags);
    return rc;
}

typedef struct diff_ctx {
    cat *c;
    int64_t seq;
    int rc;
} diff_ctx;

static int diff_file_cb(const git_diff_delta *d, float progress, void *arg)
{
    diff_ctx *x = arg;
    char name[CAT_NAME_MAX + 1];
    cat_kind kind;
    const char *path;

    (void)progress;
    path = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;
    if (!cat__path_item(path, &kind, name, sizeof(name)))
        return 0;
    if (d->status == GIT_DELTA_DELETED)
        x->rc = index_change(x->c, x->seq, kind, name, NULL);
    else if (d->status == GIT_DELTA_ADDED ||
             (d->status == GIT_DELTA_MODIFIED && !git_oid_equal(&d->old_file.id, &d->new_file.id)))
        x->rc = index_change(x->c, x->seq, kind, name, &d->new_file.id);
    else if (d->status == GIT_DELTA_TYPECHANGE)
        x->rc = index_change(x->c, x->seq, kind, name,
                             (d->new_file.mode & 0170000) == 0100000 ? &d->new_file.id : NULL);
    return x->rc < 0 ? -1 : 0;
}

static int index_commit(cat *c, int64_t seq, const git_oid *id)
{
    static char *paths[] = {"prompts/", "datasets/", "suites/"};
    git_diff_options opts;
    git_commit *commit = NULL, *parent = NULL;
    git_tree *tree = NULL, *ptree = NULL;
    git_diff *diff = NULL;
    diff_ctx x = {c, seq, 0};
    int rc;

    if ((rc = git_commit_lookup(&commit, c->repo, id)) < 0 ||
        (rc = git_commit_tree(&tree, commit)) < 0 ||
        (git_commit_parentcount(commit) > 0 && ((rc = git_commit_parent(&parent, commit, 0)) < 0 ||
                                                (rc = git_commit_tree(&ptree, parent)) < 0))) {
        rc = cat__git_fail(rc, "reading history");
        goto out;
    }
    if ((rc = insert_commit(c, seq, commit)) < 0)
        goto out;
    git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
    opts.pathspec.strings = paths;
    opts.pathspec.count = 3;
    if ((rc = git_diff_tree_to_tree(&diff, c->repo, ptree, tree, &opts)) < 0) {
        rc = cat__git_fail(rc, "reading history");
        goto out;
    }
    rc = git_diff_foreach(diff, diff_file_cb, NULL, NULL, NULL, &x);
    if (x.rc < 0)
        rc = x.rc;
    else if (rc < 0)
        rc = cat__git_fail(rc, "reading history");
out:
    git_diff_free(diff);
    git_tree_free(tree);
    git_tree_free(ptree);
    git_commit_free(parent);
    git_commit_free(commit);
    return rc;
}

int cat__index_update(cat *c, int full)
{
    char indexed[41], branch[256], curbranch[256], hex[41];
    label_vec refs = {0};
    oid_vec chain = {0};
    git_commit *commit = NULL;
    git_oid head, cur;
    int64_t seq;
    int rc, found = 0, have_head;
    size_t i;
    store_stmt *st = NULL;

    if ((rc = read_state(c, indexed, branch, sizeof(branch), &seq)) < 0)
        return rc;
    rc = cat__head(c, &head, curbranch, sizeof(curbranch));
    if (rc < 0 && rc != AS_ENOTFOUND)
        return rc;
    have_head = rc == 0;
    as_error_clear();
    if (strcmp(branch, curbranch) != 0)
        full = 1;
    /* Walk back along first parents to the indexed commit. */
    if (have_head) {
        git_oid_cpy(&cur, &head);
        for (;;) {
            git_oid_tostr(hex, sizeof(hex), &cur);
            if (!full && indexed[0] && strcmp(hex, indexed) == 0) {
                found = 1;
                break;
            }
            if ((rc = oid_push(&chain, &cur)) < 0)
                goto out;
            if ((rc = git_commit_lookup(&commit, c->repo, &cur)) < 0) {
                rc = cat__git_fail(rc, "reading history");
                goto out;
            }
            if (git_commit_parentcount(commit) == 0) {
                git_commit_free(commit);
                commit = NULL;
                break;
            }
            git_oid_cpy(&cur, git_commit_parent_id(commit, 0));
            git_commit_free(commit);
            commit = NULL;
        }
    }
    if (!full && indexed[0] && !found) {
        as_log_info("catalog: indexed commit %.12s left the branch history; rebuilding the index",
                    indexed);
        full = 1;
    }
    if ((rc = labels_from_refs(&refs, c)) < 0)
        goto out;
    if ((rc = store_begin(c->db)) < 0)
        goto out;
    if (full) {
        seq = 0;
        if ((rc = store_exec(c->db, "DELETE FROM cat_changes")) < 0 ||
            (rc = store_exec(c->db, "DELETE FROM cat_items")) < 0 ||
            (rc = store_exec(c->db, "DELETE FROM cat_commits")) < 0)
            goto rollback;
    }
    for (i = chain.n; i > 0; i--) {
        if ((rc = index_commit(c, ++seq, &chain.v[i - 1])) < 0)
            goto rollback;
    }
    if ((rc = labels_write(c, &refs)) < 0)
        goto rollback;
    if ((rc = store_prepare(
             &st, c->db, "UPDATE cat_state SET indexed = ?, branch = ?, seq = ? WHERE id = 1")) < 0)
        goto rollback;
    if (have_head) {
        git_oid_tostr(hex, sizeof(hex), &head);
        store_bind_text(st, 1, hex);
    } else {
        store_bind_null(st, 1);
    }
    store_bind_text(st, 2, curbranch);
    store_bind_int(st, 3, seq);
    rc = store_step_done(st);
    store_finalize(st);
    if (rc < 0 || (rc = store_commit(c->db)) < 0)
        goto rollback;
    if (chain.n)
        as_log_debug("catalog: indexed %zu commit%s", chain.n, chain.n == 1 ? "" : "s");
    goto out;
rollback:
    store_rollback(c->db);
out:
    free(chain.v);
    free(refs.v);
    return rc;
}

int cat_reindex(cat *c)
{
    int rc;

    if ((rc = cat__lock(c)) < 0)
        return rc;
    rc = cat__index_update(c, 1);
    cat__unlock(c);
    return rc;
}
