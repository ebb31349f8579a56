/* exact_match (Hugging Face evaluate) and SQuAD normalized match and token
 * F1; see match.h. */
#include "metrics/match.h"
#include "metrics/text.h"
#include "common/error.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

typedef struct span {
    const char *s;
    size_t len;
} span;

struct met_matcher {
    met_match_opts o;
    regex_t re[MET_MATCH_MAX_REGEXES];
    size_t nre;
    sbuf a, b, tmp;             /* normalized pred, ref, scratch */
    span *ta, *tb;              /* SQuAD tokens */
    size_t tacap, tbcap;
};

static int sb_reserve(sbuf *b, size_t n)
{
    size_t c = b->cap ? b->cap : 256;
    char *p;

    if (n + 1 <= b->cap)
        return 0;
    while (c < n + 1)
        c *= 2;
    if ((p = realloc(b->p, c)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    b->p = p;
    b->cap = c;
    return 0;
}

static int sb_set(sbuf *b, const char *s, size_t len)
{
    if (sb_reserve(b, len) < 0)
        return AS_ENOMEM;
    memmove(b->p, s, len);
    b->len = len;
    b->p[len] = '\0';
    return 0;
}

int met_matcher_new(met_matcher **out, const met_match_opts *opts)
{
    met_matcher *m = calloc(1, sizeof(*m));
    size_t i;

    *out = NULL;
    if (m == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (opts) {
        m->o = *opts;
        m->o.regexes = NULL;
        if (opts->nregexes > MET_MATCH_MAX_REGEXES) {
            free(m);
            return as_error_set(AS_EINVAL, "at most %d regexes to ignore", MET_MATCH_MAX_REGEXES);
        }
        for (i = 0; i < opts->nregexes; i++) {
            int rc = regcomp(&m->re[i], opts->regexes[i], REG_EXTENDED);
            if (rc != 0) {
                char why[128];
                regerror(rc, &m->re[i], why, sizeof(why));
                met_matcher_free(m);
                return as_error_set(AS_EINVAL, "regex '%s': %s", opts->regexes[i], why);
            }
            m->nre++;
        }
    }
    *out = m;
    return 0;
}

void met_matcher_free(met_matcher *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->nre; i++)
        regfree(&m->re[i]);
    free(m->a.p);
    free(m->b.p);
    free(m->tmp.p);
    free(m->ta);
    free(m->tb);
    free(m);
}

/* re.sub(re, "", b): remove every non-overlapping match, left to right. */
static int regex_remove(met_matcher *m, const regex_t *re, sbuf *b)
{
    size_t pos = 0;

    m->tmp.len = 0;
    if (sb_reserve(&m->tmp, b->len) < 0)
        return AS_ENOMEM;
    while (pos <= b->len) {
        regmatch_t g;
        g.rm_so = (regoff_t)pos;
        g.rm_eo = (regoff_t)b->len;
        if (regexec(re, b->p, 1, &g, REG_STARTEND | (pos > 0 ? REG_NOTBOL : 0)) != 0)
            break;
        memcpy(m->tmp.p + m->tmp.len, b->p + pos, (size_t)g.rm_so - pos);
        m->tmp.len += (size_t)g.rm_so - pos;
        pos = (size_t)g.rm_eo;
        if (g.rm_eo == g.rm_so) {
            /* An empty match: keep the next character and move past it. */
            size_t i = pos;
            int bad;
            if (pos >= b->len)
                break;
            met_utf8_next(b->p, b->len, &i, &bad);
            memcpy(m->tmp.p + m->tmp.len, b->p + pos, i - pos);
            m->tmp.len += i - pos;
            pos = i;
        }
    }
    if (pos < b->len) {
        memcpy(m->tmp.p + m->tmp.len, b->p + pos, b->len - pos);
        m->tmp.len += b->len - pos;
    }
    return sb_set(b, m->tmp.p, m->tmp.len);
}

static int is_ascii_punct(unsigned char c)
{
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
}

static void drop_bytes(sbuf *b, int punct, int digits)
{
    size_t i, j = 0;

    for (i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->p[i];
        if ((punct && is_ascii_punct(c)) || (digits && c >= '0' && c <= '9'))
            continue;
        b->p[j++] = b->p[i];
    }
    b->len = j;
    b->p[j] = '\0';
}

static int lower_into(met_matcher *m, sbuf *b)
{
    m->tmp.len = 0;
    if (met_lower_utf8(b->p, b->len, &m->tmp.p, &m->tmp.len, &m->tmp.cap) < 0)
        return AS_ENOMEM;
    return sb_set(b, m->tmp.p, m->tmp.len);
}

static int hf_normalize(met_matcher *m, sbuf *b, const char *s, size_t len)
{
    size_t i;
    int rc;

    if ((rc = sb_set(b, s, len)) < 0)
        return rc;
    for (i = 0; i < m->nre; i++)
        if ((rc = regex_remove(m, &m->re[i], b)) < 0)
            return rc;
    if (m->o.ignore_case && (rc = lower_into(m, b)) < 0)
        return rc;
    if (m->o.ignore_punctuation || m->o.ignore_numbers)
        drop_bytes(b, m->o.ignore_punctuation, m->o.ignore_numbers);
    return 0;
}

int met_match_exact(met_matcher *m, const char *pred, size_t plen, const char *ref, size_t rlen,
                    int *match)
{
    int rc, eq;

    if ((rc = hf_normalize(m, &m->a, pred, plen)) < 0 ||
        (rc = hf_normalize(m, &m->b, ref, rlen)) < 0)
        return rc;
    eq = m->a.len == m->b.len && memcmp(m->a.p, m->b.p, m->a.len) == 0;
    if (eq && !m->o.plain && m->a.len == 0)
        eq = plen == rlen && memcmp(pred, ref, plen) == 0;
    *match = eq;
    return 0;
}

static int word_at(const char *s, size_t len, size_t at)
{
    size_t i = at;
    int bad;

    if (at >= len)
        return 0;
    return met_is_word(met_utf8_next(s, len, &i, &bad));
}

/* normalize_answer: lower, remove punctuation, re.sub(r"\b(a|an|the)\b",
 * " "), " ".join(split()). Writes into b. */
static int squad_normalize(met_matcher *m, sbuf *b, const char *s, size_t len)
{
    size_t i, j;
    int rc;

    if ((rc = sb_set(b, s, len)) < 0 || (rc = lower_into(m, b)) < 0)
        return rc;
    drop_bytes(b, 1, 0);
    /* Articles: at a word boundary, "a", "an" or "the" followed by one.
     * One forward pass tracking whether the previous code point is a word
     * character (an invalid byte is not). */
    m->tmp.len = 0;
    if (sb_reserve(&m->tmp, b->len) < 0)
        return AS_ENOMEM;
    {
        int prev_word = 0;
        for (i = 0; i < b->len;) {
            size_t k = 0, start = i;
            if (!prev_word) {
                static const char *const arts[] = {"a", "an", "the"};
                size_t t;
                for (t = 0; t < 3 && k == 0; t++) {
                    size_t al = strlen(arts[t]);
                    if (b->len - i >= al && memcmp(b->p + i, arts[t], al) == 0 &&
                        !word_at(b->p, b->len, i + al))
                        k = al;
                }
            }
            if (k) {
                m->tmp.p[m->tmp.len++] = ' ';
                i += k;
                prev_word = 1;
                continue;
            }
            {
                int bad;
                uint32_t cp = met_utf8_next(b->p, b->len, &i, &bad);
                prev_word = !bad && met_is_word(cp);
            }
            memcpy(m->tmp.p + m->tmp.len, b->p + start, i - start);
            m->tmp.len += i - start;
        }
    }
    /* " ".join(split()): runs of non-whitespace joined by one space. */
    b->len = 0;
    {
        int pending = 0;
        for (i = 0; i < m->tmp.len;) {
            size_t start = i;
            int bad;
            uint32_t cp = met_utf8_next(m->tmp.p, m->tmp.len, &i, &bad);
            if (!bad && met_is_space(cp)) {
                pending = 1;
                continue;
            }
            if (pending && b->len > 0)
                b->p[b->len++] = ' ';
            pending = 0;
            for (j = start; j < i; j++)
                b->p[b->len++] = m->tmp.p[j];
        }
    }
    b->p[b->len] = '\0';
    return 0;
}

int met_squad_normalize(met_matcher *m, const char *s, size_t len, const char **out,
                        size_t *olen)
{
    int rc;

    if ((rc = squad_normalize(m, &m->a, s, len)) < 0)
        return rc;
    *out = m->a.p;
    *olen = m->a.len;
    return 0;
}

int met_squad_match(met_matcher *m, const char *pred, size_t plen, const char *ref, size_t rlen,
                    int *match)
{
    int rc;

    if ((rc = squad_normalize(m, &m->a, pred, plen)) < 0 ||
        (rc = squad_normalize(m, &m->b, ref, rlen)) < 0)
        return rc;
    *match = m->a.len == m->b.len && memcmp(m->a.p, m->b.p, m->a.len) == 0;
    return 0;
}

/* Split a normalized string (single spaces) into tokens. */
static int split_spaces(const sbuf *b, span **out, size_t *cap, size_t *n)
{
    size_t i = 0;

    *n = 0;
    while (i < b->len) {
        size_t e = i;
        while (e < b->len && b->p[e] != ' ')
            e++;
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 32;
            span *p = realloc(*out, c * sizeof(*p));
            if (p == NULL)
                return as_error_set(AS_ENOMEM, "out of memory");
            *out = p;
            *cap = c;
        }
        (*out)[*n].s = b->p + i;
        (*out)[(*n)++].len = e - i;
        i = e + 1;
    }
    return 0;
}

static int span_cmp(const void *x, const void *y)
{
    const span *a = x, *b = y;
    size_t m = a->len < b->len ? a->len : b->len;
    int r = memcmp(a->s, b->s, m);

    return r ? r : (a->len < b->len ? -1 : a->len > b->len);
}

int met_squad_f1(met_matcher *m, const char *pred, size_t plen, const char *ref, size_t rlen,
                 double *precision, double *recall, double *f1)
{
    size_t na, nb, i = 0, j = 0, same = 0;
    int rc;

    if ((rc = squad_normalize(m, &m->a, pred, plen)) < 0 ||
        (rc = squad_normalize(m, &m->b, ref, rlen)) < 0 ||
        (rc = split_spaces(&m->a, &m->ta, &m->tacap, &na)) < 0 ||
        (rc = split_spaces(&m->b, &m->tb, &m->tbcap, &nb)) < 0)
        return rc;
    if (na == 0 || nb == 0) {
        *precision = *recall = *f1 = (na == 0 && nb == 0) ? 1.0 : 0.0;
        return 0;
    }
    qsort(m->ta, na, sizeof(span), span_cmp);
    qsort(m->tb, nb, sizeof(span), span_cmp);
    while (i < na && j < nb) {
        int c = span_cmp(&m->ta[i], &m->tb[j]);
        if (c == 0) {
            same++;
            i++;
            j++;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    if (same == 0) {
        *precision = *recall = *f1 = 0.0;
        return 0;
    }
    *precision = 1.0 * (double)same / (double)na;
    *recall = 1.0 * (double)same / (double)nb;
    *f1 = (2 * *precision * *recall) / (*precision + *recall);
    return 0;
}
