/* The tokenizer's public entry points: loading, encoding and the lookups of
 * tokenizer.h. Encoding follows HF TokenizerImpl::encode: added tokens are
 * found first in the raw text (those with normalized=false) and, after the
 * normalizer, in each normalized segment (normalized=true); the remaining
 * segments go through the pre-tokenizer and the BPE model; the
 * post-processor adds BOS/EOS. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fs.h"
#include "common/utf8.h"
#include "evaluator/engine/tokenizer_int.h"
#include "evaluator/engine/unicode.h"

/* GPT-2 bytes_to_unicode: printable bytes map to themselves, the other 68
 * to U+0100 + k in byte order. */
static const uint16_t BYTE_CP[256] = {
    256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 274,
    275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 33,  34,  35,  36,  37,
    38,  39,  40,  41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51,  52,  53,  54,  55,  56,
    57,  58,  59,  60,  61,  62,  63,  64,  65,  66,  67,  68,  69,  70,  71,  72,  73,  74,  75,
    76,  77,  78,  79,  80,  81,  82,  83,  84,  85,  86,  87,  88,  89,  90,  91,  92,  93,  94,
    95,  96,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113,
    114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 289, 290, 291, 292, 293, 294,
    295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313,
    314, 315, 316, 317, 318, 319, 320, 321, 322, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170,
    171, 172, 323, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
    190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208,
    209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227,
    228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246,
    247, 248, 249, 250, 251, 252, 253, 254, 255,
};

/* The byte of each code point U+0100 + k. */
static const uint8_t CP_BYTE[68] = {
    0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,
    17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31,  32,  127,
    128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144,
    145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 173,
};

uint32_t tok_byte_to_cp(unsigned char b)
{
    return BYTE_CP[b];
}

int tok_cp_to_byte(uint32_t cp)
{
    if (cp < 256)
        return BYTE_CP[cp] == cp ? (int)cp : -1;
    return cp < 256 + 68 ? CP_BYTE[cp - 256] : -1;
}

void eng_tok_free(eng_tokenizer *t)
{
    if (!t)
        return;
    as_buf_free(&t->arena);
    free(t->piece_off);
    free(t->piece_len);
    free(t->is_special);
    free(t->bmp_id);
    tok_strmap_free(&t->vocab);
    tok_strmap_free(&t->all);
    tok_pairmap_free(&t->merges);
    free(t->added);
    tok_trie_free(&t->raw_trie);
    tok_trie_free(&t->norm_trie);
    free(t->norm_content);
    free(t->norm_len);
    free(t->chat_template);
    for (size_t i = 0; i < t->n_owned; i++)
        free(t->owned[i]);
    free(t->owned);
    free(t);
}

int eng_tok_load_mem(eng_tokenizer **out, const char *json, size_t len, const char *cfg,
                     size_t cfg_len)
{
    *out = NULL;
    if (len > ENG_TOK_FILE_MAX)
        return as_error_set(AS_ETOOBIG, "tokenizer.json: over %zu bytes", ENG_TOK_FILE_MAX);
    if (cfg && cfg_len > ENG_TOK_CONFIG_MAX)
        return as_error_set(AS_ETOOBIG, "tokenizer_config.json: over %zu bytes",
                            ENG_TOK_CONFIG_MAX);
    eng_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    int rc = tok_load_json(t, json, len);
    if (rc == 0 && cfg)
        rc = tok_load_config(t, cfg, cfg_len);
    if (rc < 0) {
        eng_tok_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int eng_tok_load(eng_tokenizer **out, const char *tokenizer_json, const char *config_json)
{
    char *json = NULL, *cfg = NULL;
    size_t len = 0, cfg_len = 0;
    int rc;
    *out = NULL;
    if ((rc = as_file_read(&json, &len, tokenizer_json, ENG_TOK_FILE_MAX)) < 0)
        return rc;
    if (config_json && as_path_exists(config_json) &&
        (rc = as_file_read(&cfg, &cfg_len, config_json, ENG_TOK_CONFIG_MAX)) < 0) {
        free(json);
        return rc;
    }
    rc = eng_tok_load_mem(out, json, len, cfg, cfg_len);
    if (rc < 0)
        as_error_wrap(rc, "%s", tokenizer_json);
    free(json);
    free(cfg);
    return rc;
}

int eng_tok_load_dir(eng_tokenizer **out, const char *dir)
{
    char *tj = as_path_join(dir, "tokenizer.json");
    char *tc = as_path_join(dir, "tokenizer_config.json");
    int rc = (tj && tc) ? eng_tok_load(out, tj, tc)
                        : as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    free(tj);
    free(tc);
    return rc;
}

/* ---- encoding ---- */

typedef struct enc {
    const eng_tokenizer *t;
    int flags;
    tok_ids ids;
    tok_pieces a, b; /* pre-tokenizer work lists */
    as_buf norm;     /* a normalized segment */
} enc;

static int is_word_char(uint32_t cp)
{
    return cp == '_' || (eng_uni_flags(cp) & (ENG_UNI_LETTER | ENG_UNI_NUMBER));
}

/* The code point that ends s[0..i) (i > 0). */
static uint32_t cp_before(const unsigned char *s, size_t i)
{
    size_t k = i - 1;
    while (k > 0 && (s[k] & 0xC0) == 0x80)
        k--;
    uint32_t cp;
    eng_uni_next(s + k, i - k, &cp);
    return cp;
}

/* Find the next added token of 'trie' in s[from..n) that is not skipped:
 * its index in t->added, and its span after lstrip/rstrip in *m0, *m1
 * (m0 never below 'floor', the end of the previous match). -1 if none. */
static int32_t next_added(const enc *e, const tok_trie *trie, const unsigned char *s, size_t n,
                          size_t from, size_t floor, size_t *m0, size_t *m1)
{
    const eng_tokenizer *t = e->t;
    for (size_t i = from; i < n; i++) {
        if (trie->count == 0)
            return -1;
        if (trie->root_next[s[i]] < 0)
            continue;
        size_t mlen = 0;
        int32_t k = tok_trie_longest(trie, s + i, n - i, &mlen);
        if (k < 0)
            continue;
        const tok_added *a = &t->added[k];
        size_t start = i, stop = i + mlen;
        if ((e->flags & ENG_TOK_SPLIT_SPECIAL) && a->special) {
            i = stop - 1; /* HF skips the whole match */
            continue;
        }
        if (a->single_word) {
            uint32_t nx;
            int before = start > 0 && is_word_char(cp_before(s, start));
            int after = stop < n && (eng_uni_next(s + stop, n - stop, &nx), is_word_char(nx));
            if (before || after) {
                i = stop - 1;
                continue;
            }
        }
        if (a->lstrip) {
            while (start > floor) {
                uint32_t cp = cp_before(s, start);
                if (!(eng_uni_flags(cp) & ENG_UNI_SPACE))
                    break;
                char u[4];
                start -= as_utf8_encode(cp, u);
            }
        }
        if (a->rstrip) {
            while (stop < n) {
                uint32_t cp;
                size_t cl = eng_uni_next(s + stop, n - stop, &cp);
                if (!(eng_uni_flags(cp) & ENG_UNI_SPACE))
                    break;
                stop += cl;
            }
        }
        *m0 = start;
        *m1 = stop;
        return k;
    }
    return -1;
}

/* Pre-tokenize and BPE one piece of normalized text. */
static int encode_plain(enc *e, const char *s, size_t len, int first)
{
    int rc;
    if (len == 0)
        return 0;
    tok_pieces_reset(&e->a);
    if ((rc = as_buf_append(&e->a.text, s, len)) < 0 ||
        (rc = tok_pieces_push(&e->a, 0, len, first)) < 0 ||
        (rc = tok_pretokenize(e->t, &e->a, &e->b)) < 0)
        return rc;
    for (size_t k = 0; k < e->b.n; k++) {
        const tok_piece_ref *r = &e->b.v[k];
        if ((rc = tok_bpe(e->t, e->b.text.data + r->off, r->len, &e->ids)) < 0)
            return rc;
    }
    return 0;
}

/* A segment of the raw text between added tokens: normalize it, split it
 * on the normalized added tokens, encode the rest. */
static int encode_segment(enc *e, const char *s, size_t len, int first)
{
    int rc;
    if (len == 0)
        return 0;
    as_buf_reset(&e->norm);
    if ((rc = tok_normalize(e->t, s, len, &e->norm)) < 0)
        return rc;
    /* the normalized text must outlive the pieces built from it: copy */
    size_t n = e->norm.len;
    char *ns = malloc(n + 1);
    if (!ns)
        return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    memcpy(ns, e->norm.data ? e->norm.data : "", n);
    const unsigned char *u = (const unsigned char *)ns;
    size_t pos = 0, m0, m1;
    int32_t k;
    while (rc == 0 && (k = next_added(e, &e->t->norm_trie, u, n, pos, pos, &m0, &m1)) >= 0) {
        rc = encode_plain(e, ns + pos, m0 - pos, first && pos == 0);
        if (rc == 0)
            rc = tok_ids_push(&e->ids, e->t->added[k].id);
        pos = m1;
    }
    if (rc == 0)
        rc = encode_plain(e, ns + pos, n - pos, first && pos == 0);
    free(ns);
    return rc;
}

int eng_tok_encode(const eng_tokenizer *t, const char *text, size_t len, int flags, int32_t **ids,
                   size_t *n)
{
    size_t bad;
    int rc = 0;
    *ids = NULL;
    *n = 0;
    if (len > ENG_TOK_TEXT_MAX)
        return as_error_set(AS_ETOOBIG, "text to tokenize: over %zu bytes", ENG_TOK_TEXT_MAX);
    if (len > 0 && !as_utf8_valid(text, len, &bad))
        return as_error_set(AS_EINVAL, "text to tokenize: invalid UTF-8 at byte %zu", bad);
    enc e;
    memset(&e, 0, sizeof e);
    e.t = t;
    e.flags = flags;
    tok_pieces_init(&e.a);
    tok_pieces_init(&e.b);
    as_buf_init(&e.norm, ENG_TOK_TEXT_MAX * 4);
    if (flags & ENG_TOK_ADD_SPECIAL) {
        for (size_t i = 0; rc == 0 && i < t->n_post_prefix; i++)
            rc = tok_ids_push(&e.ids, t->post_prefix[i]);
    }
    const unsigned char *s = (const unsigned char *)text;
    size_t pos = 0, m0, m1;
    int32_t k;
    while (rc == 0 && (k = next_added(&e, &t->raw_trie, s, len, pos, pos, &m0, &m1)) >= 0) {
        rc = encode_segment(&e, text + pos, m0 - pos, pos == 0);
        if (rc == 0)
            rc = tok_ids_push(&e.ids, t->added[k].id);
        pos = m1;
    }
    if (rc == 0)
        rc = encode_segment(&e, text + pos, len - pos, pos == 0);
    if (flags & ENG_TOK_ADD_SPECIAL) {
        for (size_t i = 0; rc == 0 && i < t->n_post_suffix; i++)
            rc = tok_ids_push(&e.ids, t->post_suffix[i]);
    }
    tok_pieces_free(&e.a);
    tok_pieces_free(&e.b);
    as_buf_free(&e.norm);
    if (rc < 0) {
        free(e.ids.v);
        return rc;
    }
    if (!e.ids.v && !(e.ids.v = malloc(sizeof(int32_t))))
        return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    *ids = e.ids.v;
    *n = e.ids.n;
    return 0;
}

/* ---- lookups ---- */

int32_t eng_tok_vocab_size(const eng_tokenizer *t)
{
    return t->n_ids;
}

const char *eng_tok_id_to_piece(const eng_tokenizer *t, int32_t id)
{
    if (id < 0 || id >= t->n_ids || t->piece_off[id] == UINT32_MAX)
        return NULL;
    return tok_piece(t, id);
}

int32_t eng_tok_piece_to_id(const eng_tokenizer *t, const char *piece)
{
    return tok_strmap_get(&t->all, t->arena.data, piece, strlen(piece));
}

int eng_tok_is_special(const eng_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_ids && t->is_special[id];
}

int32_t eng_tok_bos(const eng_tokenizer *t)
{
    return t->bos;
}
int32_t eng_tok_eos(const eng_tokenizer *t)
{
    return t->eos;
}
int32_t eng_tok_pad(const eng_tokenizer *t)
{
    return t->pad;
}
int32_t eng_tok_unk(const eng_tokenizer *t)
{
    return t->unk_id;
}

const char *eng_tok_chat_template(const eng_tokenizer *t)
{
    return t->chat_template;
}

size_t eng_tok_eos_ids(const eng_tokenizer *t, int32_t *ids, size_t max)
{
    /* end-of-turn and end-of-text tokens of the supported families */
    static const char *const names[] = {"<|eot_id|>", "<|eom_id|>",    "<|end_of_text|>",
                                        "<|im_end|>", "<|endoftext|>", "<end_of_turn>",
                                        "<eos>",      "</s>"};
    int32_t found[1 + sizeof names / sizeof names[0]];
    size_t n = 0;
    if (t->eos >= 0)
        found[n++] = t->eos;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int32_t id = eng_tok_piece_to_id(t, names[i]);
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= found[k] == id;
        if (id >= 0 && t->is_special[id] && !dup)
            found[n++] = id;
    }
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        ids[i] = found[i];
    return n;
}
