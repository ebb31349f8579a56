/* Internals of the tokenizer, shared by tokenizer*.c only: the loaded
 * tokenizer, its hash tables and the pipeline stages. See tokenizer.h for
 * the public API. */
#ifndef AS_ENG_TOKENIZER_INT_H
#define AS_ENG_TOKENIZER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "evaluator/engine/tokenizer.h"

/* String -> id, open addressing; the strings live in an arena buffer that
 * is passed to every call (it may move while the tokenizer is loaded). */
typedef struct tok_strslot {
    uint32_t off, len; /* the string in the arena */
    int32_t id;        /* -1: empty slot */
} tok_strslot;

typedef struct tok_strmap {
    tok_strslot *slots; /* mask + 1 of them */
    size_t mask;
    size_t count;
} tok_strmap;

/* (left id, right id) -> merge rank and merged id. */
typedef struct tok_merge {
    uint64_t key; /* left << 32 | right; UINT64_MAX marks empty */
    uint32_t rank;
    int32_t id;
} tok_merge;

typedef struct tok_pairmap {
    tok_merge *slots;
    size_t mask;
    size_t count;
} tok_pairmap;

typedef struct tok_added {
    const char *content; /* as written in the text (a tok_keep copy) */
    size_t len;
    int32_t id;
    unsigned special : 1, lstrip : 1, rstrip : 1, single_word : 1, normalized : 1;
} tok_added;

/* A byte trie of added-token strings for leftmost-longest matching. */
typedef struct tok_trie_node {
    int32_t first_child; /* index or -1 */
    int32_t next_sibling;
    int32_t token; /* index into tok->added, or -1 */
    unsigned char byte;
} tok_trie_node;

typedef struct tok_trie {
    tok_trie_node *nodes; /* nodes[0] is the root */
    size_t count, cap;
    int32_t root_next[256]; /* root's children by byte, -1 if none */
} tok_trie;

/* Normalizer steps, applied in order to each plain segment. */
typedef enum { NORM_NFC, NORM_PREPEND, NORM_REPLACE } tok_norm_kind;
typedef struct tok_norm {
    tok_norm_kind kind;
    const char *a;
    size_t alen; /* PREPEND text; REPLACE pattern */
    const char *b;
    size_t blen; /* REPLACE content */
} tok_norm;

/* Pre-tokenizer regexes, hand-written as scanners (tokenizer_pretok.c). */
typedef enum { RX_GPT2, RX_LLAMA3, RX_QWEN2 } tok_regex;
/* Split behaviours of HF SplitDelimiterBehavior. */
typedef enum {
    SPL_REMOVED,
    SPL_ISOLATED,
    SPL_MERGED_PREV,
    SPL_MERGED_NEXT,
    SPL_CONTIGUOUS
} tok_split_behavior;
typedef enum { PRE_SPLIT_REGEX, PRE_SPLIT_STRING, PRE_BYTELEVEL, PRE_METASPACE } tok_pre_kind;
typedef enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER } tok_prepend;
typedef struct tok_pre {
    tok_pre_kind kind;
    tok_regex regex;
    tok_split_behavior behavior;
    const char *str;
    size_t slen;          /* SPLIT_STRING pattern; METASPACE replacement */
    int add_prefix_space; /* BYTELEVEL */
    int use_regex;        /* BYTELEVEL */
    tok_prepend prepend;  /* METASPACE */
    int split;            /* METASPACE */
} tok_pre;

/* Decoder steps. */
typedef enum {
    DEC_BYTELEVEL,
    DEC_REPLACE,
    DEC_BYTEFALLBACK,
    DEC_FUSE,
    DEC_STRIP,
    DEC_METASPACE
} tok_dec_kind;
typedef struct tok_dec {
    tok_dec_kind kind;
    const char *a;
    size_t alen; /* REPLACE pattern; STRIP content; METASPACE replacement */
    const char *b;
    size_t blen;         /* REPLACE content */
    int start;           /* STRIP: leading characters to remove */
    tok_prepend prepend; /* METASPACE */
} tok_dec;

#define TOK_MAX_STEPS 16
#define TOK_MAX_POST 8

struct eng_tokenizer {
    as_buf arena; /* every string the tokenizer keeps */
    /* id -> offset of its string in the arena (UINT32_MAX: no token) */
    uint32_t *piece_off;
    uint32_t *piece_len;
    int32_t n_ids;       /* vocab size including added tokens */
    uint8_t *is_special; /* per id */
    tok_strmap vocab;    /* model vocabulary */
    tok_strmap all;      /* vocabulary + added tokens */
    tok_pairmap merges;

    /* model */
    int ignore_merges, byte_fallback, fuse_unk;
    int32_t unk_id;
    int32_t byte_tok[256]; /* <0xNN> ids for byte fallback, -1 if absent */
    int byte_level;        /* pieces are mapped by the ByteLevel byte map */
    int meta_split;        /* no merge joins a piece ending in another
                            * character to one starting with U+2581, so
                            * BPE may run word by word (tok_bpe) */
    int32_t byte_sym[256]; /* byte-level: id of the mapped character */
    int32_t *bmp_id;       /* not byte-level: vocab id of each code point
                            * below U+10000 as a one-character token, -1 */

    tok_added *added;
    size_t n_added;
    tok_trie raw_trie;         /* added tokens with normalized=false */
    tok_trie norm_trie;        /* normalized=true, content normalized */
    const char **norm_content; /* normalized content per added token */
    size_t *norm_len;

    tok_norm norm[TOK_MAX_STEPS];
    size_t n_norm;
    tok_pre pre[TOK_MAX_STEPS];
    size_t n_pre;
    tok_dec dec[TOK_MAX_STEPS];
    size_t n_dec;
    int32_t post_prefix[TOK_MAX_POST], post_suffix[TOK_MAX_POST];
    size_t n_post_prefix, n_post_suffix;

    int32_t bos, eos, pad;
    char *chat_template;
    char **owned; /* small strings the steps above point into */
    size_t n_owned, cap_owned;
};

/* Byte-level byte map: byte -> code point, code point -> byte (-1). */
uint32_t tok_byte_to_cp(unsigned char b);
int tok_cp_to_byte(uint32_t cp);

/* tokenizer_map.c */
int tok_strmap_init(tok_strmap *m, size_t expected);
void tok_strmap_free(tok_strmap *m);
/* Insert, or overwrite the id of, arena[off..off+len). */
int tok_strmap_put(tok_strmap *m, const char *arena, uint32_t off, uint32_t len, int32_t id);
int32_t tok_strmap_get(const tok_strmap *m, const char *arena, const char *s, size_t len);
int tok_pairmap_init(tok_pairmap *m, size_t expected);
void tok_pairmap_free(tok_pairmap *m);
/* Insert or overwrite (a later duplicate wins, as in HF). */
void tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t id);
const tok_merge *tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b);

static inline const char *tok_piece(const eng_tokenizer *t, int32_t id)
{
    return t->arena.data + t->piece_off[id];
}

/* tokenizer_trie.c */
int tok_trie_add(tok_trie *tr, const char *s, size_t len, int32_t token);
/* Longest token matching at s[0..len): its index into t->added and *mlen,
 * or -1. */
int32_t tok_trie_longest(const tok_trie *tr, const unsigned char *s, size_t len, size_t *mlen);
void tok_trie_free(tok_trie *tr);

/* tokenizer_pretok.c: a list of pieces of text being pre-tokenized. */
typedef struct tok_piece_ref {
    size_t off, len; /* in the list's text buffer */
    int first;       /* starts at offset 0 of the input (Metaspace "first") */
} tok_piece_ref;

typedef struct tok_pieces {
    as_buf text;
    tok_piece_ref *v;
    size_t n, cap;
} tok_pieces;

void tok_pieces_init(tok_pieces *p);
void tok_pieces_reset(tok_pieces *p);
void tok_pieces_free(tok_pieces *p);
int tok_pieces_push(tok_pieces *p, size_t off, size_t len, int first);
/* Run the pre-tokenizer steps over 'in' into 'out' (both reset first). */
int tok_pretokenize(const eng_tokenizer *t, tok_pieces *in, tok_pieces *out);
/* End of the match of 'rx' that starts at s[i] (every position matches). */
size_t tok_regex_match(tok_regex rx, const unsigned char *s, size_t n, size_t i);
/* Apply the normalizer to s[0..len), appending to 'out'. */
int tok_normalize(const eng_tokenizer *t, const char *s, size_t len, as_buf *out);

/* tokenizer_bpe.c: append the ids of one pre-token to 'ids'. */
typedef struct tok_ids {
    int32_t *v;
    size_t n, cap;
} tok_ids;
int tok_ids_push(tok_ids *ids, int32_t id);
int tok_bpe(const eng_tokenizer *t, const char *s, size_t len, tok_ids *ids);

/* tokenizer_load.c: fill 't' (zeroed) from tokenizer.json, then from
 * tokenizer_config.json; eng_tok_free releases what was filled either way. */
int tok_load_json(eng_tokenizer *t, const char *json, size_t len);
int tok_load_config(eng_tokenizer *t, const char *json, size_t len);
/* A copy of s[0..len) (NUL-terminated) owned by 't'; NULL on no memory. */
char *tok_keep(eng_tokenizer *t, const char *s, size_t len);

#endif
