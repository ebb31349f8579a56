/* The tokenizer's hash tables: token string -> id (open addressing over the
 * tokenizer's string arena) and merge pair -> (rank, merged id). */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "evaluator/engine/tokenizer_int.h"

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
        s += 8;
        len -= 8;
    }
    while (len--)
        h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
    h ^= h >> 32;
    return h * 0x9E3779B97F4A7C15ull;
}

static uint64_t hash_pair(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

static size_t table_size(size_t expected)
{
    size_t n = 16;
    while (n < expected * 2)
        n <<= 1;
    return n;
}

int tok_strmap_init(tok_strmap *m, size_t expected)
{
    size_t n = table_size(expected);
    m->slots = malloc(n * sizeof *m->slots);
    if (!m->slots)
        return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < n; i++)
        m->slots[i].id = -1;
    m->mask = n - 1;
    m->count = 0;
    return 0;
}

void tok_strmap_free(tok_strmap *m)
{
    free(m->slots);
    m->slots = NULL;
}

int tok_strmap_put(tok_strmap *m, const char *arena, uint32_t off, uint32_t len, int32_t id)
{
    const char *s = arena + off;
    if ((m->count + 1) * 2 > m->mask + 1)
        return as_error_set(AS_ERROR, "tokenizer: string table full");
    size_t i = hash_bytes(s, len) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        tok_strslot *o = &m->slots[i];
        if (o->id < 0) {
            o->off = off;
            o->len = len;
            o->id = id;
            m->count++;
            return 0;
        }
        if (o->len == len && memcmp(arena + o->off, s, len) == 0) {
            o->id = id;
            return 0;
        }
    }
}

int32_t tok_strmap_get(const tok_strmap *m, const char *arena, const char *s, size_t len)
{
    if (!m->slots)
        return -1;
    size_t i = hash_bytes(s, len) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        const tok_strslot *o = &m->slots[i];
        if (o->id < 0)
            return -1;
        if (o->len == len && memcmp(arena + o->off, s, len) == 0)
            return o->id;
    }
}

int tok_pairmap_init(tok_pairmap *m, size_t expected)
{
    size_t n = table_size(expected);
    m->slots = malloc(n * sizeof *m->slots);
    if (!m->slots)
        return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < n; i++)
        m->slots[i].key = UINT64_MAX;
    m->mask = n - 1;
    m->count = 0;
    return 0;
}

void tok_pairmap_free(tok_pairmap *m)
{
    free(m->slots);
    m->slots = NULL;
}

void tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t id)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = hash_pair(key) & m->mask;
    while (m->slots[i].key != UINT64_MAX && m->slots[i].key != key)
        i = (i + 1) & m->mask;
    if (m->slots[i].key == UINT64_MAX)
        m->count++;
    m->slots[i].key = key;
    m->slots[i].rank = rank;
    m->slots[i].id = id;
}

const tok_merge *tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b)
{
    if (!m->slots)
        return NULL;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t i = hash_pair(key) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        if (m->slots[i].key == UINT64_MAX)
            return NULL;
    }
}
