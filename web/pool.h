/* A fixed pool of handler threads with full-size stacks (internal to
 * web/). civetweb's workers run on 100 KiB stacks, too small for libgit2
 * and the catalog, so each API request is handed to this pool and the
 * civetweb worker waits for it: at most as many requests are in the pool
 * as civetweb has workers, so the pool is the same size. */
#ifndef AS_WEB_POOL_H
#define AS_WEB_POOL_H

#include <stddef.h>

typedef struct web_pool web_pool;

/* Start 'nthreads' threads with 'stack' bytes of stack each; on_exit (may
 * be NULL) runs on each thread as it ends (to close its connections). */
int web_pool_start(web_pool **out, int nthreads, size_t stack, void (*on_exit)(void));
/* Run fn(arg) on a pool thread and wait for it to return. */
void web_pool_call(web_pool *p, void (*fn)(void *), void *arg);
/* Finish queued calls, end and join the threads, free 'p' (NULL is fine). */
void web_pool_stop(web_pool *p);

#endif
