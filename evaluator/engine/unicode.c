/* NFC normalization (Unicode Standard Annex #15): canonical decomposition,
 * canonical ordering by combining class, canonical composition, with the
 * Hangul syllables done arithmetically. Tables from unicode_data.c. */
#include <stdlib.h>

#include "common/error.h"
#include "common/utf8.h"
#include "evaluator/engine/unicode.h"

enum {
    S_BASE = 0xAC00,
    L_BASE = 0x1100,
    V_BASE = 0x1161,
    T_BASE = 0x11A7,
    L_COUNT = 19,
    V_COUNT = 21,
    T_COUNT = 28,
    N_COUNT = V_COUNT * T_COUNT,
    S_COUNT = L_COUNT * N_COUNT
};

unsigned eng_uni_ccc_of(uint32_t cp)
{
    size_t lo = 0, hi = eng_uni_ccc_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < eng_uni_ccc[mid].first)
            hi = mid;
        else if (cp > eng_uni_ccc[mid].last)
            lo = mid + 1;
        else
            return eng_uni_ccc[mid].ccc;
    }
    return 0;
}

static const eng_uni_decomp *find_decomp(uint32_t cp)
{
    size_t lo = 0, hi = eng_uni_decomp_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < eng_uni_decomps[mid].cp)
            hi = mid;
        else if (cp > eng_uni_decomps[mid].cp)
            lo = mid + 1;
        else
            return &eng_uni_decomps[mid];
    }
    return NULL;
}

/* The primary composite of a + b, or 0. */
static uint32_t compose(uint32_t a, uint32_t b)
{
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 && b > T_BASE &&
        b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    size_t lo = 0, hi = eng_uni_comp_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const eng_uni_comp *c = &eng_uni_comps[mid];
        if (a < c->a || (a == c->a && b < c->b))
            hi = mid;
        else if (a > c->a || b > c->b)
            lo = mid + 1;
        else
            return c->cp;
    }
    return 0;
}

/* Append the full canonical decomposition of 'cp' to out[*n..]; 'out' has
 * room for 4 more code points per input code point (the deepest canonical
 * decomposition has 4). */
static void decompose(uint32_t cp, uint32_t *out, size_t *n)
{
    if (cp >= S_BASE && cp < S_BASE + S_COUNT) {
        uint32_t s = cp - S_BASE;
        out[(*n)++] = L_BASE + s / N_COUNT;
        out[(*n)++] = V_BASE + (s % N_COUNT) / T_COUNT;
        if (s % T_COUNT)
            out[(*n)++] = T_BASE + s % T_COUNT;
        return;
    }
    const eng_uni_decomp *d = find_decomp(cp);
    if (!d) {
        out[(*n)++] = cp;
        return;
    }
    decompose(d->a, out, n);
    if (d->b)
        decompose(d->b, out, n);
}

int eng_uni_nfc_quick(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0xCC) { /* below U+0300: nothing NFC touches */
            i++;
            continue;
        }
        uint32_t cp;
        i += eng_uni_next(p + i, len - i, &cp);
        if (eng_uni_flags(cp) & ENG_UNI_NFC_UNSAFE)
            return 0;
    }
    return 1;
}

/* NFC of a span that starts at a starter and is followed by a stable code
 * point (or the end), so that it normalizes independently of the rest. */
static int nfc_span(as_buf *out, const char *s, size_t len)
{
    /* at most one code point per byte, each decomposing to at most 4 */
    uint32_t *d = malloc((len * 4 + 1) * sizeof *d);
    if (!d)
        return as_error_set(AS_ENOMEM, "NFC: out of memory");
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += eng_uni_next(p + i, len - i, &cp);
        decompose(cp, d, &n);
    }
    /* canonical ordering: stable insertion sort of each run of non-starters */
    for (size_t i = 1; i < n; i++) {
        unsigned c = eng_uni_ccc_of(d[i]);
        if (c == 0)
            continue;
        size_t j = i;
        uint32_t cp = d[i];
        while (j > 0) {
            unsigned pc = eng_uni_ccc_of(d[j - 1]);
            if (pc <= c)
                break;
            d[j] = d[j - 1];
            j--;
        }
        d[j] = cp;
    }
    /* canonical composition */
    size_t m = n ? 1 : 0, starter = 0;
    int have_starter = n && eng_uni_ccc_of(d[0]) == 0;
    unsigned last = have_starter ? 0 : 256;
    for (size_t i = 1; i < n; i++) {
        uint32_t cp = d[i];
        unsigned c = eng_uni_ccc_of(cp);
        uint32_t comp = have_starter ? compose(d[starter], cp) : 0;
        if (comp && (last < c || last == 0)) {
            d[starter] = comp;
            continue;
        }
        if (c == 0) {
            starter = m;
            have_starter = 1;
        }
        last = c;
        d[m++] = cp;
    }
    int rc = as_buf_reserve(out, m * 4);
    for (size_t i = 0; rc == 0 && i < m; i++) {
        char u[4];
        size_t k = as_utf8_encode(d[i], u);
        rc = as_buf_append(out, u, k);
    }
    free(d);
    return rc;
}

/* Text is copied as it is up to each NFC-unsafe code point; the span from
 * the code point before it (a possible composition starter) to the next
 * stable code point (NFC_QC=Yes with class 0, which nothing before it can
 * compose with or reorder around) is normalized on its own. */
int eng_uni_nfc(as_buf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, copied = 0, prev = 0;
    int rc = 0;
    while (rc == 0 && i < len) {
        uint32_t cp = 0;
        /* below U+0300 (lead byte 0xCC) nothing is NFC-unsafe */
        size_t l = p[i] < 0x80 ? 1 : p[i] < 0xCC ? 2 : eng_uni_next(p + i, len - i, &cp);
        if (p[i] < 0xCC || !(eng_uni_flags(cp) & ENG_UNI_NFC_UNSAFE)) {
            prev = i;
            i += l;
            continue;
        }
        size_t start = (i > 0 && prev >= copied) ? prev : i;
        size_t j = i + l;
        while (j < len) {
            uint32_t c2;
            if (p[j] < 0xCC)
                break;
            size_t l2 = eng_uni_next(p + j, len - j, &c2);
            if (!(eng_uni_flags(c2) & ENG_UNI_NFC_UNSAFE))
                break;
            j += l2;
        }
        rc = as_buf_append(out, s + copied, start - copied);
        if (rc == 0)
            rc = nfc_span(out, s + start, j - start);
        copied = i = j;
        prev = j;
    }
    if (rc == 0)
        rc = as_buf_append(out, s + copied, len - copied);
    return rc;
}
