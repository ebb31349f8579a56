/* The prompt catalog: prompts, datasets and suites kept in a git repository
 * (DATA/catalog/, the source of truth) and indexed in SQLite (DATA/assay.db,
 * tables of migrations/0002_catalog.sql, rebuildable from the repository).
 *
 * This is the only module that includes git2.h. Callers see names, version
 * numbers, 40-hex commit ids and bytes; never libgit2 types.
 *
 * Versions: the commits along the first-parent history of the catalog
 * branch that changed an item's file, numbered v1, v2, ... in commit order
 * (a commit that removes the file is recorded but takes no number). Labels
 * are git refs "refs/labels/<prompts|datasets|suites>/<name>@<label>"
 * pointing at a commit, mirrored in SQLite.
 *
 * References (on the command line and inside suites): NAME (the newest
 * version), NAME@vN, NAME@LABEL, NAME@<commit prefix of 4-40 hex digits>.
 *
 * Errors follow common/error.h: AS_EINVAL bad input (the message names it),
 * AS_ENOTFOUND unknown name/version/label/commit, AS_EEXISTS nothing to do,
 * AS_ETOOBIG over a limit, AS_EBUSY the writer lock was not free in time,
 * AS_ECONFLICT non-fast-forward, AS_ECORRUPT damaged repository or database.
 *
 * Threads: one cat handle belongs to one thread at a time; open one per
 * thread. Writers in several processes or threads serialize on a lock file
 * (DATA/catalog.lock). */
#ifndef AS_CATALOG_H
#define AS_CATALOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct cat cat;

typedef enum {
    CAT_PROMPT = 0,  /* prompts/NAME.json */
    CAT_DATASET = 1, /* datasets/NAME.jsonl */
    CAT_SUITE = 2    /* suites/NAME.json */
} cat_kind;

/* Limits on input from outside. */
#define CAT_NAME_MAX 128                     /* bytes in a name */
#define CAT_LABEL_MAX 36                     /* bytes in a label */
#define CAT_DOC_MAX ((size_t)1 << 20)        /* a prompt or suite file */
#define CAT_TEMPLATE_MAX ((size_t)256 << 10) /* one template or message */
#define CAT_LINE_MAX ((size_t)1 << 20)       /* one dataset line */
#define CAT_DATASET_MAX ((size_t)1 << 30)    /* a whole dataset file */
#define CAT_MESSAGE_MAX 4096                 /* a commit message */

/* "prompt", "dataset", "suite". */
const char *cat_kind_name(cat_kind kind);

/* ---- Library set-up ---------------------------------------------------- */

/* Initialize libgit2 once per process before threads start (idempotent,
 * reference counted); cat_open calls it too. Pair with cat_global_shutdown. */
int cat_global_init(void);
void cat_global_shutdown(void);

/* ---- Opening ----------------------------------------------------------- */

/* Open the catalog of 'data_dir' into *out (caller frees with cat_close).
 * A data directory holding neither catalog/ nor assay.db is created: a git
 * repository with an initial commit and a migrated database. If only one of
 * the two exists, or either is damaged, the open fails (AS_ENOTFOUND /
 * AS_ECORRUPT naming the path) and nothing is changed; cat_init repairs a
 * missing database. When the branch head moved since the last index (plain
 * git commits, pushes, pulls) the index is brought up to date first. */
int cat_open(cat **out, const char *data_dir);

/* cat_open with flags: CAT_OPEN_NO_REINDEX leaves a stale index as it is
 * (for `assay catalog status`, which reports it). */
enum { CAT_OPEN_NO_REINDEX = 1 };
int cat_open_flags(cat **out, const char *data_dir, int flags);

/* Like cat_open, but also creates a missing database next to an existing
 * repository (indexing its history) or a missing repository next to a
 * database whose index is empty. *created (may be NULL) is set to 1 when
 * anything was created. Used by `assay catalog init`. */
int cat_init(cat **out, const char *data_dir, int *created);

void cat_close(cat *c);

/* The open database, borrowed for the life of 'c', for modules that keep
 * their own tables in the same file (evaluator, web). */
store *cat_store(cat *c);

/* Absolute-or-as-given path of the git repository, borrowed. */
const char *cat_repo_path(const cat *c);

/* ---- Names and references --------------------------------------------- */

/* 1 when 'name' is a valid item name: ^[a-z0-9][a-z0-9._/-]{0,127}$, no
 * empty, "." or ".." segment, no segment starting with "." or ending with
 * ".lock", no ".." anywhere (so every name is also a git ref path). Else 0
 * with AS_EINVAL set naming it. */
int cat_name_valid(const char *name);

/* 1 when 'label' is valid: ^[a-z0-9_.-]{1,36}$, not of the form vN (that is
 * a version), no "..", not ending in "." or ".lock". Else 0, AS_EINVAL set. */
int cat_label_valid(const char *label);

typedef enum {
    CAT_REF_LATEST = 0, /* NAME */
    CAT_REF_VERSION,    /* NAME@v3 */
    CAT_REF_LABEL,      /* NAME@production */
    CAT_REF_COMMIT,     /* NAME@1a2b3c4 (also tried as a label first) */
} cat_ref_form;

typedef struct cat_ref {
    char name[CAT_NAME_MAX + 1];
    cat_ref_form form;
    int version;                   /* CAT_REF_VERSION */
    char label[41]; /* the text after '@': a label (<= 36) or a commit prefix (<= 40) */
} cat_ref;

/* Split and check a reference string (syntax only; nothing is looked up).
 * Text after '@' that is all hex with 4-40 digits parses as CAT_REF_COMMIT;
 * resolution still prefers a label of that spelling. */
int cat_ref_parse(cat_ref *out, const char *ref);

/* One version of one item. */
typedef struct cat_version {
    cat_kind kind;
    char name[CAT_NAME_MAX + 1];
    int version;                  /* 1-based */
    char commit[41];              /* the commit that made this version */
    char blob[41];                /* the file's blob id */
    char path[CAT_NAME_MAX + 16]; /* "prompts/NAME.json" */
    int64_t time;                 /* commit time, Unix seconds */
    char author[256];             /* "Name <email>" */
    char message[256];            /* the commit summary line, cut to fit */
    int64_t cases;                /* datasets: number of cases; else 0 */
} cat_version;

/* Resolve 'ref' (any form above) of an item of 'kind' into *out. Unknown or
 * ambiguous references give AS_ENOTFOUND / AS_EINVAL naming the ref; NAME
 * alone on a removed item is AS_ENOTFOUND ("removed"), while NAME@vN of a
 * removed item still resolves. */
int cat_resolve(cat_version *out, cat *c, cat_kind kind, const char *ref);

/* The file's bytes at that version into *data (caller frees with free();
 * NUL-terminated), size in *len. Prompts and suites are capped at
 * CAT_DOC_MAX; use cat_cases_open for datasets (this reads the whole blob,
 * capped at CAT_DATASET_MAX). */
int cat_read(char **data, size_t *len, cat *c, const cat_version *v);

/* ---- Templates --------------------------------------------------------- */

/* Template syntax: "{{name}}" (spaces allowed inside the braces; a name is
 * [A-Za-z_][A-Za-z0-9_.-]{0,63}) is replaced by the variable's value.
 * Literal braces: a run of more than two '{' before a tag is literal
 * ("{{{x}}}" renders "{" value "}"), '}' after a closed tag is literal, and
 * "\{{" renders a literal "{{". Any other text is copied unchanged. */
typedef struct cat_tpl cat_tpl;

/* Parse 'len' bytes of 'src' into *out (caller frees with cat_tpl_free).
 * Errors are AS_EINVAL "<what>: line L column C: <reason>"; more than
 * CAT_TEMPLATE_MAX bytes is AS_ETOOBIG. */
int cat_tpl_parse(cat_tpl **out, const char *src, size_t len, const char *what);
void cat_tpl_free(cat_tpl *t);

/* The distinct variable names the template uses, in first-use order:
 * a new JSON array of strings. */
json_t *cat_tpl_vars(const cat_tpl *t);

/* Render with 'vars' (a JSON object) into *out (caller frees with free()).
 * Strings are inserted as they are, numbers and booleans as JSON text,
 * arrays and objects as compact JSON. A variable that 'vars' lacks (or that
 * is null) is AS_EINVAL naming it; never an empty string. */
int cat_tpl_render(char **out, const cat_tpl *t, const json_t *vars);

/* ---- Prompts ----------------------------------------------------------- */

/* A parsed prompt document. Pointers are borrowed from 'doc' and live as
 * long as the cat_prompt. */
typedef struct cat_prompt {
    json_t *doc; /* the whole document (owned) */
    const char *name;
    const char *description;   /* "" when absent */
    const char *task;          /* classification|summarization|qa|generation */
    json_t *messages;          /* array of {"role","content"}, or NULL */
    const char *template_text; /* the "template" string, or NULL */
    json_t *params;            /* object (empty when absent) */
    json_t *labels;            /* array of strings (classes; empty when absent) */
    json_t *variables;         /* array: the variables the templates use */
    json_t *tags;              /* array of strings (empty when absent) */
} cat_prompt;

/* Parse and validate a prompt file (schema, UTF-8, template syntax of every
 * message, "variables" equal to the set used when present). 'what' names
 * the input in errors (a path or "prompt NAME"). Caller frees with
 * cat_prompt_free. */
int cat_prompt_parse(cat_prompt **out, const char *data, size_t len, const char *what);
void cat_prompt_free(cat_prompt *p);

/* Render with 'vars' (JSON object) into *out (new reference): for a chat
 * prompt an array of {"role","content"} with every message rendered, for a
 * template prompt a JSON string. A missing variable is AS_EINVAL naming it. */
int cat_prompt_render(json_t **out, const cat_prompt *p, const json_t *vars);

/* Resolve 'ref' and parse that version: both outputs owned by the caller
 * ('ver' may be NULL). */
int cat_prompt_load(cat_prompt **out, cat_version *ver, cat *c, const char *ref);

/* ---- Datasets ---------------------------------------------------------- */

/* One case (one line of datasets/NAME.jsonl). */
typedef struct cat_case {
    long line;      /* 1-based line number in the file */
    char *id;       /* the "id" (string, or an integer as text) */
    json_t *vars;   /* object (new reference held by the case) */
    char *expected; /* NULL when the case is unlabelled */
    json_t *tags;   /* array of strings (empty when absent) */
} cat_case;

/* Parse one line (without its newline) into *out; on success the caller
 * clears it with cat_case_clear. Errors are AS_EINVAL "line N: FIELD: ..." */
int cat_case_parse(cat_case *out, const char *line, size_t len, long lineno);
void cat_case_clear(cat_case *cs);

/* A stream of a dataset version's cases, read piece by piece from the git
 * object (never the whole file at once for loose objects; packed objects
 * are inflated once by libgit2). */
typedef struct cat_cases cat_cases;

int cat_cases_open(cat_cases **out, cat *c, const cat_version *v);
/* The next case, borrowed until the next call or close: returns 1 with
 * *out set, 0 at the end, or a negative code (bad line in a file edited with
 * plain git: AS_EINVAL naming the line). */
int cat_cases_next(cat_cases *it, const cat_case **out);
void cat_cases_close(cat_cases *it);

/* Validate a dataset file on disk line by line (streamed: one line in
 * memory at a time). Blank lines are skipped; ids must be unique. *count
 * (may be NULL) receives the number of cases. Errors name the file, line
 * number and field. */
int cat_dataset_validate_file(const char *path, int64_t *count);

/* ---- Suites ------------------------------------------------------------ */

/* A parsed suite. Pointers are borrowed from 'doc'. */
typedef struct cat_suite {
    json_t *doc; /* the whole document (owned) */
    const char *name;
    const char *description;    /* "" when absent */
    const char *prompt_ref;     /* "summarize@production" */
    const char *dataset_ref;    /* "news@v2" */
    json_t *metrics;            /* new array: every entry an object with "name"
                                   (strings are normalized to {"name": s}); owned */
    const char *primary_metric; /* given, else the first metric's name */
    json_t *models;             /* array (strings or objects with "name"); may be empty */
    json_t *judge;              /* object or NULL */
    json_t *thresholds;         /* object of metric -> number, or NULL */
    json_t *ranking;            /* object or NULL */
} cat_suite;

/* Parse and check a suite's structure (types, references' syntax, metric
 * entries are strings or objects with a string "name", primary_metric among
 * them, judge mode single|pairwise, thresholds numeric). Each metric entry
 * (name and options) is checked by the metrics registry (met_spec_parse);
 * "judge" is left to the evaluator. Caller frees with cat_suite_free. */
int cat_suite_parse(cat_suite **out, const char *data, size_t len, const char *what);
void cat_suite_free(cat_suite *s);

/* Resolve 'ref', parse it and check that its prompt and dataset references
 * resolve in this catalog. 'ver' may be NULL. */
int cat_suite_load(cat_suite **out, cat_version *ver, cat *c, const char *ref);

/* ---- Listing ----------------------------------------------------------- */

typedef struct cat_label {
    char label[CAT_LABEL_MAX + 1];
    char commit[41];
    int version; /* the version in effect at that commit */
} cat_label;

typedef struct cat_item {
    cat_kind kind;
    char name[CAT_NAME_MAX + 1];
    int versions;       /* the newest version number */
    int removed;        /* 1 when the file is gone at the branch head */
    cat_version latest; /* the newest version */
    cat_label *labels;  /* nlabels entries, sorted by label */
    size_t nlabels;
    json_t *tags; /* prompts: tags of the newest version; else empty array */
} cat_item;

typedef struct cat_list {
    cat_item *items;
    size_t n;
} cat_list;

/* Every item of 'kind' (removed ones only when include_removed), sorted by
 * name; 'tag' (may be NULL) keeps prompts carrying that tag. Caller frees
 * with cat_list_free. */
int cat_list_items(cat_list *out, cat *c, cat_kind kind, const char *tag, int include_removed);
void cat_list_free(cat_list *l);

/* The changes of one item's file, oldest first (removed items too), into
 * *out (caller frees with free()); *n entries. A removal appears as an
 * entry with version 0 and an empty blob. */
int cat_log(cat_version **out, size_t *n, cat *c, cat_kind kind, const char *name);

/* A unified diff of the item's file between two references into *out
 * (caller frees with free(); "" when equal). */
int cat_diff(char **out, cat *c, cat_kind kind, const char *name, const char *ref1,
             const char *ref2);

/* ---- Writing ----------------------------------------------------------- */

/* Who and why, for a commit. NULL author means $GIT_AUTHOR_NAME/EMAIL, else
 * the repository's user.name/user.email, else "assay <assay@localhost>".
 * NULL message means "<kind> NAME: add|update|remove". */
typedef struct cat_commit_opts {
    const char *author; /* "Name <email>" */
    const char *message;
} cat_commit_opts;

/* Add or update a prompt or suite from its JSON text. The document is
 * validated (a suite's references must resolve); its "name" must be absent
 * or equal 'name'. The file holds exactly the bytes given.
 * *out receives the new version; when the content equals the newest version
 * nothing is committed and AS_EEXISTS is returned with *out set to that
 * version. */
int cat_put_doc(cat_version *out, cat *c, cat_kind kind, const char *name, const char *data,
                size_t len, const cat_commit_opts *opts);

/* Add or replace a dataset from a JSONL file on disk (validated streamed;
 * nothing committed when any line is bad). Same AS_EEXISTS rule. */
int cat_put_dataset_file(cat_version *out, cat *c, const char *name, const char *path,
                         const cat_commit_opts *opts);

/* Append cases (a JSON array of case objects, each validated; ids must not
 * clash with existing ones) to a dataset, creating it when it does not
 * exist, in one commit. For the web's "promote to dataset". The existing
 * file streams into the new version; only the new lines are held in
 * memory. */
int cat_dataset_append(cat_version *out, cat *c, const char *name, const json_t *cases,
                       const cat_commit_opts *opts);

/* Remove an item's file by a commit; its versions stay resolvable by
 * NAME@vN, labels and commit prefixes. 'commit_out' (41 bytes, may be
 * NULL) receives the commit id. */
int cat_remove(cat *c, cat_kind kind, const char *name, const cat_commit_opts *opts,
               char *commit_out);

/* Point label 'label' of item 'name' at the version 'ref' resolves to
 * (creating or moving the git ref and its SQLite mirror). A label on a
 * removed item is AS_EINVAL. *out (may be NULL) receives the version. */
int cat_label_set(cat_version *out, cat *c, cat_kind kind, const char *name, const char *ref,
                  const char *label);
/* Delete a label; AS_ENOTFOUND when it does not exist. */
int cat_label_delete(cat *c, cat_kind kind, const char *name, const char *label);

/* ---- Index and remotes ------------------------------------------------- */

typedef struct cat_status {
    char head[41];                     /* the branch head commit */
    char indexed[41];                  /* the commit the index was built at */
    char branch[64];                   /* "main" */
    int current;                       /* 1 when head == indexed */
    int64_t prompts, datasets, suites; /* live items */
    int64_t versions, labels;
} cat_status;

/* Status without reindexing (cat_open already caught up unless it could
 * not take the lock). */
int cat_get_status(cat_status *out, cat *c);

/* Rebuild the whole index from the repository's history in one
 * transaction. Version numbers come out the same as incremental indexing. */
int cat_reindex(cat *c);

/* Fetch 'remote' (a configured remote name or a path/URL; NULL: "origin")
 * and fast-forward the branch; a diverged branch is AS_ECONFLICT and
 * nothing changes. A new catalog whose only commit is the initial one
 * adopts the remote's history. Label refs take the remote's values.
 * *summary receives a one-line description (caller frees). */
int cat_pull(char **summary, cat *c, const char *remote);

/* Push the branch and the label refs to 'remote'; a non-fast-forward is
 * refused with AS_ECONFLICT, never forced. */
int cat_push(char **summary, cat *c, const char *remote);

#endif
