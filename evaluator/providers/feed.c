/* A streaming provider's feed (feed.h, provider.h). Each entry of a fixed
 * table is free, queued (put by the loop), taken (by the worker) or
 * answered; queued entries are taken in the order they were put. */
#include "evaluator/providers/feed.h"

#include "common/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ENTRY_FREE, ENTRY_QUEUED, ENTRY_TAKEN, ENTRY_ANSWERED };

typedef struct entry {
    int state;
    unsigned long seq;          /* put order */
    prov_call call;
    void *job;
    prov_result res;
} entry;

struct prov_feed {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    entry *e;
    size_t cap;
    unsigned long puts;
    int ended, canceled;
    int over, joined, started;
    int rc;                     /* serve's return */
    char err[512];              /* its message */
    prov *p;
    pthread_t th;
    feed_wake_fn wake;
    void *wake_arg;
};

int feed_new(prov_feed **out, size_t cap, feed_wake_fn wake, void *wake_arg)
{
    prov_feed *f;
    size_t i;

    *out = NULL;
    if ((f = calloc(1, sizeof *f)) == NULL || (f->e = calloc(cap ? cap : 1, sizeof *f->e)) == NULL) {
        free(f);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    for (i = 0; i < cap; i++)
        prov_result_init(&f->e[i].res);
    f->cap = cap ? cap : 1;
    f->wake = wake;
    f->wake_arg = wake_arg;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    *out = f;
    return 0;
}

void feed_free(prov_feed *f)
{
    size_t i;

    if (f == NULL)
        return;
    for (i = 0; i < f->cap; i++)
        prov_result_clear(&f->e[i].res);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f->e);
    free(f);
}

static void *feed_main(void *arg)
{
    prov_feed *f = arg;
    int rc = f->p->vt->serve(f->p, f);

    pthread_mutex_lock(&f->mu);
    f->rc = rc;
    if (rc < 0)
        snprintf(f->err, sizeof f->err, "%s", as_error_msg());
    f->over = 1;
    pthread_mutex_unlock(&f->mu);
    f->wake(f->wake_arg);
    return NULL;
}

int feed_start(prov_feed *f, prov *p)
{
    f->p = p;
    if (pthread_create(&f->th, NULL, feed_main, f) != 0)
        return as_error_set(AS_ERROR, "cannot start the worker thread of provider %s", p->vt->name);
    f->started = 1;
    return 0;
}

size_t feed_room(prov_feed *f)
{
    size_t i, n = 0;

    pthread_mutex_lock(&f->mu);
    for (i = 0; i < f->cap; i++)
        n += f->e[i].state == ENTRY_FREE;
    pthread_mutex_unlock(&f->mu);
    return n;
}

size_t feed_held(prov_feed *f)
{
    return f->cap - feed_room(f);
}

int feed_put(prov_feed *f, const prov_call *call, void *job)
{
    size_t i;
    int rc = as_error_set(AS_EBUSY, "the feed is full");

    pthread_mutex_lock(&f->mu);
    for (i = 0; i < f->cap; i++)
        if (f->e[i].state == ENTRY_FREE) {
            f->e[i].state = ENTRY_QUEUED;
            f->e[i].seq = f->puts++;
            f->e[i].call = *call;
            f->e[i].job = job;
            rc = 0;
            break;
        }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void feed_end(prov_feed *f)
{
    pthread_mutex_lock(&f->mu);
    f->ended = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void feed_cancel(prov_feed *f)
{
    pthread_mutex_lock(&f->mu);
    f->canceled = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

int feed_over(prov_feed *f)
{
    int over;

    pthread_mutex_lock(&f->mu);
    over = f->over;
    pthread_mutex_unlock(&f->mu);
    return over;
}

void feed_join(prov_feed *f)
{
    if (f->started && !f->joined) {
        pthread_join(f->th, NULL);
        f->joined = 1;
    }
}

size_t feed_collect(prov_feed *f, void **jobs, prov_result *res, size_t max)
{
    size_t i, n = 0;
    int after = f->joined || !f->started;

    pthread_mutex_lock(&f->mu);
    for (i = 0; i < f->cap && n < max; i++) {
        entry *e = &f->e[i];

        if (e->state == ENTRY_FREE || (e->state != ENTRY_ANSWERED && !after))
            continue;
        jobs[n] = e->job;
        res[n] = e->res;
        if (e->state != ENTRY_ANSWERED) {
            /* the worker is gone without answering it */
            prov_result_init(&res[n]);
            if (f->canceled)
                prov_result_fail(&res[n], AS_ECANCELED, PROV_RETRY_NO, "canceled");
            else
                prov_result_fail(&res[n], f->rc < 0 ? f->rc : AS_ERROR, PROV_RETRY_NO, "%s",
                                 f->rc < 0 ? f->err : "the provider stopped without answering");
        }
        prov_result_init(&e->res);
        e->state = ENTRY_FREE;
        n++;
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

int prov_feed_take(prov_feed *f, int wait, const prov_call **call, void **tag)
{
    int rc;

    pthread_mutex_lock(&f->mu);
    for (;;) {
        entry *first = NULL;
        size_t i;

        if (f->canceled) {
            rc = as_error_set(AS_ECANCELED, "canceled");
            break;
        }
        for (i = 0; i < f->cap; i++)
            if (f->e[i].state == ENTRY_QUEUED && (first == NULL || f->e[i].seq < first->seq))
                first = &f->e[i];
        if (first != NULL) {
            first->state = ENTRY_TAKEN;
            *call = &first->call;
            *tag = first;
            rc = PROV_FEED_CALL;
            break;
        }
        if (f->ended) {
            rc = PROV_FEED_END;
            break;
        }
        if (!wait) {
            rc = PROV_FEED_NONE;
            break;
        }
        pthread_cond_wait(&f->cv, &f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

void prov_feed_give(prov_feed *f, void *tag, prov_result *res)
{
    entry *e = tag;

    pthread_mutex_lock(&f->mu);
    prov_result_clear(&e->res);
    e->res = *res;
    e->state = ENTRY_ANSWERED;
    pthread_mutex_unlock(&f->mu);
    prov_result_init(res);
    f->wake(f->wake_arg);
}

int prov_feed_canceled(prov_feed *f)
{
    int c;

    pthread_mutex_lock(&f->mu);
    c = f->canceled;
    pthread_mutex_unlock(&f->mu);
    return c;
}
