/* Opening a data directory's catalog: the git repository and the SQLite
 * index side by side, created together on first use; the writer lock; the
 * status summary; libgit2 error translation. */
#include "catalog/internal.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define LOCK_WAIT_MS 120000

static const char catalog_readme[] =
    "# assay catalog\n"
    "\n"
    "Prompts, datasets and suites of an assay data directory.\n"
    "\n"
    "- `prompts/NAME.json`: a prompt (messages or template, params, variables, tags)\n"
    "- `datasets/NAME.jsonl`: one case a line: {\"id\", \"vars\", \"expected\", \"tags\"}\n"
    "- `suites/NAME.json`: prompt + dataset + metrics + models\n"
    "\n"
    "Every commit that changes a file is a version (v1, v2, ...); labels are refs\n"
    "under refs/labels/. Edit with git or with `assay prompt add`.\n";

int cat_global_init(void)
{
    int rc = git_libgit2_init();

    return rc < 0 ? cat__git_fail(rc, "starting libgit2") : 0;
}

void cat_global_shutdown(void)
{
    git_libgit2_shutdown();
}

int cat__git_fail(int gitrc, const char *what)
{
    const git_error *e = git_error_last();
    const char *msg = e && e->message ? e->message : "git error";
    int code = AS_ERROR;
    size_t n;

    if (gitrc == GIT_ENOTFOUND)
        code = AS_ENOTFOUND;
    else if (gitrc == GIT_ENONFASTFORWARD)
        code = AS_ECONFLICT;
    else if (gitrc == GIT_ELOCKED)
        code = AS_EBUSY;
    else if (gitrc == GIT_EMODIFIED)
        code = AS_ECONFLICT;
    else if (e && (e->klass == GIT_ERROR_ODB || e->klass == GIT_ERROR_ZLIB ||
                   e->klass == GIT_ERROR_REPOSITORY || e->klass == GIT_ERROR_OBJECT))
        code = AS_ECORRUPT;
    /* libgit2 ends some messages with ": " and an empty system error */
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == ':'))
        n--;
    return as_error_set(code, "%s: %.*s", what, (int)n, msg);
}

store *cat_store(cat *c)
{
    return c->db;
}

const char *cat_repo_path(const cat *c)
{
    return c->repo_path;
}

int cat__lock(cat *c)
{
    struct timespec pause = {0, 10 * 1000 * 1000};
    int waited = 0;

    if (c->lock_depth > 0) {
        c->lock_depth++;
        return 0;
    }
    c->lock_fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (c->lock_fd < 0)
        return as_error_set(AS_ERROR, "%s: %s", c->lock_path, strerror(errno));
    while (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int err = errno;
            close(c->lock_fd);
            c->lock_fd = -1;
            return as_error_set(AS_ERROR, "%s: %s", c->lock_path, strerror(err));
        }
        if (waited >= LOCK_WAIT_MS) {
            close(c->lock_fd);
            c->lock_fd = -1;
            return as_error_set(AS_EBUSY, "%s: another assay is writing the catalog", c->lock_path);
        }
        nanosleep(&pause, NULL);
        waited += 10;
    }
    c->lock_depth = 1;
    return 0;
}

void cat__unlock(cat *c)
{
    if (c->lock_depth == 0 || --c->lock_depth > 0)
        return;
    flock(c->lock_fd, LOCK_UN);
    close(c->lock_fd);
    c->lock_fd = -1;
}

int cat__head(cat *c, git_oid *out, char *branch, size_t branch_size)
{
    git_reference *head = NULL, *resolved = NULL;
    int rc;

    if ((rc = git_reference_lookup(&head, c->repo, "HEAD")) < 0)
        return cat__git_fail(rc, c->repo_path);
    if (branch && branch_size)
        snprintf(branch, branch_size, "%s",
                 git_reference_type(head) == GIT_REFERENCE_SYMBOLIC
                     ? git_reference_symbolic_target(head)
                     : "HEAD");
    rc = git_reference_resolve(&resolved, head);
    git_reference_free(head);
    if (rc == GIT_ENOTFOUND) {
        as_error_set(AS_ENOTFOUND, "%s: the branch has no commit", c->repo_path);
        return AS_ENOTFOUND;
    }
    if (rc < 0)
        return cat__git_fail(rc, c->repo_path);
    git_oid_cpy(out, git_reference_target(resolved));
    git_reference_free(resolved);
    return 0;
}

/* A new repository with one commit holding README.md, HEAD on "main", and
 * pushes into its checked-out branch allowed (they update the work tree). */
static int create_repo(cat *c)
{
    git_repository_init_options opts;
    git_checkout_options co;
    git_treebuilder *tb = NULL;
    git_signature *sig = NULL;
    git_config *cfg = NULL;
    git_tree *tree = NULL;
    git_oid blob, tree_id, commit;
    int rc;

    git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
    opts.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
    opts.initial_head = "main";
    if ((rc = git_repository_init_ext(&c->repo, c->repo_path, &opts)) < 0)
        return cat__git_fail(rc, c->repo_path);
    if ((rc = git_repository_config(&cfg, c->repo)) < 0 ||
        (rc = git_config_set_string(cfg, "receive.denyCurrentBranch", "updateInstead")) < 0 ||
        (rc = git_blob_create_from_buffer(&blob, c->repo, catalog_readme, strlen(catalog_readme))) <
            0 ||
        (rc = git_treebuilder_new(&tb, c->repo, NULL)) < 0 ||
        (rc = git_treebuilder_insert(NULL, tb, "README.md", &blob, GIT_FILEMODE_BLOB)) < 0 ||
        (rc = git_treebuilder_write(&tree_id, tb)) < 0 ||
        (rc = git_tree_lookup(&tree, c->repo, &tree_id)) < 0 ||
        (rc = git_signature_now(&sig, "assay", "assay@localhost")) < 0 ||
        (rc = git_commit_create(&commit, c->repo, "HEAD", sig, sig, NULL, "catalog: initialize",
                                tree, 0, NULL)) < 0) {
        rc = cat__git_fail(rc, c->repo_path);
        goto out;
    }
    co.checkout_strategy = GIT_CHECKOUT_FORCE;
    if ((rc = git_checkout_head(c->repo, &co)) < 0)
        rc = cat__git_fail(rc, c->repo_path);
out:
    git_config_free(cfg);
    git_treebuilder_free(tb);
    git_tree_free(tree);
    git_signature_free(sig);
    return rc;
}

static int open_repo(cat *c)
{
    int rc = git_repository_open_ext(&c->repo, c->repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);

    if (rc < 0) {
        const git_error *e = git_error_last();
        return as_error_set(AS_ECORRUPT, "%s: not a usable git repository (%s)", c->repo_path,
                            e && e->message ? e->message : "open failed");
    }
    if (git_repository_is_bare(c->repo))
        return as_error_set(AS_ECORRUPT, "%s: a bare repository; the catalog needs a work tree",
                            c->repo_path);
    return 0;
}

static int index_is_empty(cat *c, int *empty)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, c->db, "SELECT indexed IS NULL FROM cat_state WHERE id = 1")) < 0)
        return rc;
    rc = store_step(st);
    *empty = rc == STORE_ROW ? (int)store_col_int(st, 0) : 1;
    store_finalize(st);
    return rc < 0 ? rc : 0;
}

static char *strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Create what is missing of the data directory, under the lock so two
 * first uses cannot both create. A database without a repository is fine
 * while its catalog index is empty (another command created the database
 * first); once the index names commits, a missing repository is an error,
 * as is a missing database next to a repository unless 'repair'. */
static int create_missing(cat *c, int repair, int *created)
{
    int rc, have_repo = as_path_exists(c->repo_path), have_db = as_path_exists(c->db_path);
    int empty = 0;

    if (have_repo && !have_db && !repair)
        return as_error_set(AS_ENOTFOUND,
                            "%s: database missing next to the catalog repository (run 'assay "
                            "catalog init' to rebuild it)",
                            c->db_path);
    if ((rc = store_open(&c->db, c->db_path, STORE_OPEN_MIGRATE)) < 0)
        return rc;
    if (have_repo) {
        if ((rc = open_repo(c)) < 0)
            return rc;
    } else {
        if (have_db && (rc = index_is_empty(c, &empty)) < 0)
            return rc;
        if (have_db && !empty)
            return as_error_set(AS_ENOTFOUND,
                                "%s: catalog repository missing while the index names commits",
                                c->repo_path);
        if ((rc = create_repo(c)) < 0)
            return rc;
    }
    if (created)
        *created = 1;
    return 0;
}

/* Open or create; 'repair' allows creating one half next to the other. */
static int cat_open_mode(cat **out, const char *data_dir, int repair, int flags, int *created)
{
    cat *c;
    int rc;

    *out = NULL;
    if (created)
        *created = 0;
    if ((rc = cat_global_init()) < 0)
        return rc;
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        cat_global_shutdown();
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    c->lock_fd = -1;
    c->data_dir = strdup_or_null(data_dir);
    c->repo_path = as_path_join(data_dir, "catalog");
    c->db_path = as_path_join(data_dir, "assay.db");
    c->lock_path = as_path_join(data_dir, "catalog.lock");
    if (!c->data_dir || !c->repo_path || !c->db_path || !c->lock_path) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto fail;
    }
    if (as_path_exists(data_dir) && !as_path_is_dir(data_dir)) {
        rc = as_error_set(AS_EINVAL, "%s: not a directory", data_dir);
        goto fail;
    }
    /* The common case, both halves present, needs no lock: readers do not
     * wait for a writer unless the index must catch up. */
    if (as_path_is_dir(c->repo_path) && as_path_exists(c->db_path)) {
        if ((rc = store_open(&c->db, c->db_path, STORE_OPEN_MIGRATE)) < 0 ||
            (rc = open_repo(c)) < 0)
            goto fail;
    } else if ((rc = as_mkdir_p(data_dir)) < 0 || (rc = cat__lock(c)) < 0 ||
               (rc = create_missing(c, repair, created)) < 0) {
        goto fail;
    }
    if (!(flags & CAT_OPEN_NO_REINDEX) && cat__index_stale(c)) {
        if ((rc = cat__lock(c)) < 0 || (rc = cat__index_update(c, 0)) < 0) {
            rc = as_error_wrap(rc, "%s: indexing", c->repo_path);
            goto fail;
        }
        cat__unlock(c);
    }
    cat__unlock(c);
    *out = c;
    return 0;
fail:
    cat_close(c);
    return rc;
}

int cat_open(cat **out, const char *data_dir)
{
    return cat_open_mode(out, data_dir, 0, 0, NULL);
}

int cat_open_flags(cat **out, const char *data_dir, int flags)
{
    return cat_open_mode(out, data_dir, 0, flags, NULL);
}

int cat_init(cat **out, const char *data_dir, int *created)
{
    return cat_open_mode(out, data_dir, 1, 0, created);
}

void cat_close(cat *c)
{
    if (c == NULL)
        return;
    if (c->lock_depth > 0) {
        c->lock_depth = 1;
        cat__unlock(c);
    }
    store_close(c->db);
    git_repository_free(c->repo);
    free(c->data_dir);
    free(c->repo_path);
    free(c->db_path);
    free(c->lock_path);
    free(c);
    cat_global_shutdown();
}

int cat__read_blob(char **data, size_t *len, cat *c, const char *hex, size_t max, const char *what)
{
    git_blob *blob = NULL;
    git_oid oid;
    size_t n;
    int rc;

    *data = NULL;
    *len = 0;
    if (git_oid_fromstr(&oid, hex) < 0)
        return as_error_set(AS_ECORRUPT, "%s: bad blob id '%.40s'", what, hex);
    /* The index names this blob: its absence is damage, not "not found". */
    if ((rc = git_blob_lookup(&blob, c->repo, &oid)) < 0)
        return as_error_set(AS_ECORRUPT, "%s: blob %.12s unreadable in the repository", what, hex);
    n = (size_t)git_blob_rawsize(blob);
    if (n > max) {
        git_blob_free(blob);
        return as_error_set(AS_ETOOBIG, "%s: larger than the limit of %zu bytes", what, max);
    }
    if ((*data = malloc(n + 1)) == NULL) {
        git_blob_free(blob);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    memcpy(*data, git_blob_rawcontent(blob), n);
    (*data)[n] = '\0';
    *len = n;
    git_blob_free(blob);
    return 0;
}

int cat_read(char **data, size_t *len, cat *c, const cat_version *v)
{
    char what[CAT_NAME_MAX + 32];

    snprintf(what, sizeof(what), "%s %s@v%d", cat_kind_name(v->kind), v->name, v->version);
    return cat__read_blob(data, len, c, v->blob,
                          v->kind == CAT_DATASET ? CAT_DATASET_MAX : CAT_DOC_MAX, what);
}

static int count(store *db, const char *sql, int64_t *out)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, db, sql)) < 0)
        return rc;
    if ((rc = store_step(st)) == STORE_ROW)
        *out = store_col_int(st, 0);
    store_finalize(st);
    return rc < 0 ? rc : 0;
}

int cat_get_status(cat_status *out, cat *c)
{
    store_stmt *st = NULL;
    git_oid head;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = cat__head(c, &head, out->branch, sizeof(out->branch));
    if (rc == 0)
        git_oid_tostr(out->head, sizeof(out->head), &head);
    else if (rc != AS_ENOTFOUND)
        return rc;
    if ((rc = store_prepare(&st, c->db, "SELECT indexed FROM cat_state WHERE id = 1")) < 0)
        return rc;
    if ((rc = store_step(st)) == STORE_ROW && store_col_text(st, 0))
        snprintf(out->indexed, sizeof(out->indexed), "%s", store_col_text(st, 0));
    store_finalize(st);
    if (rc < 0)
        return rc;
    out->current = strcmp(out->head, out->indexed) == 0 && !cat__index_stale(c);
    if ((rc = count(c->db, "SELECT count(*) FROM cat_items WHERE kind = 0 AND removed = 0",
                    &out->prompts)) < 0 ||
        (rc = count(c->db, "SELECT count(*) FROM cat_items WHERE kind = 1 AND removed = 0",
                    &out->datasets)) < 0 ||
        (rc = count(c->db, "SELECT count(*) FROM cat_items WHERE kind = 2 AND removed = 0",
                    &out->suites)) < 0 ||
        (rc = count(c->db, "SELECT count(*) FROM cat_changes WHERE version IS NOT NULL",
                    &out->versions)) < 0 ||
        (rc = count(c->db, "SELECT count(*) FROM cat_labels", &out->labels)) < 0)
        return rc;
    return 0;
}
