/* Runs as data (runs.h): summaries with bootstrap intervals, cost and
 * speed, listings and items. */
#include "evaluator/runs.h"
#include "evaluator/cost.h"
#include "metrics/classify.h"
#include "metrics/registry.h"
#include "metrics/stats.h"
#include "common/error.h"
#include "common/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BOOT_RESAMPLES 1000
#define BOOT_CORPUS_RESAMPLES 200
#define BOOT_SEED 0

/* A growable array of doubles. */
typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

static int dvec_push(dvec *d, double x)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        double *g = realloc(d->v, cap * sizeof(*g));
        if (g == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        d->v = g;
        d->cap = cap;
    }
    d->v[d->n++] = x;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* {mean, ci_low, ci_high, n} of the values. */
static json_t *mean_ci(const dvec *d)
{
    json_t *o = json_object();
    met_interval iv;
    met_mt rng;

    if (d->n == 0) {
        json_object_set_new(o, "mean", json_null());
        json_object_set_new(o, "ci_low", json_null());
        json_object_set_new(o, "ci_high", json_null());
    } else {
        json_object_set_new(o, "mean", num_or_null(met_mean(d->v, d->n)));
        met_mt_seed(&rng, BOOT_SEED);
        if (met_bootstrap(d->v, d->n, 1, &rng, BOOT_RESAMPLES, 0.95, &iv) == 0) {
            json_object_set_new(o, "ci_low", num_or_null(iv.low));
            json_object_set_new(o, "ci_high", num_or_null(iv.high));
        }
    }
    as_json_set_int(o, "n", (int64_t)d->n);
    return o;
}

static json_t *percentiles(dvec *d, const double *qs, const char *const *names, size_t nq)
{
    json_t *o = json_object();
    size_t i;

    if (d->n > 0)
        qsort(d->v, d->n, sizeof(double), cmp_double);
    for (i = 0; i < nq; i++)
        json_object_set_new(o, names[i], d->n ? num_or_null(met_percentile_sorted(d->v, d->n, qs[i]))
                                              : json_null());
    return o;
}

/* ---- classification over (expected, label) pairs ---- */

typedef struct cls_pairs {
    char **truth, **pred;   /* pred "" when the output named no label */
    size_t n, cap;
} cls_pairs;

static int pairs_push(cls_pairs *p, const char *t, const char *l)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char **a = realloc(p->truth, cap * sizeof(*a)), **b;
        if (a == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        p->truth = a;
        if ((b = realloc(p->pred, cap * sizeof(*b))) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        p->pred = b;
        p->cap = cap;
    }
    p->truth[p->n] = strdup(t);
    p->pred[p->n] = strdup(l ? l : "");
    if (!p->truth[p->n] || !p->pred[p->n])
        return as_error_set(AS_ENOMEM, "out of memory");
    p->n++;
    return 0;
}

static void pairs_free(cls_pairs *p)
{
    size_t i;

    for (i = 0; i < p->n; i++) {
        free(p->truth[i]);
        free(p->pred[i]);
    }
    free(p->truth);
    free(p->pred);
}

/* precision/recall/f1 of one average over the rows idx[0..n) (all when idx
 * is NULL). */
static int cls_compute(met_cls_result **out, const cls_pairs *p, const size_t *idx, size_t n,
                       const met_label *labels, size_t nlabels)
{
    met_cls *c = NULL;
    met_cls_opts o;
    size_t i;
    int rc;

    if ((rc = met_cls_new(&c)) < 0)
        return rc;
    for (i = 0; i < n; i++) {
        size_t k = idx ? idx[i] : i;
        if ((rc = met_cls_add_str(c, p->truth[k], strlen(p->truth[k]), p->pred[k],
                                  strlen(p->pred[k]))) < 0)
            goto out;
    }
    memset(&o, 0, sizeof(o));
    o.labels = labels;
    o.nlabels = nlabels;
    o.zero_division = 0;
    rc = met_cls_compute(out, c, &o);
out:
    met_cls_free(c);
    return rc;
}

static int is_cls_metric(const char *name)
{
    return strcmp(name, "accuracy") == 0 || strcmp(name, "precision") == 0 ||
           strcmp(name, "recall") == 0 || strcmp(name, "f1") == 0;
}

/* The corpus value of 'spec' over the rows idx[0..n) (all when NULL). */
static int corpus_value(const met_spec *spec, const cls_pairs *p, const size_t *idx, size_t n,
                        double *out)
{
    met_scorer *sc = NULL;
    size_t i;
    int rc;

    if ((rc = met_scorer_new(&sc, spec)) < 0)
        return rc;
    for (i = 0; i < n; i++) {
        size_t k = idx ? idx[i] : i;
        const char *t = p->truth[k];
        size_t tl = strlen(t);
        double v;
        if ((rc = met_scorer_case(sc, p->pred[k], strlen(p->pred[k]), &t, &tl, 1, &v)) < 0)
            goto out;
    }
    rc = met_scorer_corpus(sc, out);
out:
    met_scorer_free(sc);
    return rc;
}

/* A corpus-level metric (accuracy, precision, recall, f1) through the
 * metrics registry, with a bootstrap interval over resampled items. The
 * average defaults to macro and the labels to the prompt's label set, so
 * an output outside it counts as wrong without adding a class. */
static json_t *corpus_metric(const cls_pairs *p, const json_t *spec_json, const json_t *labels)
{
    json_t *o = json_object(), *spec = json_deep_copy(spec_json);
    met_spec *ms = NULL;
    size_t *idx = NULL, b, i;
    dvec boot = {0};
    met_mt mt;
    double v;
    const char *name = json_string_value(json_object_get(spec, "name"));

    as_json_set_int(o, "n", (int64_t)p->n);
    json_object_set_new(o, "mean", json_null());
    if (name && strcmp(name, "accuracy") != 0) {
        if (json_object_get(spec, "average") == NULL)
            json_object_set_new(spec, "average", json_string("macro"));
        if (json_object_get(spec, "labels") == NULL && json_array_size(labels) > 0)
            json_object_set(spec, "labels", (json_t *)labels);
    }
    if (p->n == 0 || met_spec_parse(&ms, spec) < 0 || corpus_value(ms, p, NULL, p->n, &v) < 0) {
        if (p->n > 0)
            as_json_set_str(o, "error", as_error_msg());
        goto out;
    }
    json_object_set_new(o, "mean", num_or_null(v));
    if ((idx = malloc(p->n * sizeof(*idx))) == NULL)
        goto out;
    met_mt_seed(&mt, BOOT_SEED);
    for (b = 0; b < BOOT_CORPUS_RESAMPLES; b++) {
        for (i = 0; i < p->n; i++)
            idx[i] = met_mt_below(&mt, (uint32_t)p->n);
        if (corpus_value(ms, p, idx, p->n, &v) == 0 && isfinite(v) && dvec_push(&boot, v) < 0)
            break;
    }
    if (boot.n > 0) {
        qsort(boot.v, boot.n, sizeof(double), cmp_double);
        json_object_set_new(o, "ci_low", num_or_null(met_percentile_sorted(boot.v, boot.n, 2.5)));
        json_object_set_new(o, "ci_high", num_or_null(met_percentile_sorted(boot.v, boot.n, 97.5)));
    }
out:
    free(boot.v);
    free(idx);
    met_spec_free(ms);
    json_decref(spec);
    return o;
}

static json_t *cls_report(const cls_pairs *p, const met_label *labels, size_t nlabels)
{
    met_cls_result *r = NULL;
    json_t *o, *per;
    size_t i;

    if (p->n == 0 || cls_compute(&r, p, NULL, p->n, labels, nlabels) < 0)
        return json_null();
    o = json_object();
    per = json_object();
    for (i = 0; i < r->n; i++)
        json_object_set_new(per, r->names[i],
                            json_pack("{s:o,s:o,s:o,s:I}", "precision", num_or_null(r->precision[i]),
                                      "recall", num_or_null(r->recall[i]), "f1",
                                      num_or_null(r->f1[i]), "support", (json_int_t)r->support[i]));
    json_object_set_new(o, "labels", per);
    json_object_set_new(o, "accuracy", num_or_null(r->accuracy));
    json_object_set_new(o, "macro_f1", num_or_null(r->macro.f1));
    json_object_set_new(o, "micro_f1", num_or_null(r->micro.f1));
    json_object_set_new(o, "weighted_f1", num_or_null(r->weighted.f1));
    as_json_set_int(o, "n", r->total);
    met_cls_result_free(r);
    return o;
}

/* ---- the summary ---- */

typedef struct acc {
    json_t *specs;          /* the run's metric specs */
    json_t *labels;
    dvec *per;              /* one per spec (per-case metrics) */
    size_t nspec;
    dvec lat, ttft;         /* answers from the model in this run */
    dvec lat_c, ttft_c;     /* answers from the cache: their recorded figures */
    dvec tpot, tpot_c;      /* time per output token after the first, the same two ways */
    dvec cold;              /* cold_start_ms of the calls that met a cold endpoint */
    dvec srv;               /* server-reported latencies of the calls */
    int64_t cold_checked;   /* calls whose provider told cold from warm */
    cls_pairs pairs;
    int64_t n, ok, failed, cached, truncated, oob, estimated, pt, ct;
    int64_t ct_model, pt_c, ct_c;
    double cost, busy_items, lat_sum_model, lat_sum_c;
} acc;

static void acc_free(acc *a)
{
    size_t i;

    for (i = 0; i < a->nspec; i++)
        free(a->per[i].v);
    free(a->per);
    free(a->lat.v);
    free(a->ttft.v);
    free(a->lat_c.v);
    free(a->ttft_c.v);
    free(a->tpot.v);
    free(a->tpot_c.v);
    free(a->cold.v);
    free(a->srv.v);
    pairs_free(&a->pairs);
    json_decref(a->specs);
    json_decref(a->labels);
}

/* Time per output token after the first, from an item row's latency,
 * TTFT and completion tokens (columns lat, lat + 1 and ct of 'st'):
 * (latency - TTFT) / (tokens - 1), or -1 unless the first token was timed
 * and a second followed. */
static double item_tpot(store_stmt *st, int lat, int ct)
{
    int64_t n = store_col_int(st, ct);
    double l = store_col_double(st, lat), t = store_col_double(st, lat + 1);

    if (store_col_type(st, lat + 1) == STORE_NULL || store_col_type(st, lat) == STORE_NULL ||
        t < 0 || n < 2 || l < t)
        return -1;
    return (l - t) / (double)(n - 1);
}

static int push_tpot(dvec *d, store_stmt *st)
{
    double t = item_tpot(st, 5, 8);

    return t >= 0 ? dvec_push(d, t) : 0;
}

static int read_items(acc *a, store *db, int64_t id)
{
    store_stmt *st = NULL;
    int rc;
    size_t k;

    if ((rc = store_prepare(&st, db,
             "SELECT status, scores, label, out_of_labels, expected, latency_ms, ttft_ms, "
             "prompt_tokens, completion_tokens, usage_estimated, cost_usd, busy_ms, cached, "
             "output_truncated, cold_start_ms, server_latency_ms FROM items WHERE run_id = ?1 "
             "ORDER BY id")) < 0 ||
        (rc = store_bind_int(st, 1, id)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        int ok = strcmp(store_col_text(st, 0), "ok") == 0;
        int cached = (int)store_col_int(st, 12);
        /* a call that waited for a cold endpoint is left out of the steady
         * speed figures; its wait is reported under cold_start_ms */
        double cold_ms = store_col_type(st, 14) == STORE_NULL ? -1 : store_col_double(st, 14);
        int cold = !cached && cold_ms > 0;
        json_t *scores = NULL;
        const char *sc = store_col_text(st, 1), *expected = store_col_text(st, 4);
        a->n++;
        if (!ok) {
            a->failed++;
        } else {
            a->ok++;
            a->cached += cached;
            a->truncated += store_col_int(st, 13);
            a->oob += store_col_int(st, 3);
            a->estimated += store_col_int(st, 9);
            a->pt += store_col_int(st, 7);
            a->ct += store_col_int(st, 8);
            a->cost += store_col_double(st, 10);
            if (!cached)
                a->busy_items += store_col_double(st, 11);
            if (cached) {
                a->pt_c += store_col_int(st, 7);
                a->ct_c += store_col_int(st, 8);
            } else if (!cold) {
                a->ct_model += store_col_int(st, 8);
            }
            if (!cached && cold_ms >= 0) {
                a->cold_checked++;
                if (cold && (rc = dvec_push(&a->cold, cold_ms)) < 0)
                    goto out;
            }
            if (!cached && store_col_type(st, 15) != STORE_NULL &&
                (rc = dvec_push(&a->srv, store_col_double(st, 15))) < 0)
                goto out;
            if (!cold && store_col_type(st, 5) != STORE_NULL) {
                double l = store_col_double(st, 5);
                if ((rc = dvec_push(cached ? &a->lat_c : &a->lat, l)) < 0)
                    goto out;
                if (cached)
                    a->lat_sum_c += l;
                else
                    a->lat_sum_model += l;
                if (store_col_type(st, 6) != STORE_NULL &&
                    (rc = dvec_push(cached ? &a->ttft_c : &a->ttft, store_col_double(st, 6))) < 0)
                    goto out;
                if ((rc = push_tpot(cached ? &a->tpot_c : &a->tpot, st)) < 0)
                    goto out;
            }
        }
        if (sc && as_json_parse(&scores, sc, strlen(sc), "scores") < 0)
            scores = NULL;
        for (k = 0; k < a->nspec; k++) {
            const char *name = json_string_value(json_object_get(json_array_get(a->specs, k), "name"));
            json_t *v;
            if (name == NULL || is_cls_metric(name) || strcmp(name, "judge") == 0)
                continue;
            v = json_object_get(scores, name);
            if (ok && !json_is_number(v))
                continue;       /* a metric that needs a reference the case lacks */
            if ((rc = dvec_push(&a->per[k], ok ? json_number_value(v) : 0.0)) < 0) {
                json_decref(scores);
                goto out;
            }
        }
        json_decref(scores);
        if (expected && json_array_size(a->labels) > 0 &&
            (rc = pairs_push(&a->pairs, expected, ok ? store_col_text(st, 2) : NULL)) < 0)
            goto out;
    }
    if (rc > 0)
        rc = 0;
out:
    store_finalize(st);
    return rc;
}

static int judge_summary(json_t *sum, json_t *metrics, store *db, int64_t id, const json_t *judge)
{
    const char *model = json_string_value(json_object_get(judge, "model"));
    const char *mode = json_string_value(json_object_get(judge, "mode"));
    store_stmt *st = NULL;
    json_t *o = json_object();
    dvec v = {0};
    int64_t errors = 0, wins = 0, losses = 0, ties = 0, disagree = 0, n = 0;
    double cost = 0;
    int rc, pairwise = mode && strcmp(mode, "pairwise") == 0;

    if (model == NULL && json_is_object(json_object_get(judge, "model")))
        model = json_string_value(json_object_get(json_object_get(judge, "model"), "name"));
    as_json_set_str(o, "model", model ? model : "");
    as_json_set_str(o, "mode", pairwise ? "pairwise" : "single");
    if (!pairwise) {
        rc = store_prepare(&st, db, "SELECT score, error, cost_usd FROM judgments WHERE run_id = ?1 "
                           "AND judge_model = ?2");
        if (rc == 0 && (rc = store_bind_int(st, 1, id)) == 0)
            rc = store_bind_text(st, 2, model ? model : "");
        while (rc == 0 && (rc = store_step(st)) == STORE_ROW) {
            cost += store_col_double(st, 2);
            if (store_col_type(st, 0) == STORE_NULL)
                errors++;
            else if ((rc = dvec_push(&v, store_col_double(st, 0))) < 0)
                break;
            rc = 0;
        }
    } else {
        rc = store_prepare(&st, db, "SELECT run_a, winner, disagree, error, cost_usd FROM pairwise "
                           "WHERE (run_a = ?1 OR run_b = ?1) AND judge_model = ?2");
        if (rc == 0 && (rc = store_bind_int(st, 1, id)) == 0)
            rc = store_bind_text(st, 2, model ? model : "");
        while (rc == 0 && (rc = store_step(st)) == STORE_ROW) {
            const char *w = store_col_text(st, 1);
            int is_a = store_col_int(st, 0) == id;
            rc = 0;
            cost += store_col_double(st, 4) / 2;    /* shared by the two runs */
            if (w == NULL) {
                errors++;
                continue;
            }
            n++;
            disagree += store_col_int(st, 2);
            if (strcmp(w, "tie") == 0) {
                ties++;
                rc = dvec_push(&v, 0.5);
            } else if ((strcmp(w, "a") == 0) == is_a) {
                wins++;
                rc = dvec_push(&v, 1);
            } else {
                losses++;
                rc = dvec_push(&v, 0);
            }
        }
        as_json_set_int(o, "wins", wins);
        as_json_set_int(o, "losses", losses);
        as_json_set_int(o, "ties", ties);
        json_object_set_new(o, "disagreement_rate", n ? json_real((double)disagree / n) : json_null());
    }
    store_finalize(st);
    if (rc < 0) {
        free(v.v);
        json_decref(o);
        return rc;
    }
    as_json_set_int(o, "errors", errors);
    json_object_set_new(metrics, "judge", mean_ci(&v));
    json_object_set(o, "score", json_object_get(metrics, "judge"));
    as_json_set_num(o, "cost_usd", cost);
    as_json_set_num(sum, "judge_cost_usd", cost);
    json_object_set_new(sum, "judge", o);
    free(v.v);
    return 0;
}

/* The cosine_embedding metric's calls: the model, the items whose call
 * failed (and have no score), those scored from the cache, and what the
 * calls cost. */
static int embedding_summary(json_t *sum, store *db, int64_t id, const json_t *specs)
{
    const json_t *spec = met_spec_find(specs, MET_COSINE_EMBEDDING);
    store_stmt *st = NULL;
    int rc;

    if (spec == NULL) {
        as_json_set_num(sum, "embedding_cost_usd", 0);
        return 0;
    }
    if ((rc = store_prepare(&st, db, "SELECT count(*) FILTER (WHERE score IS NULL), "
                            "coalesce(sum(cost_usd), 0), count(*) FILTER (WHERE cached = 1) "
                            "FROM embeddings WHERE run_id = ?1")) < 0 ||
        (rc = store_bind_int(st, 1, id)) < 0 || (rc = store_step(st)) < 0)
        goto out;
    json_object_set_new(sum, "embedding",
                        json_pack("{s:O,s:I,s:I,s:f}", "model", json_object_get(spec, "model"),
                                  "errors", (json_int_t)store_col_int(st, 0), "cached",
                                  (json_int_t)store_col_int(st, 2), "cost_usd",
                                  store_col_double(st, 1)));
    as_json_set_num(sum, "embedding_cost_usd", store_col_double(st, 1));
    rc = 0;
out:
    store_finalize(st);
    return rc;
}

int eval_run_summary(json_t **out, store *db, int64_t id)
{
    store_stmt *st = NULL;
    json_t *sum = NULL, *metrics = NULL, *judge = NULL;
    acc a;
    met_label *labels = NULL;
    size_t nlabels = 0, k;
    const char *t;
    double price_hour, price_in, price_out, busy_ms, cost, secs, lat_sum;
    int64_t instances;
    int64_t ct_speed;
    dvec *lat, *ttft;
    int from_cache;
    int rc;
    static const double lq[] = {50, 95, 99}, tq[] = {50, 95};
    static const char *const ln[] = {"p50", "p95", "p99"}, *const tn[] = {"p50", "p95"};

    *out = NULL;
    memset(&a, 0, sizeof(a));
    if ((rc = store_prepare(&st, db,
             "SELECT id, suite, suite_commit, prompt, prompt_version, prompt_commit, dataset, "
             "dataset_version, dataset_commit, model, provider, model_settings, price_in, "
             "price_out, price_hour, price_version, assay_version, status, error, created_at, "
             "finished_at, items_total, busy_ms, concurrency, metrics, primary_metric, labels, "
             "judge, repeat, case_limit, instance_count FROM runs WHERE id = ?1")) < 0 ||
        (rc = store_bind_int(st, 1, id)) < 0)
        goto out;
    if ((rc = store_step(st)) != STORE_ROW) {
        if (rc == STORE_DONE)
            rc = as_error_set(AS_ENOTFOUND, "unknown run %lld", (long long)id);
        goto out;
    }
    sum = json_object();
    as_json_set_int(sum, "id", id);
    as_json_set_str(sum, "suite", store_col_text(st, 1));
    as_json_set_str(sum, "suite_commit", store_col_text(st, 2));
    json_object_set_new(sum, "prompt", json_pack("{s:s,s:I,s:s}", "name", store_col_text(st, 3),
                        "version", (json_int_t)store_col_int(st, 4), "commit", store_col_text(st, 5)));
    json_object_set_new(sum, "dataset", json_pack("{s:s,s:I,s:s}", "name", store_col_text(st, 6),
                        "version", (json_int_t)store_col_int(st, 7), "commit", store_col_text(st, 8)));
    as_json_set_str(sum, "model", store_col_text(st, 9));
    as_json_set_str(sum, "provider", store_col_text(st, 10));
    t = store_col_text(st, 11);
    {
        json_t *ms = NULL;
        if (as_json_parse(&ms, t, strlen(t), "model settings") == 0)
            json_object_set_new(sum, "model_settings", ms);
    }
    price_in = store_col_double(st, 12);
    price_out = store_col_double(st, 13);
    price_hour = store_col_double(st, 14);
    instances = store_col_int(st, 30);
    json_object_set_new(sum, "price", json_pack("{s:f,s:f,s:f,s:I,s:I}", "in", store_col_double(st, 12),
                        "out", store_col_double(st, 13), "hour", price_hour, "instances",
                        (json_int_t)instances, "version", (json_int_t)store_col_int(st, 15)));
    as_json_set_str(sum, "assay_version", store_col_text(st, 16));
    as_json_set_str(sum, "status", store_col_text(st, 17));
    json_object_set_new(sum, "error", (t = store_col_text(st, 18)) ? json_string(t) : json_null());
    as_json_set_str(sum, "created_at", store_col_text(st, 19));
    json_object_set_new(sum, "finished_at", (t = store_col_text(st, 20)) ? json_string(t) : json_null());
    as_json_set_int(sum, "items_total", store_col_int(st, 21));
    busy_ms = store_col_double(st, 22);
    as_json_set_int(sum, "concurrency", store_col_int(st, 23));
    as_json_set_int(sum, "repeat", store_col_int(st, 28));
    json_object_set_new(sum, "limit", store_col_type(st, 29) == STORE_NULL ? json_null()
                                                                          : json_integer(store_col_int(st, 29)));
    t = store_col_text(st, 24);
    if ((rc = as_json_parse(&a.specs, t, strlen(t), "run metrics")) < 0)
        goto out;
    as_json_set_str(sum, "primary_metric", store_col_text(st, 25));
    t = store_col_text(st, 26);
    if ((rc = as_json_parse(&a.labels, t, strlen(t), "run labels")) < 0)
        goto out;
    if ((t = store_col_text(st, 27)) != NULL && (rc = as_json_parse(&judge, t, strlen(t), "judge")) < 0)
        goto out;
    store_finalize(st);
    st = NULL;

    a.nspec = json_array_size(a.specs);
    if (a.nspec && (a.per = calloc(a.nspec, sizeof(*a.per))) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = read_items(&a, db, id)) < 0)
        goto out;
    nlabels = json_array_size(a.labels);
    if (nlabels && (labels = calloc(nlabels, sizeof(*labels))) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    for (k = 0; k < nlabels; k++) {
        labels[k].kind = MET_LABEL_STR;
        labels[k].s = json_string_value(json_array_get(a.labels, k));
        labels[k].len = labels[k].s ? strlen(labels[k].s) : 0;
    }
    metrics = json_object();
    for (k = 0; k < a.nspec; k++) {
        json_t *spec = json_array_get(a.specs, k);
        const char *name = json_string_value(json_object_get(spec, "name"));
        if (name == NULL || strcmp(name, "judge") == 0)
            continue;
        if (is_cls_metric(name))
            json_object_set_new(metrics, name, corpus_metric(&a.pairs, spec, a.labels));
        else
            json_object_set_new(metrics, name, mean_ci(&a.per[k]));
    }
    if (judge && (rc = judge_summary(sum, metrics, db, id, judge)) < 0)
        goto out;
    if ((rc = embedding_summary(sum, db, id, a.specs)) < 0)
        goto out;
    json_object_set_new(sum, "metrics", metrics);
    json_object_set(sum, "quality", json_object_get(metrics, json_string_value(json_object_get(sum, "primary_metric"))) ?
                    json_object_get(metrics, json_string_value(json_object_get(sum, "primary_metric"))) : json_null());
    metrics = NULL;
    if (nlabels)
        json_object_set_new(sum, "classification", cls_report(&a.pairs, labels, nlabels));
    as_json_set_int(sum, "items_done", a.n);
    as_json_set_int(sum, "items_ok", a.ok);
    as_json_set_int(sum, "items_failed", a.failed);
    as_json_set_int(sum, "items_cached", a.cached);
    as_json_set_int(sum, "items_truncated", a.truncated);
    as_json_set_int(sum, "out_of_labels", a.oob);
    /* cost: tokens x price, or busy time x price per hour (the engine's
     * measured device time when it reports one) */
    if (price_hour > 0)
        cost = eval_hour_cost(price_hour, instances, a.busy_items > 0 ? a.busy_items : busy_ms);
    else
        cost = a.cost;
    as_json_set_num(sum, "cost_usd", cost);
    /* when every answer came from the cache, cost per 1,000 cases and
     * speed come from the cached answers' recorded tokens and latencies */
    from_cache = a.lat.n == 0 && a.lat_c.n > 0;
    as_json_set_str(sum, "speed_basis", from_cache ? "cache" : "calls");
    {
        int64_t called = a.n - a.cached;
        json_t *c1k = json_null();
        if (called > 0)
            c1k = json_real(cost / called * 1000);
        else if (a.cached > 0 && price_hour <= 0)
            c1k = json_real(((double)a.pt_c * price_in + (double)a.ct_c * price_out) / 1e6 /
                            (double)a.cached * 1000);
        json_object_set_new(sum, "cost_per_1k", c1k);
    }
    if (json_object_get(sum, "judge_cost_usd") == NULL)
        as_json_set_num(sum, "judge_cost_usd", 0);
    as_json_set_num(sum, "busy_s", busy_ms / 1000.0);
    lat = from_cache ? &a.lat_c : &a.lat;
    ttft = from_cache ? &a.ttft_c : &a.ttft;
    lat_sum = from_cache ? a.lat_sum_c : a.lat_sum_model;
    ct_speed = from_cache ? a.ct_c : a.ct_model;
    {
        json_t *l = percentiles(lat, lq, ln, 3);
        json_object_set_new(l, "mean", lat->n ? json_real(lat_sum / (double)lat->n) : json_null());
        json_object_set_new(sum, "latency_ms", l);
    }
    json_object_set_new(sum, "ttft_ms", percentiles(ttft, tq, tn, 2));
    json_object_set_new(sum, "per_token_ms", percentiles(from_cache ? &a.tpot_c : &a.tpot, tq, tn, 2));
    {
        static const double cq[] = {50, 100};
        static const char *const cn[] = {"p50", "max"};
        json_t *c = percentiles(&a.cold, cq, cn, 2);
        as_json_set_int(c, "count", (int64_t)a.cold.n);
        as_json_set_int(c, "checked", a.cold_checked);
        json_object_set_new(sum, "cold_start_ms", c);
        c = percentiles(&a.srv, lq, ln, 3);
        as_json_set_int(c, "n", (int64_t)a.srv.n);
        json_object_set_new(sum, "server_latency_ms", c);
    }
    json_object_set_new(sum, "tokens", json_pack("{s:I,s:I,s:I}", "prompt", (json_int_t)a.pt,
                        "completion", (json_int_t)a.ct, "estimated_items", (json_int_t)a.estimated));
    secs = lat_sum / 1000.0;
    json_object_set_new(sum, "output_tokens_per_s", secs > 0 ? json_real((double)ct_speed / secs) : json_null());
    json_object_set_new(sum, "cases_per_s", busy_ms > 0 ? json_real((double)(a.n - a.cached) / (busy_ms / 1000.0))
                                                        : json_null());
    *out = sum;
    sum = NULL;
    rc = 0;
out:
    store_finalize(st);
    json_decref(sum);
    json_decref(metrics);
    json_decref(judge);
    free(labels);
    acc_free(&a);
    return rc;
}

int eval_runs_list(json_t **out, store *db, const eval_runs_filter *f)
{
    store_stmt *st = NULL;
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if ((rc = store_prepare(&st, db,
             "SELECT id FROM runs WHERE (?1 IS NULL OR suite = ?1) AND (?2 IS NULL OR model = ?2) "
             "AND (?3 IS NULL OR status = ?3) ORDER BY id DESC LIMIT ?4 OFFSET ?5")) < 0 ||
        (rc = f->suite ? store_bind_text(st, 1, f->suite) : store_bind_null(st, 1)) < 0 ||
        (rc = f->model ? store_bind_text(st, 2, f->model) : store_bind_null(st, 2)) < 0 ||
        (rc = f->status ? store_bind_text(st, 3, f->status) : store_bind_null(st, 3)) < 0 ||
        (rc = store_bind_int(st, 4, f->limit > 0 ? f->limit : 50)) < 0 ||
        (rc = store_bind_int(st, 5, f->offset > 0 ? f->offset : 0)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        json_t *s;
        if ((rc = eval_run_summary(&s, db, store_col_int(st, 0))) < 0)
            goto out;
        json_array_append_new(list, s);
    }
    if (rc < 0)
        goto out;
    *out = list;
    list = NULL;
    rc = 0;
out:
    store_finalize(st);
    json_decref(list);
    return rc;
}

static json_t *col_json(store_stmt *st, int col)
{
    switch (store_col_type(st, col)) {
    case STORE_INT:
        return json_integer(store_col_int(st, col));
    case STORE_FLOAT:
        return json_real(store_col_double(st, col));
    case STORE_TEXT:
        return json_string(store_col_text(st, col));
    default:
        return json_null();
    }
}

/* What a page of items needs from its run, read without the summary (whose
 * bootstrap intervals cost about 0.5 s per 10,000 items): that the run
 * exists, and for an hour-priced model the run's cost (as the summary
 * computes it: busy time x price x instances) and the sum of the latencies
 * of the calls made, over which that cost is shared out -- unless the
 * items report their own busy time (the local engine's share of its
 * compute time), which then prices each (*instances set). */
static int items_pricing(store *db, int64_t id, double *price_hour, double *run_cost,
                         double *lat_sum, int64_t *instances)
{
    store_stmt *st = NULL;
    double busy_ms, busy_items;
    int rc;

    *price_hour = *run_cost = *lat_sum = 0;
    *instances = 0;
    if ((rc = store_prepare(&st, db, "SELECT price_hour, instance_count, busy_ms FROM runs "
                                     "WHERE id = ?1")) < 0 ||
        (rc = store_bind_int(st, 1, id)) < 0 || (rc = store_step(st)) < 0)
        goto out;
    if (rc != STORE_ROW) {
        rc = as_error_set(AS_ENOTFOUND, "unknown run %lld", (long long)id);
        goto out;
    }
    *price_hour = store_col_double(st, 0);
    *instances = store_col_int(st, 1);
    busy_ms = store_col_double(st, 2);
    store_finalize(st);
    st = NULL;
    rc = 0;
    if (*price_hour <= 0)
        goto out;
    if ((rc = store_prepare(&st, db, "SELECT total(CASE WHEN status = 'ok' AND cached = 0 THEN busy_ms END), "
                                     "total(CASE WHEN cached = 0 THEN latency_ms END) "
                                     "FROM items WHERE run_id = ?1")) < 0 ||
        (rc = store_bind_int(st, 1, id)) < 0 || (rc = store_step(st)) < 0)
        goto out;
    busy_items = store_col_double(st, 0);
    *lat_sum = store_col_double(st, 1);
    *run_cost = eval_hour_cost(*price_hour, *instances, busy_items > 0 ? busy_items : busy_ms);
    if (!(busy_items > 0))
        *instances = 0;
    rc = 0;
out:
    store_finalize(st);
    return rc;
}

int eval_run_items(json_t **out, store *db, int64_t id, int64_t offset, int64_t limit)
{
    static const char *const cols[] = {
        "id", "case_id", "rep", "status", "output", "output_truncated", "label", "out_of_labels",
        "expected", "scores", "latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens",
        "usage_estimated", "cost_usd", "cached", "attempts", "finish_reason", "error",
        "judge_score", "judge_rationale", "judge_error", "cold_start_ms", "server_latency_ms",
        "embedding_error"};
    store_stmt *st = NULL;
    json_t *list = json_array();
    double run_cost, lat_sum, price_hour;
    int64_t own_busy;
    int rc;
    size_t c;

    *out = NULL;
    if ((rc = items_pricing(db, id, &price_hour, &run_cost, &lat_sum, &own_busy)) < 0)
        goto out;
    if ((rc = store_prepare(&st, db,
             "SELECT i.id, i.case_id, i.rep, i.status, i.output, i.output_truncated, i.label, "
             "i.out_of_labels, i.expected, i.scores, i.latency_ms, i.ttft_ms, i.prompt_tokens, "
             "i.completion_tokens, i.usage_estimated, i.cost_usd, i.cached, i.attempts, "
             "i.finish_reason, i.error, g.score, g.rationale, g.error, i.cold_start_ms, "
             "i.server_latency_ms, e.error, i.busy_ms FROM items i LEFT JOIN "
             "judgments g ON g.run_id = i.run_id AND g.case_id = i.case_id AND g.rep = i.rep "
             "AND g.judge_model = (SELECT json_extract(judge, '$.model') FROM runs WHERE id = ?1) "
             "LEFT JOIN embeddings e ON e.run_id = i.run_id AND e.case_id = i.case_id AND "
             "e.rep = i.rep WHERE i.run_id = ?1 ORDER BY i.case_id, i.rep LIMIT ?2 OFFSET ?3")) < 0 ||
        (rc = store_bind_int(st, 1, id)) < 0 ||
        (rc = store_bind_int(st, 2, limit > 0 ? limit : -1)) < 0 ||
        (rc = store_bind_int(st, 3, offset > 0 ? offset : 0)) < 0)
        goto out;
    while ((rc = store_step(st)) == STORE_ROW) {
        json_t *o = json_object();
        for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
            json_t *v = col_json(st, (int)c);
            if (strcmp(cols[c], "scores") == 0 && json_is_string(v)) {
                json_t *p = NULL;
                if (as_json_parse(&p, json_string_value(v), json_string_length(v), "scores") == 0) {
                    json_decref(v);
                    v = p;
                }
            } else if (strcmp(cols[c], "cost_usd") == 0 && price_hour > 0) {
                json_decref(v);
                if (store_col_int(st, 16))
                    v = json_real(0);
                else if (own_busy > 0)
                    v = json_real(eval_hour_cost(price_hour, own_busy, store_col_double(st, 26)));
                else
                    v = json_real(eval_hour_share(run_cost, store_col_double(st, 10), lat_sum));
            }
            json_object_set_new(o, cols[c], v);
        }
        {
            double t = item_tpot(st, 10, 13);

            json_object_set_new(o, "per_token_ms", t >= 0 ? json_real(t) : json_null());
        }
        json_array_append_new(list, o);
    }
    if (rc < 0)
        goto out;
    *out = list;
    list = NULL;
    rc = 0;
out:
    store_finalize(st);
    json_decref(list);
    return rc;
}

int eval_run_delete(store *db, int64_t id)
{
    store_stmt *st = NULL;
    int rc;

    if ((rc = store_prepare(&st, db, "DELETE FROM runs WHERE id = ?1")) == 0 &&
        (rc = store_bind_int(st, 1, id)) == 0)
        rc = store_step_done(st);
    store_finalize(st);
    if (rc == 0 && store_changes(db) == 0)
        return as_error_set(AS_ENOTFOUND, "unknown run %lld", (long long)id);
    return rc;
}
