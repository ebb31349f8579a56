/* Background jobs of the server: each is a thread running one function
 * with a cancel flag (a run started from the API). The request that starts
 * a job returns at once; web_server_stop cancels and joins them all. */
#include "web/http.h"

#include "common/error.h"

#include <pthread.h>
#include <stdlib.h>

struct web_job {
    struct web_job *next;
    pthread_t thread;
    int64_t key;
    web_job_fn fn;
    void *arg;
    void (*free_arg)(void *);
    volatile int cancel;
    volatile int done;
};

static void *job_main(void *p)
{
    web_job *j = p;

    j->fn(j->arg, &j->cancel);
    if (j->free_arg)
        j->free_arg(j->arg);
    j->arg = NULL;
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    return NULL;
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
            free(j);
        } else {
            pp = &j->next;
        }
    }
}

int web_jobs_start(web_ctx *c, int64_t key, web_job_fn fn, void *arg, void (*free_arg)(void *))
{
    web_job *j = calloc(1, sizeof *j);
    pthread_mutex_t *lock = web_ctx_jobs_lock(c);

    if (j == NULL) {
        if (free_arg)
            free_arg(arg);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    j->key = key;
    j->fn = fn;
    j->arg = arg;
    j->free_arg = free_arg;
    pthread_mutex_lock(lock);
    reap(web_ctx_jobs(c));
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        pthread_mutex_unlock(lock);
        if (free_arg)
            free_arg(arg);
        free(j);
        return as_error_set(AS_ERROR, "cannot start a background thread");
    }
    j->next = *web_ctx_jobs(c);
    *web_ctx_jobs(c) = j;
    pthread_mutex_unlock(lock);
    return 0;
}

static web_job *find(web_ctx *c, int64_t key)
{
    web_job *j;

    for (j = *web_ctx_jobs(c); j; j = j->next)
        if (j->key == key && !__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
            return j;
    return NULL;
}

int web_jobs_cancel(web_ctx *c, int64_t key)
{
    web_job *j;
    int rc = 0;

    pthread_mutex_lock(web_ctx_jobs_lock(c));
    if ((j = find(c, key)) != NULL)
        j->cancel = 1;
    else
        rc = as_error_set(AS_ENOTFOUND, "no run %lld in progress in this server", (long long)key);
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
        j->cancel = 1;
    j = *web_ctx_jobs(c);
    *web_ctx_jobs(c) = NULL;
    pthread_mutex_unlock(web_ctx_jobs_lock(c));
    for (; j; j = next) {
        next = j->next;
        pthread_join(j->thread, NULL);
        free(j);
    }
}
