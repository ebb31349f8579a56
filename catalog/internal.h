/* Private to catalog/: the cat handle and the helpers its files share.
 * This header (and the .c files of catalog/) are the only includers of
 * git2.h in assay. */
#ifndef AS_CATALOG_INTERNAL_H
#define AS_CATALOG_INTERNAL_H

#include <git2.h>

#include "catalog/catalog.h"

struct cat {
    char *data_dir;
    char *repo_path; /* DATA/catalog */
    char *db_path;   /* DATA/assay.db */
    char *lock_path; /* DATA/catalog.lock */
    git_repository *repo;
    store *db;
    int lock_fd;    /* -1 when the writer lock is not held */
    int lock_depth; /* nested cat__lock calls */
};

/* Translate the last libgit2 error: returns a code (AS_ENOTFOUND for
 * GIT_ENOTFOUND, AS_ECONFLICT for non-fast-forward, AS_ECORRUPT for
 * corruption, else AS_ERROR) after setting "<what>: <libgit2 message>". */
int cat__git_fail(int gitrc, const char *what);

/* The writer lock (flock on DATA/catalog.lock), re-entrant. Waits up to
 * two minutes, then AS_EBUSY. */
int cat__lock(cat *c);
void cat__unlock(cat *c);

/* Bring the SQLite index up to the branch head (full rebuild when 'full'
 * or when the indexed commit is no longer in first-parent history) and the
 * label mirror up to refs/labels/. Caller holds the lock. */
int cat__index_update(cat *c, int full);
/* 1 when the index is behind the repository (head moved or labels differ). */
int cat__index_stale(cat *c);

/* The branch head commit into *out; AS_ENOTFOUND when the branch is unborn. */
int cat__head(cat *c, git_oid *out, char *branch, size_t branch_size);

/* "prompts", "datasets", "suites" and the file suffixes. */
const char *cat__kind_dir(cat_kind kind);
const char *cat__kind_ext(cat_kind kind);
/* The path of an item's file into out ("prompts/NAME.json"). */
int cat__item_path(char *out, size_t size, cat_kind kind, const char *name);
/* Split a repository path into kind and name: 1 when it is an item file
 * with a valid name, else 0. */
int cat__path_item(const char *path, cat_kind *kind, char *name, size_t name_size);
/* The label ref name "refs/labels/prompts/NAME@LABEL" into out. */
int cat__label_refname(char *out, size_t size, cat_kind kind, const char *name, const char *label);
/* Parse a label ref name: 1 when it is one, else 0. */
int cat__label_parse_ref(const char *ref, cat_kind *kind, char *name, size_t name_size, char *label,
                         size_t label_size);

/* Count the cases of a dataset's bytes (non-blank lines). */
int64_t cat__count_cases(const char *data, size_t len);

/* Write a commit on the branch that sets 'path' to 'blob' (NULL removes it)
 * with 'opts', move the branch (compare-and-swap on the old head), update
 * the work tree when it has no local changes, and index the commit.
 * AS_EEXISTS when the tree would not change. Caller holds the lock. */
int cat__commit_path(cat *c, git_oid *commit_out, const char *path, const git_oid *blob,
                     const cat_commit_opts *opts, const char *default_message);

/* Fill a version from an index row of cat_changes joined to cat_commits. */
int cat__version_at(cat_version *out, cat *c, cat_kind kind, const char *name, int version);

/* 'ref' as given when it is NAME or NAME@X, else NAME@ref, into out. */
int cat__full_ref(char *out, size_t size, const char *name, const char *ref);

/* The index row of an item: *exists, newest version number, removed flag. */
int cat__item_state(cat *c, cat_kind kind, const char *name, int *exists, int *versions,
                    int *removed);

/* Read a blob by hex id into a new NUL-terminated buffer, capped at max. */
int cat__read_blob(char **data, size_t *len, cat *c, const char *hex, size_t max, const char *what);

#endif
