/* Internals of the gate shared by gate_run.c (the flow, and the backend
 * over the local data directory) and gate_remote.c (the backend over a
 * shared assay server's JSON API). Not for other modules. */
#ifndef AS_EVAL_GATE_INT_H
#define AS_EVAL_GATE_INT_H

#include "catalog/catalog.h"
#include "evaluator/gate.h"
#include "evaluator/models.h"

#define GATE_REUSE_SCAN 200     /* newest complete runs examined for reuse, per model */

typedef struct gate gate;

/* Where suites, prompts, models and runs come from. Every call sets the
 * error message on failure; JSON outputs are new references. */
typedef struct gate_ops {
    /* Resolve a reference of 'kind' into *out (name, version, commit;
     * datasets also the number of cases). */
    int (*resolve)(gate *g, cat_kind kind, const char *ref, cat_version *out);
    /* Load and parse suite 'ref' (caller frees with cat_suite_free). */
    int (*suite)(gate *g, const char *ref, cat_suite **out, cat_version *ver);
    /* A registered model (clear with eval_model_clear). */
    int (*model)(gate *g, const char *name, eval_model *out);
    /* Summaries of the newest complete runs of 'suite' with 'model'. */
    int (*runs)(gate *g, const char *suite, const char *model, json_t **out);
    int (*summary)(gate *g, int64_t id, json_t **out);
    /* Every item of a run, in case order. */
    int (*items)(gate *g, int64_t id, json_t **out);
    /* Check and set up runs of the gate's suite with prompt reference
     * 'prompt' (NULL: the suite's own) for 'names' (NULL: the suite's
     * models) without calling any model; *job receives the handle. */
    int (*prepare)(gate *g, const char *prompt, const char *const *names, size_t n, void **job);
    /* Run a prepared job (freeing it) and wait until its runs end; *ids
     * (caller frees) and *nids receive the run ids. *status becomes
     * GATE_INCOMPLETE once a model may have been called: errors before
     * that are refusals. */
    int (*execute)(gate *g, void *job, int64_t **ids, size_t *nids, int *status);
    /* Drop a prepared job that will not run, with the runs it created. */
    void (*discard)(gate *g, void *job);
    void (*close)(gate *g);
} gate_ops;

/* One model of the gate and the runs it is judged on. */
typedef struct gmodel {
    eval_model m;
    int64_t cand_run, base_run;
    int cand_reused, base_reused;
} gmodel;

struct gate {
    const gate_opts *o;
    const gate_ops *ops;
    void *be;                   /* the backend's state */
    cat_suite *suite;
    cat_version suite_ver, suite_prompt, cand, base, dataset;
    int base_kind;              /* 0 none, 1 prompt, 2 run */
    int64_t base_run;           /* base_kind 2 */
    json_t *base_run_sum;
    const char *base_ref;
    gmodel *models;
    size_t nmodels;
    gate_rules rules;
    json_t *notes;
    int repeat;
};

/* Open the backend over the assay server o->server with bearer token
 * o->token (gate_remote.c). */
int gate_remote_open(gate *g);

#endif
