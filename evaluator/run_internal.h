/* Internals shared by the files of a run: run.c (preparing, the model
 * phase), judge_run.c (the judge phase) and embed_run.c (the embedding
 * phase). Not for other modules. */
#ifndef AS_EVAL_RUN_INTERNAL_H
#define AS_EVAL_RUN_INTERNAL_H

#include "evaluator/eval.h"
#include "evaluator/models.h"
#include "evaluator/provider.h"
#include "evaluator/scheduler.h"
#include "evaluator/score.h"
#include "catalog/catalog.h"
#include "common/sha256.h"
#include "store/store.h"

#include <stdatomic.h>

typedef struct run_ctx run_ctx;

/* One model call in flight: the case it is for and what it was sent. */
typedef struct item_job {
    sched_job job;          /* first: the scheduler hands this back */
    run_ctx *run;
    char *case_id;
    int rep;
    json_t *vars;
    json_t *messages;       /* chat prompts */
    char *prompt_text;
    char *expected;
    char cache_key[2 * AS_SHA256_LEN + 1];
} item_job;

struct run_ctx {
    eval_job *job;
    int64_t id;
    eval_model model;
    prov *p;
    int use_cache;
    long limit;
    int repeat;
    int concurrency;
    int64_t total, done, failed, cached;
    cat_cases *it;
    const cat_case *cur;
    long ncase;
    int rep;
    int ended;
    double busy_base_ms;    /* busy time of earlier sessions */
    double last_done_ms;
    double last_flush_ms;
    int lock_fd;            /* holds the run (eval_run_lock); -1 before */
};

struct eval_job {
    cat *c;
    store *db;
    cat_suite *suite;
    cat_version suite_ver;
    cat_prompt *prompt;
    cat_version prompt_ver;
    cat_version dataset_ver;
    eval_scorer *scorer;
    char *majority;
    run_ctx *runs;
    size_t nruns;
    int64_t *ids;
    /* judge */
    int judge_mode;         /* 0 none, 1 single, 2 pairwise */
    eval_model judge_model;
    prov *judge;
    char *rubric;
    int with_reference;
    /* cosine_embedding */
    int embed;              /* the suite has the metric */
    eval_model embed_model;
    prov *embedder;
    /* statements */
    store_stmt *st_item_get, *st_item_put, *st_attempt, *st_cache_get, *st_cache_put;
    atomic_int cancel;
    int in_tx;              /* a write transaction is open */
    int tx_writes;
    double tx_started_ms;
    eval_opts opts;
    double t0;
};

/* Writes are grouped: the first write of a group opens a transaction,
 * which eval_flush commits after EVAL_TX_MAX_WRITES writes or
 * EVAL_TX_MAX_MS milliseconds (checked on every answer and every turn of
 * the scheduler), and always at the end of a phase. A kill loses at most
 * that window of answers, which resume then asks for again. */
#define EVAL_TX_MAX_WRITES 256
#define EVAL_TX_MAX_MS 50.0
int eval_write_begin(eval_job *j);
/* Commit when the group is due (force: now). */
int eval_flush(eval_job *j, int force);

/* Insert one attempt row. */
int eval_record_attempt(eval_job *j, int64_t run, const char *case_id, int rep,
                        const char *kind, int attempt, long status, const char *error,
                        double duration_ms);
/* Take run 'id' for this job: *fd_out holds the lock until closed. AS_ECONFLICT
 * when another job (of any process) holds it. */
int eval_run_lock(int *fd_out, const char *data_dir, int64_t id);
/* The start of the source of a phase after the models answered (judge,
 * embedding): its job and a cursor over the items it has still to do,
 * opened group by group (a run, a pair of runs) by 'open'. */
typedef struct eval_phase_src {
    eval_job *j;
    store_stmt *cursor;
    int ended;
    /* Open src->cursor on the next group: 1, or 0 when none is left. */
    int (*open)(struct eval_phase_src *src);
} eval_phase_src;

/* Step to the phase's next item: 1 with a row in src->cursor, 0 when every
 * group is done, or a negative AS_E* code. */
int eval_phase_row(eval_phase_src *src);
/* A phase's scheduler tick (sched_lane_ops.tick; 'arg' starts with an
 * eval_phase_src): commit the writes when due. */
int eval_phase_tick(void *arg);
/* Run one lane of calls to 'p' (model 'm', its limits) fed by 'ops', then
 * commit what was written: the phases after the models answered. */
int eval_phase_run(eval_job *j, prov *p, const eval_model *m, const sched_lane_ops *ops,
                   void *arg);
/* The judge phase: single ratings or pairwise comparisons of the job's
 * runs, for the items that have none yet. */
int eval_judge_phase(eval_job *j);
/* The embedding phase: the cosine_embedding score of every 'ok' item with
 * an expected answer that has none yet (embed_run.c). */
int eval_embed_phase(eval_job *j);

#endif
