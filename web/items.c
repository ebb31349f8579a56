/* Run items for the rating queues; see items.h. */
#include "web/items.h"

#include "catalog/catalog.h"
#include "common/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_col(store_stmt *st, int col)
{
    const char *s = store_col_text(st, col);

    return s ? strdup(s) : NULL;
}

static int fill(web_item *it, store_stmt *st)
{
    memset(it, 0, sizeof *it);
    it->id = store_col_int(st, 0);
    it->run_id = store_col_int(st, 1);
    it->case_id = dup_col(st, 2);
    it->model = dup_col(st, 3);
    it->output = dup_col(st, 4);
    it->expected = dup_col(st, 5);
    it->judge = store_col_type(st, 6) == STORE_NULL ? NAN : store_col_double(st, 6);
    if (it->case_id == NULL || it->model == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (it->output == NULL && (it->output = strdup("")) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

#define ITEM_COLS                                                                           \
    "SELECT i.id, i.run_id, i.case_id, r.model, i.output, i.expected, "                     \
    "(SELECT j.score FROM judgments j WHERE j.run_id = i.run_id AND j.case_id = i.case_id " \
    "AND j.rep = i.rep AND j.score IS NOT NULL ORDER BY j.id LIMIT 1) "                     \
    "FROM items i JOIN runs r ON r.id = i.run_id "

void web_item_clear(web_item *it)
{
    free(it->case_id);
    free(it->model);
    free(it->output);
    free(it->expected);
    memset(it, 0, sizeof *it);
}

void web_items_free(web_item *items, size_t n)
{
    size_t i;

    for (i = 0; i < n && items; i++)
        web_item_clear(&items[i]);
    free(items);
}

int web_items_of_runs(web_item **out, size_t *n, store *db, const int64_t *runs, size_t nruns)
{
    store_stmt *st = NULL;
    web_item *items = NULL;
    size_t cnt = 0, cap = 0, k;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if ((rc = store_prepare(&st, db, ITEM_COLS
                            "WHERE i.run_id = ?1 AND i.status = 'ok' AND i.rep = 0 "
                            "ORDER BY i.case_id")) < 0)
        return rc;
    for (k = 0; k < nruns && rc >= 0; k++) {
        if ((rc = store_reset(st)) < 0 || (rc = store_bind_int(st, 1, runs[k])) < 0)
            break;
        while ((rc = store_step(st)) == STORE_ROW) {
            if (cnt == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                web_item *ni = realloc(items, ncap * sizeof *ni);
                if (ni == NULL) {
                    rc = as_error_set(AS_ENOMEM, "out of memory");
                    break;
                }
                items = ni;
                cap = ncap;
            }
            if ((rc = fill(&items[cnt++], st)) < 0)
                break;
        }
    }
    store_finalize(st);
    if (rc < 0) {
        web_items_free(items, cnt);
        return rc;
    }
    *out = items;
    *n = cnt;
    return 0;
}

int web_item_get(web_item *out, store *db, int64_t id)
{
    store_stmt *st = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = store_prepare(&st, db, ITEM_COLS "WHERE i.id = ?1")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, id)) >= 0 && (rc = store_step(st)) >= 0) {
        if (rc == STORE_ROW)
            rc = fill(out, st);
        else
            rc = as_error_set(AS_ENOTFOUND, "no item %lld", (long long)id);
    }
    store_finalize(st);
    if (rc < 0)
        web_item_clear(out);
    return rc;
}

int web_latest_runs(int64_t **runs, size_t *n, store *db, const char *suite)
{
    store_stmt *st = NULL;
    int64_t *ids = NULL;
    size_t cnt = 0;
    int rc;

    *runs = NULL;
    *n = 0;
    if ((rc = store_prepare(&st, db,
                            "SELECT max(id) FROM runs WHERE suite = ?1 AND status = 'complete' "
                            "GROUP BY model ORDER BY model")) < 0)
        return rc;
    if ((rc = store_bind_text(st, 1, suite)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        int64_t *ni = realloc(ids, (cnt + 1) * sizeof *ni);
        if (ni == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        ids = ni;
        ids[cnt++] = store_col_int(st, 0);
    }
out:
    store_finalize(st);
    if (rc < 0) {
        free(ids);
        return rc;
    }
    *runs = ids;
    *n = cnt;
    return 0;
}

int web_run_suite(store *db, int64_t run, char *buf, size_t size)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, db, "SELECT suite FROM runs WHERE id = ?1")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, run)) >= 0 && (rc = store_step(st)) >= 0) {
        if (rc == STORE_ROW) {
            snprintf(buf, size, "%s", store_col_text(st, 0));
            rc = 0;
        } else {
            rc = as_error_set(AS_ENOTFOUND, "no run %lld", (long long)run);
        }
    }
    store_finalize(st);
    return rc;
}

int web_case_vars(json_t **vars, store *db, const char *data_dir, int64_t run, const char *case_id)
{
    char ref[CAT_NAME_MAX + 64];
    store_stmt *st = NULL;
    cat *c = NULL;
    cat_version v;
    cat_cases *it = NULL;
    const cat_case *cs;
    int rc;

    *vars = NULL;
    if ((rc = store_prepare(&st, db, "SELECT dataset, dataset_commit FROM runs WHERE id = ?1")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, run)) < 0 || (rc = store_step(st)) < 0)
        goto out;
    if (rc != STORE_ROW) {
        rc = as_error_set(AS_ENOTFOUND, "no run %lld", (long long)run);
        goto out;
    }
    snprintf(ref, sizeof ref, "%s@%s", store_col_text(st, 0), store_col_text(st, 1));
    if ((rc = cat_open(&c, data_dir)) < 0 || (rc = cat_resolve(&v, c, CAT_DATASET, ref)) < 0 ||
        (rc = cat_cases_open(&it, c, &v)) < 0)
        goto out;
    while ((rc = cat_cases_next(it, &cs)) == 1) {
        if (strcmp(cs->id, case_id) == 0) {
            *vars = json_incref(cs->vars);
            rc = 0;
            goto out;
        }
    }
    if (rc == 0)
        rc = as_error_set(AS_ENOTFOUND, "case %s is not in %s", case_id, ref);
out:
    cat_cases_close(it);
    cat_close(c);
    store_finalize(st);
    return rc;
}

int web_judge_vs_human(double **human, double **judge, size_t *n, store *db, int64_t queue)
{
    store_stmt *st = NULL;
    double *h = NULL, *j = NULL;
    size_t cnt = 0, cap = 0;
    int rc;

    *human = *judge = NULL;
    *n = 0;
    if ((rc = store_prepare(&st, db,
                            "SELECT avg(ra.score), (SELECT jd.score FROM items i JOIN judgments jd "
                            "ON jd.run_id = i.run_id AND jd.case_id = i.case_id AND jd.rep = i.rep "
                            "WHERE i.id = ra.item_id AND jd.score IS NOT NULL ORDER BY jd.id LIMIT 1) "
                            "FROM ratings ra WHERE ra.queue_id = ?1 GROUP BY ra.item_id")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, queue)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        if (store_col_type(st, 1) == STORE_NULL)
            continue;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            double *nh = realloc(h, ncap * sizeof *nh), *nj;
            if (nh == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                goto out;
            }
            h = nh;
            if ((nj = realloc(j, ncap * sizeof *nj)) == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                goto out;
            }
            j = nj;
            cap = ncap;
        }
        h[cnt] = store_col_double(st, 0);
        j[cnt] = store_col_double(st, 1);
        cnt++;
    }
out:
    store_finalize(st);
    if (rc < 0) {
        free(h);
        free(j);
        return rc;
    }
    *human = h;
    *judge = j;
    *n = cnt;
    return 0;
}
