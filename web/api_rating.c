/* Rating routes: human-in-the-loop review. A queue is built from runs (or
 * a suite's newest runs) with a sampling rate and a seed: a case is in the
 * sample when hash(seed, case id) < rate, so the same seed always picks
 * the same cases. Raters see items blind (no model names) in an order
 * drawn from the seed; pairwise queues show the two runs' outputs for a
 * case with the sides swapped for half of the raters. Ratings and votes
 * are stored with rater and time; results give human scores per model
 * with intervals, Bradley-Terry strengths, agreement and judge-human
 * correlation; rated outputs can be promoted into a catalog dataset. */
#include "web/http.h"

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"
#include "web/items.h"
#include "web/queue.h"
#include "web/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int insert_queue(store *db, web_queue *q, int64_t user)
{
    store_stmt *st = NULL;
    json_t *runs = json_array();
    char *text = NULL, now[32];
    size_t i;
    int rc;

    for (i = 0; i < q->nruns; i++)
        json_array_append_new(runs, json_integer(q->runs[i]));
    text = as_json_dump(runs);
    json_decref(runs);
    if (text == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    as_time_iso8601(now, sizeof now);
    if ((rc = store_prepare(&st, db,
                            "INSERT INTO rating_queues (name, mode, suite, runs, rate, seed, "
                            "raters_per_item, created_by, created_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")) < 0)
        goto out;
    if ((rc = store_bind_text(st, 1, q->name)) < 0 || (rc = store_bind_text(st, 2, q->mode)) < 0 ||
        (rc = q->suite[0] ? store_bind_text(st, 3, q->suite) : store_bind_null(st, 3)) < 0 ||
        (rc = store_bind_text(st, 4, text)) < 0 || (rc = store_bind_double(st, 5, q->rate)) < 0 ||
        (rc = store_bind_int(st, 6, q->seed)) < 0 || (rc = store_bind_int(st, 7, q->raters)) < 0 ||
        (rc = user ? store_bind_int(st, 8, user) : store_bind_null(st, 8)) < 0 ||
        (rc = store_bind_text(st, 9, now)) < 0 || (rc = store_step_done(st)) < 0)
        goto out;
    q->id = store_last_id(db);
out:
    store_finalize(st);
    free(text);
    return rc;
}

/* POST /rating/queues {"name"?, "mode"?, "runs"? | "suite"?, "rate"?,
 * "seed"?, "raters_per_item"?} */
static int queues_create(web_req *r, json_t **out)
{
    json_t *body, *runs = NULL;
    const char *name = NULL, *mode = "single", *suite = NULL;
    web_queue q;
    int64_t seed = 0, raters = 1;
    double rate = 1.0;
    size_t i;
    int rc;

    if ((rc = web_body_object(r, &body)) < 0)
        return rc;
    if (((rc = as_json_get_str(body, "name", 0, &name)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_str(body, "mode", 0, &mode)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_str(body, "suite", 0, &suite)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_array(body, "runs", 0, &runs)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_num(body, "rate", 0, &rate)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_int(body, "seed", 0, &seed)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_int(body, "raters_per_item", 0, &raters)) < 0 && rc != AS_ENOTFOUND))
        return rc;
    memset(&q, 0, sizeof q);
    if (strcmp(mode, "single") != 0 && strcmp(mode, "pairwise") != 0)
        return as_error_set(AS_EINVAL, "mode '%s': must be single or pairwise", mode);
    if (!(rate > 0 && rate <= 1))
        return as_error_set(AS_EINVAL, "rate: must be in (0, 1]");
    if (raters < 1 || raters > 100)
        return as_error_set(AS_EINVAL, "raters_per_item: must be 1 to 100");
    if (runs) {
        if ((rc = web_queue_runs_from_json(&q, runs)) < 0)
            return rc;
        if ((rc = web_run_suite(r->db, q.runs[0], q.suite, sizeof q.suite)) < 0)
            return rc;
        for (i = 1; i < q.nruns; i++) {
            char other[CAT_NAME_MAX + 1];
            if ((rc = web_run_suite(r->db, q.runs[i], other, sizeof other)) < 0)
                return rc;
            if (strcmp(other, q.suite) != 0)
                return as_error_set(AS_EINVAL, "runs: all runs must be of one suite");
        }
    } else if (suite) {
        int64_t *ids = NULL;
        size_t n = 0;
        if ((rc = web_latest_runs(&ids, &n, r->db, suite)) < 0)
            return rc;
        if (n == 0 || n > WEB_QUEUE_MAX_RUNS) {
            free(ids);
            return as_error_set(n ? AS_ETOOBIG : AS_ENOTFOUND,
                                "suite '%s' has %zu complete runs (need 1 to %d)", suite, n,
                                WEB_QUEUE_MAX_RUNS);
        }
        memcpy(q.runs, ids, n * sizeof *ids);
        q.nruns = n;
        free(ids);
        snprintf(q.suite, sizeof q.suite, "%s", suite);
    } else {
        return as_error_set(AS_EINVAL, "give 'runs' or 'suite'");
    }
    if (strcmp(mode, "pairwise") == 0 && q.nruns != 2)
        return as_error_set(AS_EINVAL, "a pairwise queue compares exactly two runs (got %zu)",
                            q.nruns);
    snprintf(q.mode, sizeof q.mode, "%s", mode);
    if (name && name[0])
        snprintf(q.name, sizeof q.name, "%s", name);
    else
        snprintf(q.name, sizeof q.name, "%.100s %s", q.suite, mode);
    q.rate = rate;
    q.seed = seed;
    q.raters = raters;
    if ((rc = insert_queue(r->db, &q, r->user.id)) < 0)
        return rc;
    r->status = 201;
    *out = web_queue_json(&q);
    return 0;
}

static int queues_list(web_req *r, json_t **out)
{
    store_stmt *st = NULL;
    int64_t offset, limit;
    json_t *list;
    int rc;

    if ((rc = web_query_page(r, &offset, &limit)) < 0)
        return rc;
    if ((rc = store_prepare(&st, r->db,
                            "SELECT q.id, (SELECT count(*) FROM ratings x WHERE x.queue_id = q.id), "
                            "(SELECT count(*) FROM votes v WHERE v.queue_id = q.id) "
                            "FROM rating_queues q ORDER BY q.id DESC LIMIT ?1 OFFSET ?2")) < 0)
        return rc;
    list = json_array();
    if ((rc = store_bind_int(st, 1, limit)) < 0 || (rc = store_bind_int(st, 2, offset)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        web_queue q;
        json_t *o;
        if ((rc = web_queue_load(r->db, store_col_int(st, 0), &q)) < 0)
            goto out;
        o = web_queue_json(&q);
        json_object_set_new(o, "ratings", json_integer(store_col_int(st, 1)));
        json_object_set_new(o, "votes", json_integer(store_col_int(st, 2)));
        json_array_append_new(list, o);
    }
    if (rc >= 0) {
        *out = json_pack("{s:O,s:I,s:I}", "queues", list, "offset", (json_int_t)offset, "limit",
                         (json_int_t)limit);
        rc = 0;
    }
out:
    json_decref(list);
    store_finalize(st);
    return rc;
}

static int queue_get(web_req *r, json_t **out)
{
    web_queue q;
    int64_t id;
    int rc;

    if ((rc = web_parse_id("queue", r->params[0], &id)) < 0 || (rc = web_queue_load(r->db, id, &q)) < 0)
        return rc;
    *out = web_queue_json(&q);
    return 0;
}

/* Ordering of the sample: by a hash of the case, then of the item, both
 * drawn from the seed, so models come in no fixed order. */
typedef struct slot {
    uint64_t key1, key2;
    size_t item;            /* index into the items array */
} slot;

static int cmp_slot(const void *a, const void *b)
{
    const slot *x = a, *y = b;

    if (x->key1 != y->key1)
        return x->key1 < y->key1 ? -1 : 1;
    if (x->key2 != y->key2)
        return x->key2 < y->key2 ? -1 : 1;
    return 0;
}

/* What a queue holds for one rater, read in two queries: per unit (item id
 * or, pairwise, case id) how many ratings or votes it has, whether one is
 * this rater's, and whether this rater skipped it; sorted by unit. */
typedef struct unit_row {
    char *unit;
    int64_t count;
    int mine, skipped;
} unit_row;

typedef struct queue_state {
    unit_row *rows;
    size_t n, cap;
} queue_state;

static void state_free(queue_state *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->rows[i].unit);
    free(s->rows);
}

static int state_add(queue_state *s, const char *unit, int64_t count, int mine, int skipped)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        unit_row *nr = realloc(s->rows, nc * sizeof *nr);
        if (nr == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        s->rows = nr;
        s->cap = nc;
    }
    if ((s->rows[s->n].unit = strdup(unit)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    s->rows[s->n].count = count;
    s->rows[s->n].mine = mine;
    s->rows[s->n].skipped = skipped;
    s->n++;
    return 0;
}

static int cmp_unit(const void *a, const void *b)
{
    return strcmp(((const unit_row *)a)->unit, ((const unit_row *)b)->unit);
}

static const unit_row *state_find(const queue_state *s, const char *unit)
{
    unit_row key;

    key.unit = (char *)unit;
    return s->n ? bsearch(&key, s->rows, s->n, sizeof key, cmp_unit) : NULL;
}

static int state_load(queue_state *s, store *db, const web_queue *q, int64_t rater, int pairwise)
{
    store_stmt *st = NULL;
    size_t i, counted;
    int rc;

    memset(s, 0, sizeof *s);
    if ((rc = store_prepare(&st, db,
                            pairwise ? "SELECT case_id, count(*), coalesce(sum(rater_id = ?2), 0) "
                                       "FROM votes WHERE queue_id = ?1 GROUP BY case_id"
                                     : "SELECT CAST(item_id AS TEXT), count(*), "
                                       "coalesce(sum(rater_id = ?2), 0) FROM ratings "
                                       "WHERE queue_id = ?1 GROUP BY item_id")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, q->id)) < 0 || (rc = store_bind_int(st, 2, rater)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW)
        if ((rc = state_add(s, store_col_text(st, 0), store_col_int(st, 1),
                            store_col_int(st, 2) > 0, 0)) < 0)
            goto out;
    if (rc < 0)
        goto out;
    store_finalize(st);
    st = NULL;
    counted = s->n;
    if (counted)
        qsort(s->rows, counted, sizeof *s->rows, cmp_unit);
    if ((rc = store_prepare(&st, db,
                            "SELECT unit FROM rating_skips WHERE queue_id = ?1 AND rater_id = ?2")) < 0)
        goto out;
    if ((rc = store_bind_int(st, 1, q->id)) < 0 || (rc = store_bind_int(st, 2, rater)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        const char *u = store_col_text(st, 0);
        unit_row key, *hit;
        key.unit = (char *)u;
        hit = counted ? bsearch(&key, s->rows, counted, sizeof key, cmp_unit) : NULL;
        if (hit)
            hit->skipped = 1;
        else if ((rc = state_add(s, u, 0, 0, 1)) < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    if (s->n)
        qsort(s->rows, s->n, sizeof *s->rows, cmp_unit);
    rc = 0;
out:
    store_finalize(st);
    if (rc < 0) {
        for (i = 0; i < s->n; i++)
            free(s->rows[i].unit);
        free(s->rows);
        memset(s, 0, sizeof *s);
    }
    return rc;
}

static json_t *item_view(web_req *r, const web_item *it)
{
    json_t *vars = NULL;

    if (web_case_vars(&vars, r->db, web_ctx_data_dir(r->ctx), it->run_id, it->case_id) < 0)
        vars = json_object();   /* the dataset may have been rewritten; show the output alone */
    return json_pack("{s:I,s:s,s:o,s:s,s:s?}", "item_id", (json_int_t)it->id, "case_id",
                     it->case_id, "input", vars, "output", it->output, "reference", it->expected);
}

/* The queue for ?run=ID: the run at 100%, seed 0, one rater per item,
 * made the first time it is asked for. */
static int queue_for_run(web_req *r, int64_t run, web_queue *q)
{
    store_stmt *st = NULL;
    char runs[32];
    int64_t id = 0;
    int rc;

    snprintf(runs, sizeof runs, "[%lld]", (long long)run);
    if ((rc = store_prepare(&st, r->db,
                            "SELECT id FROM rating_queues WHERE mode = 'single' AND runs = ?1 AND "
                            "rate = 1 AND seed = 0 AND raters_per_item = 1 ORDER BY id LIMIT 1")) < 0)
        return rc;
    if ((rc = store_bind_text(st, 1, runs)) >= 0 && (rc = store_step(st)) == STORE_ROW)
        id = store_col_int(st, 0);
    store_finalize(st);
    if (rc < 0)
        return rc;
    if (id)
        return web_queue_load(r->db, id, q);
    memset(q, 0, sizeof *q);
    q->runs[0] = run;
    q->nruns = 1;
    if ((rc = web_run_suite(r->db, run, q->suite, sizeof q->suite)) < 0)
        return rc;
    snprintf(q->mode, sizeof q->mode, "single");
    snprintf(q->name, sizeof q->name, "run %lld", (long long)run);
    q->rate = 1;
    q->raters = 1;
    return insert_queue(r->db, q, r->user.id);
}

static int next_single(web_req *r, const web_queue *q, json_t **out)
{
    web_item *items = NULL;
    slot *slots = NULL;
    size_t n = 0, ns = 0, i, mine_done = 0;
    json_t *found = NULL;
    queue_state qs;
    char unit[32];
    int rc;

    if ((rc = state_load(&qs, r->db, q, r->user.id, 0)) < 0)
        return rc;
    if ((rc = web_items_of_runs(&items, &n, r->db, q->runs, q->nruns)) < 0) {
        state_free(&qs);
        return rc;
    }
    if (n && (slots = malloc(n * sizeof *slots)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (!web_queue_samples(q, items[i].case_id))
            continue;
        snprintf(unit, sizeof unit, "%lld", (long long)items[i].id);
        slots[ns].key1 = web_stats_hash((uint64_t)q->seed ^ 0x9e3779b97f4a7c15ULL, items[i].case_id);
        slots[ns].key2 = web_stats_hash((uint64_t)q->seed, unit);
        slots[ns].item = i;
        ns++;
    }
    if (ns)
        qsort(slots, ns, sizeof *slots, cmp_slot);
    for (i = 0; i < ns; i++) {
        const web_item *it = &items[slots[i].item];
        const unit_row *u;
        snprintf(unit, sizeof unit, "%lld", (long long)it->id);
        u = state_find(&qs, unit);
        if (u && (u->mine || u->skipped)) {
            mine_done++;
            continue;
        }
        if (found == NULL && (u == NULL || u->count < q->raters))
            found = item_view(r, it);
    }
    *out = json_pack("{s:o,s:b,s:{s:I,s:I}}", "queue", web_queue_json(q), "done", found == NULL,
                     "progress", "sample", (json_int_t)ns, "yours", (json_int_t)mine_done);
    if (found)
        json_object_set_new(*out, "item", found);
out:
    free(slots);
    web_items_free(items, n);
    state_free(&qs);
    return rc;
}

/* Pairwise: the cases both runs answered; the side shown first depends on
 * the rater so that both orders are seen across raters. */
static int next_pairwise(web_req *r, const web_queue *q, json_t **out)
{
    web_item *a = NULL, *b = NULL;
    size_t na = 0, nb = 0, i, j = 0, ns = 0, mine_done = 0;
    slot *slots = NULL;
    json_t *found = NULL;
    queue_state qs;
    int rc;

    if ((rc = state_load(&qs, r->db, q, r->user.id, 1)) < 0)
        return rc;
    if ((rc = web_items_of_runs(&a, &na, r->db, &q->runs[0], 1)) < 0 ||
        (rc = web_items_of_runs(&b, &nb, r->db, &q->runs[1], 1)) < 0)
        goto out;
    if (na && (slots = malloc(na * sizeof *slots)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    /* Both lists are sorted by case id: merge them. */
    for (i = 0; i < na; i++) {
        int c = 1;
        while (j < nb && (c = strcmp(b[j].case_id, a[i].case_id)) < 0)
            j++;
        if (j >= nb || c != 0 || !web_queue_samples(q, a[i].case_id))
            continue;
        slots[ns].key1 = web_stats_hash((uint64_t)q->seed ^ 0x9e3779b97f4a7c15ULL, a[i].case_id);
        slots[ns].key2 = j;
        slots[ns].item = i;
        ns++;
    }
    if (ns)
        qsort(slots, ns, sizeof *slots, cmp_slot);
    for (i = 0; i < ns; i++) {
        const web_item *ia = &a[slots[i].item], *ib = &b[slots[i].key2];
        const unit_row *u = state_find(&qs, ia->case_id);
        if (u && (u->mine || u->skipped)) {
            mine_done++;
            continue;
        }
        if (found == NULL && (u == NULL || u->count < q->raters)) {
            char key[300];
            json_t *va, *vb;
            snprintf(key, sizeof key, "%s#%lld", ia->case_id, (long long)r->user.id);
            va = json_pack("{s:I,s:s}", "item_id", (json_int_t)ia->id, "output", ia->output);
            vb = json_pack("{s:I,s:s}", "item_id", (json_int_t)ib->id, "output", ib->output);
            found = item_view(r, ia);
            json_object_del(found, "output");
            json_object_del(found, "item_id");
            if (web_stats_hash((uint64_t)q->seed, key) & 1) {
                json_object_set_new(found, "left", vb);
                json_object_set_new(found, "right", va);
            } else {
                json_object_set_new(found, "left", va);
                json_object_set_new(found, "right", vb);
            }
        }
    }
    *out = json_pack("{s:o,s:b,s:{s:I,s:I}}", "queue", web_queue_json(q), "done", found == NULL,
                     "progress", "sample", (json_int_t)ns, "yours", (json_int_t)mine_done);
    if (found)
        json_object_set_new(*out, "item", found);
out:
    free(slots);
    web_items_free(a, na);
    web_items_free(b, nb);
    state_free(&qs);
    return rc;
}

/* GET /rating/next?queue=ID (or ?run=ID). */
static int rating_next(web_req *r, json_t **out)
{
    int64_t id, run;
    web_queue q;
    int rc;

    if ((rc = web_query_int(r, "queue", 0, 0, INT64_MAX, &id)) < 0 ||
        (rc = web_query_int(r, "run", 0, 0, INT64_MAX, &run)) < 0)
        return rc;
    if (id)
        rc = web_queue_load(r->db, id, &q);
    else if (run)
        rc = queue_for_run(r, run, &q);
    else
        rc = as_error_set(AS_EINVAL, "give ?queue=ID or ?run=ID");
    if (rc < 0)
        return rc;
    return strcmp(q.mode, "pairwise") == 0 ? next_pairwise(r, &q, out) : next_single(r, &q, out);
}

static int item_in_queue(const web_queue *q, const web_item *it)
{
    size_t i;

    for (i = 0; i < q->nruns; i++)
        if (q->runs[i] == it->run_id)
            return web_queue_samples(q, it->case_id);
    return 0;
}

/* POST /ratings {"queue", "item_id", "score" 1-10, "feedback"?} */
static int ratings_add(web_req *r, json_t **out)
{
    json_t *body;
    int64_t qid, item_id, score;
    const char *feedback = NULL;
    store_stmt *st = NULL;
    web_item it;
    web_queue q;
    char now[32];
    int rc;

    if ((rc = web_body_object(r, &body)) < 0 || (rc = as_json_get_int(body, "queue", 1, &qid)) < 0 ||
        (rc = as_json_get_int(body, "item_id", 1, &item_id)) < 0 ||
        (rc = as_json_get_int(body, "score", 1, &score)) < 0 ||
        ((rc = as_json_get_str(body, "feedback", 0, &feedback)) < 0 && rc != AS_ENOTFOUND))
        return rc;
    if (score < 1 || score > 10)
        return as_error_set(AS_EINVAL, "score: must be 1 to 10");
    if (feedback && strlen(feedback) > 4000)
        return as_error_set(AS_ETOOBIG, "feedback: at most 4000 bytes");
    if ((rc = web_queue_load(r->db, qid, &q)) < 0)
        return rc;
    if (strcmp(q.mode, "single") != 0)
        return as_error_set(AS_EINVAL, "queue %lld is pairwise: send votes", (long long)qid);
    if ((rc = web_item_get(&it, r->db, item_id)) < 0)
        return rc;
    if (!item_in_queue(&q, &it)) {
        rc = as_error_set(AS_EINVAL, "item %lld is not in queue %lld", (long long)item_id,
                          (long long)qid);
        goto out;
    }
    as_time_iso8601(now, sizeof now);
    if ((rc = store_prepare(&st, r->db,
                            "INSERT INTO ratings (queue_id, run_id, item_id, case_id, model, "
                            "rater_id, score, feedback, created_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")) < 0)
        goto out;
    if ((rc = store_bind_int(st, 1, qid)) < 0 || (rc = store_bind_int(st, 2, it.run_id)) < 0 ||
        (rc = store_bind_int(st, 3, it.id)) < 0 || (rc = store_bind_text(st, 4, it.case_id)) < 0 ||
        (rc = store_bind_text(st, 5, it.model)) < 0 || (rc = store_bind_int(st, 6, r->user.id)) < 0 ||
        (rc = store_bind_int(st, 7, score)) < 0 ||
        (rc = feedback && feedback[0] ? store_bind_text(st, 8, feedback) : store_bind_null(st, 8)) < 0 ||
        (rc = store_bind_text(st, 9, now)) < 0)
        goto out;
    if ((rc = store_step_done(st)) < 0) {
        if (rc == AS_EEXISTS)
            as_error_set(AS_EEXISTS, "you already rated item %lld in this queue", (long long)item_id);
        goto out;
    }
    r->status = 201;
    *out = json_pack("{s:I,s:I,s:I,s:I}", "id", (json_int_t)store_last_id(r->db), "queue",
                     (json_int_t)qid, "item_id", (json_int_t)item_id, "score", (json_int_t)score);
out:
    store_finalize(st);
    web_item_clear(&it);
    return rc;
}

/* GET /ratings?queue=ID&offset=&limit= */
static int ratings_list(web_req *r, json_t **out)
{
    int64_t qid, offset, limit;
    store_stmt *st = NULL;
    json_t *list;
    int rc;

    if ((rc = web_query_int(r, "queue", 0, 0, INT64_MAX, &qid)) < 0 ||
        (rc = web_query_page(r, &offset, &limit)) < 0)
        return rc;
    if ((rc = store_prepare(&st, r->db,
                            "SELECT ra.id, ra.queue_id, ra.item_id, ra.run_id, ra.case_id, ra.model, "
                            "u.name, ra.score, ra.feedback, ra.created_at "
                            "FROM ratings ra JOIN users u ON u.id = ra.rater_id "
                            "WHERE ?1 = 0 OR ra.queue_id = ?1 ORDER BY ra.id LIMIT ?2 OFFSET ?3")) < 0)
        return rc;
    list = json_array();
    if ((rc = store_bind_int(st, 1, qid)) < 0 || (rc = store_bind_int(st, 2, limit)) < 0 ||
        (rc = store_bind_int(st, 3, offset)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        json_array_append_new(
            list, json_pack("{s:I,s:I,s:I,s:I,s:s,s:s,s:s,s:I,s:s?,s:s}", "id",
                            (json_int_t)store_col_int(st, 0), "queue", (json_int_t)store_col_int(st, 1),
                            "item_id", (json_int_t)store_col_int(st, 2), "run",
                            (json_int_t)store_col_int(st, 3), "case_id", store_col_text(st, 4),
                            "model", store_col_text(st, 5), "rater", store_col_text(st, 6), "score",
                            (json_int_t)store_col_int(st, 7), "feedback", store_col_text(st, 8),
                            "created_at", store_col_text(st, 9)));
    }
    if (rc >= 0) {
        *out = json_pack("{s:O,s:I,s:I}", "ratings", list, "offset", (json_int_t)offset, "limit",
                         (json_int_t)limit);
        rc = 0;
    }
out:
    json_decref(list);
    store_finalize(st);
    return rc;
}

/* POST /rating/skip {"queue", "item_id" | "case_id"} */
static int rating_skip(web_req *r, json_t **out)
{
    json_t *body;
    int64_t qid, item_id = 0;
    const char *case_id = NULL;
    store_stmt *st = NULL;
    char unit[300];
    int rc;

    if ((rc = web_body_object(r, &body)) < 0 || (rc = as_json_get_int(body, "queue", 1, &qid)) < 0 ||
        ((rc = as_json_get_int(body, "item_id", 0, &item_id)) < 0 && rc != AS_ENOTFOUND) ||
        ((rc = as_json_get_str(body, "case_id", 0, &case_id)) < 0 && rc != AS_ENOTFOUND))
        return rc;
    if (item_id > 0)
        snprintf(unit, sizeof unit, "%lld", (long long)item_id);
    else if (case_id && strlen(case_id) < sizeof unit)
        snprintf(unit, sizeof unit, "%s", case_id);
    else
        return as_error_set(AS_EINVAL, "give item_id (single) or case_id (pairwise)");
    if ((rc = store_prepare(&st, r->db,
                            "INSERT OR IGNORE INTO rating_skips (queue_id, unit, rater_id) "
                            "VALUES (?1, ?2, ?3)")) < 0)
        return rc;
    if ((rc = store_bind_int(st, 1, qid)) >= 0 && (rc = store_bind_text(st, 2, unit)) >= 0 &&
        (rc = store_bind_int(st, 3, r->user.id)) >= 0)
        rc = store_step_done(st);
    store_finalize(st);
    if (rc < 0)
        return rc == AS_EEXISTS ? as_error_set(AS_ENOTFOUND, "no rating queue %lld", (long long)qid)
                                : rc;
    *out = json_pack("{s:b}", "ok", 1);
    return 0;
}

/* POST /votes {"queue", "case_id", "left_item", "right_item", "winner":
 * "left"|"right"|"tie"} */
static int votes_add(web_req *r, json_t **out)
{
    json_t *body;
    int64_t qid, left, right;
    const char *case_id, *winner;
    web_item ia, ib;
    store_stmt *st = NULL;
    const char *first, *w;
    web_queue q;
    char now[32];
    int rc;

    memset(&ia, 0, sizeof ia);
    memset(&ib, 0, sizeof ib);
    if ((rc = web_body_object(r, &body)) < 0 || (rc = as_json_get_int(body, "queue", 1, &qid)) < 0 ||
        (rc = as_json_get_str(body, "case_id", 1, &case_id)) < 0 ||
        (rc = as_json_get_int(body, "left_item", 1, &left)) < 0 ||
        (rc = as_json_get_int(body, "right_item", 1, &right)) < 0 ||
        (rc = as_json_get_str(body, "winner", 1, &winner)) < 0)
        return rc;
    if ((rc = web_queue_load(r->db, qid, &q)) < 0)
        return rc;
    if (strcmp(q.mode, "pairwise") != 0)
        return as_error_set(AS_EINVAL, "queue %lld is not pairwise", (long long)qid);
    if ((rc = web_item_get(&ia, r->db, left)) < 0 || (rc = web_item_get(&ib, r->db, right)) < 0)
        goto out;
    /* Put the pair back on the queue's fixed sides: a = runs[0]. */
    if (ia.run_id == q.runs[1] && ib.run_id == q.runs[0]) {
        web_item t = ia;
        ia = ib;
        ib = t;
        first = "b";
        w = strcmp(winner, "left") == 0 ? "b" : strcmp(winner, "right") == 0 ? "a" : "tie";
    } else {
        first = "a";
        w = strcmp(winner, "left") == 0 ? "a" : strcmp(winner, "right") == 0 ? "b" : "tie";
    }
    if (ia.run_id != q.runs[0] || ib.run_id != q.runs[1] || strcmp(ia.case_id, case_id) != 0 ||
        strcmp(ib.case_id, case_id) != 0 || !web_queue_samples(&q, case_id)) {
        rc = as_error_set(AS_EINVAL, "the items are not the pair of case %s in queue %lld",
                          case_id, (long long)qid);
        goto out;
    }
    if (strcmp(winner, "left") != 0 && strcmp(winner, "right") != 0 && strcmp(winner, "tie") != 0) {
        rc = as_error_set(AS_EINVAL, "winner '%s': must be left, right or tie", winner);
        goto out;
    }
    as_time_iso8601(now, sizeof now);
    if ((rc = store_prepare(&st, r->db,
                            "INSERT INTO votes (queue_id, case_id, item_a, item_b, model_a, model_b, "
                            "shown_first, winner, rater_id, created_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")) < 0)
        goto out;
    if ((rc = store_bind_int(st, 1, qid)) < 0 || (rc = store_bind_text(st, 2, case_id)) < 0 ||
        (rc = store_bind_int(st, 3, ia.id)) < 0 || (rc = store_bind_int(st, 4, ib.id)) < 0 ||
        (rc = store_bind_text(st, 5, ia.model)) < 0 || (rc = store_bind_text(st, 6, ib.model)) < 0 ||
        (rc = store_bind_text(st, 7, first)) < 0 || (rc = store_bind_text(st, 8, w)) < 0 ||
        (rc = store_bind_int(st, 9, r->user.id)) < 0 || (rc = store_bind_text(st, 10, now)) < 0)
        goto out;
    if ((rc = store_step_done(st)) < 0) {
        if (rc == AS_EEXISTS)
            as_error_set(AS_EEXISTS, "you already voted on case %s in this queue", case_id);
        goto out;
    }
    r->status = 201;
    *out = json_pack("{s:I,s:s}", "id", (json_int_t)store_last_id(r->db), "winner", w);
out:
    store_finalize(st);
    web_item_clear(&ia);
    web_item_clear(&ib);
    return rc;
}

const web_route web_routes_rating[] = {
    {"GET", "/rating/queues", WEB_PERM_READ, queues_list},
    {"POST", "/rating/queues", WEB_PERM_EDIT, queues_create},
    {"GET", "/rating/queues/{}", WEB_PERM_READ, queue_get},
    {"GET", "/rating/next", WEB_PERM_RATE, rating_next},
    {"POST", "/rating/skip", WEB_PERM_RATE, rating_skip},
    {"GET", "/ratings", WEB_PERM_READ, ratings_list},
    {"POST", "/ratings", WEB_PERM_RATE, ratings_add},
    {"POST", "/votes", WEB_PERM_RATE, votes_add},
    {NULL, NULL, 0, NULL}
};
