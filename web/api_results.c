/* Rating results and promotion: human scores per model with bootstrap
 * intervals, Bradley-Terry strengths from pairwise votes with bootstrap
 * intervals, inter-rater agreement (Cohen's kappa for two raters,
 * Krippendorff's alpha for any number), the LLM judge against the humans
 * (Spearman), and "promote to dataset": rated outputs appended to a
 * catalog dataset as good or bad examples by a commit naming the ratings. */
#include "web/http.h"

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "web/items.h"
#include "web/queue.h"
#include "web/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESAMPLES 1000
#define BT_RESAMPLES 200
#define MAX_RATERS 64
#define MAX_MODELS 64
#define MAX_PROMOTE 500

static json_t *num_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(x);
}

/* Distinct strings in a small table: index of s, added when new; -1 full. */
static int intern(char names[][160], int *n, int max, const char *s)
{
    int i;

    for (i = 0; i < *n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    if (*n >= max)
        return -1;
    snprintf(names[*n], 160, "%s", s);
    return (*n)++;
}

/* Ratings of a single queue: per model, agreement, judge vs human. */
static int results_single(web_req *r, const web_queue *q, json_t *res)
{
    static char models[MAX_MODELS][160];
    store_stmt *st = NULL;
    int64_t raters[MAX_RATERS];
    int nraters = 0, nmodels = 0, m, k;
    double *scores = NULL, *matrix = NULL, *human = NULL, *judge = NULL;
    int *model_of = NULL, *rater_of = NULL;
    int64_t *item_of = NULL, *items = NULL;
    size_t n = 0, cap = 0, nitems = 0, i, npairs = 0;
    json_t *per_model = json_array(), *agree;
    int rc;

    if ((rc = store_prepare(&st, r->db,
                            "SELECT item_id, model, rater_id, score FROM ratings "
                            "WHERE queue_id = ?1 ORDER BY item_id")) < 0)
        goto out;
    if ((rc = store_bind_int(st, 1, q->id)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        int64_t rater = store_col_int(st, 2);
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            void *p1 = realloc(scores, nc * sizeof *scores), *p2, *p3, *p4;
            if (p1)
                scores = p1;
            p2 = realloc(model_of, nc * sizeof *model_of);
            if (p2)
                model_of = p2;
            p3 = realloc(rater_of, nc * sizeof *rater_of);
            if (p3)
                rater_of = p3;
            p4 = realloc(item_of, nc * sizeof *item_of);
            if (p4)
                item_of = p4;
            if (!p1 || !p2 || !p3 || !p4) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                goto out;
            }
            cap = nc;
        }
        item_of[n] = store_col_int(st, 0);
        if ((model_of[n] = intern(models, &nmodels, MAX_MODELS, store_col_text(st, 1))) < 0) {
            rc = as_error_set(AS_ETOOBIG, "more than %d models in one queue", MAX_MODELS);
            goto out;
        }
        for (k = 0; k < nraters && raters[k] != rater; k++)
            ;
        if (k == nraters) {
            if (nraters == MAX_RATERS) {
                rc = as_error_set(AS_ETOOBIG, "more than %d raters in one queue", MAX_RATERS);
                goto out;
            }
            raters[nraters++] = rater;
        }
        rater_of[n] = k;
        scores[n] = (double)store_col_int(st, 3);
        if (nitems == 0 || items[nitems - 1] != item_of[n]) {
            int64_t *ni = realloc(items, (nitems + 1) * sizeof *ni);
            if (ni == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                goto out;
            }
            items = ni;
            items[nitems++] = item_of[n];
        }
        n++;
    }
    if (rc < 0)
        goto out;
    /* Per model: the mean human score with a bootstrap interval. */
    for (m = 0; m < nmodels; m++) {
        double *x = malloc((n + 1) * sizeof *x), mean, lo, hi;
        size_t cnt = 0;
        if (x == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        for (i = 0; i < n; i++)
            if (model_of[i] == m)
                x[cnt++] = scores[i];
        web_stats_mean_ci(x, cnt, RESAMPLES, (uint64_t)q->seed, &mean, &lo, &hi);
        free(x);
        json_array_append_new(per_model, json_pack("{s:s,s:I,s:f,s:f,s:f}", "model", models[m],
                                                   "n", (json_int_t)cnt, "mean", mean, "ci_low", lo,
                                                   "ci_high", hi));
    }
    /* Agreement over the items x raters matrix. */
    agree = json_pack("{s:i,s:I}", "raters", nraters, "items", (json_int_t)nitems);
    if (nraters >= 2 && nitems > 0) {
        size_t u = 0;
        if ((matrix = malloc(nitems * (size_t)nraters * sizeof *matrix)) == NULL) {
            json_decref(agree);
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        for (i = 0; i < nitems * (size_t)nraters; i++)
            matrix[i] = NAN;
        for (i = 0; i < n; i++) {
            while (items[u] != item_of[i])
                u++;
            matrix[u * (size_t)nraters + (size_t)rater_of[i]] = scores[i];
        }
        json_object_set_new(agree, "krippendorff_alpha",
                            num_or_null(web_stats_krippendorff_alpha(matrix, nitems, (size_t)nraters)));
        if (nraters == 2) {
            int *a = malloc(nitems * sizeof *a), *b = malloc(nitems * sizeof *b);
            size_t both = 0;
            if (a && b) {
                for (u = 0; u < nitems; u++) {
                    double x = matrix[u * 2], y = matrix[u * 2 + 1];
                    if (!isnan(x) && !isnan(y)) {
                        a[both] = (int)x;
                        b[both] = (int)y;
                        both++;
                    }
                }
                json_object_set_new(agree, "cohen_kappa",
                                    num_or_null(web_stats_cohen_kappa(a, b, both)));
                json_object_set_new(agree, "items_both", json_integer((json_int_t)both));
            }
            free(a);
            free(b);
        }
    }
    json_object_set_new(res, "agreement", agree);
    json_object_set_new(res, "models", per_model);
    per_model = NULL;
    /* The LLM judge against the humans, item by item. */
    if ((rc = web_judge_vs_human(&human, &judge, &npairs, r->db, q->id)) < 0)
        goto out;
    json_object_set_new(res, "judge_human",
                        json_pack("{s:I,s:o}", "n", (json_int_t)npairs, "spearman",
                                  num_or_null(web_stats_spearman(human, judge, npairs))));
    json_object_set_new(res, "ratings", json_integer((json_int_t)n));
out:
    json_decref(per_model);
    store_finalize(st);
    free(scores);
    free(model_of);
    free(rater_of);
    free(item_of);
    free(items);
    free(matrix);
    free(human);
    free(judge);
    return rc;
}

/* Votes of a pairwise queue: wins, ties and Bradley-Terry strengths. */
static int results_pairwise(web_req *r, const web_queue *q, json_t *res)
{
    static char models[MAX_MODELS][160];
    store_stmt *st = NULL;
    web_vote *votes = NULL;
    size_t n = 0, cap = 0;
    int nmodels = 0, m, rc;
    double score[MAX_MODELS], lo[MAX_MODELS], hi[MAX_MODELS];
    int wins[MAX_MODELS] = {0}, ties = 0;
    json_t *list;

    if ((rc = store_prepare(&st, r->db,
                            "SELECT model_a, model_b, winner FROM votes WHERE queue_id = ?1 "
                            "ORDER BY id")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, q->id)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        const char *w = store_col_text(st, 2);
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            web_vote *nv = realloc(votes, nc * sizeof *nv);
            if (nv == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                goto out;
            }
            votes = nv;
            cap = nc;
        }
        votes[n].i = intern(models, &nmodels, MAX_MODELS, store_col_text(st, 0));
        votes[n].j = intern(models, &nmodels, MAX_MODELS, store_col_text(st, 1));
        if (votes[n].i < 0 || votes[n].j < 0) {
            rc = as_error_set(AS_ETOOBIG, "more than %d models in one queue", MAX_MODELS);
            goto out;
        }
        votes[n].winner = strcmp(w, "a") == 0 ? 0 : strcmp(w, "b") == 0 ? 1 : 2;
        if (votes[n].winner == 0)
            wins[votes[n].i]++;
        else if (votes[n].winner == 1)
            wins[votes[n].j]++;
        else
            ties++;
        n++;
    }
    if (rc < 0)
        goto out;
    if ((rc = web_stats_bradley_terry(votes, n, nmodels, BT_RESAMPLES, (uint64_t)q->seed, score,
                                      lo, hi)) < 0)
        goto out;
    list = json_array();
    for (m = 0; m < nmodels; m++)
        json_array_append_new(list, json_pack("{s:s,s:i,s:f,s:f,s:f}", "model", models[m], "wins",
                                              wins[m], "score", score[m], "ci_low", lo[m],
                                              "ci_high", hi[m]));
    json_object_set_new(res, "bradley_terry", list);
    json_object_set_new(res, "votes", json_integer((json_int_t)n));
    json_object_set_new(res, "ties", json_integer(ties));
out:
    store_finalize(st);
    free(votes);
    return rc;
}

/* GET /rating/results?queue=ID */
static int rating_results(web_req *r, json_t **out)
{
    int64_t id;
    web_queue q;
    json_t *res;
    int rc;

    if ((rc = web_query_int(r, "queue", 0, 1, INT64_MAX, &id)) < 0)
        return rc;
    if (id == 0)
        return as_error_set(AS_EINVAL, "query parameter 'queue' is required");
    if ((rc = web_queue_load(r->db, id, &q)) < 0)
        return rc;
    res = json_pack("{s:o}", "queue", web_queue_json(&q));
    rc = strcmp(q.mode, "pairwise") == 0 ? results_pairwise(r, &q, res)
                                         : results_single(r, &q, res);
    if (rc < 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* One promoted case from rating 'id': good examples take the output as
 * the expected answer; bad ones keep the reference (if any) and carry the
 * rejected output in the variable "rejected_output". */
static int promoted_case(web_req *r, int64_t id, int good, json_t *cases, as_buf *ids)
{
    store_stmt *st = NULL;
    web_item it;
    json_t *vars = NULL, *cs;
    char cid[400], tag[32];
    int64_t item_id = 0;
    int rc;

    memset(&it, 0, sizeof it);
    if ((rc = store_prepare(&st, r->db, "SELECT item_id FROM ratings WHERE id = ?1")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, id)) >= 0 && (rc = store_step(st)) >= 0) {
        if (rc == STORE_ROW) {
            item_id = store_col_int(st, 0);
            rc = 0;
        } else {
            rc = as_error_set(AS_ENOTFOUND, "no rating %lld", (long long)id);
        }
    }
    store_finalize(st);
    if (rc < 0 || (rc = web_item_get(&it, r->db, item_id)) < 0)
        return rc;
    if ((rc = web_case_vars(&vars, r->db, web_ctx_data_dir(r->ctx), it.run_id, it.case_id)) < 0)
        goto out;
    snprintf(cid, sizeof cid, "%s-r%lld", it.case_id, (long long)id);
    snprintf(tag, sizeof tag, "rating-%lld", (long long)id);
    if (!good)
        json_object_set_new(vars, "rejected_output", json_string(it.output));
    cs = json_pack("{s:s,s:O,s:[s,s,s]}", "id", cid, "vars", vars, "tags", "promoted",
                   good ? "good" : "bad", tag);
    if (good)
        json_object_set_new(cs, "expected", json_string(it.output));
    else if (it.expected)
        json_object_set_new(cs, "expected", json_string(it.expected));
    json_array_append_new(cases, cs);
    rc = as_buf_printf(ids, "%s%lld", ids->len ? ", " : "", (long long)id);
out:
    json_decref(vars);
    web_item_clear(&it);
    return rc;
}

/* POST /promotions {"dataset", "kind": "good"|"bad", "ratings": [ids]} */
static int promote(web_req *r, json_t **out)
{
    json_t *body, *ratings, *v, *cases = NULL;
    const char *dataset, *kind;
    char author[300], message[CAT_MESSAGE_MAX], now[32];
    cat_commit_opts opts = {author, message};
    cat_version ver;
    store_stmt *st = NULL;
    as_buf ids;
    cat *c = NULL;
    size_t i;
    int rc, good;

    as_buf_init(&ids, 3000);
    if ((rc = web_body_object(r, &body)) < 0 ||
        (rc = as_json_get_str(body, "dataset", 1, &dataset)) < 0 ||
        (rc = as_json_get_str(body, "kind", 1, &kind)) < 0 ||
        (rc = as_json_get_array(body, "ratings", 1, &ratings)) < 0)
        return rc;
    if (strcmp(kind, "good") != 0 && strcmp(kind, "bad") != 0)
        return as_error_set(AS_EINVAL, "kind '%s': must be good or bad", kind);
    if (json_array_size(ratings) == 0 || json_array_size(ratings) > MAX_PROMOTE)
        return as_error_set(AS_EINVAL, "ratings: give 1 to %d rating ids", MAX_PROMOTE);
    good = strcmp(kind, "good") == 0;
    cases = json_array();
    json_array_foreach(ratings, i, v) {
        if (!json_is_integer(v)) {
            rc = as_error_set(AS_EINVAL, "ratings[%zu]: expected a rating id", i);
            goto out;
        }
        if ((rc = promoted_case(r, json_integer_value(v), good, cases, &ids)) < 0)
            goto out;
    }
    snprintf(author, sizeof author, "%s <%s@assay.local>", r->user.name, r->user.name);
    snprintf(message, sizeof message, "dataset %s: promote %s examples from ratings %s (by %s)",
             dataset, kind, ids.data, r->user.name);
    if ((rc = cat_open(&c, web_ctx_data_dir(r->ctx))) < 0 ||
        (rc = cat_dataset_append(&ver, c, dataset, cases, &opts)) < 0)
        goto out;
    as_time_iso8601(now, sizeof now);
    if ((rc = store_prepare(&st, r->db,
                            "INSERT INTO promotions (dataset, kind, commit_id, ratings, created_by, "
                            "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")) < 0)
        goto out;
    {
        char *text = as_json_dump(ratings);
        if (text == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = store_bind_text(st, 1, dataset)) >= 0 && (rc = store_bind_text(st, 2, kind)) >= 0 &&
            (rc = store_bind_text(st, 3, ver.commit)) >= 0 && (rc = store_bind_text(st, 4, text)) >= 0 &&
            (rc = store_bind_int(st, 5, r->user.id)) >= 0 && (rc = store_bind_text(st, 6, now)) >= 0)
            rc = store_step_done(st);
        free(text);
        if (rc < 0)
            goto out;
    }
    r->status = 201;
    *out = json_pack("{s:s,s:i,s:s,s:I,s:s}", "dataset", dataset, "version", ver.version, "commit",
                     ver.commit, "cases", (json_int_t)json_array_size(cases), "message", message);
out:
    store_finalize(st);
    cat_close(c);
    json_decref(cases);
    as_buf_free(&ids);
    return rc;
}

const web_route web_routes_results[] = {
    {"GET", "/rating/results", WEB_PERM_READ, rating_results},
    {"POST", "/promotions", WEB_PERM_EDIT, promote},
    {NULL, NULL, 0, NULL}
};
