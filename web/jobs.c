/* Background jobs of the server: each is a thread doing one piece of work
 * (a run started from the API) that can be asked to stop. The request
 * that starts a job returns at once; web_server_stop cancels and joins
 * them all, so runs end in a resumable state. */
#include "web/http.h"

#include "common/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 64
#define MAX_JOBS 32     /* jobs running at once; more is AS_EBUSY (503) */

struct web_job {
    struct web_job *next;
    pthread_t thread;
    int64_t keys[MAX_KEYS];
    size_t nkeys;
    void (*run)(void *);
    void (*cancel)(void *);
    void (*free_arg)(void *);
    void *arg;
    int done;               /* atomic */
};

/* Moves whenever a job starts or ends: cached answers that say whether a
 * run is in progress are keyed by it (one server per process). */
static uint64_t jobs_generation;

uint64_t web_jobs_generation(void)
{
    return __atomic_load_n(&jobs_generation, __ATOMIC_ACQUIRE);
}

static void *job_main(void *p)
{
    web_job *j = p;

    j->run(j->arg);
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&jobs_generation, 1, __ATOMIC_ACQ_REL);
    return NULL;
}

static void job_free(web_job *j)
{
    if (j->free_arg)
        j->free_arg(j->arg);
    free(j);
}

/* Join and free finished jobs; the caller holds the lock. */
static void reap(web_job **head)
{
    web_job **pp = head;

    while (*pp) {
        web_job *j = *pp;
        if (__atomic_load_n(&j->done, __ATOMIC_ACQUIRE)) {
            *pp = j->next;
            pthread_join(j->thread, NULL);
            job_free(j);
        } else {
            pp = &j->next;
        }
    }
}

int web_jobs_start(web_ctx *c, const int64_t *keys, size_t nkeys, void (*run)(void *),
                   void (*cancel)(void *), void (*free_arg)(void *), void *arg)
{
    pthread_mutex_t *lock = web_ctx_jobs_lock(c);
    web_job *j = calloc(1, sizeof *j);

    if (j == NULL || nkeys > MAX_KEYS) {
        if (free_arg)
            free_arg(arg);
        free(j);
        return j ? as_error_set(AS_EINVAL, "at most %d runs in one job", MAX_KEYS)
                 : as_error_set(AS_ENOMEM, "out of memory");
    }
    memcpy(j->keys, keys, nkeys * sizeof *keys);
    j->nkeys = nkeys;
    j->run = run;
    j->cancel = cancel;
    j->free_arg = free_arg;
    j->arg = arg;
    pthread_mutex_lock(lock);
    reap(web_ctx_jobs(c));
    {
        web_job *o;
        int running = 0;
        for (o = *web_ctx_jobs(c); o; o = o->next)
            running++;
        if (running >= MAX_JOBS) {
            pthread_mutex_unlock(lock);
            job_free(j);
            return as_error_set(AS_EBUSY, "%d jobs are running; try again when one ends",
                                running);
        }
    }
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        pthread_mutex_unlock(lock);
        job_free(j);
        return as_error_set(AS_ERROR, "cannot start a background thread");
    }
    j->next = *web_ctx_jobs(c);
    *web_ctx_jobs(c) = j;
    __atomic_add_fetch(&jobs_generation, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(lock);
    return 0;
}

int web_jobs_room(web_ctx *c)
{
    web_job *j;
    int running = 0;

    pthread_mutex_lock(web_ctx_jobs_lock(c));
    for (j = *web_ctx_jobs(c); j; j = j->next)
        running += !__atomic_load_n(&j->done, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(web_ctx_jobs_lock(c));
    return running < MAX_JOBS;
}

/* The unfinished job working on 'key'; the caller holds the lock. */
static web_job *find(web_ctx *c, int64_t key)
{
    web_job *j;
    size_t i;

    for (j = *web_ctx_jobs(c); j; j = j->next) {
        if (__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
            continue;
        for (i = 0; i < j->nkeys; i++)
            if (j->keys[i] == key)
                return j;
    }
    return NULL;
}

int web_jobs_cancel(web_ctx *c, int64_t key)
{
    web_job *j;
    int rc = 0;

    pthread_mutex_lock(web_ctx_jobs_lock(c));
    if ((j = find(c, key)) != NULL)
        j->cancel(j->arg);
    else
        rc = as_error_set(AS_ENOTFOUND, "run %lld is not in progress in this server",
                          (long long)key);
    pthread_mutex_unlock(web_ctx_jobs_lock(c));
    return rc;
}

int web_jobs_running(web_ctx *c, int64_t key)
{
    int running;

    pthread_mutex_lock(web_ctx_jobs_lock(c));
    running = find(c, key) != NULL;
    pthread_mutex_unlock(web_ctx_jobs_lock(c));
    return running;
}

void web_jobs_stop_all(web_ctx *c)
{
    web_job *j, *next;

    pthread_mutex_lock(web_ctx_jobs_lock(c));
    for (j = *web_ctx_jobs(c); j; j = j->next)
        if (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
            j->cancel(j->arg);
    j = *web_ctx_jobs(c);
    *web_ctx_jobs(c) = NULL;
    pthread_mutex_unlock(web_ctx_jobs_lock(c));
    for (; j; j = next) {
        next = j->next;
        pthread_join(j->thread, NULL);
        job_free(j);
    }
}
