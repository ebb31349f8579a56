/* Cached run summaries; see summaries.h. The queries here only read the
 * evaluator's runs, items and judgments tables (migrations/0003_runs.sql);
 * the summaries themselves and the ranking come from the evaluator. */
#include "web/summaries.h"

#include "catalog/catalog.h"
#include "common/error.h"
#include "common/json.h"
#include "evaluator/rank.h"
#include "evaluator/runs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    int64_t run;            /* 0: free */
    char state[160];
    json_t *summary;
    uint64_t used;
} entry;

#define POLICY_CACHE 64

typedef struct policy_entry {
    char key[CAT_NAME_MAX + 64];    /* "suite@commit"; "" when free */
    char *policy;                   /* NULL: the suite names none */
} policy_entry;

#define MAX_INFLIGHT 64

struct web_summaries {
    pthread_mutex_t lock;
    pthread_cond_t made;            /* a summary in flight was made */
    int64_t inflight[MAX_INFLIGHT]; /* runs whose summary is being made */
    uint64_t clock;
    entry e[WEB_SUMMARY_CACHE];
    policy_entry p[POLICY_CACHE];
    int pnext;                      /* the next policy slot to reuse */
};

int web_summaries_new(web_summaries **out)
{
    web_summaries *c = calloc(1, sizeof *c);

    if ((*out = c) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->made, NULL);
    return 0;
}

void web_summaries_free(web_summaries *c)
{
    int i;

    if (c == NULL)
        return;
    for (i = 0; i < WEB_SUMMARY_CACHE; i++)
        json_decref(c->e[i].summary);
    for (i = 0; i < POLICY_CACHE; i++)
        free(c->p[i].policy);
    pthread_cond_destroy(&c->made);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The in-flight slot of run 'id', or -1; the caller holds the lock. */
static int inflight_slot(web_summaries *c, int64_t id)
{
    int i;

    for (i = 0; i < MAX_INFLIGHT; i++)
        if (c->inflight[i] == id)
            return i;
    return -1;
}

/* The run's state: what a new summary would differ by. A run that is no
 * longer running changes only by being resumed, which changes its status
 * and finish time; the items of a running run are counted. */
static int run_state(store *db, int64_t id, char *buf, size_t size)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, db,
                            "SELECT status, coalesce(finished_at, ''), busy_ms, "
                            "CASE WHEN status = 'running' THEN "
                            "(SELECT count(*) FROM items WHERE run_id = r.id) END, "
                            "CASE WHEN status = 'running' THEN "
                            "(SELECT count(*) FROM judgments WHERE run_id = r.id) END, "
                            "CASE WHEN status = 'running' THEN "
                            "(SELECT count(*) FROM embeddings WHERE run_id = r.id) END "
                            "FROM runs r WHERE id = ?1")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, id)) >= 0 && (rc = store_step(st)) >= 0) {
        if (rc == STORE_ROW) {
            snprintf(buf, size, "%s|%s|%.17g|%lld|%lld|%lld", store_col_text(st, 0),
                     store_col_text(st, 1), store_col_double(st, 2),
                     (long long)store_col_int(st, 3), (long long)store_col_int(st, 4),
                     (long long)store_col_int(st, 5));
            rc = 0;
        } else {
            rc = as_error_set(AS_ENOTFOUND, "no run %lld", (long long)id);
        }
    }
    store_finalize(st);
    return rc;
}

int web_summary(json_t **out, web_summaries *c, store *db, int64_t id)
{
    char state[160];
    json_t *fresh = NULL;
    entry *victim;
    int i, rc, mine = -1;

    *out = NULL;
    if ((rc = run_state(db, id, state, sizeof state)) < 0)
        return rc;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        for (i = 0; i < WEB_SUMMARY_CACHE; i++) {
            entry *e = &c->e[i];
            if (e->run == id && strcmp(e->state, state) == 0) {
                e->used = ++c->clock;
                *out = json_deep_copy(e->summary);
                pthread_mutex_unlock(&c->lock);
                return *out ? 0 : as_error_set(AS_ENOMEM, "out of memory");
            }
        }
        /* One thread makes a run's summary; the others wait for it. */
        if (inflight_slot(c, id) < 0)
            break;
        pthread_cond_wait(&c->made, &c->lock);
    }
    if ((mine = inflight_slot(c, 0)) >= 0)
        c->inflight[mine] = id;
    pthread_mutex_unlock(&c->lock);
    rc = eval_run_summary(&fresh, db, id);
    pthread_mutex_lock(&c->lock);
    if (mine >= 0)
        c->inflight[mine] = 0;
    pthread_cond_broadcast(&c->made);
    if (rc < 0) {
        pthread_mutex_unlock(&c->lock);
        return rc;
    }
    victim = &c->e[0];
    for (i = 0; i < WEB_SUMMARY_CACHE; i++) {
        if (c->e[i].run == id) {
            victim = &c->e[i];
            break;
        }
        if (c->e[i].used < victim->used)
            victim = &c->e[i];
    }
    json_decref(victim->summary);
    victim->run = id;
    snprintf(victim->state, sizeof victim->state, "%s", state);
    victim->summary = json_incref(fresh);
    victim->used = ++c->clock;
    pthread_mutex_unlock(&c->lock);
    *out = json_deep_copy(fresh);
    json_decref(fresh);
    return *out ? 0 : as_error_set(AS_ENOMEM, "out of memory");
}

/* Run ids from a query whose parameters are all text or NULL, then
 * limit and offset. */
static int summaries_of(json_t **out, web_summaries *c, store *db, store_stmt *st)
{
    json_t *list = json_array(), *s;
    int64_t ids[1000];
    size_t n = 0, i;
    int rc;

    while (n < 1000 && (rc = store_step(st)) == STORE_ROW)
        ids[n++] = store_col_int(st, 0);
    if (rc < 0 && n < 1000)
        goto fail;
    store_reset(st);
    for (i = 0; i < n; i++) {
        if ((rc = web_summary(&s, c, db, ids[i])) < 0)
            goto fail;
        json_array_append_new(list, s);
    }
    *out = list;
    return 0;
fail:
    json_decref(list);
    return rc;
}

static int bind_opt(store_stmt *st, int idx, const char *s)
{
    return s ? store_bind_text(st, idx, s) : store_bind_null(st, idx);
}

int web_summaries_list(json_t **out, web_summaries *c, store *db, const char *suite,
                       const char *model, const char *status, int64_t offset, int64_t limit)
{
    store_stmt *st = NULL;
    int rc;

    *out = NULL;
    if (limit > 1000)
        limit = 1000;
    if ((rc = store_prepare(&st, db,
                            "SELECT id FROM runs WHERE (?1 IS NULL OR suite = ?1) AND "
                            "(?2 IS NULL OR model = ?2) AND (?3 IS NULL OR status = ?3) "
                            "ORDER BY id DESC LIMIT ?4 OFFSET ?5")) < 0)
        return rc;
    if ((rc = bind_opt(st, 1, suite)) >= 0 && (rc = bind_opt(st, 2, model)) >= 0 &&
        (rc = bind_opt(st, 3, status)) >= 0 && (rc = store_bind_int(st, 4, limit)) >= 0 &&
        (rc = store_bind_int(st, 5, offset)) >= 0)
        rc = summaries_of(out, c, db, st);
    store_finalize(st);
    return rc;
}

int web_summaries_latest(json_t **out, web_summaries *c, store *db, const char *suite)
{
    store_stmt *st = NULL;
    json_t *list = NULL;
    int rc;

    *out = NULL;
    if ((rc = store_prepare(&st, db,
                            "SELECT max(id) FROM runs WHERE suite = ?1 AND status = 'complete' "
                            "GROUP BY model ORDER BY model")) < 0)
        return rc;
    if ((rc = store_bind_text(st, 1, suite)) >= 0)
        rc = summaries_of(&list, c, db, st);
    store_finalize(st);
    if (rc < 0)
        return rc;
    if (json_array_size(list) == 0) {
        json_decref(list);
        return as_error_set(AS_ENOTFOUND, "suite '%s' has no complete run", suite);
    }
    *out = list;
    return 0;
}

int web_suite_policy(char **policy, web_summaries *c, const char *data_dir, const char *suite,
                     const char *commit)
{
    char key[CAT_NAME_MAX + 64];
    cat *ct = NULL;
    cat_suite *s = NULL;
    const char *p;
    int i, rc, found = 0;

    *policy = NULL;
    if (strlen(suite) > CAT_NAME_MAX || strlen(commit) > 40)
        return as_error_set(AS_EINVAL, "suite or commit too long");
    snprintf(key, sizeof key, "%s@%s", suite, commit);
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < POLICY_CACHE && !found; i++) {
        if (strcmp(c->p[i].key, key) == 0) {
            found = 1;
            if (c->p[i].policy && (*policy = strdup(c->p[i].policy)) == NULL)
                found = -1;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (found)
        return found < 0 ? as_error_set(AS_ENOMEM, "out of memory") : 0;
    if ((rc = cat_open(&ct, data_dir)) < 0 || (rc = cat_suite_load(&s, NULL, ct, key)) < 0)
        goto out;
    p = json_string_value(json_object_get(s->ranking, "policy"));
    if (p && (*policy = strdup(p)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    pthread_mutex_lock(&c->lock);
    free(c->p[c->pnext].policy);
    snprintf(c->p[c->pnext].key, sizeof c->p[c->pnext].key, "%s", key);
    c->p[c->pnext].policy = p ? strdup(p) : NULL;
    c->pnext = (c->pnext + 1) % POLICY_CACHE;
    pthread_mutex_unlock(&c->lock);
out:
    cat_suite_free(s);
    cat_close(ct);
    return rc;
}
