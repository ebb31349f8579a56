/* sacrebleu 2.6.0 BLEU; see bleu.h.
 *
 * Segments are preprocessed (lower(), rstrip()) and tokenized as sacrebleu
 * does, split on Python's whitespace, interned to ids, and their 1- to
 * 4-grams counted in one hash table keyed by the id tuple. */
#include "metrics/bleu.h"
#include "metrics/text.h"
#include "metrics/vocab.h"
#include "common/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct gram_slot {
    uint64_t hash;
    uint32_t ids[4];
    uint32_t n;             /* order */
    uint32_t gen;           /* the slot is empty unless gen is current */
    uint32_t ref_index;     /* the reference being counted */
    int64_t ref_cur, ref_max, hyp;
} gram_slot;

typedef struct cbuf {
    char *p;
    size_t len, cap;
} cbuf;

struct met_bleu {
    met_bleu_opts o;
    met_vocab v;
    cbuf a, b;              /* text being transformed */
    uint32_t *cps;          /* code points (intl) */
    size_t cps_cap;
    uint32_t *ids;          /* token ids of one segment */
    size_t ids_cap, nids;
    uint32_t *seg;          /* the hypothesis' ids, then each reference's */
    size_t seg_cap;
    size_t *ref_off;        /* reference k: seg[ref_off[k] .. ref_off[k + 1]) */
    size_t ref_off_cap;
    gram_slot *g;
    size_t gcap;
    uint32_t gen;
};

int met_bleu_tok_parse(const char *s, met_bleu_tok *out)
{
    if (strcmp(s, "13a") == 0)
        *out = MET_BLEU_13A;
    else if (strcmp(s, "none") == 0)
        *out = MET_BLEU_NONE;
    else if (strcmp(s, "intl") == 0)
        *out = MET_BLEU_INTL;
    else if (strcmp(s, "char") == 0)
        *out = MET_BLEU_CHAR;
    else
        return as_error_set(AS_EINVAL, "unknown BLEU tokenizer '%s' (13a, none, intl, char)", s);
    return 0;
}

int met_bleu_smooth_parse(const char *s, met_bleu_smooth *out)
{
    if (strcmp(s, "exp") == 0)
        *out = MET_SMOOTH_EXP;
    else if (strcmp(s, "floor") == 0)
        *out = MET_SMOOTH_FLOOR;
    else if (strcmp(s, "add-k") == 0)
        *out = MET_SMOOTH_ADDK;
    else if (strcmp(s, "none") == 0)
        *out = MET_SMOOTH_NONE;
    else
        return as_error_set(AS_EINVAL, "unknown BLEU smoothing '%s' (exp, floor, add-k, none)", s);
    return 0;
}

int met_bleu_new(met_bleu **out, const met_bleu_opts *opts)
{
    met_bleu *b = calloc(1, sizeof(*b));

    *out = NULL;
    if (b == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (opts)
        b->o = *opts;
    else
        b->o.smooth_value = -1;
    *out = b;
    return 0;
}

void met_bleu_free(met_bleu *b)
{
    if (b == NULL)
        return;
    met_vocab_free(&b->v);
    free(b->a.p);
    free(b->b.p);
    free(b->cps);
    free(b->ids);
    free(b->seg);
    free(b->ref_off);
    free(b->g);
    free(b);
}

static int cb_reserve(cbuf *c, size_t n)
{
    return met_reserve(&c->p, &c->cap, n + 1, 1);
}

static int cb_put(cbuf *c, const char *s, size_t n)
{
    if (cb_reserve(c, c->len + n) < 0)
        return AS_ENOMEM;
    memcpy(c->p + c->len, s, n);
    c->len += n;
    c->p[c->len] = '\0';
    return 0;
}

static void swap_bufs(met_bleu *b)
{
    cbuf t = b->a;

    b->a = b->b;
    b->b = t;
}

/* Replace every occurrence of 'from' in a by 'to' (str.replace). */
static int replace_all(met_bleu *b, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), i = 0;

    if (b->a.len < fl || memmem(b->a.p, b->a.len, from, fl) == NULL)
        return 0;
    b->b.len = 0;
    while (i < b->a.len) {
        if (b->a.len - i >= fl && memcmp(b->a.p + i, from, fl) == 0) {
            if (cb_put(&b->b, to, tl) < 0)
                return AS_ENOMEM;
            i += fl;
        } else {
            if (cb_put(&b->b, b->a.p + i, 1) < 0)
                return AS_ENOMEM;
            i++;
        }
    }
    swap_bufs(b);
    return 0;
}

static int is_13a_symbol(unsigned char c)
{
    /* [\{-\~\[-\` -\&\(-\+\:-\@\/]: ASCII symbols except ' , - . */
    return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
           (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* One of 13a's four regex substitutions over the bytes of a (the patterns
 * are ASCII, so bytes and code points give the same result). */
static int sub13a(met_bleu *b, int which)
{
    size_t i = 0, n = b->a.len;
    const unsigned char *s = (const unsigned char *)b->a.p;

    b->b.len = 0;
    if (cb_reserve(&b->b, n * 3 + 4) < 0)
        return AS_ENOMEM;
    while (i < n) {
        char *o = b->b.p + b->b.len;
        if (which == 1 && is_13a_symbol(s[i])) {
            o[0] = ' ';
            o[1] = (char)s[i];
            o[2] = ' ';
            b->b.len += 3;
            i++;
            continue;
        }
        if (i + 1 < n) {
            unsigned char x = s[i], y = s[i + 1];
            int m = (which == 2 && !is_digit(x) && (y == '.' || y == ',')) ||
                    (which == 3 && (x == '.' || x == ',') && !is_digit(y)) ||
                    (which == 4 && is_digit(x) && y == '-');
            if (m) {
                if (which == 3) {       /* " \1 \2" */
                    o[0] = ' ';
                    o[1] = (char)x;
                    o[2] = ' ';
                    o[3] = (char)y;
                } else {                /* "\1 \2 " */
                    o[0] = (char)x;
                    o[1] = ' ';
                    o[2] = (char)y;
                    o[3] = ' ';
                }
                b->b.len += 4;
                i += 2;
                continue;
            }
        }
        o[0] = (char)s[i++];
        b->b.len++;
    }
    b->b.p[b->b.len] = '\0';
    swap_bufs(b);
    return 0;
}

static int tok_13a(met_bleu *b)
{
    int k;

    if (replace_all(b, "<skipped>", "") < 0 || replace_all(b, "-\n", "") < 0 ||
        replace_all(b, "\n", " ") < 0)
        return AS_ENOMEM;
    if (memchr(b->a.p, '&', b->a.len)) {
        if (replace_all(b, "&quot;", "\"") < 0 || replace_all(b, "&amp;", "&") < 0 ||
            replace_all(b, "&lt;", "<") < 0 || replace_all(b, "&gt;", ">") < 0)
            return AS_ENOMEM;
    }
    /* f" {line} " */
    b->b.len = 0;
    if (cb_put(&b->b, " ", 1) < 0 || cb_put(&b->b, b->a.p, b->a.len) < 0 ||
        cb_put(&b->b, " ", 1) < 0)
        return AS_ENOMEM;
    swap_bufs(b);
    for (k = 1; k <= 4; k++)
        if (sub13a(b, k) < 0)
            return AS_ENOMEM;
    return 0;
}

/* Code points of a; an invalid byte becomes 0x110000 + byte, which has no
 * category and is written back as the byte. */
static int decode(met_bleu *b, size_t *n)
{
    size_t i = 0, k = 0;

    if (met_reserve(&b->cps, &b->cps_cap, b->a.len + 1, sizeof(uint32_t)) < 0)
        return AS_ENOMEM;
    while (i < b->a.len) {
        size_t at = i;
        int bad;
        uint32_t cp = met_utf8_next(b->a.p, b->a.len, &i, &bad);
        b->cps[k++] = bad ? 0x110000u + (unsigned char)b->a.p[at] : cp;
    }
    *n = k;
    return 0;
}

static int put_cp(cbuf *c, uint32_t cp)
{
    char enc[4];
    size_t n;

    if (cp >= 0x110000) {
        enc[0] = (char)(cp - 0x110000);
        n = 1;
    } else if (cp < 0x80) {
        enc[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        enc[0] = (char)(0xC0 | (cp >> 6));
        enc[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        enc[0] = (char)(0xE0 | (cp >> 12));
        enc[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        enc[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        enc[0] = (char)(0xF0 | (cp >> 18));
        enc[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        enc[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        enc[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return cb_put(c, enc, n);
}

static int cat_p(uint32_t c)
{
    return c < 0x110000 && met_is_punct(c);
}

static int cat_n(uint32_t c)
{
    return c < 0x110000 && met_is_number(c);
}

/* intl: (\P{N})(\p{P}) -> "\1 \2 ", (\p{P})(\P{N}) -> " \1 \2",
 * (\p{S}) -> " \1 ", each over the whole line in turn. */
static int tok_intl(met_bleu *b)
{
    int pass;

    for (pass = 0; pass < 3; pass++) {
        size_t n, i = 0;
        if (decode(b, &n) < 0)
            return AS_ENOMEM;
        b->b.len = 0;
        if (cb_reserve(&b->b, b->a.len * 2 + 4) < 0)
            return AS_ENOMEM;
        while (i < n) {
            uint32_t x = b->cps[i];
            int rc = 0;
            if (pass == 2) {
                if (x < 0x110000 && met_is_symbol(x))
                    rc = cb_put(&b->b, " ", 1) < 0 || put_cp(&b->b, x) < 0 || cb_put(&b->b, " ", 1) < 0;
                else
                    rc = put_cp(&b->b, x) < 0;
                i++;
            } else if (i + 1 < n && ((pass == 0 && !cat_n(x) && cat_p(b->cps[i + 1])) ||
                                     (pass == 1 && cat_p(x) && !cat_n(b->cps[i + 1])))) {
                if (pass == 0)
                    rc = put_cp(&b->b, x) < 0 || cb_put(&b->b, " ", 1) < 0 ||
                         put_cp(&b->b, b->cps[i + 1]) < 0 || cb_put(&b->b, " ", 1) < 0;
                else
                    rc = cb_put(&b->b, " ", 1) < 0 || put_cp(&b->b, x) < 0 ||
                         cb_put(&b->b, " ", 1) < 0 || put_cp(&b->b, b->cps[i + 1]) < 0;
                i += 2;
            } else {
                rc = put_cp(&b->b, x) < 0;
                i++;
            }
            if (rc)
                return AS_ENOMEM;
        }
        swap_bufs(b);
    }
    return 0;
}

/* char: " ".join(line), every code point a token once split. */
static int tok_char(met_bleu *b)
{
    size_t i = 0;

    b->b.len = 0;
    if (cb_reserve(&b->b, b->a.len * 2 + 1) < 0)
        return AS_ENOMEM;
    while (i < b->a.len) {
        size_t at = i;
        int bad;
        met_utf8_next(b->a.p, b->a.len, &i, &bad);
        if (at > 0 && cb_put(&b->b, " ", 1) < 0)
            return AS_ENOMEM;
        if (cb_put(&b->b, b->a.p + at, i - at) < 0)
            return AS_ENOMEM;
    }
    swap_bufs(b);
    return 0;
}

/* Preprocess and tokenize s into b->a. */
static int prepare(met_bleu *b, const char *s, size_t len)
{
    size_t end, i;
    int rc = 0;

    b->a.len = 0;
    if (b->o.lowercase) {
        if (met_lower_utf8(s, len, &b->a.p, &b->a.len, &b->a.cap) < 0)
            return AS_ENOMEM;
    } else if (cb_put(&b->a, s, len) < 0) {
        return AS_ENOMEM;
    }
    /* rstrip(): drop trailing Python whitespace. */
    end = 0;
    for (i = 0; i < b->a.len;) {
        int bad;
        uint32_t cp = met_utf8_next(b->a.p, b->a.len, &i, &bad);
        if (bad || !met_is_space(cp))
            end = i;
    }
    b->a.len = end;
    if (cb_reserve(&b->a, end) < 0)
        return AS_ENOMEM;
    b->a.p[end] = '\0';
    switch (b->o.tokenize) {
    case MET_BLEU_13A:
        rc = tok_13a(b);
        break;
    case MET_BLEU_INTL:
        rc = tok_intl(b);
        break;
    case MET_BLEU_CHAR:
        rc = tok_char(b);
        break;
    case MET_BLEU_NONE:
        break;
    }
    return rc;
}

/* split() into ids. */
static int split_ids(met_bleu *b)
{
    size_t i = 0;

    b->nids = 0;
    while (i < b->a.len) {
        size_t start, j;
        int bad;
        uint32_t cp, id;

        j = i;
        cp = met_utf8_next(b->a.p, b->a.len, &j, &bad);
        if (!bad && met_is_space(cp)) {
            i = j;
            continue;
        }
        start = i;
        i = j;
        while (i < b->a.len) {
            j = i;
            cp = met_utf8_next(b->a.p, b->a.len, &j, &bad);
            if (!bad && met_is_space(cp))
                break;
            i = j;
        }
        if ((id = met_vocab_id(&b->v, b->a.p + start, i - start)) == MET_NO_ID)
            return AS_ENOMEM;
        if (met_reserve(&b->ids, &b->ids_cap, b->nids + 1, sizeof(uint32_t)) < 0)
            return AS_ENOMEM;
        b->ids[b->nids++] = id;
    }
    return 0;
}

int met_bleu_tokenize(met_bleu *b, const char *s, size_t len, const char **out, size_t *olen)
{
    size_t i;
    int rc;

    if ((rc = prepare(b, s, len)) < 0 || (rc = split_ids(b)) < 0)
        return rc;
    b->b.len = 0;
    if (cb_put(&b->b, "", 0) < 0)
        return AS_ENOMEM;
    for (i = 0; i < b->nids; i++) {
        if ((i && cb_put(&b->b, " ", 1) < 0) ||
            cb_put(&b->b, met_vocab_str(&b->v, b->ids[i]), b->v.len[b->ids[i]]) < 0)
            return AS_ENOMEM;
    }
    *out = b->b.p;
    *olen = b->b.len;
    return 0;
}

static uint64_t gram_hash(const uint32_t *ids, uint32_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull * n;
    uint32_t i;

    for (i = 0; i < n; i++) {
        h ^= ids[i];
        h *= 0xFF51AFD7ED558CCDull;
        h ^= h >> 29;
    }
    return h;
}

/* The slot of the n-gram at ids (added when absent). */
static gram_slot *gram_get(met_bleu *b, const uint32_t *ids, uint32_t n)
{
    uint64_t h = gram_hash(ids, n);
    size_t mask = b->gcap - 1, j = (size_t)h & mask;

    for (;; j = (j + 1) & mask) {
        gram_slot *s = &b->g[j];
        uint32_t k;
        if (s->gen != b->gen) {
            s->gen = b->gen;
            s->hash = h;
            s->n = n;
            for (k = 0; k < n; k++)
                s->ids[k] = ids[k];
            s->ref_index = UINT32_MAX;
            s->ref_cur = s->ref_max = s->hyp = 0;
            return s;
        }
        if (s->hash == h && s->n == n) {
            for (k = 0; k < n && s->ids[k] == ids[k]; k++)
                ;
            if (k == n)
                return s;
        }
    }
}

static int grams_ready(met_bleu *b, size_t max_grams)
{
    size_t size = 64;

    while (size < max_grams * 2)
        size *= 2;
    if (size > b->gcap) {
        gram_slot *p = calloc(size, sizeof(*p));
        if (p == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        free(b->g);
        b->g = p;
        b->gcap = size;
        b->gen = 0;
    }
    if (++b->gen == 0) {
        memset(b->g, 0, b->gcap * sizeof(*b->g));
        b->gen = 1;
    }
    return 0;
}

int met_bleu_segment(met_bleu *b, const char *hyp, size_t hlen, const char *const *refs,
                     const size_t *ref_lens, size_t nrefs, met_bleu_stats *out)
{
    size_t k, i, nh, used;
    int64_t closest = -1, closest_diff = -1;
    uint32_t n;
    const uint32_t *H;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (nrefs == 0)
        return as_error_set(AS_EINVAL, "BLEU needs at least one reference per segment");
    met_vocab_bound(&b->v);
    /* Tokenize everything first, so the n-gram table is sized to the
     * number of n-grams. */
    if (met_reserve(&b->ref_off, &b->ref_off_cap, nrefs + 1, sizeof(size_t)) < 0)
        return AS_ENOMEM;
    if ((rc = prepare(b, hyp, hlen)) < 0 || (rc = split_ids(b)) < 0)
        return rc;
    nh = b->nids;
    if (met_reserve(&b->seg, &b->seg_cap, nh + 1, sizeof(uint32_t)) < 0)
        return AS_ENOMEM;
    if (nh > 0)
        memcpy(b->seg, b->ids, nh * sizeof(uint32_t));
    used = nh;
    for (k = 0; k < nrefs; k++) {
        if ((rc = prepare(b, refs[k], ref_lens[k])) < 0 || (rc = split_ids(b)) < 0)
            return rc;
        if (met_reserve(&b->seg, &b->seg_cap, used + b->nids + 1, sizeof(uint32_t)) < 0)
            return AS_ENOMEM;
        b->ref_off[k] = used;
        if (b->nids > 0)
            memcpy(b->seg + used, b->ids, b->nids * sizeof(uint32_t));
        used += b->nids;
    }
    b->ref_off[nrefs] = used;
    if ((rc = grams_ready(b, 4 * used + 4)) < 0)
        return rc;
    for (k = 0; k < nrefs; k++) {
        const uint32_t *R = b->seg + b->ref_off[k];
        size_t nr = b->ref_off[k + 1] - b->ref_off[k];
        int64_t len = (int64_t)nr, diff;
        diff = len > (int64_t)nh ? len - (int64_t)nh : (int64_t)nh - len;
        if (closest_diff == -1 || diff < closest_diff) {
            closest_diff = diff;
            closest = len;
        } else if (diff == closest_diff && len < closest) {
            closest = len;
        }
        for (n = 1; n <= 4; n++) {
            for (i = 0; i + n <= nr; i++) {
                gram_slot *s = gram_get(b, R + i, n);
                if (s->ref_index != (uint32_t)k) {
                    s->ref_index = (uint32_t)k;
                    s->ref_cur = 0;
                }
                if (++s->ref_cur > s->ref_max)
                    s->ref_max = s->ref_cur;
            }
        }
    }
    H = b->seg;
    for (n = 1; n <= 4; n++)
        for (i = 0; i + n <= nh; i++)
            gram_get(b, H + i, n)->hyp++;
    for (n = 1; n <= 4; n++) {
        for (i = 0; i + n <= nh; i++) {
            gram_slot *s = gram_get(b, H + i, n);
            out->totals[n - 1]++;
            if (s->hyp > 0) {
                out->counts[n - 1] += s->hyp < s->ref_max ? s->hyp : s->ref_max;
                s->hyp = 0;
            }
        }
    }
    out->sys_len = (int64_t)nh;
    out->ref_len = closest;
    return 0;
}

void met_bleu_stats_add(met_bleu_stats *acc, const met_bleu_stats *s)
{
    int i;

    for (i = 0; i < 4; i++) {
        acc->counts[i] += s->counts[i];
        acc->totals[i] += s->totals[i];
    }
    acc->sys_len += s->sys_len;
    acc->ref_len += s->ref_len;
}

static double my_log(double x)
{
    return x == 0.0 ? -9999999999.0 : log(x);
}

void met_bleu_score(const met_bleu_stats *st, const met_bleu_opts *opts, int effective_order,
                    met_bleu_result *out)
{
    double smooth_value = opts->smooth_value, smooth_mteval = 1.0, sum = 0.0;
    int n, eff_order = 4, any = 0;

    memset(out, 0, sizeof(*out));
    if (smooth_value < 0)
        smooth_value = opts->smooth == MET_SMOOTH_FLOOR ? 0.1 : 1.0;
    for (n = 0; n < 4; n++) {
        out->counts[n] = (double)st->counts[n];
        out->totals[n] = (double)st->totals[n];
        any |= st->counts[n] != 0;
    }
    out->sys_len = st->sys_len;
    out->ref_len = st->ref_len;
    if (st->sys_len < st->ref_len)
        out->bp = st->sys_len > 0 ? exp(1.0 - (double)st->ref_len / (double)st->sys_len) : 0.0;
    else
        out->bp = 1.0;
    if (!any)
        return;
    for (n = 1; n <= 4; n++) {
        if (opts->smooth == MET_SMOOTH_ADDK && n > 1) {
            out->counts[n - 1] += smooth_value;
            out->totals[n - 1] += smooth_value;
        }
        if (out->totals[n - 1] == 0)
            break;
        if (effective_order)
            eff_order = n;
        if (out->counts[n - 1] == 0) {
            if (opts->smooth == MET_SMOOTH_EXP) {
                smooth_mteval *= 2;
                out->precisions[n - 1] = 100. / (smooth_mteval * out->totals[n - 1]);
            } else if (opts->smooth == MET_SMOOTH_FLOOR) {
                out->precisions[n - 1] = 100. * smooth_value / out->totals[n - 1];
            }
        } else {
            out->precisions[n - 1] = 100. * out->counts[n - 1] / out->totals[n - 1];
        }
    }
    for (n = 0; n < eff_order; n++)
        sum += my_log(out->precisions[n]);
    out->score = out->bp * exp(sum / eff_order);
}
