/* The hand-over between the scheduler's loop and a streaming provider's
 * worker thread (provider.h 'serve'). The loop puts calls in while there is
 * room, the worker takes them and gives answers back, the loop collects the
 * answers; all under one mutex. The loop never waits on the worker except
 * to join it at the end. The scheduler (evaluator/scheduler.c) is its one user. */
#ifndef AS_PROV_FEED_H
#define AS_PROV_FEED_H

#include "evaluator/provider.h"

#include <stddef.h>

/* Called from the worker after each answer and when it is over, to wake
 * the loop (thread-safe). */
typedef void (*feed_wake_fn)(void *arg);

/* A feed of up to 'cap' calls at once (queued, taken or answered and not
 * collected). Caller frees with feed_free after feed_join. */
int feed_new(prov_feed **out, size_t cap, feed_wake_fn wake, void *wake_arg);
void feed_free(prov_feed *f);

/* Start the worker: p->vt->serve(p, f) on a thread of its own. */
int feed_start(prov_feed *f, prov *p);

/* Loop side. Room for more calls. */
size_t feed_room(prov_feed *f);
/* Queue 'call' (borrowed until collected) with the loop's 'job'. */
int feed_put(prov_feed *f, const prov_call *call, void *job);
/* No call will be put again. */
void feed_end(prov_feed *f);
/* Stop: takes answer AS_ECANCELED from now on. */
void feed_cancel(prov_feed *f);
/* 1 once the worker has returned. */
int feed_over(prov_feed *f);
/* Move up to 'max' answered calls out: jobs[i] with res[i] (the caller
 * clears each res). After the worker is over (feed_join), every call still
 * held comes out too, failed with the worker's error. Returns the count. */
size_t feed_collect(prov_feed *f, void **jobs, prov_result *res, size_t max);
/* Wait for the worker to return. */
void feed_join(prov_feed *f);
/* Calls put and not yet collected. */
size_t feed_held(prov_feed *f);

#endif
