/* The run scheduler: every call of a run (models and judges) goes through
 * one libcurl multi handle on one thread. Each model is a lane with its own
 * provider instance, concurrency limit, requests-per-minute limit,
 * per-request timeout, stalled-stream detection and retry budget. Retries
 * (connection errors, timeouts, 408, 409, 429, 5xx, or what the provider
 * says) wait min(0.5 * 2^n, 8) s * (1 - 0.25 * rand), or what the server
 * asks with retry-after-ms / Retry-After when 0 < delay <= 60 s; the
 * header x-should-retry overrides the decision. Every attempt is reported.
 *
 * Lanes pull their jobs lazily (memory stays flat in the dataset size) and
 * hand each answer back as soon as it arrives. Direct providers ('invoke')
 * get batches of up to the concurrency limit on the same thread. */
#ifndef AS_EVAL_SCHEDULER_H
#define AS_EVAL_SCHEDULER_H

#include "evaluator/provider.h"

#include <stdatomic.h>

typedef struct sched sched;

/* One call for a lane. Allocated by the lane's owner, who keeps it (and
 * what 'call' points to) alive until 'done' is called for it. */
typedef struct sched_job {
    prov_call call;
    void *data;                 /* the owner's */
} sched_job;

enum { SCHED_NONE = 0, SCHED_JOB = 1, SCHED_END = 2 };

typedef struct sched_lane_ops {
    /* The next job: SCHED_JOB with *out set, SCHED_NONE when none is ready
     * yet (asked again later: judges wait for outputs), SCHED_END when the
     * lane has no more work, or a negative AS_E* code to stop the run. */
    int (*next)(void *arg, sched_job **out);
    /* One attempt finished (successful or not); may be NULL. 'status' is
     * the HTTP status or 0; 'error' NULL on success. */
    int (*attempt)(void *arg, sched_job *job, int attempt, long status, const char *error,
                   double duration_ms);
    /* The job's final answer or error. res->latency_ms and res->ttft_ms are
     * set (ttft -1 when not streamed). 'attempts' counts the attempts. A
     * negative return stops the run with that error. The job is the
     * owner's again. */
    int (*done)(void *arg, sched_job *job, prov_result *res, int attempts);
    /* Called once per turn of the loop (at least every 100 ms) while the
     * lane lives, for periodic work such as committing writes; may be NULL. */
    int (*tick)(void *arg);
} sched_lane_ops;

typedef struct sched_limits {
    int concurrency;
    int rpm;                    /* 0: no limit */
    double timeout_s;           /* whole request */
    double stall_s;             /* a streamed response with no byte for this long
                                   ends the attempt; 0: 30 s */
    int max_retries;
} sched_limits;

int sched_new(sched **out);
/* Add a lane for 'p' (borrowed; started by the caller) with 'limits'. */
int sched_add_lane(sched *s, prov *p, const sched_limits *limits, const sched_lane_ops *ops,
                   void *arg);
/* Run until every lane has ended and nothing is in flight. When *cancel
 * becomes non-zero (or a callback fails), the jobs still held are handed
 * back through 'done' with res->error == AS_ECANCELED (record nothing for
 * them) and AS_ECANCELED (or the callback's error) is returned. */
int sched_run(sched *s, atomic_int *cancel);
void sched_free(sched *s);

/* The retry delay in seconds for attempt 'n' (0-based) given the
 * server's ask (-1 none) and a uniform random number r in [0, 1). */
double sched_backoff_s(int n, double server_s, double r);

#endif
