/* The BPE model: one pre-token -> ids. Follows HF tokenizers
 * models/bpe/word.rs merge_all: symbols start as single characters (or, for
 * byte-level files, as the mapped bytes); a min-heap ordered by (merge rank,
 * position) picks the next pair; an entry is stale when its left symbol was
 * merged away or the pair now there merges to another id. Characters missing
 * from the vocabulary become <0xNN> byte tokens (byte_fallback) or the unk
 * token (consecutive ones fused with fuse_unk); without either they are
 * dropped, as in HF. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "evaluator/engine/tokenizer_int.h"
#include "evaluator/engine/unicode.h"

#define SMALL 64

typedef struct sym {
    int32_t id;
    int32_t prev, next;
    int32_t alive;
} sym;

typedef struct cand {
    uint32_t rank;
    uint32_t pos;
    int32_t id;
} cand;

typedef struct heap {
    cand *v;
    size_t n;
} heap;

static int cand_less(const cand *a, const cand *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

/* The heap never grows: a word of n symbols starts with at most n - 1
 * entries, and each entry pushed follows a pop, two at most after a merge,
 * of which there are at most n - 1; so 2n entries always suffice. */
static void heap_push(heap *h, cand c)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = c;
}

static cand heap_pop(heap *h)
{
    cand top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const cand *mv = &last;
        if (l < h->n && cand_less(&h->v[l], mv)) {
            m = l;
            mv = &h->v[l];
        }
        if (r < h->n && cand_less(&h->v[r], mv))
            m = r;
        if (m == i)
            break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n > 0)
        h->v[i] = last;
    return top;
}

int tok_ids_push(tok_ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 256;
        if (cap > ENG_TOK_TEXT_MAX * 2)
            return as_error_set(AS_ETOOBIG, "tokenizer: too many tokens");
        int32_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v)
            return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return 0;
}

/* Symbols being built; the caller sized 'v' for the word. */
typedef struct symbuf {
    sym *v;
    size_t n;
    int32_t pending_unk; /* -1 none */
} symbuf;

static void sym_add(symbuf *b, int32_t id)
{
    sym *s = &b->v[b->n];
    s->id = id;
    s->prev = (int32_t)b->n - 1;
    s->next = (int32_t)b->n + 1;
    s->alive = 1;
    b->n++;
}

/* One unknown character: byte tokens, unk, or nothing. */
static void add_unknown(const eng_tokenizer *t, symbuf *b, const unsigned char *c, size_t clen)
{
    if (t->byte_fallback) {
        size_t k;
        for (k = 0; k < clen && t->byte_tok[c[k]] >= 0; k++)
            ;
        if (k == clen) {
            for (k = 0; k < clen; k++)
                sym_add(b, t->byte_tok[c[k]]);
            return;
        }
    }
    if (t->unk_id < 0)
        return;
    if (b->pending_unk >= 0 && !t->fuse_unk)
        sym_add(b, b->pending_unk);
    b->pending_unk = t->unk_id;
}

static void add_known(symbuf *b, int32_t id)
{
    if (b->pending_unk >= 0) {
        sym_add(b, b->pending_unk);
        b->pending_unk = -1;
    }
    sym_add(b, id);
}

/* The id of the whole word when ignore_merges applies, else -1. */
static int32_t whole_word(const eng_tokenizer *t, const unsigned char *s, size_t len)
{
    if (!t->byte_level)
        return tok_strmap_get(&t->vocab, t->arena.data, (const char *)s, len);
    char small[SMALL * 2];
    char *m = len <= SMALL ? small : malloc(len * 2);
    if (!m)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t cp = tok_byte_to_cp(s[i]);
        if (cp < 0x80) {
            m[k++] = (char)cp;
        } else {
            m[k++] = (char)(0xC0 | (cp >> 6));
            m[k++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    int32_t id = tok_strmap_get(&t->vocab, t->arena.data, m, k);
    if (m != small)
        free(m);
    return id;
}

static int bpe_word(const eng_tokenizer *t, const char *str, size_t len, tok_ids *ids);

/* SentencePiece pipelines hand the whole text over as one word. When no
 * merge can join across the start of a "▁word" (t->meta_split), BPE of each
 * such word on its own gives the same ids, in far less time: the merge
 * order within a word is the same (rank, then position). */
int tok_bpe(const eng_tokenizer *t, const char *str, size_t len, tok_ids *ids)
{
    if (!t->meta_split || len < 16)
        return bpe_word(t, str, len, ids);
    size_t from = 0;
    int rc = 0;
    for (size_t i = 3; rc == 0 && i + 3 <= len; i++) {
        if (memcmp(str + i, "\xE2\x96\x81", 3) == 0 &&
            memcmp(str + i - 3, "\xE2\x96\x81", 3) != 0) {
            rc = bpe_word(t, str + from, i - from, ids);
            from = i;
            i += 2;
        }
    }
    if (rc == 0)
        rc = bpe_word(t, str + from, len - from, ids);
    return rc;
}

static int bpe_word(const eng_tokenizer *t, const char *str, size_t len, tok_ids *ids)
{
    const unsigned char *s = (const unsigned char *)str;
    if (len == 0)
        return 0;
    if (t->ignore_merges) {
        int32_t id = whole_word(t, s, len);
        if (id >= 0)
            return tok_ids_push(ids, id);
    }
    /* at most one symbol per byte (a character is one token, or one byte
     * token per byte, or part of an unk), and 2 heap entries per symbol */
    size_t max_syms = len + 1;
    sym small_syms[SMALL + 1];
    cand small_heap[(SMALL + 1) * 2];
    symbuf b = {small_syms, 0, -1};
    heap h = {small_heap, 0};
    int rc = 0;
    if (len > SMALL) {
        b.v = malloc(max_syms * sizeof *b.v);
        h.v = malloc(max_syms * 2 * sizeof *h.v);
        if (!b.v || !h.v) {
            free(b.v);
            free(h.v);
            return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
        }
    }

    if (t->byte_level) {
        for (size_t i = 0; i < len; i++) {
            if (t->byte_sym[s[i]] >= 0)
                add_known(&b, t->byte_sym[s[i]]);
            else
                add_unknown(t, &b, s + i, 1);
        }
    } else {
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t cl = eng_uni_next(s + i, len - i, &cp);
            int32_t id = cp < 0x10000
                             ? t->bmp_id[cp]
                             : tok_strmap_get(&t->vocab, t->arena.data, (const char *)s + i, cl);
            if (id >= 0)
                add_known(&b, id);
            else
                add_unknown(t, &b, s + i, cl);
            i += cl;
        }
    }
    if (b.pending_unk >= 0)
        sym_add(&b, b.pending_unk);
    if (b.n > 0)
        b.v[b.n - 1].next = -1;

    for (size_t i = 0; i + 1 < b.n; i++) {
        const tok_merge *m = tok_pairmap_get(&t->merges, b.v[i].id, b.v[i + 1].id);
        if (m)
            heap_push(&h, (cand){m->rank, (uint32_t)i, m->id});
    }
    while (h.n > 0) {
        cand top = heap_pop(&h);
        sym *cur = &b.v[top.pos];
        if (!cur->alive || cur->next < 0)
            continue;
        sym *right = &b.v[cur->next];
        const tok_merge *m = tok_pairmap_get(&t->merges, cur->id, right->id);
        if (!m || m->id != top.id)
            continue;
        cur->id = top.id;
        right->alive = 0;
        cur->next = right->next;
        if (right->next >= 0)
            b.v[right->next].prev = (int32_t)top.pos;
        if (cur->prev >= 0) {
            m = tok_pairmap_get(&t->merges, b.v[cur->prev].id, cur->id);
            if (m)
                heap_push(&h, (cand){m->rank, (uint32_t)cur->prev, m->id});
        }
        if (cur->next >= 0) {
            m = tok_pairmap_get(&t->merges, cur->id, b.v[cur->next].id);
            if (m)
                heap_push(&h, (cand){m->rank, top.pos, m->id});
        }
    }
    for (int32_t i = b.n ? 0 : -1; rc == 0 && i >= 0; i = b.v[i].next)
        rc = tok_ids_push(ids, b.v[i].id);
    if (b.v != small_syms) {
        free(b.v);
        free(h.v);
    }
    return rc;
}
