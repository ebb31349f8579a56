/* Normalizers and pre-tokenizers: the stages between the added-token split
 * and the BPE model. The three pre-tokenizer regexes of the supported
 * families are hand-written scanners that return exactly what the regex
 * (Oniguruma, leftmost alternative first, greedy with backtracking) matches:
 *
 *  GPT-2   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *  Llama 3 (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *          ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *  Qwen2   the Llama 3 regex with \p{N} (one digit at a time)
 *
 * Every position of any text matches one alternative, so a Split with
 * behaviour Isolated is a plain sequence of matches. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "evaluator/engine/tokenizer_int.h"
#include "evaluator/engine/unicode.h"

typedef struct cpi {
    uint32_t cp;
    unsigned f; /* ENG_UNI_* flags */
    size_t len; /* bytes */
} cpi;

static inline cpi at(const unsigned char *s, size_t n, size_t i)
{
    cpi c;
    if (s[i] < 0x80) {
        c.cp = s[i];
        c.len = 1;
    } else {
        c.len = eng_uni_next(s + i, n - i, &c.cp);
    }
    c.f = eng_uni_flags(c.cp);
    return c;
}

#define IS_L(c) ((c).f & ENG_UNI_LETTER)
#define IS_N(c) ((c).f & ENG_UNI_NUMBER)
#define IS_S(c) ((c).f & ENG_UNI_SPACE)
#define IS_OTHER(c) (!((c).f & (ENG_UNI_LETTER | ENG_UNI_NUMBER | ENG_UNI_SPACE)))
#define IS_NL(c) ((c).cp == '\r' || (c).cp == '\n')

/* End of the run of code points with any of 'flags' starting at i. */
static size_t run_of(const unsigned char *s, size_t n, size_t i, unsigned flags)
{
    while (i < n) {
        cpi c = at(s, n, i);
        if (!(c.f & flags))
            break;
        i += c.len;
    }
    return i;
}

static size_t run_other(const unsigned char *s, size_t n, size_t i)
{
    while (i < n) {
        cpi c = at(s, n, i);
        if (!IS_OTHER(c))
            break;
        i += c.len;
    }
    return i;
}

static int lower_is(uint32_t cp, char want, int icase)
{
    if (cp == (uint32_t)want)
        return 1;
    if (!icase)
        return 0;
    if (cp == (uint32_t)(want - 'a' + 'A'))
        return 1;
    return want == 's' && cp == 0x17F; /* LATIN SMALL LETTER LONG S folds to s */
}

/* 's 't 're 've 'm 'll 'd at i (s[i] is the apostrophe): the match end or 0. */
static size_t contraction(const unsigned char *s, size_t n, size_t i, int icase)
{
    size_t j = i + 1;
    if (j >= n)
        return 0;
    cpi a = at(s, n, j);
    if (lower_is(a.cp, 's', icase) || lower_is(a.cp, 't', icase) || lower_is(a.cp, 'm', icase) ||
        lower_is(a.cp, 'd', icase))
        return j + a.len;
    size_t k = j + a.len;
    if (k >= n)
        return 0;
    cpi b = at(s, n, k);
    if ((lower_is(a.cp, 'r', icase) && lower_is(b.cp, 'e', icase)) ||
        (lower_is(a.cp, 'v', icase) && lower_is(b.cp, 'e', icase)) ||
        (lower_is(a.cp, 'l', icase) && lower_is(b.cp, 'l', icase)))
        return k + b.len;
    return 0;
}

/* The whitespace alternatives shared by all three regexes, at a whitespace
 * code point: \s*[\r\n]+ (when 'newline_alt'), then \s+(?!\S), then \s+. */
static size_t whitespace(const unsigned char *s, size_t n, size_t i, int newline_alt)
{
    size_t j = i, last_nl = SIZE_MAX, last_start = i;
    while (j < n) {
        cpi c = at(s, n, j);
        if (!IS_S(c))
            break;
        if (IS_NL(c))
            last_nl = j;
        last_start = j;
        j += c.len;
    }
    if (newline_alt && last_nl != SIZE_MAX)
        return last_nl + 1;
    if (j == n || last_start == i)
        return j;
    return last_start; /* leave the last space for the next token */
}

static size_t match_gpt2(const unsigned char *s, size_t n, size_t i)
{
    cpi c = at(s, n, i);
    size_t e;
    if (c.cp == '\'' && (e = contraction(s, n, i, 0)) != 0)
        return e;
    size_t k = i;
    cpi d = c;
    if (c.cp == ' ' && i + 1 < n) {
        k = i + 1;
        d = at(s, n, k);
    }
    if (IS_L(d))
        return run_of(s, n, k, ENG_UNI_LETTER);
    if (IS_N(d))
        return run_of(s, n, k, ENG_UNI_NUMBER);
    if (IS_OTHER(d))
        return run_other(s, n, k);
    return whitespace(s, n, i, 0);
}

static size_t match_llama3(const unsigned char *s, size_t n, size_t i, int max_digits)
{
    cpi c = at(s, n, i);
    size_t e;
    if (c.cp == '\'' && (e = contraction(s, n, i, 1)) != 0)
        return e;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (IS_L(c))
        return run_of(s, n, i, ENG_UNI_LETTER);
    if (!IS_NL(c) && !IS_N(c) && i + c.len < n) {
        cpi d = at(s, n, i + c.len);
        if (IS_L(d))
            return run_of(s, n, i + c.len, ENG_UNI_LETTER);
    }
    /* \p{N}{1,max} */
    if (IS_N(c)) {
        size_t j = i;
        for (int k = 0; k < max_digits && j < n; k++) {
            cpi d = at(s, n, j);
            if (!IS_N(d))
                break;
            j += d.len;
        }
        return j;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    size_t k = i;
    cpi d = c;
    if (c.cp == ' ' && i + 1 < n) {
        k = i + 1;
        d = at(s, n, k);
    }
    if (IS_OTHER(d)) {
        size_t j = run_other(s, n, k);
        while (j < n && (s[j] == '\r' || s[j] == '\n'))
            j++;
        return j;
    }
    return whitespace(s, n, i, 1);
}

size_t tok_regex_match(tok_regex rx, const unsigned char *s, size_t n, size_t i)
{
    switch (rx) {
    case RX_GPT2:
        return match_gpt2(s, n, i);
    case RX_LLAMA3:
        return match_llama3(s, n, i, 3);
    case RX_QWEN2:
        return match_llama3(s, n, i, 1);
    }
    return n;
}

/* ---- normalizer ---- */

static int replace_all(as_buf *out, const char *s, size_t len, const char *pat, size_t plen,
                       const char *rep, size_t rlen)
{
    size_t i = 0, from = 0;
    int rc = 0;
    if (plen == 0)
        return as_buf_append(out, s, len);
    while (rc == 0 && i + plen <= len) {
        if (s[i] == pat[0] && memcmp(s + i, pat, plen) == 0) {
            rc = as_buf_append(out, s + from, i - from);
            if (rc == 0)
                rc = as_buf_append(out, rep, rlen);
            i += plen;
            from = i;
        } else {
            i++;
        }
    }
    if (rc == 0)
        rc = as_buf_append(out, s + from, len - from);
    return rc;
}

int tok_normalize(const eng_tokenizer *t, const char *s, size_t len, as_buf *out)
{
    as_buf a, b;
    int rc = 0;
    if (t->n_norm == 0)
        return as_buf_append(out, s, len);
    as_buf_init(&a, out->max);
    as_buf_init(&b, out->max);
    const char *cur = s;
    size_t curlen = len;
    for (size_t k = 0; rc == 0 && k < t->n_norm; k++) {
        const tok_norm *nm = &t->norm[k];
        as_buf *dst = (k % 2 == 0) ? &a : &b;
        as_buf_reset(dst);
        switch (nm->kind) {
        case NORM_NFC:
            rc = eng_uni_nfc(dst, cur, curlen);
            break;
        case NORM_PREPEND:
            if (curlen > 0)
                rc = as_buf_append(dst, nm->a, nm->alen);
            if (rc == 0)
                rc = as_buf_append(dst, cur, curlen);
            break;
        case NORM_REPLACE:
            rc = replace_all(dst, cur, curlen, nm->a, nm->alen, nm->b, nm->blen);
            break;
        }
        cur = dst->data ? dst->data : "";
        curlen = dst->len;
    }
    if (rc == 0)
        rc = as_buf_append(out, cur, curlen);
    as_buf_free(&a);
    as_buf_free(&b);
    return rc;
}

/* ---- the list of pieces ---- */

void tok_pieces_init(tok_pieces *p)
{
    memset(p, 0, sizeof *p);
    as_buf_init(&p->text, ENG_TOK_TEXT_MAX * 4);
}

void tok_pieces_reset(tok_pieces *p)
{
    as_buf_reset(&p->text);
    p->n = 0;
}

void tok_pieces_free(tok_pieces *p)
{
    as_buf_free(&p->text);
    free(p->v);
    memset(p, 0, sizeof *p);
}

int tok_pieces_push(tok_pieces *p, size_t off, size_t len, int first)
{
    if (len == 0)
        return 0; /* HF drops empty splits */
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        tok_piece_ref *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n].off = off;
    p->v[p->n].len = len;
    p->v[p->n].first = first;
    p->n++;
    return 0;
}

/* Copy the text of 'in' into 'out' once; steps that only split then refer to
 * ranges of it. */
static int copy_text(tok_pieces *out, const tok_pieces *in)
{
    tok_pieces_reset(out);
    return as_buf_append(&out->text, in->text.data ? in->text.data : "", in->text.len);
}

static int split_regex(const tok_pre *st, const tok_pieces *in, tok_pieces *out)
{
    int rc = copy_text(out, in);
    const unsigned char *s = (const unsigned char *)out->text.data;
    for (size_t k = 0; rc == 0 && k < in->n; k++) {
        const tok_piece_ref *r = &in->v[k];
        size_t i = 0;
        while (rc == 0 && i < r->len) {
            size_t e = tok_regex_match(st->regex, s + r->off, r->len, i);
            rc = tok_pieces_push(out, r->off + i, e - i, r->first && i == 0);
            i = e;
        }
    }
    return rc;
}

/* Split one piece on every occurrence of 'pat' with behaviour 'bh'. */
static int split_string_piece(tok_pieces *out, const tok_piece_ref *r, const char *pat, size_t plen,
                              tok_split_behavior bh)
{
    const char *s = out->text.data + r->off;
    size_t i = 0, from = 0, pending_off = SIZE_MAX; /* MergedWithNext */
    int rc = 0;
    while (rc == 0 && i + plen <= r->len) {
        if (memcmp(s + i, pat, plen) != 0) {
            i++;
            continue;
        }
        size_t m0 = i, m1 = i + plen;
        switch (bh) {
        case SPL_REMOVED:
            rc = tok_pieces_push(out, r->off + from, m0 - from, r->first && from == 0);
            from = m1;
            break;
        case SPL_ISOLATED:
            rc = tok_pieces_push(out, r->off + from, m0 - from, r->first && from == 0);
            if (rc == 0)
                rc = tok_pieces_push(out, r->off + m0, plen, r->first && m0 == 0);
            from = m1;
            break;
        case SPL_CONTIGUOUS: {
            size_t e = m1;
            while (e + plen <= r->len && memcmp(s + e, pat, plen) == 0)
                e += plen;
            rc = tok_pieces_push(out, r->off + from, m0 - from, r->first && from == 0);
            if (rc == 0)
                rc = tok_pieces_push(out, r->off + m0, e - m0, r->first && m0 == 0);
            from = m1 = e;
            break;
        }
        case SPL_MERGED_PREV:
            rc = tok_pieces_push(out, r->off + from, m1 - from, r->first && from == 0);
            from = m1;
            break;
        case SPL_MERGED_NEXT:
            if (pending_off == SIZE_MAX)
                pending_off = from;
            rc = tok_pieces_push(out, r->off + pending_off, m0 - pending_off,
                                 r->first && pending_off == 0);
            pending_off = m0;
            from = m1;
            break;
        }
        i = m1;
    }
    if (rc == 0) {
        size_t start = (bh == SPL_MERGED_NEXT && pending_off != SIZE_MAX) ? pending_off : from;
        rc = tok_pieces_push(out, r->off + start, r->len - start, r->first && start == 0);
    }
    return rc;
}

static int split_string(const tok_pre *st, const tok_pieces *in, tok_pieces *out)
{
    int rc = copy_text(out, in);
    for (size_t k = 0; rc == 0 && k < in->n; k++)
        rc = split_string_piece(out, &in->v[k], st->str, st->slen, st->behavior);
    return rc;
}

/* ByteLevel: optional prefix space, optional GPT-2 split. The byte map
 * itself is applied by the model (t->byte_level), as the last step. */
static int bytelevel(const tok_pre *st, const tok_pieces *in, tok_pieces *out)
{
    tok_pieces_reset(out);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < in->n; k++) {
        const tok_piece_ref *r = &in->v[k];
        const char *s = in->text.data + r->off;
        size_t off = out->text.len, len = r->len;
        if (st->add_prefix_space && s[0] != ' ') {
            rc = as_buf_putc(&out->text, ' ');
            len++;
        }
        if (rc == 0)
            rc = as_buf_append(&out->text, s, r->len);
        if (rc != 0)
            break;
        if (!st->use_regex) {
            rc = tok_pieces_push(out, off, len, r->first);
            continue;
        }
        const unsigned char *u = (const unsigned char *)out->text.data + off;
        for (size_t i = 0; rc == 0 && i < len;) {
            size_t e = tok_regex_match(RX_GPT2, u, len, i);
            rc = tok_pieces_push(out, off + i, e - i, r->first && i == 0);
            i = e;
        }
    }
    return rc;
}

/* Metaspace: spaces become the replacement, the dummy prefix is added per
 * the prepend scheme, and with split each replacement starts a piece. */
static int metaspace(const tok_pre *st, const tok_pieces *in, tok_pieces *out)
{
    tok_pieces_reset(out);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < in->n; k++) {
        const tok_piece_ref *r = &in->v[k];
        const char *s = in->text.data + r->off;
        size_t off = out->text.len;
        int starts = r->len >= st->slen && memcmp(s, st->str, st->slen) == 0;
        if (!starts && r->len > 0 && s[0] == ' ')
            starts = 1; /* the space becomes the replacement */
        if (!starts &&
            (st->prepend == PREPEND_ALWAYS || (st->prepend == PREPEND_FIRST && r->first)))
            rc = as_buf_append(&out->text, st->str, st->slen);
        if (rc == 0)
            rc = replace_all(&out->text, s, r->len, " ", 1, st->str, st->slen);
        if (rc != 0)
            break;
        tok_piece_ref whole = {off, out->text.len - off, r->first};
        if (st->split)
            rc = split_string_piece(out, &whole, st->str, st->slen, SPL_MERGED_NEXT);
        else
            rc = tok_pieces_push(out, whole.off, whole.len, whole.first);
    }
    return rc;
}

int tok_pretokenize(const eng_tokenizer *t, tok_pieces *in, tok_pieces *out)
{
    int rc = 0;
    if (t->n_pre == 0) {
        rc = copy_text(out, in);
        for (size_t k = 0; rc == 0 && k < in->n; k++)
            rc = tok_pieces_push(out, in->v[k].off, in->v[k].len, in->v[k].first);
        return rc;
    }
    tok_pieces *src = in, *dst = out;
    for (size_t k = 0; rc == 0 && k < t->n_pre; k++) {
        const tok_pre *st = &t->pre[k];
        switch (st->kind) {
        case PRE_SPLIT_REGEX:
            rc = split_regex(st, src, dst);
            break;
        case PRE_SPLIT_STRING:
            rc = split_string(st, src, dst);
            break;
        case PRE_BYTELEVEL:
            rc = bytelevel(st, src, dst);
            break;
        case PRE_METASPACE:
            rc = metaspace(st, src, dst);
            break;
        }
        tok_pieces *tmp = src;
        src = dst;
        dst = tmp;
    }
    if (rc == 0 && src != out) {
        /* the result ended in 'in': move it to 'out' */
        tok_pieces tmp = *out;
        *out = *in;
        *in = tmp;
    }
    return rc;
}
