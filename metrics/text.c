/* Token lists, UTF-8 decoding, Unicode properties, Python's str.lower()
 * and the rouge_score tokenizer; see text.h. */
#include "metrics/text.h"
#include "metrics/unicode_tab.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

void met_toks_init(met_toks *t)
{
    memset(t, 0, sizeof(*t));
}

void met_toks_reset(met_toks *t)
{
    t->len = 0;
    t->n = 0;
}

void met_toks_free(met_toks *t)
{
    if (t == NULL)
        return;
    free(t->text);
    free(t->start);
    met_toks_init(t);
}

int met_toks_push(met_toks *t, const char *tok, size_t len)
{
    if (t->len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        char *p;
        while (cap < t->len + len + 1)
            cap *= 2;
        if ((p = realloc(t->text, cap)) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        t->text = p;
        t->cap = cap;
    }
    if (t->n == t->ncap) {
        size_t ncap = t->ncap ? t->ncap * 2 : 32;
        size_t *p = realloc(t->start, ncap * sizeof(*p));
        if (p == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        t->start = p;
        t->ncap = ncap;
    }
    t->start[t->n++] = t->len;
    memcpy(t->text + t->len, tok, len);
    t->len += len;
    t->text[t->len++] = '\0';
    return 0;
}

uint32_t met_utf8_next(const char *s, size_t len, size_t *i, int *bad)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t n = len - *i;
    uint32_t c;

    *bad = 0;
    if (p[0] < 0x80) {
        (*i)++;
        return p[0];
    }
    if (p[0] >= 0xC2 && p[0] <= 0xDF && n >= 2 && (p[1] & 0xC0) == 0x80) {
        *i += 2;
        return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    }
    if (p[0] >= 0xE0 && p[0] <= 0xEF && n >= 3 && (p[1] & 0xC0) == 0x80 &&
        (p[2] & 0xC0) == 0x80) {
        c = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
            *i += 3;
            return c;
        }
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4 && n >= 4 && (p[1] & 0xC0) == 0x80 &&
               (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80) {
        c = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
            ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
        if (c >= 0x10000 && c <= 0x10FFFF) {
            *i += 4;
            return c;
        }
    }
    *bad = 1;
    (*i)++;
    return p[0];
}

static int in_ranges(const uint32_t (*r)[2], size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid][0])
            hi = mid;
        else if (cp > r[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int met_is_space(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
    return in_ranges(met_tab_space, met_tab_space_len, cp);
}

int met_is_word(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
               (cp >= 'A' && cp <= 'Z') || cp == '_';
    return in_ranges(met_tab_word, met_tab_word_len, cp);
}

int met_is_punct(uint32_t cp)
{
    return in_ranges(met_tab_punct, met_tab_punct_len, cp);
}

int met_is_symbol(uint32_t cp)
{
    return in_ranges(met_tab_symbol, met_tab_symbol_len, cp);
}

int met_is_number(uint32_t cp)
{
    return in_ranges(met_tab_number, met_tab_number_len, cp);
}

uint32_t met_lower_cp(uint32_t cp)
{
    size_t lo = 0, hi = met_tab_lower_len;

    if (cp < 0x80)
        return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    if (cp == 0x130)
        return 'i';
    if (cp == 0x3A3)
        return 0x3C3;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const met_lower_run *r = &met_tab_lower[mid];
        if (cp < r->first) {
            hi = mid;
        } else if (cp > r->last) {
            lo = mid + 1;
        } else {
            if ((cp - r->first) % (uint32_t)r->step == 0)
                return (uint32_t)((int32_t)cp + r->delta);
            return cp;
        }
    }
    return cp;
}

static int grow(char **out, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 64;
    char *p;

    if (need <= *cap)
        return 0;
    while (c < need)
        c *= 2;
    if ((p = realloc(*out, c)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    *out = p;
    *cap = c;
    return 0;
}

/* Python's handle_capital_sigma: U+03A3 at s[at] lowers to final sigma when
 * a cased letter precedes it and none follows (case-ignorable code points
 * skipped on both sides). */
static int final_sigma(const char *s, size_t len, size_t at, size_t after)
{
    size_t j = at, i;
    int bad, found = 0;
    uint32_t c = 0;

    while (j > 0) {
        size_t k = j - 1;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        i = k;
        c = met_utf8_next(s, len, &i, &bad);
        j = k;
        if (!in_ranges(met_tab_ignorable, met_tab_ignorable_len, c)) {
            found = 1;
            break;
        }
    }
    if (!found || !in_ranges(met_tab_cased, met_tab_cased_len, c))
        return 0;
    i = after;
    while (i < len) {
        c = met_utf8_next(s, len, &i, &bad);
        if (!in_ranges(met_tab_ignorable, met_tab_ignorable_len, c))
            return !in_ranges(met_tab_cased, met_tab_cased_len, c);
    }
    return 1;
}

int met_lower_utf8(const char *s, size_t len, char **out, size_t *olen, size_t *cap)
{
    size_t i = 0;

    if (grow(out, cap, *olen + len + 1) < 0)
        return AS_ENOMEM;
    while (i < len) {
        size_t at = i;
        int bad;
        uint32_t cp;

        if ((unsigned char)s[i] < 0x80) {
            char c = s[i++];
            (*out)[(*olen)++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
            continue;
        }
        cp = met_utf8_next(s, len, &i, &bad);
        /* Lowering never lengthens a code point's encoding except U+0130
         * (2 bytes -> 3) and a few 2-byte -> 3-byte mappings; reserve 8. */
        if (grow(out, cap, *olen + (len - i) + 9) < 0)
            return AS_ENOMEM;
        if (bad) {
            (*out)[(*olen)++] = s[at];
            continue;
        }
        if (cp == 0x130) {
            memcpy(*out + *olen, "i\xCC\x87", 3);
            *olen += 3;
            continue;
        }
        if (cp == 0x3A3)
            cp = final_sigma(s, len, at, i) ? 0x3C2 : 0x3C3;
        else
            cp = met_lower_cp(cp);
        {
            unsigned char *o = (unsigned char *)*out + *olen;
            if (cp < 0x80) {
                o[0] = (unsigned char)cp;
                *olen += 1;
            } else if (cp < 0x800) {
                o[0] = (unsigned char)(0xC0 | (cp >> 6));
                o[1] = (unsigned char)(0x80 | (cp & 0x3F));
                *olen += 2;
            } else if (cp < 0x10000) {
                o[0] = (unsigned char)(0xE0 | (cp >> 12));
                o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                o[2] = (unsigned char)(0x80 | (cp & 0x3F));
                *olen += 3;
            } else {
                o[0] = (unsigned char)(0xF0 | (cp >> 18));
                o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                o[3] = (unsigned char)(0x80 | (cp & 0x3F));
                *olen += 4;
            }
        }
    }
    (*out)[*olen] = '\0';
    return 0;
}

/* The rouge_score character class of the code point at s[*i]: the
 * lower-cased [a-z0-9] character, or 0 for a separator. U+0130 yields 'i'
 * and leaves a pending separator (its lower form is "i" + U+0307). */
size_t met_rouge_next_token(const char *s, size_t len, size_t *pos, size_t *start, char *out,
                            size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = *pos, n = 0;
    int in_tok = 0;

    while (i < len) {
        unsigned char c = p[i];
        char ch = 0;
        size_t next = i + 1;
        int ends_after = 0;

        if (c < 0x80) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                ch = (char)c;
            else if (c >= 'A' && c <= 'Z')
                ch = (char)(c + 32);
        } else if (c == 0xE2 && i + 2 < len && p[i + 1] == 0x84 && p[i + 2] == 0xAA) {
            ch = 'k';           /* U+212A KELVIN SIGN */
            next = i + 3;
        } else if (c == 0xC4 && i + 1 < len && p[i + 1] == 0xB0) {
            ch = 'i';           /* U+0130: "i" + combining dot (a separator) */
            next = i + 2;
            ends_after = 1;
        }
        if (ch) {
            if (!in_tok) {
                in_tok = 1;
                *start = i;
            }
            if (n < cap)
                out[n] = ch;
            n++;
            i = next;
            if (ends_after)
                break;
        } else {
            if (in_tok)
                break;
            i = next;
        }
    }
    *pos = i;
    return n;
}

int met_rouge_tokenize(met_toks *out, const char *s, size_t len, int stem)
{
    size_t pos = 0, start, n, cap = 64;
    char small[64], *buf = small, *stemmed = NULL;
    int rc = 0;

    met_toks_reset(out);
    while ((n = met_rouge_next_token(s, len, &pos, &start, buf, cap)) > 0) {
        if (n > cap) {
            char *big = malloc(n + 1);
            size_t p2 = start;
            if (big == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                break;
            }
            if (buf != small)
                free(buf);
            buf = big;
            cap = n;
            free(stemmed);
            stemmed = NULL;
            met_rouge_next_token(s, len, &p2, &start, buf, cap);
        }
        if (stem && n > 3) {
            size_t m;
            if (stemmed == NULL &&
                (stemmed = malloc((cap > sizeof(small) ? cap : sizeof(small)) + 1)) == NULL) {
                rc = as_error_set(AS_ENOMEM, "out of memory");
                break;
            }
            m = met_porter_stem(buf, n, stemmed);
            if ((rc = met_toks_push(out, stemmed, m)) < 0)
                break;
        } else if ((rc = met_toks_push(out, buf, n)) < 0) {
            break;
        }
    }
    if (buf != small)
        free(buf);
    free(stemmed);
    return rc;
}
