/* Running the gate (evaluator/gate.h): resolve the suite, the candidate
 * prompt, the baseline, the models and the thresholds (every refusal
 * before any model is called), reuse identical complete runs, run the
 * suite for what is missing, and judge every model. The flow is the same
 * over the local data directory (the local backend below) and over an
 * assay server (gate_remote.c). */
#include "evaluator/gate_int.h"
#include "common/error.h"
#include "common/json.h"
#include "evaluator/eval.h"
#include "evaluator/runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *version_json(const cat_version *v)
{
    return json_pack("{s:s,s:i,s:s}", "name", v->name, "version", v->version, "commit", v->commit);
}

/* A prompt reference of the command line: NAME@X as it is; a bare word is
 * a prompt name when one exists, else a label or version of the suite's
 * prompt ('dflt'). */
static int resolve_prompt(cat_version *out, gate *g, const char *ref, const char *dflt,
                          const char *what)
{
    char full[CAT_NAME_MAX + CAT_LABEL_MAX + 48];
    int rc;

    if (strchr(ref, '@') == NULL) {
        if ((rc = g->ops->resolve(g, CAT_PROMPT, ref, out)) == 0)
            return 0;
        if (rc != AS_ENOTFOUND && rc != AS_EINVAL)
            return as_error_wrap(rc, "%s", what);
        snprintf(full, sizeof(full), "%s@%s", dflt, ref);
        ref = full;
    }
    if ((rc = g->ops->resolve(g, CAT_PROMPT, ref, out)) < 0)
        return as_error_wrap(rc, "%s", what);
    return 0;
}

static int load_models(gate *g)
{
    const gate_opts *o = g->o;
    size_t i, n = o->models ? o->nmodels : json_array_size(g->suite->models);
    int rc;

    if (n == 0)
        return as_error_set(AS_EINVAL, "suite %s names no models (give --model)", g->suite_ver.name);
    if ((g->models = calloc(n, sizeof(*g->models))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (i = 0; i < n; i++)
        eval_model_init(&g->models[i].m);
    g->nmodels = n;
    for (i = 0; i < n; i++) {
        json_t *e = o->models ? NULL : json_array_get(g->suite->models, i);
        if (o->models)
            rc = g->ops->model(g, o->models[i], &g->models[i].m);
        else if (json_is_string(e))
            rc = g->ops->model(g, json_string_value(e), &g->models[i].m);
        else
            rc = eval_model_from_json(&g->models[i].m, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The metric names the suite's runs report. */
static json_t *suite_metric_names(const cat_suite *s)
{
    json_t *names = json_array(), *m;
    size_t i;
    const char *mode = json_string_value(json_object_get(s->judge, "mode"));

    json_array_foreach(s->metrics, i, m) {
        const char *n = json_string_value(json_object_get(m, "name"));
        if (n)
            json_array_append_new(names, json_string(n));
    }
    if (s->judge && !(mode && strcmp(mode, "pairwise") == 0))
        json_array_append_new(names, json_string("judge"));
    return names;
}

static int load_rules(gate *g)
{
    const gate_opts *o = g->o;
    json_t *names;
    size_t i;
    int rc;

    if ((rc = gate_rules_init(&g->rules, g->suite->primary_metric)) < 0)
        return rc;
    if (o->alpha != 0)
        g->rules.alpha = o->alpha;
    for (i = 0; i < o->nmins; i++)
        if ((rc = gate_rules_add_min(&g->rules, &o->mins[i])) < 0)
            return rc;
    for (i = 0; i < o->nregressions; i++)
        if ((rc = gate_rules_add_regression(&g->rules, &o->regressions[i])) < 0)
            return rc;
    if (o->has_max_cost) {
        g->rules.has_max_cost = 1;
        g->rules.max_cost_usd.value = o->max_cost_usd;
        g->rules.max_cost_usd.source = GATE_SRC_CLI;
    }
    if (o->has_max_p95) {
        g->rules.has_max_p95 = 1;
        g->rules.max_p95_ms.value = o->max_p95_ms;
        g->rules.max_p95_ms.source = GATE_SRC_CLI;
    }
    if ((rc = gate_rules_add_suite(&g->rules, g->suite->thresholds)) < 0)
        return rc;
    if ((names = suite_metric_names(g->suite)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = gate_rules_finish(&g->rules, names);
    json_decref(names);
    return rc;
}

/* A run id: 1 to 18 digits. */
static int all_digits(const char *s)
{
    if (*s == '\0' || strlen(s) > 18)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int load_baseline(gate *g)
{
    const char *spec = g->o->baseline ? g->o->baseline : "production";
    int rc;

    g->base_ref = spec;
    if (strcmp(spec, "none") == 0)
        return 0;
    if (all_digits(spec)) {
        const char *dc, *st;
        g->base_run = strtoll(spec, NULL, 10);
        if ((rc = g->ops->summary(g, g->base_run, &g->base_run_sum)) < 0)
            return as_error_wrap(rc, "baseline");
        st = json_string_value(json_object_get(g->base_run_sum, "status"));
        if (st == NULL || strcmp(st, "complete") != 0)
            return as_error_set(AS_EINVAL, "baseline run %s is %s, not complete", spec,
                                st ? st : "of unknown status");
        dc = json_string_value(json_object_get(json_object_get(g->base_run_sum, "dataset"), "commit"));
        if (!g->o->allow_dataset_change && (dc == NULL || strcmp(dc, g->dataset.commit) != 0))
            return as_error_set(AS_EINVAL,
                                "baseline run %s used dataset %s v%lld (%.7s), the candidate uses "
                                "%s v%d (%.7s): pass --allow-dataset-change to compare anyway",
                                spec,
                                json_string_value(json_object_get(json_object_get(g->base_run_sum, "dataset"), "name")),
                                (long long)json_integer_value(json_object_get(json_object_get(g->base_run_sum, "dataset"), "version")),
                                dc ? dc : "", g->dataset.name, g->dataset.version,
                                g->dataset.commit);
        g->base_kind = 2;
        return 0;
    }
    rc = resolve_prompt(&g->base, g, spec, g->suite_prompt.name, "baseline");
    if (rc == AS_ENOTFOUND && g->o->baseline == NULL) {
        /* no production label yet: the first gate of a prompt has nothing to compare with */
        json_array_append_new(g->notes, json_sprintf("no baseline: prompt %s has no 'production' "
                                                     "label", g->suite_prompt.name));
        as_error_clear();
        return 0;
    }
    if (rc < 0)
        return rc;
    g->base_kind = 1;
    return 0;
}

/* The newest complete run of this suite, model and settings with prompt
 * commit 'prompt_commit', the gate's dataset commit and every case (times
 * the repetitions) answered; 0 when none. */
static int find_run(int64_t *out, gate *g, const eval_model *m, const char *prompt_commit)
{
    json_t *list = NULL, *s, *want = eval_model_json(m), *names = suite_metric_names(g->suite);
    size_t i, k;
    int rc;

    *out = 0;
    if (want == NULL || names == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = g->ops->runs(g, g->suite_ver.name, m->name, &list)) < 0)
        goto out;
    json_array_foreach(list, i, s) {
        json_t *ms = json_object_get(s, "model_settings"), *metrics = json_object_get(s, "metrics");
        const char *pc = json_string_value(json_object_get(json_object_get(s, "prompt"), "commit"));
        const char *dc = json_string_value(json_object_get(json_object_get(s, "dataset"), "commit"));
        json_t *name;
        int ok = pc && dc && strcmp(pc, prompt_commit) == 0 && strcmp(dc, g->dataset.commit) == 0 &&
                 json_integer_value(json_object_get(s, "items_total")) ==
                     g->dataset.cases * g->repeat &&
                 json_equal(json_object_get(ms, "provider"), json_object_get(want, "provider")) &&
                 json_equal(json_object_get(ms, "settings"), json_object_get(want, "settings"));
        json_array_foreach(names, k, name)
            ok = ok && json_object_get(metrics, json_string_value(name)) != NULL;
        if (ok) {
            *out = json_integer_value(json_object_get(s, "id"));
            break;
        }
    }
    rc = 0;
out:
    json_decref(list);
    json_decref(want);
    json_decref(names);
    return rc;
}

/* Which runs a side lacks: side 0 the candidate's (and the baseline's
 * when it is the same version), side 1 the baseline's. */
static int side_lacks(const gate *g, const gmodel *gm, int side)
{
    int same = g->base_kind == 1 && strcmp(g->base.commit, g->cand.commit) == 0;

    if (side == 0)
        return gm->cand_run == 0 || (same && gm->base_run == 0);
    return g->base_kind == 1 && !same && gm->base_run == 0;
}

/* Give the new runs of 'side' to the models that lack them. */
static int assign_runs(gate *g, int side, const int64_t *ids, size_t nids)
{
    int same = g->base_kind == 1 && strcmp(g->base.commit, g->cand.commit) == 0;
    size_t i, k;
    int rc;

    for (k = 0; k < nids; k++) {
        json_t *s = NULL;
        const char *model;
        if ((rc = g->ops->summary(g, ids[k], &s)) < 0)
            return rc;
        model = json_string_value(json_object_get(s, "model"));
        for (i = 0; model && i < g->nmodels; i++) {
            gmodel *gm = &g->models[i];
            if (strcmp(gm->m.name, model) != 0)
                continue;
            if (side == 0 && gm->cand_run == 0)
                gm->cand_run = ids[k];
            if ((side == 1 || same) && gm->base_run == 0)
                gm->base_run = ids[k];
        }
        json_decref(s);
    }
    return 0;
}

/* Run the suite for the models that lack a candidate or baseline run:
 * both sides are prepared (every check, no model called) before either
 * runs, so a refusal is still GATE_CONFIG. */
static int run_missing(gate *g, int *status)
{
    const char **names[2] = {NULL, NULL};
    const cat_version *ver[2] = {&g->cand, &g->base};
    char ref[2][CAT_NAME_MAX + 48];
    void *job[2] = {NULL, NULL};
    size_t n[2] = {0, 0}, i, nids;
    int64_t *ids = NULL;
    int side, need[2] = {0, 0}, rc = 0;

    for (side = 0; side < 2; side++) {
        for (i = 0; i < g->nmodels; i++)
            need[side] += side_lacks(g, &g->models[i], side);
        if (need[side] == 0)
            continue;
        /* suite models (possibly inline) run all together; named ones only
         * when they lack a run */
        if (g->o->models) {
            if ((names[side] = calloc(g->nmodels, sizeof(**names))) == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                goto out;
            }
            for (i = 0; i < g->nmodels; i++)
                if (side_lacks(g, &g->models[i], side))
                    names[side][n[side]++] = g->models[i].m.name;
        }
        snprintf(ref[side], sizeof(ref[side]), "%s@%s", ver[side]->name, ver[side]->commit);
        if ((rc = g->ops->prepare(g, ref[side], names[side], n[side], &job[side])) < 0)
            goto out;
    }
    for (side = 0; side < 2; side++) {
        if (job[side] == NULL)
            continue;
        rc = g->ops->execute(g, job[side], &ids, &nids, status);
        job[side] = NULL;
        if (rc < 0 || (rc = assign_runs(g, side, ids, nids)) < 0)
            goto out;
        free(ids);
        ids = NULL;
    }
out:
    for (side = 0; side < 2; side++) {
        if (job[side])
            g->ops->discard(g, job[side]);
        free(names[side]);
    }
    free(ids);
    return rc;
}

/* GATE_INCOMPLETE unless run 'id' is complete; *sum receives its summary. */
static int check_complete(json_t **sum, gate *g, int64_t id)
{
    const char *st, *err;
    int rc;

    if ((rc = g->ops->summary(g, id, sum)) < 0)
        return rc;
    st = json_string_value(json_object_get(*sum, "status"));
    if (st && strcmp(st, "complete") == 0)
        return 0;
    err = json_string_value(json_object_get(*sum, "error"));
    rc = as_error_set(AS_EUPSTREAM, "run %lld (model %s) ended %s: %lld of %lld items failed%s%s",
                      (long long)id, json_string_value(json_object_get(*sum, "model")),
                      st ? st : "?", (long long)json_integer_value(json_object_get(*sum, "items_failed")),
                      (long long)json_integer_value(json_object_get(*sum, "items_total")),
                      err ? ": " : "", err ? err : "");
    json_decref(*sum);
    *sum = NULL;
    return rc;
}

static json_t *run_info(const json_t *sum, int reused)
{
    return json_pack("{s:O?,s:b,s:O?,s:O?,s:O?,s:O?,s:O?}", "run_id", json_object_get(sum, "id"),
                     "reused", reused, "status", json_object_get(sum, "status"), "prompt",
                     json_object_get(sum, "prompt"), "dataset", json_object_get(sum, "dataset"),
                     "items_total", json_object_get(sum, "items_total"), "busy_s",
                     json_object_get(sum, "busy_s"));
}

/* Judge every model into 'verdicts'; *passed is 0 when any failed. */
static int judge_all(gate *g, json_t *verdicts, int *passed)
{
    size_t i;
    int rc = 0;

    *passed = 1;
    for (i = 0; i < g->nmodels && rc == 0; i++) {
        gmodel *gm = &g->models[i];
        int64_t bid = g->base_kind == 2 ? g->base_run : gm->base_run;
        json_t *cs = NULL, *ci = NULL, *bs = NULL, *bi = NULL, *v = NULL;
        if ((rc = check_complete(&cs, g, gm->cand_run)) < 0 ||
            (rc = g->ops->items(g, gm->cand_run, &ci)) < 0)
            goto next;
        if (g->base_kind && ((rc = check_complete(&bs, g, bid)) < 0 ||
                             (rc = g->ops->items(g, bid, &bi)) < 0))
            goto next;
        if ((rc = gate_judge_model(&v, &g->rules, cs, ci, bs, bi)) < 0)
            goto next;
        json_object_set_new(v, "candidate", run_info(cs, gm->cand_reused));
        json_object_set_new(v, "baseline", bs ? run_info(bs, g->base_kind == 2 || gm->base_reused)
                                              : json_null());
        *passed &= json_is_true(json_object_get(v, "passed"));
        json_array_append_new(verdicts, v);
        v = NULL;
next:
        json_decref(cs);
        json_decref(ci);
        json_decref(bs);
        json_decref(bi);
        json_decref(v);
    }
    return rc;
}

static void gate_clear(gate *g)
{
    size_t i;

    for (i = 0; i < g->nmodels; i++)
        eval_model_clear(&g->models[i].m);
    free(g->models);
    json_decref(g->base_run_sum);
    json_decref(g->notes);
    cat_suite_free(g->suite);
    if (g->ops)
        g->ops->close(g);
}

/* ---- the local backend: the data directory's catalog and database ---- */

typedef struct local_be {
    cat *c;
    store *db;
} local_be;

static int local_resolve(gate *g, cat_kind kind, const char *ref, cat_version *out)
{
    return cat_resolve(out, ((local_be *)g->be)->c, kind, ref);
}

static int local_suite(gate *g, const char *ref, cat_suite **out, cat_version *ver)
{
    return cat_suite_load(out, ver, ((local_be *)g->be)->c, ref);
}

static int local_model(gate *g, const char *name, eval_model *out)
{
    return eval_model_get(out, ((local_be *)g->be)->db, name);
}

static int local_runs(gate *g, const char *suite, const char *model, json_t **out)
{
    eval_runs_filter f;

    memset(&f, 0, sizeof(f));
    f.suite = suite;
    f.model = model;
    f.status = "complete";
    f.limit = GATE_REUSE_SCAN;
    return eval_runs_list(out, ((local_be *)g->be)->db, &f);
}

static int local_summary(gate *g, int64_t id, json_t **out)
{
    return eval_run_summary(out, ((local_be *)g->be)->db, id);
}

static int local_items(gate *g, int64_t id, json_t **out)
{
    return eval_run_items(out, ((local_be *)g->be)->db, id, 0, 0);
}

static int local_prepare(gate *g, const char *prompt, const char *const *names, size_t n,
                         void **job)
{
    eval_opts eo;

    memset(&eo, 0, sizeof(eo));
    eo.data_dir = g->o->data_dir;
    eo.suite = g->o->suite;
    eo.prompt = prompt;
    eo.models = names;
    eo.nmodels = n;
    eo.repeat = g->repeat;
    eo.progress = g->o->progress;
    eo.progress_arg = g->o->progress_arg;
    return eval_prepare((eval_job **)job, &eo);
}

static int local_execute(gate *g, void *job, int64_t **ids, size_t *nids, int *status)
{
    const int64_t *jids;
    int rc;

    *ids = NULL;
    *nids = 0;
    *status = GATE_INCOMPLETE;
    if ((rc = eval_job_run(job)) < 0) {
        rc = as_error_wrap(rc, "running suite %s", g->suite_ver.name);
        goto out;
    }
    jids = eval_job_runs(job, nids);
    if ((*ids = malloc((*nids ? *nids : 1) * sizeof(**ids))) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*ids, jids, *nids * sizeof(**ids));
out:
    eval_job_free(job);
    return rc;
}

/* The runs a prepared job created are empty: delete them. */
static void local_discard(gate *g, void *job)
{
    const int64_t *ids;
    size_t i, n;

    ids = eval_job_runs(job, &n);
    for (i = 0; i < n; i++)
        if (eval_run_delete(((local_be *)g->be)->db, ids[i]) < 0)
            as_error_clear();
    eval_job_free(job);
}

static void local_close(gate *g)
{
    local_be *b = g->be;

    if (b)
        cat_close(b->c);
    free(b);
    g->be = NULL;
}

static const gate_ops local_ops = {
    local_resolve, local_suite,   local_model,   local_runs,  local_summary,
    local_items,   local_prepare, local_execute, local_discard, local_close,
};

static int local_open(gate *g)
{
    local_be *b;
    int rc;

    if ((b = calloc(1, sizeof(*b))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    g->be = b;
    g->ops = &local_ops;
    if ((rc = cat_open(&b->c, g->o->data_dir)) < 0)
        return rc;
    b->db = cat_store(b->c);
    return 0;
}

/* ---- the flow ---- */

static int prepare(gate *g)
{
    cat_ref pref;
    size_t i;
    int rc;

    if ((rc = g->ops->suite(g, g->o->suite, &g->suite, &g->suite_ver)) < 0)
        return rc;
    if ((rc = g->ops->resolve(g, CAT_PROMPT, g->suite->prompt_ref, &g->suite_prompt)) < 0 ||
        (rc = cat_ref_parse(&pref, g->suite->prompt_ref)) < 0 ||
        (rc = g->ops->resolve(g, CAT_DATASET, g->suite->dataset_ref, &g->dataset)) < 0)
        return as_error_wrap(rc, "suite %s", g->suite_ver.name);
    /* the candidate: --prompt, else the suite's prompt at the catalog's head */
    if ((rc = resolve_prompt(&g->cand, g, g->o->prompt ? g->o->prompt : pref.name, pref.name,
                             "candidate")) < 0 ||
        (rc = load_rules(g)) < 0 || (rc = load_models(g)) < 0 || (rc = load_baseline(g)) < 0)
        return rc;
    if (strcmp(g->cand.name, g->suite_prompt.name) != 0)
        json_array_append_new(g->notes, json_sprintf("candidate prompt %s is not the suite's (%s)",
                                                     g->cand.name, g->suite_prompt.name));
    if (g->base_kind == 1 && strcmp(g->base.commit, g->cand.commit) == 0)
        json_array_append_new(g->notes, json_sprintf("baseline %s is the candidate's version (v%d)",
                                                     g->base_ref, g->cand.version));
    for (i = 0; i < g->nmodels; i++) {
        gmodel *gm = &g->models[i];
        if ((rc = find_run(&gm->cand_run, g, &gm->m, g->cand.commit)) < 0)
            return rc;
        gm->cand_reused = gm->cand_run > 0;
        if (g->base_kind != 1)
            continue;
        if ((rc = find_run(&gm->base_run, g, &gm->m, g->base.commit)) < 0)
            return rc;
        gm->base_reused = gm->base_run > 0;
    }
    return 0;
}

int gate_run(json_t **out, int *status, const gate_opts *o)
{
    gate g;
    json_t *res = NULL, *verdicts = NULL, *base;
    int rc, passed;

    *out = NULL;
    *status = GATE_CONFIG;
    memset(&g, 0, sizeof(g));
    g.o = o;
    g.repeat = o->repeat > 0 ? o->repeat : 1;
    if ((g.notes = json_array()) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = o->server ? gate_remote_open(&g) : local_open(&g)) < 0 || (rc = prepare(&g)) < 0 ||
        (rc = run_missing(&g, status)) < 0) {
        if (rc == AS_EUPSTREAM)
            *status = GATE_INCOMPLETE;      /* the server, not the input */
        goto out;
    }
    *status = GATE_INCOMPLETE;
    if ((verdicts = json_array()) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = judge_all(&g, verdicts, &passed)) < 0)
        goto out;
    base = json_pack("{s:s,s:s}", "kind", g.base_kind == 0 ? "none" : g.base_kind == 1 ? "prompt" : "run",
                     "ref", g.base_ref);
    if (g.base_kind == 1)
        json_object_set_new(base, "prompt", version_json(&g.base));
    else if (g.base_kind == 2)
        as_json_set_int(base, "run_id", g.base_run);
    res = json_pack("{s:s,s:o,s:{s:o},s:o,s:f,s:b,s:i,s:O,s:o}", "suite", g.suite_ver.name,
                    "dataset", version_json(&g.dataset), "candidate", "prompt",
                    version_json(&g.cand), "baseline", base, "alpha", g.rules.alpha, "passed",
                    passed, "exit_status", passed ? GATE_PASSED : GATE_FAILED, "notes", g.notes,
                    "models", verdicts);
    verdicts = NULL;
    if (res == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    *status = passed ? GATE_PASSED : GATE_FAILED;
    *out = res;
    rc = 0;
out:
    json_decref(verdicts);
    gate_clear(&g);
    return rc;
}
