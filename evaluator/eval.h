/* Running a suite: one run per model, every case of the dataset (times
 * --repeat) sent through the scheduler, each answer scored and written to
 * SQLite as it arrives, then the LLM judge over the outputs. A run killed
 * at any moment resumes with eval_prepare(.resume_run): cases that have an
 * 'ok' item are never sent again; failed and missing ones are sent once.
 *
 * Two steps so that a server can answer at once: eval_prepare checks
 * everything (suite, prompt, dataset, models, that every case has the
 * prompt's variables, that secrets are in the environment) and creates the
 * runs before any request; eval_job_run then does the work and may run on
 * another thread (one thread at a time). eval_job_cancel may be called from
 * any thread. */
#ifndef AS_EVAL_EVAL_H
#define AS_EVAL_EVAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct eval_job eval_job;

typedef struct eval_progress {
    int64_t run_id;
    const char *model;
    const char *phase;          /* "model" or "judge" */
    int64_t total;              /* items of the run */
    int64_t done;               /* items answered (ok or failed), this session included */
    int64_t failed;
    int64_t cached;
    double elapsed_s;           /* since eval_job_run started */
} eval_progress;

typedef void (*eval_progress_fn)(void *arg, const eval_progress *p);

typedef struct eval_opts {
    const char *data_dir;
    const char *suite;              /* a suite reference (not with resume_run) */
    const char *prompt;             /* a prompt reference replacing the suite's
                                       (another version of it, for the gate); NULL: the suite's */
    const char *const *models;      /* model names replacing the suite's; NULL: the suite's */
    size_t nmodels;
    long limit;                     /* the first N cases; 0: all */
    int concurrency;                /* overrides the models' limit; 0: theirs */
    int no_cache;
    int repeat;                     /* each case K times; 0 means 1 */
    int64_t resume_run;             /* > 0: finish this run instead */
    int no_judge;                   /* skip the suite's judge */
    eval_progress_fn progress;      /* may be NULL; called on the running thread */
    void *progress_arg;
} eval_opts;

/* Check and create the runs (status 'running') into *out (caller frees with
 * eval_job_free). Nothing is sent to any model. Errors: AS_ENOTFOUND
 * (suite, model, provider, run), AS_EINVAL (a case lacking a prompt
 * variable, bad settings), AS_EAUTH (a secret's variable unset). */
int eval_prepare(eval_job **out, const eval_opts *opts);

/* The run ids, one per model, borrowed for the life of the job. */
const int64_t *eval_job_runs(const eval_job *job, size_t *n);

/* Do the work (blocking). Returns 0 when every run completed or ended
 * partial (cases failed after their retries: the runs say so), or an error
 * (AS_ECANCELED when canceled). Runs are left 'complete', 'partial',
 * 'failed' or 'canceled'. */
int eval_job_run(eval_job *job);

/* Ask a running job to stop (thread-safe); in-flight requests are
 * abandoned, finished items stay. */
void eval_job_cancel(eval_job *job);

void eval_job_free(eval_job *job);

/* Process-wide start-up of the evaluator's libraries (libcurl's
 * curl_global_init, which is not thread-safe): call once from main before
 * any thread starts, and eval_global_shutdown once at exit, after every
 * thread has ended. The scheduler and the gate's --server client refuse to
 * start (AS_EINVAL) before it, so a missing call fails loudly instead of
 * letting libcurl initialise itself lazily on whichever thread comes first.
 * Errors: AS_ERROR (libcurl could not start). */
int eval_global_init(void);
void eval_global_shutdown(void);

/* 0 when eval_global_init has run, else AS_EINVAL with the error set. */
int eval_global_check(void);

#endif
