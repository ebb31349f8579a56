/* Decoding ids to text, token by token. Each token's string goes through the
 * decoder steps of tokenizer.json (HF decoders: ByteLevel maps characters
 * back to bytes, Replace, Metaspace, ByteFallback turns <0xNN> tokens into
 * bytes, Fuse concatenates, Strip after Fuse removes leading characters of
 * the whole text); the resulting bytes are emitted only as complete UTF-8
 * characters. Invalid bytes become U+FFFD, one per maximal invalid
 * subsequence, as Rust's String::from_utf8_lossy does.
 *
 * One difference with HF, on invalid input only: HF turns a whole run of
 * <0xNN> tokens into U+FFFD when the run is not valid UTF-8; here the valid
 * characters of the run are kept. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "evaluator/engine/tokenizer_int.h"
#include "evaluator/engine/unicode.h"

struct eng_tok_stream {
    const eng_tokenizer *t;
    int skip_special;
    size_t ntok;    /* tokens decoded so far (skipped ones not counted) */
    int strip_left; /* leading characters still to strip (Strip after Fuse) */
    const char *strip_char;
    size_t strip_len;
    int global_strip; /* a Strip step follows Fuse */
    as_buf pending;   /* bytes not yet emitted */
    as_buf tok, tmp;  /* the current token's string */
    as_buf out;       /* returned text */
};

static const char FFFD[] = "\xEF\xBF\xBD";

int eng_tok_stream_new(eng_tok_stream **out, const eng_tokenizer *t, int skip_special)
{
    eng_tok_stream *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return as_error_set(AS_ENOMEM, "tokenizer: out of memory");
    s->t = t;
    s->skip_special = skip_special;
    as_buf_init(&s->pending, 0);
    as_buf_init(&s->tok, 0);
    as_buf_init(&s->tmp, 0);
    as_buf_init(&s->out, 0);
    int fused = 0;
    for (size_t i = 0; i < t->n_dec; i++) {
        if (t->dec[i].kind == DEC_FUSE)
            fused = 1;
        if (t->dec[i].kind == DEC_STRIP && fused) {
            s->global_strip = 1;
            s->strip_left = t->dec[i].start;
            s->strip_char = t->dec[i].a;
            s->strip_len = t->dec[i].alen;
        }
    }
    *out = s;
    return 0;
}

void eng_tok_stream_free(eng_tok_stream *s)
{
    if (!s)
        return;
    as_buf_free(&s->pending);
    as_buf_free(&s->tok);
    as_buf_free(&s->tmp);
    as_buf_free(&s->out);
    free(s);
}

/* Replace every 'pat' of s->tok by 'rep'. */
static int tok_replace(eng_tok_stream *s, const char *pat, size_t plen, const char *rep,
                       size_t rlen)
{
    as_buf_reset(&s->tmp);
    const char *p = s->tok.data ? s->tok.data : "";
    size_t n = s->tok.len, i = 0, from = 0;
    int rc = 0;
    while (rc == 0 && i + plen <= n) {
        if (memcmp(p + i, pat, plen) == 0) {
            rc = as_buf_append(&s->tmp, p + from, i - from);
            if (rc == 0)
                rc = as_buf_append(&s->tmp, rep, rlen);
            i += plen;
            from = i;
        } else {
            i++;
        }
    }
    if (rc == 0)
        rc = as_buf_append(&s->tmp, p + from, n - from);
    as_buf tmp = s->tok;
    s->tok = s->tmp;
    s->tmp = tmp;
    return rc;
}

/* ByteLevel: each character back to its byte; a token with a character
 * outside the byte map is kept as it is (HF does the same). */
static int tok_bytelevel(eng_tok_stream *s)
{
    const unsigned char *p = (const unsigned char *)(s->tok.data ? s->tok.data : "");
    size_t n = s->tok.len;
    as_buf_reset(&s->tmp);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n;) {
        uint32_t cp;
        i += eng_uni_next(p + i, n - i, &cp);
        int b = tok_cp_to_byte(cp);
        if (b < 0)
            return 0;
        rc = as_buf_putc(&s->tmp, (char)b);
    }
    as_buf tmp = s->tok;
    s->tok = s->tmp;
    s->tmp = tmp;
    return rc;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Length of the valid UTF-8 prefix of a sequence at p[0..n): returns the
 * sequence length when complete and valid, 0 when valid so far but cut
 * short, or -k for an invalid sequence whose maximal invalid subpart is k
 * bytes. */
static int utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    int need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return -1;
    if (c < 0xE0) {
        need = 2;
    } else if (c < 0xF0) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    }
    for (int k = 1; k < need; k++) {
        if ((size_t)k >= n)
            return 0;
        unsigned b = p[k];
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
            return -k;
    }
    return need;
}

/* Move what is complete in 'pending' to 'out'; with 'final', an unfinished
 * character becomes U+FFFD. */
static int emit(eng_tok_stream *s, int final)
{
    const unsigned char *p = (const unsigned char *)(s->pending.data ? s->pending.data : "");
    size_t n = s->pending.len, i = 0;
    int rc = 0;
    while (rc == 0 && i < n) {
        int k = utf8_seq(p + i, n - i);
        if (k == 0) {
            if (!final)
                break;
            rc = as_buf_append(&s->out, FFFD, 3);
            i = n;
            break;
        }
        if (k < 0) {
            rc = as_buf_append(&s->out, FFFD, 3);
            i += (size_t)-k;
            continue;
        }
        if (s->strip_left > 0 && (size_t)k == s->strip_len &&
            memcmp(p + i, s->strip_char, s->strip_len) == 0) {
            s->strip_left--;
            i += (size_t)k;
            continue;
        }
        s->strip_left = 0; /* only leading characters are stripped */
        rc = as_buf_append(&s->out, p + i, (size_t)k);
        i += (size_t)k;
    }
    if (rc == 0 && i > 0) {
        memmove(s->pending.data, s->pending.data + i, n - i);
        s->pending.len = n - i;
        s->pending.data[s->pending.len] = 0;
    }
    return rc;
}

/* Run one token through the decoder steps into 'pending'. */
static int put_token(eng_tok_stream *s, int32_t id)
{
    const eng_tokenizer *t = s->t;
    int rc = 0, is_byte = 0;
    unsigned char byte = 0;
    as_buf_reset(&s->tok);
    if ((rc = as_buf_append(&s->tok, tok_piece(t, id), t->piece_len[id])) < 0)
        return rc;
    if (t->n_dec == 0 && s->ntok > 0)
        rc = as_buf_putc(&s->pending, ' '); /* no decoder: HF joins with spaces */
    for (size_t k = 0; rc == 0 && k < t->n_dec; k++) {
        const tok_dec *d = &t->dec[k];
        switch (d->kind) {
        case DEC_BYTELEVEL:
            rc = tok_bytelevel(s);
            break;
        case DEC_REPLACE:
            rc = tok_replace(s, d->a, d->alen, d->b, d->blen);
            break;
        case DEC_METASPACE:
            if (s->ntok == 0 && d->prepend != PREPEND_NEVER)
                rc = tok_replace(s, d->a, d->alen, "", 0);
            else
                rc = tok_replace(s, d->a, d->alen, " ", 1);
            break;
        case DEC_BYTEFALLBACK:
            if (s->tok.len == 6 && memcmp(s->tok.data, "<0x", 3) == 0 && s->tok.data[5] == '>' &&
                hexval(s->tok.data[3]) >= 0 && hexval(s->tok.data[4]) >= 0) {
                is_byte = 1;
                byte = (unsigned char)(hexval(s->tok.data[3]) * 16 + hexval(s->tok.data[4]));
                as_buf_reset(&s->tok);
                rc = as_buf_putc(&s->tok, (char)byte);
            }
            break;
        case DEC_FUSE:
            break;
        case DEC_STRIP: {
            /* after Fuse the text is one token: emit() strips its start */
            int fused = 0;
            for (size_t j = 0; j < k; j++)
                fused |= t->dec[j].kind == DEC_FUSE;
            for (int c = 0; !fused && c < d->start && s->tok.len >= d->alen &&
                            memcmp(s->tok.data, d->a, d->alen) == 0;
                 c++) {
                memmove(s->tok.data, s->tok.data + d->alen, s->tok.len - d->alen);
                s->tok.len -= d->alen;
            }
            break;
        }
        }
        if (is_byte)
            break; /* a byte token is final: later steps see bytes, not text */
    }
    if (rc == 0)
        rc = as_buf_append(&s->pending, s->tok.data ? s->tok.data : "", s->tok.len);
    s->ntok++;
    return rc;
}

int eng_tok_stream_put(eng_tok_stream *s, int32_t id, const char **text, size_t *len)
{
    int rc;
    as_buf_reset(&s->out);
    *text = "";
    *len = 0;
    if (id < 0 || id >= s->t->n_ids || s->t->piece_off[id] == UINT32_MAX)
        return as_error_set(AS_EINVAL, "token id %d is not in the vocabulary", id);
    if (s->skip_special && s->t->is_special[id])
        return 0;
    if ((rc = put_token(s, id)) < 0 || (rc = emit(s, 0)) < 0)
        return rc;
    *text = s->out.data ? s->out.data : "";
    *len = s->out.len;
    return 0;
}

int eng_tok_stream_finish(eng_tok_stream *s, const char **text, size_t *len)
{
    int rc;
    as_buf_reset(&s->out);
    *text = "";
    *len = 0;
    if ((rc = emit(s, 1)) < 0)
        return rc;
    *text = s->out.data ? s->out.data : "";
    *len = s->out.len;
    return 0;
}

int eng_tok_decode(const eng_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                   char **text, size_t *len)
{
    eng_tok_stream *s;
    as_buf all;
    const char *p;
    size_t plen;
    int rc;
    *text = NULL;
    if (len)
        *len = 0;
    if ((rc = eng_tok_stream_new(&s, t, skip_special)) < 0)
        return rc;
    as_buf_init(&all, 0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = eng_tok_stream_put(s, ids[i], &p, &plen);
        if (rc == 0)
            rc = as_buf_append(&all, p, plen);
    }
    if (rc == 0)
        rc = eng_tok_stream_finish(s, &p, &plen);
    if (rc == 0)
        rc = as_buf_append(&all, p, plen);
    eng_tok_stream_free(s);
    if (rc < 0) {
        as_buf_free(&all);
        return rc;
    }
    if (len)
        *len = all.len;
    *text = as_buf_detach(&all);
    return 0;
}
