/* A small fixed pool of worker threads for the data-parallel loops of the
 * reference forward pass (matrix-vector products split by rows). One caller
 * thread at a time per pool. */
#ifndef AS_ENG_POOL_H
#define AS_ENG_POOL_H

#include <stddef.h>

typedef struct eng_pool eng_pool;

/* fn(arg, begin, end) computes items [begin, end). */
typedef void (*eng_pool_fn)(void *arg, size_t begin, size_t end);

/* Start 'nthreads' - 1 workers (the caller is the last one); nthreads <= 0
 * means one per online CPU, capped at 16. Caller frees with eng_pool_free. */
int eng_pool_new(eng_pool **out, int nthreads);
void eng_pool_free(eng_pool *p);
int eng_pool_threads(const eng_pool *p);
/* Run fn over [0, n) split into contiguous equal parts, one per thread;
 * returns when all are done. With a NULL pool, runs on the caller. */
void eng_pool_run(eng_pool *p, size_t n, eng_pool_fn fn, void *arg);

#endif
