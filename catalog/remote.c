/* Pull and push through libgit2. Pull fast-forwards the branch only (a
 * diverged branch is refused: merge with git, then assay picks the merge
 * up); push sends the branch without force, so a remote with commits this
 * catalog lacks refuses it. Labels travel too: they are pointers meant to
 * move, so they are updated in both directions as the other side has them. */
#include "catalog/internal.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_REF "refs/assay/fetch-head"

/* A configured remote by name, else 'spec' taken as a path or URL. */
static int open_remote(git_remote **out, cat *c, const char *spec)
{
    int rc;

    if (spec == NULL)
        spec = "origin";
    if (spec[0] == '\0' || strlen(spec) > 4096)
        return as_error_set(AS_EINVAL, "remote '%.60s': not a remote name, path or URL", spec);
    rc = git_remote_lookup(out, c->repo, spec);
    if (rc == 0)
        return 0;
    if (rc != GIT_ENOTFOUND && rc != GIT_EINVALIDSPEC)
        return cat__git_fail(rc, spec);
    if (strchr(spec, '/') == NULL && strchr(spec, ':') == NULL && strcmp(spec, ".") != 0)
        return as_error_set(AS_ENOTFOUND,
                            "remote '%s': no such remote (name one of the "
                            "repository's remotes, or give a path or URL)",
                            spec);
    if ((rc = git_remote_create_anonymous(out, c->repo, spec)) < 0)
        return cat__git_fail(rc, spec);
    return 0;
}

static int branch_name(cat *c, char *branch, size_t size, git_oid *head, int *have_head)
{
    int rc = cat__head(c, head, branch, size);

    *have_head = rc == 0;
    if (rc < 0 && rc != AS_ENOTFOUND)
        return rc;
    as_error_clear();
    if (strncmp(branch, "refs/heads/", 11) != 0)
        return as_error_set(AS_EINVAL, "%s: HEAD is detached; check out a branch", c->repo_path);
    return 0;
}

static int fetch(git_remote *remote, const char *spec, const char *refspec, const char *what)
{
    git_fetch_options fo;
    char *specs[1];
    git_strarray arr = {specs, 1};
    int rc;

    git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
    specs[0] = (char *)refspec;
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    fo.prune = GIT_FETCH_NO_PRUNE;
    if ((rc = git_remote_fetch(remote, &arr, &fo, "assay: pull")) < 0)
        return cat__git_fail(rc, spec ? spec : what);
    return 0;
}

static char *dup_summary(const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(fmt) + strlen(a) + strlen(b) + 1;
    char *s = malloc(n);

    if (s)
        snprintf(s, n, fmt, a, b);
    return s;
}

/* 1 when the local branch is only the initial commit of a new catalog
 * (no parent, nothing indexed): pulling then adopts the remote's history,
 * which loses nothing. */
static int pristine(cat *c, const git_oid *head)
{
    git_commit *commit = NULL;
    store_stmt *st = NULL;
    int parents = 1, items = 1;

    if (git_commit_lookup(&commit, c->repo, head) == 0)
        parents = (int)git_commit_parentcount(commit);
    git_commit_free(commit);
    if (store_prepare(&st, c->db, "SELECT count(*) FROM cat_items") == 0 &&
        store_step(st) == STORE_ROW)
        items = (int)store_col_int(st, 0);
    store_finalize(st);
    return parents == 0 && items == 0;
}

int cat_pull(char **summary, cat *c, const char *spec)
{
    char branch[256], refspec[600], lhex[41], rhex[41];
    const char *rname = spec ? spec : "origin";
    git_remote *remote = NULL;
    git_reference *fetched = NULL, *moved = NULL;
    git_commit *lcommit = NULL;
    git_tree *old_tree = NULL;
    git_oid head, theirs;
    int rc, have_head;

    *summary = NULL;
    if ((rc = cat__lock(c)) < 0)
        return rc;
    if ((rc = cat__index_update(c, 0)) < 0 || (rc = open_remote(&remote, c, spec)) < 0 ||
        (rc = branch_name(c, branch, sizeof(branch), &head, &have_head)) < 0)
        goto out;
    snprintf(refspec, sizeof(refspec), "+%s:%s", branch, FETCH_REF);
    if ((rc = fetch(remote, rname, refspec, "pull")) < 0)
        goto out;
    if ((rc = git_reference_lookup(&fetched, c->repo, FETCH_REF)) < 0) {
        rc = as_error_set(AS_ENOTFOUND, "remote '%s': has no branch %s", rname, branch + 11);
        goto out;
    }
    git_oid_cpy(&theirs, git_reference_target(fetched));
    git_oid_tostr(rhex, sizeof(rhex), &theirs);
    git_oid_tostr(lhex, sizeof(lhex), &head);
    if (have_head && git_oid_equal(&head, &theirs)) {
        *summary = dup_summary("already up to date with %s (%.12s)", rname, rhex);
    } else if (have_head && git_graph_descendant_of(c->repo, &head, &theirs) == 1) {
        *summary = dup_summary("%s is behind this catalog; nothing to pull (%.12s)", rname, lhex);
    } else if (!have_head || git_graph_descendant_of(c->repo, &theirs, &head) == 1 ||
               pristine(c, &head)) {
        git_checkout_options co;

        git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
        if (have_head && ((rc = git_commit_lookup(&lcommit, c->repo, &head)) < 0 ||
                          (rc = git_commit_tree(&old_tree, lcommit)) < 0)) {
            rc = cat__git_fail(rc, c->repo_path);
            goto out;
        }
        rc = have_head ? git_reference_create_matching(&moved, c->repo, branch, &theirs, 1, &head,
                                                       "assay: pull (fast-forward)")
                       : git_reference_create(&moved, c->repo, branch, &theirs, 0, "assay: pull");
        if (rc < 0) {
            rc = cat__git_fail(rc, branch);
            goto out;
        }
        co.checkout_strategy = GIT_CHECKOUT_SAFE;
        co.baseline = old_tree;
        if (git_checkout_head(c->repo, &co) < 0)
            git_error_clear();
        *summary = dup_summary("updated from %s to %.12s", rname, rhex);
    } else {
        rc = as_error_set(AS_ECONFLICT,
                          "pull from %s: the branches diverged (local %.12s, remote %.12s); merge "
                          "with git in %s, then assay picks the merge up",
                          rname, lhex, rhex, c->repo_path);
        goto out;
    }
    /* Labels: take the remote's. */
    if ((rc = fetch(remote, rname, "+refs/labels/*:refs/labels/*", "pull")) < 0)
        goto out;
    rc = cat__index_update(c, 0);
    if (rc == 0 && *summary == NULL)
        rc = as_error_set(AS_ENOMEM, "out of memory");
out:
    if (fetched)
        git_reference_delete(fetched);
    git_reference_free(fetched);
    git_reference_free(moved);
    git_tree_free(old_tree);
    git_commit_free(lcommit);
    git_remote_free(remote);
    cat__unlock(c);
    if (rc < 0) {
        free(*summary);
        *summary = NULL;
    }
    return rc;
}

typedef struct push_status {
    char refname[256];
    char msg[256];
    int rejected;
} push_status;

static int push_update_cb(const char *refname, const char *status, void *data)
{
    push_status *ps = data;

    if (status != NULL && !ps->rejected) {
        ps->rejected = 1;
        snprintf(ps->refname, sizeof(ps->refname), "%s", refname);
        snprintf(ps->msg, sizeof(ps->msg), "%s", status);
    }
    return 0;
}

static void specs_free(git_strarray *arr)
{
    size_t i;

    for (i = 0; i < arr->count; i++)
        free(arr->strings[i]);
    free(arr->strings);
    arr->strings = NULL;
    arr->count = 0;
}

/* The branch refspec plus a forced refspec for every label ref (libgit2
 * pushes take no globs). */
static int push_specs(git_strarray *arr, cat *c, const char *branch_spec)
{
    git_reference_iterator *it = NULL;
    git_reference *ref;
    size_t cap = 8;
    int rc;

    if ((arr->strings = calloc(cap, sizeof(char *))) == NULL ||
        (arr->strings[0] = strdup(branch_spec)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    arr->count = 1;
    if ((rc = git_reference_iterator_glob_new(&it, c->repo, "refs/labels/*")) < 0)
        return cat__git_fail(rc, "listing labels");
    while ((rc = git_reference_next(&ref, it)) == 0) {
        const char *name = git_reference_name(ref);
        size_t n = 2 * strlen(name) + 3;
        char *spec;
        if (arr->count == cap) {
            char **v = realloc(arr->strings, 2 * cap * sizeof(char *));
            if (v == NULL) {
                git_reference_free(ref);
                git_reference_iterator_free(it);
                return as_error_set(AS_ENOMEM, "out of memory");
            }
            arr->strings = v;
            cap *= 2;
        }
        if ((spec = malloc(n)) == NULL) {
            git_reference_free(ref);
            git_reference_iterator_free(it);
            return as_error_set(AS_ENOMEM, "out of memory");
        }
        snprintf(spec, n, "+%s:%s", name, name);
        arr->strings[arr->count++] = spec;
        git_reference_free(ref);
    }
    git_reference_iterator_free(it);
    return rc == GIT_ITEROVER ? 0 : cat__git_fail(rc, "listing labels");
}

int cat_push(char **summary, cat *c, const char *spec)
{
    char branch[256], spec_branch[600], hex[41];
    const char *rname = spec ? spec : "origin";
    git_push_options po;
    git_remote *remote = NULL;
    push_status ps;
    git_oid head;
    git_strarray arr = {NULL, 0};
    int rc, have_head;

    *summary = NULL;
    memset(&ps, 0, sizeof(ps));
    git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
    if ((rc = cat__lock(c)) < 0)
        return rc;
    if ((rc = cat__index_update(c, 0)) < 0 || (rc = open_remote(&remote, c, spec)) < 0 ||
        (rc = branch_name(c, branch, sizeof(branch), &head, &have_head)) < 0)
        goto out;
    if (!have_head) {
        rc = as_error_set(AS_ENOTFOUND, "%s: nothing to push", c->repo_path);
        goto out;
    }
    /* No '+': a non-fast-forward update of the branch is refused. */
    snprintf(spec_branch, sizeof(spec_branch), "%s:%s", branch, branch);
    if ((rc = push_specs(&arr, c, spec_branch)) < 0)
        goto out;
    po.callbacks.push_update_reference = push_update_cb;
    po.callbacks.payload = &ps;
    rc = git_remote_push(remote, &arr, &po);
    if (rc == GIT_ENONFASTFORWARD ||
        (rc < 0 && git_error_last() && strstr(git_error_last()->message, "fastforward"))) {
        rc = as_error_set(AS_ECONFLICT,
                          "push to %s refused: the remote has commits this catalog lacks "
                          "(non-fast-forward); run 'assay catalog pull' first",
                          rname);
        goto out;
    }
    if (rc < 0) {
        rc = cat__git_fail(rc, rname);
        goto out;
    }
    if (ps.rejected) {
        rc = as_error_set(AS_ECONFLICT, "push to %s refused for %s: %s", rname, ps.refname, ps.msg);
        goto out;
    }
    git_oid_tostr(hex, sizeof(hex), &head);
    *summary = dup_summary("pushed to %s (%.12s)", rname, hex);
    if (*summary == NULL)
        rc = as_error_set(AS_ENOMEM, "out of memory");
out:
    specs_free(&arr);
    git_remote_free(remote);
    cat__unlock(c);
    return rc;
}
