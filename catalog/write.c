/* Writing the catalog: one commit per change, made directly in the object
 * database on top of the branch head (never through the work tree), then
 * the branch is moved with a compare-and-swap, the work tree is brought
 * along when it has no local edits, and the new commit is indexed.
 *
 * Ordering: git first, then the SQLite index in one transaction. If the
 * index update fails after the branch moved, the repository (the source of
 * truth) already holds the change and the next command, seeing the head
 * ahead of the index, indexes it; nothing is half-written in either. */
#include "catalog/internal.h"
#include "common/error.h"
#include "common/log.h"
#include "common/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* "Name <email>" into a new signature dated now. */
static int parse_author(git_signature **out, const char *author)
{
    const char *lt = strrchr(author, '<'), *gt = strrchr(author, '>');
    char name[256], email[256];
    size_t nl, el, bad;
    int rc;

    if (strlen(author) > 250 || !as_utf8_valid(author, strlen(author), &bad))
        return as_error_set(AS_EINVAL, "author '%.60s': too long or not UTF-8", author);
    if (lt == NULL || gt == NULL || gt < lt || gt[1] != '\0')
        return as_error_set(AS_EINVAL, "author '%s': expected 'Name <email>'", author);
    nl = (size_t)(lt - author);
    while (nl > 0 && author[nl - 1] == ' ')
        nl--;
    el = (size_t)(gt - lt - 1);
    if (nl == 0 || el == 0 || memchr(lt + 1, '<', el) || memchr(author, '>', nl))
        return as_error_set(AS_EINVAL, "author '%s': expected 'Name <email>'", author);
    memcpy(name, author, nl);
    name[nl] = '\0';
    memcpy(email, lt + 1, el);
    email[el] = '\0';
    if ((rc = git_signature_now(out, name, email)) < 0)
        return as_error_set(AS_EINVAL, "author '%s': not a usable signature", author);
    return 0;
}

static int signature(git_signature **out, cat *c, const char *author)
{
    const char *name = getenv("GIT_AUTHOR_NAME"), *email = getenv("GIT_AUTHOR_EMAIL");

    if (author)
        return parse_author(out, author);
    if (name && name[0] && email && email[0] && git_signature_now(out, name, email) == 0)
        return 0;
    if (git_signature_default(out, c->repo) == 0)
        return 0;
    if (git_signature_now(out, "assay", "assay@localhost") < 0)
        return cat__git_fail(-1, "signature");
    return 0;
}

static int check_message(const char *msg)
{
    size_t len = strlen(msg), bad;

    if (len == 0)
        return as_error_set(AS_EINVAL, "commit message: must not be empty");
    if (len > CAT_MESSAGE_MAX)
        return as_error_set(AS_EINVAL, "commit message: longer than %d bytes", CAT_MESSAGE_MAX);
    if (!as_utf8_valid(msg, len, &bad))
        return as_error_set(AS_EINVAL, "commit message: invalid UTF-8 at byte %zu", bad);
    return 0;
}

/* Update the work tree from 'old_tree' to the new head; local edits make
 * libgit2 refuse, and then the work tree is left alone with a warning. */
static void update_worktree(cat *c, git_tree *old_tree)
{
    git_checkout_options co;

    git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
    co.checkout_strategy = GIT_CHECKOUT_SAFE;
    co.baseline = old_tree;
    if (git_checkout_head(c->repo, &co) < 0) {
        const git_error *e = git_error_last();
        as_log_warn("catalog: work tree of %s not updated (%s); the commit is made", c->repo_path,
                    e && e->message ? e->message : "local changes");
    }
}

/* Refuse a change whose file the disk has no room for, before the branch
 * moves: a checkout that runs out of space leaves a cut file in the work
 * tree and an index without it, which a later 'git commit -a' records as a
 * deletion. Room: the file, an eighth more and 1 MiB for the database. */
static int check_room(cat *c, const char *path, const git_oid *blob)
{
    struct statvfs fs;
    git_odb *odb = NULL;
    git_object_t type;
    size_t len;
    unsigned long long avail, need;
    int rc;

    if ((rc = git_repository_odb(&odb, c->repo)) == 0)
        rc = git_odb_read_header(&len, &type, odb, blob);
    git_odb_free(odb);
    if (rc < 0)
        return cat__git_fail(rc, path);
    if (statvfs(c->repo_path, &fs) != 0)
        return 0;       /* unknown: the writes themselves will tell */
    avail = (unsigned long long)fs.f_bavail * fs.f_frsize;
    need = (unsigned long long)len + len / 8 + (1u << 20);
    if (avail < need)
        return as_error_set(AS_ETOOBIG, "%s: not enough free space on the disk of %s (%llu bytes "
                            "needed, %llu free); nothing committed", path, c->repo_path, need,
                            avail);
    return 0;
}

int cat__commit_path(cat *c, git_oid *commit_out, const char *path, const git_oid *blob,
                     const cat_commit_opts *opts, const char *default_message)
{
    char branch[256];
    const char *msg = opts && opts->message ? opts->message : default_message;
    git_oid head, tree_id;
    git_commit *parent = NULL;
    git_tree *old_tree = NULL, *new_tree = NULL;
    git_signature *sig = NULL;
    git_reference *ref = NULL;
    git_tree_update upd;
    int rc, have_head;
    char *full = NULL;
    size_t ml;

    if ((rc = check_message(msg)) < 0)
        return rc;
    if ((rc = signature(&sig, c, opts ? opts->author : NULL)) < 0)
        return rc;
    rc = cat__head(c, &head, branch, sizeof(branch));
    if (rc < 0 && rc != AS_ENOTFOUND)
        goto out;
    have_head = rc == 0;
    if (strncmp(branch, "refs/heads/", 11) != 0) {
        rc = as_error_set(AS_EINVAL, "%s: HEAD is detached; check out a branch", c->repo_path);
        goto out;
    }
    if (have_head && ((rc = git_commit_lookup(&parent, c->repo, &head)) < 0 ||
                      (rc = git_commit_tree(&old_tree, parent)) < 0)) {
        rc = cat__git_fail(rc, c->repo_path);
        goto out;
    }
    memset(&upd, 0, sizeof(upd));
    upd.action = blob ? GIT_TREE_UPDATE_UPSERT : GIT_TREE_UPDATE_REMOVE;
    if (blob)
        git_oid_cpy(&upd.id, blob);
    upd.filemode = GIT_FILEMODE_BLOB;
    upd.path = path;
    if ((rc = git_tree_create_updated(&tree_id, c->repo, old_tree, 1, &upd)) < 0) {
        rc = cat__git_fail(rc, path);
        goto out;
    }
    if (old_tree && git_oid_equal(&tree_id, git_tree_id(old_tree))) {
        rc = as_error_set(AS_EEXISTS, "%s: unchanged", path);
        goto out;
    }
    if (blob && (rc = check_room(c, path, blob)) < 0)
        goto out;
    ml = strlen(msg);
    if ((full = malloc(ml + 2)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(full, msg, ml);
    full[ml] = msg[ml - 1] == '\n' ? '\0' : '\n';
    full[ml + 1] = '\0';
    if ((rc = git_tree_lookup(&new_tree, c->repo, &tree_id)) < 0 ||
        (rc = git_commit_create(commit_out, c->repo, NULL, sig, sig, NULL, full, new_tree,
                                parent ? 1 : 0, (const git_commit **)&parent)) < 0) {
        rc = cat__git_fail(rc, "writing the commit");
        goto out;
    }
    /* Compare-and-swap: a plain-git commit racing with us is not lost. */
    if (have_head)
        rc = git_reference_create_matching(&ref, c->repo, branch, commit_out, 1, &head,
                                           "assay: commit");
    else
        rc = git_reference_create(&ref, c->repo, branch, commit_out, 0, "assay: commit");
    if (rc < 0) {
        rc = cat__git_fail(rc, rc == GIT_ELOCKED
                                   ? "moving the branch (locked by another writer, or by one "
                                     "that was killed: then remove the .lock file)"
                                   : "moving the branch (it moved meanwhile; try again)");
        goto out;
    }
    if (old_tree)
        update_worktree(c, old_tree);
    if ((rc = cat__index_update(c, 0)) < 0) {
        char hex[41];
        git_oid_tostr(hex, sizeof(hex), commit_out);
        rc = as_error_wrap(rc, "committed %.12s but indexing it failed (the next command retries)",
                           hex);
    }
out:
    free(full);
    git_reference_free(ref);
    git_tree_free(new_tree);
    git_tree_free(old_tree);
    git_commit_free(parent);
    git_signature_free(sig);
    return rc;
}

/* Check a document before it is committed; sets the error naming it. */
static int check_doc(cat *c, cat_kind kind, const char *name, const char *data, size_t len)
{
    char what[CAT_NAME_MAX + 16];
    const char *docname;
    int rc;

    snprintf(what, sizeof(what), "%s %s", cat_kind_name(kind), name);
    if (kind == CAT_PROMPT) {
        cat_prompt *p = NULL;
        if ((rc = cat_prompt_parse(&p, data, len, what)) < 0)
            return rc;
        docname = p->name;
        if (docname && strcmp(docname, name) != 0)
            rc = as_error_set(AS_EINVAL, "%s: field 'name' is '%s'", what, docname);
        cat_prompt_free(p);
        return rc;
    }
    if (kind == CAT_SUITE) {
        cat_suite *s = NULL;
        cat_version v;
        if ((rc = cat_suite_parse(&s, data, len, what)) < 0)
            return rc;
        if (s->name && strcmp(s->name, name) != 0)
            rc = as_error_set(AS_EINVAL, "%s: field 'name' is '%s'", what, s->name);
        else if ((rc = cat_resolve(&v, c, CAT_PROMPT, s->prompt_ref)) < 0)
            rc = as_error_wrap(rc, "%s: field 'prompt'", what);
        else if ((rc = cat_resolve(&v, c, CAT_DATASET, s->dataset_ref)) < 0)
            rc = as_error_wrap(rc, "%s: field 'dataset'", what);
        cat_suite_free(s);
        return rc;
    }
    return as_error_set(AS_EINVAL, "datasets are added from a file (cat_put_dataset_file)");
}

int cat_put_doc(cat_version *out, cat *c, cat_kind kind, const char *name, const char *data,
                size_t len, const cat_commit_opts *opts)
{
    char path[CAT_NAME_MAX + 16], defmsg[CAT_NAME_MAX + 32];
    git_oid blob, commit;
    cat_version cur;
    int rc, exists;

    memset(out, 0, sizeof(*out));
    if (!cat_name_valid(name))
        return AS_EINVAL;
    if ((rc = cat__item_path(path, sizeof(path), kind, name)) < 0)
        return rc;
    if ((rc = cat__lock(c)) < 0)
        return rc;
    if ((rc = cat__index_update(c, 0)) < 0 || (rc = check_doc(c, kind, name, data, len)) < 0)
        goto out;
    exists = cat_resolve(&cur, c, kind, name) == 0;
    as_error_clear();
    snprintf(defmsg, sizeof(defmsg), "%s %s: %s", cat_kind_name(kind), name,
             exists ? "update" : "add");
    if ((rc = git_blob_create_from_buffer(&blob, c->repo, data, len)) < 0) {
        rc = cat__git_fail(rc, path);
        goto out;
    }
    rc = cat__commit_path(c, &commit, path, &blob, opts, defmsg);
    if (rc == 0 || rc == AS_EEXISTS) {
        int rc2 = cat_resolve(out, c, kind, name);
        if (rc2 < 0)
            rc = rc2;
        else if (rc == AS_EEXISTS)
            as_error_set(AS_EEXISTS, "%s %s: identical to v%d; nothing committed",
                         cat_kind_name(kind), name, out->version);
    }
out:
    cat__unlock(c);
    return rc;
}

int cat_remove(cat *c, cat_kind kind, const char *name, const cat_commit_opts *opts,
               char *commit_out)
{
    char path[CAT_NAME_MAX + 16], defmsg[CAT_NAME_MAX + 32];
    cat_version cur;
    git_oid commit;
    int rc;

    if (!cat_name_valid(name))
        return AS_EINVAL;
    if ((rc = cat__item_path(path, sizeof(path), kind, name)) < 0)
        return rc;
    if ((rc = cat__lock(c)) < 0)
        return rc;
    if ((rc = cat__index_update(c, 0)) < 0 || (rc = cat_resolve(&cur, c, kind, name)) < 0)
        goto out;
    snprintf(defmsg, sizeof(defmsg), "%s %s: remove", cat_kind_name(kind), name);
    if ((rc = cat__commit_path(c, &commit, path, NULL, opts, defmsg)) < 0)
        goto out;
    if (commit_out)
        git_oid_tostr(commit_out, 41, &commit);
out:
    cat__unlock(c);
    return rc;
}

int cat_label_set(cat_version *out, cat *c, cat_kind kind, const char *name, const char *ref,
                  const char *label)
{
    char full[CAT_NAME_MAX + 64], refname[CAT_NAME_MAX + 96];
    git_reference *gref = NULL;
    int rc, exists, versions, removed;
    cat_version v;
    git_oid oid;

    if (!cat_name_valid(name) || !cat_label_valid(label))
        return AS_EINVAL;
    if ((rc = cat__full_ref(full, sizeof(full), name, ref)) < 0 ||
        (rc = cat__label_refname(refname, sizeof(refname), kind, name, label)) < 0)
        return rc;
    if ((rc = cat__lock(c)) < 0)
        return rc;
    if ((rc = cat__index_update(c, 0)) < 0)
        goto out;
    /* The newest state decides: a removed item takes no labels. */
    if ((rc = cat__item_state(c, kind, name, &exists, &versions, &removed)) < 0)
        goto out;
    if (!exists) {
        rc = as_error_set(AS_ENOTFOUND, "%s '%s': not found", cat_kind_name(kind), name);
        goto out;
    }
    if (removed) {
        rc = as_error_set(AS_EINVAL, "%s '%s': removed; a removed %s takes no labels",
                          cat_kind_name(kind), name, cat_kind_name(kind));
        goto out;
    }
    if ((rc = cat_resolve(&v, c, kind, full)) < 0)
        goto out;
    if (git_oid_fromstr(&oid, v.commit) < 0) {
        rc = as_error_set(AS_ECORRUPT, "index: bad commit id '%.40s'", v.commit);
        goto out;
    }
    if ((rc = git_reference_create(&gref, c->repo, refname, &oid, 1, "assay: label")) < 0) {
        rc = cat__git_fail(rc, refname);
        goto out;
    }
    if ((rc = cat__index_update(c, 0)) < 0)
        goto out;
    if (out)
        *out = v;
out:
    git_reference_free(gref);
    cat__unlock(c);
    return rc;
}

int cat_label_delete(cat *c, cat_kind kind, const char *name, const char *label)
{
    char refname[CAT_NAME_MAX + 96];
    git_reference *gref = NULL;
    int rc;

    if (!cat_name_valid(name) || !cat_label_valid(label))
        return AS_EINVAL;
    if ((rc = cat__label_refname(refname, sizeof(refname), kind, name, label)) < 0)
        return rc;
    if ((rc = cat__lock(c)) < 0)
        return rc;
    if ((rc = git_reference_lookup(&gref, c->repo, refname)) < 0) {
        rc = rc == GIT_ENOTFOUND ? as_error_set(AS_ENOTFOUND, "%s '%s': no label '%s'",
                                                cat_kind_name(kind), name, label)
                                 : cat__git_fail(rc, refname);
        goto out;
    }
    if ((rc = git_reference_delete(gref)) < 0) {
        rc = cat__git_fail(rc, refname);
        goto out;
    }
    rc = cat__index_update(c, 0);
out:
    git_reference_free(gref);
    cat__unlock(c);
    return rc;
}

int cat_prompt_load(cat_prompt **out, cat_version *ver, cat *c, const char *ref)
{
    char what[CAT_NAME_MAX + 32];
    cat_version v;
    char *data = NULL;
    size_t len;
    int rc;

    *out = NULL;
    if ((rc = cat_resolve(&v, c, CAT_PROMPT, ref)) < 0 || (rc = cat_read(&data, &len, c, &v)) < 0)
        return rc;
    snprintf(what, sizeof(what), "prompt %s@v%d", v.name, v.version);
    rc = cat_prompt_parse(out, data, len, what);
    free(data);
    if (rc == 0 && ver)
        *ver = v;
    return rc;
}
