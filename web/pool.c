/* The handler thread pool; see pool.h. */
#include "web/pool.h"

#include "common/error.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct task {
    struct task *next;
    void (*fn)(void *);
    void *arg;
    int done;
    pthread_cond_t cond;
} task;

struct web_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    task *head, *tail;
    int stopping;
    int nthreads;
    pthread_t *threads;
    void (*on_exit)(void);
};

static void *worker(void *arg)
{
    web_pool *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        task *t;
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->head == NULL)
            break;
        t = p->head;
        p->head = t->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        t->fn(t->arg);
        pthread_mutex_lock(&p->lock);
        t->done = 1;
        pthread_cond_signal(&t->cond);
    }
    pthread_mutex_unlock(&p->lock);
    if (p->on_exit)
        p->on_exit();
    return NULL;
}

int web_pool_start(web_pool **out, int nthreads, size_t stack, void (*on_exit)(void))
{
    web_pool *p = calloc(1, sizeof *p);
    pthread_attr_t attr;
    int i;

    *out = NULL;
    if (p == NULL || (p->threads = calloc((size_t)nthreads, sizeof *p->threads)) == NULL) {
        free(p);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    p->on_exit = on_exit;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack);
    for (i = 0; i < nthreads; i++) {
        if (pthread_create(&p->threads[i], &attr, worker, p) != 0) {
            pthread_attr_destroy(&attr);
            web_pool_stop(p);
            return as_error_set(AS_ERROR, "cannot start handler threads");
        }
        p->nthreads++;
    }
    pthread_attr_destroy(&attr);
    *out = p;
    return 0;
}

void web_pool_call(web_pool *p, void (*fn)(void *), void *arg)
{
    task t = {NULL, fn, arg, 0, PTHREAD_COND_INITIALIZER};

    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = &t;
    else
        p->head = &t;
    p->tail = &t;
    pthread_cond_signal(&p->work);
    while (!t.done)
        pthread_cond_wait(&t.cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&t.cond);
}

void web_pool_stop(web_pool *p)
{
    int i;

    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}
