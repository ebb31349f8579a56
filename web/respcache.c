/* The answer cache; see respcache.h. */
#include "web/respcache.h"

#include "common/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    char *key;              /* NULL: free */
    char *body;
    uint64_t gen;
    uint64_t used;
    int status;
} slot;

struct web_respcache {
    pthread_mutex_t lock;
    uint64_t gen;
    uint64_t clock;
    slot s[WEB_RESP_CACHE];
};

int web_respcache_new(web_respcache **out)
{
    web_respcache *c = calloc(1, sizeof *c);

    if ((*out = c) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    c->gen = 1;
    return 0;
}

void web_respcache_free(web_respcache *c)
{
    int i;

    if (c == NULL)
        return;
    for (i = 0; i < WEB_RESP_CACHE; i++) {
        free(c->s[i].key);
        free(c->s[i].body);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

uint64_t web_respcache_sync(web_respcache *c, store *db, int64_t *last_seen)
{
    store_stmt *st = NULL;
    int64_t v = -1;
    uint64_t gen;

    if (store_prepare(&st, db, "PRAGMA data_version") == 0 && store_step(st) == STORE_ROW)
        v = store_col_int(st, 0);
    store_finalize(st);
    pthread_mutex_lock(&c->lock);
    /* Unknown (-1) or changed: whatever is cached may be stale. */
    if (v < 0 || v != *last_seen)
        c->gen++;
    *last_seen = v;
    gen = c->gen;
    pthread_mutex_unlock(&c->lock);
    return gen;
}

int web_respcache_get(web_respcache *c, const char *key, uint64_t gen, char **body, int *status)
{
    int i, found = 0;

    *body = NULL;
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < WEB_RESP_CACHE; i++) {
        slot *s = &c->s[i];
        if (s->key && s->gen == gen && strcmp(s->key, key) == 0) {
            s->used = ++c->clock;
            *status = s->status;
            found = (*body = strdup(s->body)) != NULL;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

void web_respcache_put(web_respcache *c, const char *key, uint64_t gen, const char *body,
                       int status)
{
    size_t len = strlen(body);
    char *k, *b;
    slot *victim;
    int i;

    if (len > WEB_RESP_MAX || (k = strdup(key)) == NULL)
        return;
    if ((b = malloc(len + 1)) == NULL) {
        free(k);
        return;
    }
    memcpy(b, body, len + 1);
    pthread_mutex_lock(&c->lock);
    victim = &c->s[0];
    for (i = 0; i < WEB_RESP_CACHE; i++) {
        slot *s = &c->s[i];
        if (s->key == NULL || s->gen != c->gen) {   /* free or stale: take it */
            victim = s;
            break;
        }
        if (s->used < victim->used)
            victim = s;
    }
    free(victim->key);
    free(victim->body);
    victim->key = k;
    victim->body = b;
    victim->gen = gen;
    victim->status = status;
    victim->used = ++c->clock;
    pthread_mutex_unlock(&c->lock);
}
