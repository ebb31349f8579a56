/* Token vocabulary; see vocab.h. */
#include "metrics/vocab.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

#define VOCAB_MAX_IDS (1u << 20)
#define VOCAB_MAX_BYTES ((size_t)32 << 20)

int met_reserve(void *pp, size_t *cap, size_t n, size_t sz)
{
    void *q, *old;
    size_t c = *cap ? *cap : 64;

    if (n <= *cap)
        return 0;
    while (c < n)
        c *= 2;
    memcpy(&old, pp, sizeof(old));
    if ((q = realloc(old, c * sz)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    memcpy(pp, &q, sizeof(q));
    *cap = c;
    return 0;
}

void met_vocab_free(met_vocab *v)
{
    free(v->slots);
    free(v->hash);
    free(v->len);
    free(v->aux);
    free(v->off);
    free(v->arena);
    memset(v, 0, sizeof(*v));
}

void met_vocab_clear(met_vocab *v)
{
    if (v->slots)
        memset(v->slots, 0, (v->mask + 1) * sizeof(*v->slots));
    v->n = 0;
    v->alen = 0;
}

void met_vocab_bound(met_vocab *v)
{
    if (v->n > VOCAB_MAX_IDS || v->alen > VOCAB_MAX_BYTES)
        met_vocab_clear(v);
}

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int rehash(met_vocab *v, size_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof(*s)), i;

    if (s == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (i = 0; i < v->n; i++) {
        size_t j = v->hash[i] & (nslots - 1);
        while (s[j])
            j = (j + 1) & (nslots - 1);
        s[j] = i + 1;
    }
    free(v->slots);
    v->slots = s;
    v->mask = nslots - 1;
    return 0;
}

static int grow_ids(met_vocab *v)
{
    size_t c = v->cap ? (size_t)v->cap * 2 : 1024, cap;

    cap = v->cap;
    if (met_reserve(&v->hash, &cap, c, sizeof(uint32_t)) < 0)
        return AS_ENOMEM;
    cap = v->cap;
    if (met_reserve(&v->len, &cap, c, sizeof(uint32_t)) < 0)
        return AS_ENOMEM;
    cap = v->cap;
    if (met_reserve(&v->aux, &cap, c, sizeof(uint32_t)) < 0)
        return AS_ENOMEM;
    cap = v->cap;
    if (met_reserve(&v->off, &cap, c, sizeof(size_t)) < 0)
        return AS_ENOMEM;
    v->cap = (uint32_t)c;
    return 0;
}

uint32_t met_vocab_id(met_vocab *v, const char *s, size_t n)
{
    uint32_t h = hash_bytes(s, n), id;
    size_t j;

    if (v->slots == NULL && rehash(v, 1024) < 0)
        return MET_NO_ID;
    for (j = h & v->mask; v->slots[j]; j = (j + 1) & v->mask) {
        id = v->slots[j] - 1;
        if (v->hash[id] == h && v->len[id] == n && memcmp(v->arena + v->off[id], s, n) == 0)
            return id;
    }
    if (v->n == v->cap && grow_ids(v) < 0)
        return MET_NO_ID;
    if (met_reserve(&v->arena, &v->acap, v->alen + n + 1, 1) < 0)
        return MET_NO_ID;
    id = v->n++;
    memcpy(v->arena + v->alen, s, n);
    v->arena[v->alen + n] = '\0';
    v->off[id] = v->alen;
    v->alen += n + 1;
    v->hash[id] = h;
    v->len[id] = (uint32_t)n;
    v->aux[id] = MET_NO_ID;
    v->slots[j] = id + 1;
    if ((size_t)v->n * 2 > v->mask + 1 && rehash(v, (v->mask + 1) * 2) < 0)
        return MET_NO_ID;
    return id;
}
