/* The worker pool (pool.h): workers sleep on a condition variable and wake
 * on a new job generation; the caller takes part 0 and waits for the rest. */
#include "evaluator/engine/pool.h"

#include "common/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define POOL_MAX 16

typedef struct worker_arg {
    struct eng_pool *p;
    int index;
} worker_arg;

struct eng_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_t tid[POOL_MAX];
    worker_arg args[POOL_MAX];
    int nthreads, started;
    unsigned long gen;       /* job generation; a change wakes the workers */
    int pending;             /* workers still busy with this generation */
    int stop;
    eng_pool_fn fn;
    void *arg;
    size_t n;
};

static void part(size_t n, int parts, int i, size_t *b, size_t *e)
{
    *b = n * (size_t)i / (size_t)parts;
    *e = n * (size_t)(i + 1) / (size_t)parts;
}

static void *worker(void *varg)
{
    eng_pool *p = ((worker_arg *)varg)->p;
    int index = ((worker_arg *)varg)->index;
    unsigned long seen = 0;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        size_t b, e;

        while (!p->stop && p->gen == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        part(p->n, p->nthreads, index, &b, &e);
        if (b < e)
            p->fn(p->arg, b, e);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int eng_pool_new(eng_pool **out, int nthreads)
{
    eng_pool *p;
    int i;

    *out = NULL;
    if (nthreads <= 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

        nthreads = ncpu < 1 ? 1 : ncpu > POOL_MAX ? POOL_MAX : (int)ncpu;
    }
    if (nthreads > POOL_MAX)
        nthreads = POOL_MAX;
    if ((p = calloc(1, sizeof *p)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->nthreads = nthreads;
    for (i = 1; i < nthreads; i++) {
        p->args[i].p = p;
        p->args[i].index = i;
        if (pthread_create(&p->tid[i], NULL, worker, &p->args[i]) != 0)
            break;
        p->started++;
    }
    if (p->started != nthreads - 1) {
        eng_pool_free(p);
        return as_error_set(AS_ERROR, "cannot start %d worker threads", nthreads - 1);
    }
    *out = p;
    return 0;
}

void eng_pool_free(eng_pool *p)
{
    int i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (i = 1; i <= p->started; i++)
        pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int eng_pool_threads(const eng_pool *p)
{
    return p ? p->nthreads : 1;
}

void eng_pool_run(eng_pool *p, size_t n, eng_pool_fn fn, void *arg)
{
    size_t b, e;

    if (p == NULL || p->nthreads == 1) {
        if (n > 0)
            fn(arg, 0, n);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->pending = p->nthreads - 1;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    part(n, p->nthreads, 0, &b, &e);
    if (b < e)
        fn(arg, b, e);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
