/* A cache of serialized API answers (internal to web/) for the GET routes
 * whose answer depends only on the database: the leaderboard and the run
 * pages. Entries carry the database generation they were made at; the
 * generation moves whenever a connection sees that another one committed
 * (SQLite's PRAGMA data_version), so a cached answer is never served after
 * the data behind it changed. At most WEB_RESP_CACHE answers are kept. */
#ifndef AS_WEB_RESPCACHE_H
#define AS_WEB_RESPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define WEB_RESP_CACHE 256
#define WEB_RESP_MAX ((size_t)1 << 20)   /* larger answers are not kept */

typedef struct web_respcache web_respcache;

int web_respcache_new(web_respcache **out);
void web_respcache_free(web_respcache *c);

/* Check this thread's connection for commits by others and move the
 * generation when there were; returns the current generation. */
uint64_t web_respcache_sync(web_respcache *c, store *db, int64_t *last_seen);

/* A copy of the answer for 'key' made at generation 'gen' into *body
 * (caller frees) and its status; 0 when absent. */
int web_respcache_get(web_respcache *c, const char *key, uint64_t gen, char **body, int *status);
/* Remember an answer. */
void web_respcache_put(web_respcache *c, const char *key, uint64_t gen, const char *body,
                       int status);

#endif
