/* A token vocabulary: interns byte strings to dense integer ids so the
 * metrics compare and hash integers. Private to metrics/. */
#ifndef MET_VOCAB_H
#define MET_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#define MET_NO_ID UINT32_MAX

typedef struct met_vocab {
    uint32_t *slots;        /* open addressing: id + 1, 0 = empty */
    size_t mask;
    uint32_t *hash, *len, *aux;     /* per id; aux is free for the user
                                       (set to MET_NO_ID for a new id) */
    size_t *off;
    uint32_t n, cap;
    char *arena;
    size_t alen, acap;
} met_vocab;

/* The id of s[0..n), added when new; MET_NO_ID on no memory (error set). */
uint32_t met_vocab_id(met_vocab *v, const char *s, size_t n);
/* The bytes of an id (borrowed until the vocabulary changes). */
static inline const char *met_vocab_str(const met_vocab *v, uint32_t id)
{
    return v->arena + v->off[id];
}
/* Forget every id, keeping the memory. */
void met_vocab_clear(met_vocab *v);
/* Clear when over 1M ids or 32 MB of text, so a long-lived scorer's memory
 * stays bounded; call only between computations. */
void met_vocab_bound(met_vocab *v);
void met_vocab_free(met_vocab *v);

/* Grow *pp (an array of elements of size sz) to hold n; keeps contents. */
int met_reserve(void *pp, size_t *cap, size_t n, size_t sz);

#endif
