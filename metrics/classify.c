/* Classification metrics with scikit-learn 1.3+ semantics; see classify.h.
 *
 * The accumulator interns each distinct raw label (kind + value) and counts
 * distinct (true, pred) pairs of raw ids. met_cls_compute then applies
 * numpy's per-side type conversion, sorts the union of the converted labels
 * as np.unique does, builds the full confusion matrix and derives every
 * metric from its counts (the one-vs-rest tp, pred_sum and true_sum). */
#include "metrics/classify.h"
#include "metrics/stats.h"
#include "common/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct raw_label {
    met_label_kind kind;
    size_t off, len;        /* string bytes in the arena */
    int64_t i;
    double d;
    uint64_t hash;
    int in_true, in_pred;
} raw_label;

typedef struct pair_slot {
    uint32_t t, p;          /* raw ids + 1; 0 = empty */
    int64_t count;
} pair_slot;

struct met_cls {
    raw_label *raw;
    uint32_t nraw, rawcap;
    uint32_t *rslots;       /* raw id + 1 */
    size_t rmask;
    char *arena;
    size_t alen, acap;
    pair_slot *pairs;
    size_t pmask, npairs;
    int64_t total;
};

static int oom(void)
{
    return as_error_set(AS_ENOMEM, "out of memory");
}

int met_cls_new(met_cls **out)
{
    met_cls *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL)
        return oom();
    c->rslots = calloc(256, sizeof(*c->rslots));
    c->pairs = calloc(256, sizeof(*c->pairs));
    if (c->rslots == NULL || c->pairs == NULL) {
        met_cls_free(c);
        return oom();
    }
    c->rmask = 255;
    c->pmask = 255;
    *out = c;
    return 0;
}

void met_cls_free(met_cls *c)
{
    if (c == NULL)
        return;
    free(c->raw);
    free(c->rslots);
    free(c->arena);
    free(c->pairs);
    free(c);
}

int64_t met_cls_count(const met_cls *c)
{
    return c->total;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t label_hash(const met_label *l)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)l->kind;
    size_t i;

    switch (l->kind) {
    case MET_LABEL_STR:
        for (i = 0; i < l->len; i++)
            h = (h ^ (unsigned char)l->s[i]) * 1099511628211ull;
        return h;
    case MET_LABEL_FLOAT: {
        uint64_t bits;
        double d = l->d == 0 ? 0.0 : l->d;      /* -0.0 == 0.0 */
        memcpy(&bits, &d, sizeof(bits));
        return mix(h ^ bits);
    }
    default:
        return mix(h ^ (uint64_t)l->i);
    }
}

static int raw_equal(const met_cls *c, const raw_label *r, const met_label *l)
{
    if (r->kind != l->kind)
        return 0;
    switch (l->kind) {
    case MET_LABEL_STR:
        return r->len == l->len && memcmp(c->arena + r->off, l->s, l->len) == 0;
    case MET_LABEL_FLOAT:
        return r->d == l->d;
    default:
        return r->i == l->i;
    }
}

static int raw_rehash(met_cls *c, size_t size)
{
    uint32_t *s = calloc(size, sizeof(*s)), i;

    if (s == NULL)
        return oom();
    for (i = 0; i < c->nraw; i++) {
        size_t j = (size_t)c->raw[i].hash & (size - 1);
        while (s[j])
            j = (j + 1) & (size - 1);
        s[j] = i + 1;
    }
    free(c->rslots);
    c->rslots = s;
    c->rmask = size - 1;
    return 0;
}

/* The raw id of l, added when new. */
static int raw_id(met_cls *c, const met_label *l, uint32_t *id)
{
    uint64_t h = label_hash(l);
    size_t j;
    raw_label *r;

    if (l->kind == MET_LABEL_FLOAT && !isfinite(l->d))
        return as_error_set(AS_EINVAL, "Input contains NaN or infinity");
    for (j = (size_t)h & c->rmask; c->rslots[j]; j = (j + 1) & c->rmask) {
        r = &c->raw[c->rslots[j] - 1];
        if (r->hash == h && raw_equal(c, r, l)) {
            *id = c->rslots[j] - 1;
            return 0;
        }
    }
    if (c->nraw >= MET_CLS_MAX_LABELS)
        return as_error_set(AS_ETOOBIG, "more than %d distinct labels", MET_CLS_MAX_LABELS);
    if (c->nraw == c->rawcap) {
        uint32_t cap = c->rawcap ? c->rawcap * 2 : 64;
        raw_label *p = realloc(c->raw, cap * sizeof(*p));
        if (p == NULL)
            return oom();
        c->raw = p;
        c->rawcap = cap;
    }
    r = &c->raw[c->nraw];
    memset(r, 0, sizeof(*r));
    r->kind = l->kind;
    r->hash = h;
    r->i = l->i;
    r->d = l->d;
    if (l->kind == MET_LABEL_STR) {
        if (c->alen + l->len > MET_CLS_MAX_LABEL_BYTES)
            return as_error_set(AS_ETOOBIG, "labels longer than %zu bytes in all",
                                MET_CLS_MAX_LABEL_BYTES);
        if (c->alen + l->len + 1 > c->acap) {
            size_t cap = c->acap ? c->acap : 1024;
            char *p;
            while (cap < c->alen + l->len + 1)
                cap *= 2;
            if ((p = realloc(c->arena, cap)) == NULL)
                return oom();
            c->arena = p;
            c->acap = cap;
        }
        memcpy(c->arena + c->alen, l->s, l->len);
        r->off = c->alen;
        r->len = l->len;
        c->alen += l->len;
        c->arena[c->alen++] = '\0';
    }
    c->rslots[j] = c->nraw + 1;
    *id = c->nraw++;
    if ((size_t)c->nraw * 2 > c->rmask + 1)
        return raw_rehash(c, (c->rmask + 1) * 2);
    return 0;
}

static int pairs_grow(met_cls *c)
{
    size_t size = (c->pmask + 1) * 2, i;
    pair_slot *p = calloc(size, sizeof(*p));

    if (p == NULL)
        return oom();
    for (i = 0; i <= c->pmask; i++) {
        if (c->pairs[i].t) {
            size_t j = (size_t)mix(((uint64_t)c->pairs[i].t << 32) | c->pairs[i].p) & (size - 1);
            while (p[j].t)
                j = (j + 1) & (size - 1);
            p[j] = c->pairs[i];
        }
    }
    free(c->pairs);
    c->pairs = p;
    c->pmask = size - 1;
    return 0;
}

static int add_ids(met_cls *c, uint32_t t, uint32_t p)
{
    size_t j = (size_t)mix(((uint64_t)(t + 1) << 32) | (p + 1)) & c->pmask;

    for (; c->pairs[j].t; j = (j + 1) & c->pmask) {
        if (c->pairs[j].t == t + 1 && c->pairs[j].p == p + 1) {
            c->pairs[j].count++;
            c->total++;
            return 0;
        }
    }
    c->pairs[j].t = t + 1;
    c->pairs[j].p = p + 1;
    c->pairs[j].count = 1;
    c->total++;
    c->raw[t].in_true = 1;
    c->raw[p].in_pred = 1;
    if (++c->npairs * 2 > c->pmask + 1)
        return pairs_grow(c);
    return 0;
}

int met_cls_add(met_cls *c, const met_label *truth, const met_label *pred)
{
    uint32_t t, p;
    int rc;

    if ((rc = raw_id(c, truth, &t)) < 0 || (rc = raw_id(c, pred, &p)) < 0)
        return rc;
    return add_ids(c, t, p);
}

int met_cls_add_str(met_cls *c, const char *truth, size_t tlen, const char *pred, size_t plen)
{
    met_label t = {MET_LABEL_STR, truth, tlen, 0, 0}, p = {MET_LABEL_STR, pred, plen, 0, 0};

    return met_cls_add(c, &t, &p);
}

/* Python's repr() of a float. */
static void py_float_repr(double d, char *out, size_t cap)
{
    char buf[40], digits[24], *e;
    int prec, nd = 0, decpt, neg;
    long ex;
    size_t k, at = 0;

    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    neg = buf[0] == '-';
    for (k = (size_t)neg; buf[k] && buf[k] != 'e'; k++)
        if (buf[k] != '.')
            digits[nd++] = buf[k];
    digits[nd] = '\0';
    e = strchr(buf, 'e');
    ex = e ? strtol(e + 1, NULL, 10) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    decpt = (int)ex + 1;
#define PUT(ch) do { if (at + 1 < cap) out[at++] = (ch); } while (0)
    if (neg)
        PUT('-');
    if (decpt > -4 && decpt <= 16) {
        int i;
        if (decpt <= 0) {
            PUT('0');
            PUT('.');
            for (i = 0; i < -decpt; i++)
                PUT('0');
            for (i = 0; i < nd; i++)
                PUT(digits[i]);
        } else {
            for (i = 0; i < nd || i < decpt; i++) {
                if (i == decpt)
                    PUT('.');
                PUT(i < nd ? digits[i] : '0');
            }
            if (nd <= decpt) {
                PUT('.');
                PUT('0');
            }
        }
        out[at] = '\0';
    } else {
        int i;
        PUT(digits[0]);
        if (nd > 1) {
            PUT('.');
            for (i = 1; i < nd; i++)
                PUT(digits[i]);
        }
        out[at] = '\0';
        snprintf(out + at, cap - at, "e%c%02ld", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    }
#undef PUT
}

void met_label_str(const met_label *l, char *out, size_t cap)
{
    switch (l->kind) {
    case MET_LABEL_STR:
        snprintf(out, cap, "%.*s", (int)(l->len > (size_t)1 << 30 ? (size_t)1 << 30 : l->len), l->s);
        return;
    case MET_LABEL_INT:
        snprintf(out, cap, "%lld", (long long)l->i);
        return;
    case MET_LABEL_BOOL:
        snprintf(out, cap, "%s", l->i ? "True" : "False");
        return;
    case MET_LABEL_FLOAT:
        py_float_repr(l->d, out, cap);
        return;
    }
}

/* ---- compute ---- */

typedef struct final_label {
    met_label v;            /* converted value; strings point into 'text' */
    char *text;             /* owned copy for converted/str labels */
    int present;            /* in the data (not only in the explicit labels) */
} final_label;

typedef struct finals {
    final_label *f;
    size_t n, cap;
    met_label_kind kind;
} finals;

static int label_cmp_kind(met_label_kind kind, const met_label *a, const met_label *b)
{
    if (kind == MET_LABEL_STR) {
        size_t m = a->len < b->len ? a->len : b->len;
        int r = memcmp(a->s, b->s, m);
        if (r)
            return r;
        return a->len < b->len ? -1 : a->len > b->len;
    }
    if (kind == MET_LABEL_FLOAT)
        return a->d < b->d ? -1 : a->d > b->d;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* qsort comparators, one per kind (no shared state: thread-safe). */
static int final_cmp_str(const void *x, const void *y)
{
    return label_cmp_kind(MET_LABEL_STR, &((const final_label *)x)->v, &((const final_label *)y)->v);
}

static int final_cmp_float(const void *x, const void *y)
{
    return label_cmp_kind(MET_LABEL_FLOAT, &((const final_label *)x)->v,
                          &((const final_label *)y)->v);
}

static int final_cmp_int(const void *x, const void *y)
{
    return label_cmp_kind(MET_LABEL_INT, &((const final_label *)x)->v, &((const final_label *)y)->v);
}

/* Convert label l to 'kind' (numpy's array conversion) into *out; the
 * string text, if any, is a new allocation in *text. */
static int convert(const met_label *l, met_label_kind kind, met_label *out, char **text)
{
    *text = NULL;
    *out = *l;
    if (kind == l->kind)
        return 0;
    out->kind = kind;
    if (kind == MET_LABEL_STR) {
        char buf[64];
        met_label_str(l, buf, sizeof(buf));
        if ((*text = strdup(buf)) == NULL)
            return oom();
        out->s = *text;
        out->len = strlen(buf);
    } else if (kind == MET_LABEL_FLOAT) {
        out->d = (double)l->i;
    }
    return 0;
}

static met_label raw_as_label(const met_cls *c, const raw_label *r)
{
    met_label l;

    l.kind = r->kind;
    l.s = r->kind == MET_LABEL_STR ? c->arena + r->off : NULL;
    l.len = r->len;
    l.i = r->i;
    l.d = r->d;
    return l;
}

/* numpy's dtype of one side: str if any string, else float if any float,
 * else int if any int, else bool. */
static met_label_kind side_kind(const met_cls *c, int side_true)
{
    int has[4] = {0, 0, 0, 0};
    uint32_t i;

    for (i = 0; i < c->nraw; i++)
        if (side_true ? c->raw[i].in_true : c->raw[i].in_pred)
            has[c->raw[i].kind] = 1;
    if (has[MET_LABEL_STR])
        return MET_LABEL_STR;
    if (has[MET_LABEL_FLOAT])
        return MET_LABEL_FLOAT;
    if (has[MET_LABEL_INT])
        return MET_LABEL_INT;
    return MET_LABEL_BOOL;
}

/* scikit-learn's type_of_target for one side: "binary", "multiclass" or
 * "continuous" (a float side with a non-integer value). */
static const char *side_type(const met_cls *c, int side_true, met_label_kind kind)
{
    uint32_t i, distinct = 0;

    for (i = 0; i < c->nraw; i++) {
        const raw_label *r = &c->raw[i];
        if (!(side_true ? r->in_true : r->in_pred))
            continue;
        if (kind == MET_LABEL_FLOAT && r->kind == MET_LABEL_FLOAT && r->d != floor(r->d))
            return "continuous";
    }
    /* Distinct values after conversion: raw ids can collide once converted
     * (true and 1, 1 and 1.0), so count on the converted values. */
    for (i = 0; i < c->nraw; i++) {
        const raw_label *r = &c->raw[i];
        uint32_t j;
        met_label a, ca;
        char *ta;
        int dup = 0;
        if (!(side_true ? r->in_true : r->in_pred))
            continue;
        a = raw_as_label(c, r);
        if (convert(&a, kind, &ca, &ta) < 0)
            return "multiclass";
        for (j = 0; j < i && !dup; j++) {
            const raw_label *q = &c->raw[j];
            met_label b, cb;
            char *tb;
            if (!(side_true ? q->in_true : q->in_pred))
                continue;
            b = raw_as_label(c, q);
            if (convert(&b, kind, &cb, &tb) < 0) {
                free(ta);
                return "multiclass";
            }
            dup = label_cmp_kind(kind, &ca, &cb) == 0;
            free(tb);
        }
        free(ta);
        if (!dup && ++distinct > 2)
            return "multiclass";
    }
    return "binary";
}

static void finals_free(finals *fs)
{
    size_t i;

    for (i = 0; i < fs->n; i++)
        free(fs->f[i].text);
    free(fs->f);
}

/* Index of v in fs (sorted), or -1. */
static long finals_find(const finals *fs, const met_label *v)
{
    size_t lo = 0, hi = fs->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = label_cmp_kind(fs->kind, v, &fs->f[mid].v);
        if (r == 0)
            return (long)mid;
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static int finals_push(finals *fs, const met_label *v, char *text)
{
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 16;
        final_label *p = realloc(fs->f, cap * sizeof(*p));
        if (p == NULL) {
            free(text);
            return oom();
        }
        fs->f = p;
        fs->cap = cap;
    }
    memset(&fs->f[fs->n], 0, sizeof(fs->f[0]));
    fs->f[fs->n].v = *v;
    fs->f[fs->n].text = text;
    fs->n++;
    return 0;
}

/* Python's repr() of a label inside a list. */
static void label_repr(const met_label *l, char *out, size_t cap)
{
    size_t at = 0, i;
    char q;

    if (l->kind != MET_LABEL_STR) {
        met_label_str(l, out, cap);
        return;
    }
    q = (memchr(l->s, '\'', l->len) && !memchr(l->s, '"', l->len)) ? '"' : '\'';
    if (cap < 4) {
        if (cap)
            out[0] = '\0';
        return;
    }
    out[at++] = q;
    for (i = 0; i < l->len && at + 4 < cap; i++) {
        char ch = l->s[i];
        if (ch == q || ch == '\\') {
            out[at++] = '\\';
            out[at++] = ch;
        } else if (ch == '\n') {
            out[at++] = '\\';
            out[at++] = 'n';
        } else if (ch == '\t') {
            out[at++] = '\\';
            out[at++] = 't';
        } else {
            out[at++] = ch;
        }
    }
    out[at++] = q;
    out[at] = '\0';
}

static double zd_value(int zd)
{
    return zd == MET_ZD_NAN ? NAN : (double)zd;
}

static double prf_div(int64_t num, int64_t den, int zd)
{
    return den > 0 ? (double)num / (double)den : zd_value(zd);
}

/* _nanaverage: NaN entries are skipped; all-zero weights fall back to the
 * unweighted mean (scikit-learn 1.3+). */
static double nanaverage(const double *x, const int64_t *w, size_t n, double *scratch)
{
    size_t i, m = 0;
    double *vals = scratch, *ws = scratch + n, sw;

    if (n == 0)
        return NAN;
    for (i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        vals[m] = x[i];
        ws[m] = w ? (double)w[i] : 1.0;
        m++;
    }
    if (m == 0)
        return NAN;
    if (w == NULL)
        return met_sum(vals, m) / (double)m;
    sw = met_sum(ws, m);
    if (sw == 0.0)
        return met_sum(vals, m) / (double)m;
    for (i = 0; i < m; i++)
        vals[i] *= ws[i];
    return met_sum(vals, m) / sw;
}

void met_cls_result_free(met_cls_result *r)
{
    size_t i;

    if (r == NULL)
        return;
    if (r->labels)
        for (i = 0; i < r->n; i++)
            if (r->labels[i].kind == MET_LABEL_STR)
                free((char *)r->labels[i].s);
    if (r->names)
        for (i = 0; i < r->n; i++)
            free(r->names[i]);
    free(r->labels);
    free(r->names);
    free(r->precision);
    free(r->recall);
    free(r->f1);
    free(r->support);
    free(r->confusion);
    free(r);
}

static void one_label(int64_t tp, int64_t pred_sum, int64_t true_sum, int zd, double *p,
                      double *rc, double *f)
{
    *p = prf_div(tp, pred_sum, zd);
    *rc = prf_div(tp, true_sum, zd);
    *f = true_sum + pred_sum > 0 ? 2.0 * (double)tp / (double)(true_sum + pred_sum)
                                 : zd_value(zd);
}

int met_cls_compute(met_cls_result **out, const met_cls *c, const met_cls_opts *opts)
{
    met_cls_opts defaults = {NULL, 0, NULL, 0};
    met_label one = {MET_LABEL_INT, NULL, 0, 1, 0};
    met_label_kind kt, kp, kind;
    const char *tt, *tp_type;
    finals fs = {NULL, 0, 0, MET_LABEL_STR};
    met_cls_result *r = NULL;
    int64_t *cm = NULL, *tps = NULL, *pred_sum = NULL, *true_sum = NULL;
    uint32_t *tmap = NULL, *pmap = NULL;
    long *sel = NULL;
    double *scratch = NULL;
    size_t i, j, nsel, npresent;
    int rc = 0, target_binary;

    *out = NULL;
    if (opts == NULL)
        opts = &defaults;
    if (c->total == 0)
        return as_error_set(AS_EINVAL, "no (true, pred) pairs to score");
    if (opts->zero_division != 0 && opts->zero_division != 1 && opts->zero_division != MET_ZD_NAN)
        return as_error_set(AS_EINVAL, "zero_division must be 0, 1 or nan");
    kt = side_kind(c, 1);
    kp = side_kind(c, 0);
    tt = side_type(c, 1, kt);
    tp_type = side_type(c, 0, kp);
    if (strcmp(tt, tp_type) != 0 &&
        !(strcmp(tt, "continuous") != 0 && strcmp(tp_type, "continuous") != 0))
        return as_error_set(AS_EINVAL,
                            "Classification metrics can't handle a mix of %s and %s targets", tt,
                            tp_type);
    if (strcmp(tt, "continuous") == 0)
        return as_error_set(AS_EINVAL, "continuous is not supported");
    if ((kt == MET_LABEL_STR) != (kp == MET_LABEL_STR))
        return as_error_set(AS_EINVAL, "Mix of label input types (string and number)");
    kind = kt == MET_LABEL_STR ? MET_LABEL_STR
           : (kt == MET_LABEL_FLOAT || kp == MET_LABEL_FLOAT) ? MET_LABEL_FLOAT
           : (kt == MET_LABEL_INT || kp == MET_LABEL_INT) ? MET_LABEL_INT
                                                           : MET_LABEL_BOOL;
    fs.kind = kind;

    /* The union of the converted labels, sorted and deduplicated. A raw
     * label used on both sides converts the same way on each (both sides
     * are str, or both numeric and numeric conversion only widens). */
    for (i = 0; i < c->nraw; i++) {
        met_label a = raw_as_label(c, &c->raw[i]), v;
        char *text;
        if (c->raw[i].in_true) {
            if ((rc = convert(&a, kt == MET_LABEL_STR ? MET_LABEL_STR : kind, &v, &text)) < 0 ||
                (rc = finals_push(&fs, &v, text)) < 0)
                goto out;
        }
        if (c->raw[i].in_pred && !c->raw[i].in_true) {
            if ((rc = convert(&a, kind, &v, &text)) < 0 || (rc = finals_push(&fs, &v, text)) < 0)
                goto out;
        }
    }
    qsort(fs.f, fs.n, sizeof(fs.f[0]),
          kind == MET_LABEL_STR ? final_cmp_str : kind == MET_LABEL_FLOAT ? final_cmp_float
                                                                           : final_cmp_int);
    for (i = 0, j = 0; i < fs.n; i++) {
        if (j > 0 && label_cmp_kind(kind, &fs.f[i].v, &fs.f[j - 1].v) == 0) {
            free(fs.f[i].text);
            continue;
        }
        fs.f[j++] = fs.f[i];
    }
    fs.n = j;
    npresent = fs.n;
    for (i = 0; i < fs.n; i++)
        fs.f[i].present = 1;
    target_binary = npresent <= 2;

    /* Explicit labels absent from the data are added (zero counts). */
    nsel = opts->labels ? opts->nlabels : npresent;
    if ((sel = calloc(nsel ? nsel : 1, sizeof(*sel))) == NULL) {
        rc = oom();
        goto out;
    }
    for (i = 0; i < nsel; i++) {
        if (opts->labels == NULL) {
            sel[i] = (long)i;
            continue;
        }
        {
            met_label v;
            char *text;
            long at;
            if ((opts->labels[i].kind == MET_LABEL_STR) != (kind == MET_LABEL_STR)) {
                char buf[128];
                met_label_str(&opts->labels[i], buf, sizeof(buf));
                rc = as_error_set(AS_EINVAL, "labels: %s is a %s but the data's labels are %s",
                                  buf, kind == MET_LABEL_STR ? "number" : "string",
                                  kind == MET_LABEL_STR ? "strings" : "numbers");
                goto out;
            }
            if ((rc = convert(&opts->labels[i], kind, &v, &text)) < 0)
                goto out;
            if (v.kind == MET_LABEL_STR && text == NULL) {
                if ((text = malloc(v.len + 1)) == NULL) {
                    rc = oom();
                    goto out;
                }
                memcpy(text, v.s, v.len);
                text[v.len] = '\0';
                v.s = text;
            }
            if ((at = finals_find(&fs, &v)) < 0) {
                /* Keep fs sorted for lookups: insert in place. */
                size_t pos = 0;
                while (pos < fs.n && label_cmp_kind(kind, &fs.f[pos].v, &v) < 0)
                    pos++;
                if ((rc = finals_push(&fs, &v, text)) < 0)
                    goto out;
                memmove(&fs.f[pos + 1], &fs.f[pos], (fs.n - 1 - pos) * sizeof(fs.f[0]));
                fs.f[pos].v = v;
                fs.f[pos].text = text;
                fs.f[pos].present = 0;
                for (j = 0; j < i; j++)
                    if (sel[j] >= (long)pos)
                        sel[j]++;
                at = (long)pos;
            } else {
                free(text);
            }
            sel[i] = at;
        }
    }

    /* Raw id -> final index per side, then the full confusion matrix. */
    tmap = calloc(c->nraw ? c->nraw : 1, sizeof(*tmap));
    pmap = calloc(c->nraw ? c->nraw : 1, sizeof(*pmap));
    cm = calloc(fs.n ? fs.n * fs.n : 1, sizeof(*cm));
    tps = calloc(fs.n + 1, sizeof(*tps));
    pred_sum = calloc(fs.n + 1, sizeof(*pred_sum));
    true_sum = calloc(fs.n + 1, sizeof(*true_sum));
    scratch = calloc(2 * (nsel + 1), sizeof(*scratch));
    r = calloc(1, sizeof(*r));
    if (!tmap || !pmap || !cm || !tps || !pred_sum || !true_sum || !scratch || !r) {
        rc = oom();
        goto out;
    }
    for (i = 0; i < c->nraw; i++) {
        met_label a = raw_as_label(c, &c->raw[i]), v;
        char *text;
        if (c->raw[i].in_true) {
            if ((rc = convert(&a, kind, &v, &text)) < 0)
                goto out;
            tmap[i] = (uint32_t)finals_find(&fs, &v);
            free(text);
        }
        if (c->raw[i].in_pred) {
            if ((rc = convert(&a, kind, &v, &text)) < 0)
                goto out;
            pmap[i] = (uint32_t)finals_find(&fs, &v);
            free(text);
        }
    }
    for (i = 0; i <= c->pmask; i++) {
        const pair_slot *s = &c->pairs[i];
        if (s->t)
            cm[(size_t)tmap[s->t - 1] * fs.n + pmap[s->p - 1]] += s->count;
    }
    r->total = c->total;
    for (i = 0; i < fs.n; i++) {
        tps[i] = cm[i * fs.n + i];
        for (j = 0; j < fs.n; j++) {
            true_sum[i] += cm[i * fs.n + j];
            pred_sum[j] += cm[i * fs.n + j];
        }
    }
    {
        int64_t correct = 0;
        for (i = 0; i < fs.n; i++)
            correct += tps[i];
        r->accuracy = (double)correct / (double)c->total;
    }

    /* Per selected label, and the averages. */
    r->n = nsel;
    r->kind = kind;
    r->labels = calloc(nsel ? nsel : 1, sizeof(*r->labels));
    r->names = calloc(nsel ? nsel : 1, sizeof(*r->names));
    r->precision = calloc(nsel + 1, sizeof(double));
    r->recall = calloc(nsel + 1, sizeof(double));
    r->f1 = calloc(nsel + 1, sizeof(double));
    r->support = calloc(nsel + 1, sizeof(int64_t));
    r->confusion = calloc(nsel ? nsel * nsel : 1, sizeof(int64_t));
    if (!r->labels || !r->names || !r->precision || !r->recall || !r->f1 || !r->support ||
        !r->confusion) {
        rc = oom();
        goto out;
    }
    {
        int64_t stp = 0, sps = 0, sts = 0;
        for (i = 0; i < nsel; i++) {
            size_t k = (size_t)sel[i];
            char name[256];
            r->labels[i] = fs.f[k].v;
            if (fs.f[k].v.kind == MET_LABEL_STR) {
                char *copy = malloc(fs.f[k].v.len + 1);
                if (copy == NULL) {
                    rc = oom();
                    goto out;
                }
                memcpy(copy, fs.f[k].v.s, fs.f[k].v.len);
                copy[fs.f[k].v.len] = '\0';
                r->labels[i].s = copy;
            }
            if (fs.f[k].v.kind == MET_LABEL_STR) {
                r->names[i] = strdup(r->labels[i].s);
            } else {
                met_label_str(&fs.f[k].v, name, sizeof(name));
                r->names[i] = strdup(name);
            }
            if (r->names[i] == NULL) {
                rc = oom();
                goto out;
            }
            one_label(tps[k], pred_sum[k], true_sum[k], opts->zero_division, &r->precision[i],
                      &r->recall[i], &r->f1[i]);
            r->support[i] = true_sum[k];
            stp += tps[k];
            sps += pred_sum[k];
            sts += true_sum[k];
            for (j = 0; j < nsel; j++)
                r->confusion[i * nsel + j] = cm[k * fs.n + (size_t)sel[j]];
        }
        one_label(stp, sps, sts, opts->zero_division, &r->micro.precision, &r->micro.recall,
                  &r->micro.f1);
        r->micro.support = r->macro.support = r->weighted.support = sts;
        r->macro.precision = nanaverage(r->precision, NULL, nsel, scratch);
        r->macro.recall = nanaverage(r->recall, NULL, nsel, scratch);
        r->macro.f1 = nanaverage(r->f1, NULL, nsel, scratch);
        r->weighted.precision = nanaverage(r->precision, r->support, nsel, scratch);
        r->weighted.recall = nanaverage(r->recall, r->support, nsel, scratch);
        r->weighted.f1 = nanaverage(r->f1, r->support, nsel, scratch);
    }
    r->target_binary = target_binary;
    /* classification_report's micro_is_accuracy: no labels given, or the
     * given set equals the present set. */
    r->report_accuracy = 1;
    if (opts->labels) {
        size_t distinct = 0;
        for (i = 0; i < nsel; i++) {
            int dup = 0;
            for (j = 0; j < i; j++)
                dup |= sel[j] == sel[i];
            if (!fs.f[sel[i]].present)
                r->report_accuracy = 0;
            distinct += !dup;
        }
        if (distinct != npresent)
            r->report_accuracy = 0;
    }

    /* The binary average: the pos_label row, one-vs-rest over the data. */
    if (!target_binary) {
        snprintf(r->binary_error, sizeof(r->binary_error),
                 "Target is multiclass but average='binary'. Please choose another average "
                 "setting, one of [None, 'micro', 'macro', 'weighted'].");
    } else {
        const met_label *pos = opts->pos_label ? opts->pos_label : &one;
        long at = -1;
        if ((pos->kind == MET_LABEL_STR) == (kind == MET_LABEL_STR)) {
            met_label v;
            char *text;
            if ((rc = convert(pos, kind == MET_LABEL_STR ? MET_LABEL_STR
                                   : pos->kind == MET_LABEL_FLOAT ? MET_LABEL_FLOAT : kind,
                              &v, &text)) < 0)
                goto out;
            if (kind != MET_LABEL_STR && v.kind != kind) {
                /* A float pos_label against int labels: compare values. */
                for (i = 0; i < fs.n; i++) {
                    double lv = kind == MET_LABEL_FLOAT ? fs.f[i].v.d : (double)fs.f[i].v.i;
                    if (lv == v.d)
                        at = (long)i;
                }
            } else {
                at = finals_find(&fs, &v);
            }
            free(text);
            /* Only labels present in the data count as present. */
            if (at >= 0 && !fs.f[at].present)
                at = -1;
        }
        if (at < 0 && npresent >= 2) {
            char pbuf[256], list[1024];
            size_t used = 0;
            met_label_str(pos, pbuf, sizeof(pbuf));
            list[used++] = '[';
            list[used] = '\0';
            for (i = 0, j = 0; i < fs.n && used + 4 < sizeof(list); i++) {
                char item[256];
                if (!fs.f[i].present)
                    continue;
                label_repr(&fs.f[i].v, item, sizeof(item));
                used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                         j++ ? ", " : "", item);
            }
            if (used + 2 > sizeof(list))
                used = sizeof(list) - 2;
            list[used++] = ']';
            list[used] = '\0';
            snprintf(r->binary_error, sizeof(r->binary_error),
                     "pos_label=%s is not a valid label. It should be one of %s", pbuf, list);
        } else {
            r->has_binary = 1;
            if (at >= 0) {
                one_label(tps[at], pred_sum[at], true_sum[at], opts->zero_division,
                          &r->binary.precision, &r->binary.recall, &r->binary.f1);
                r->binary.support = true_sum[at];
            } else {
                one_label(0, 0, 0, opts->zero_division, &r->binary.precision, &r->binary.recall,
                          &r->binary.f1);
            }
        }
    }
    *out = r;
    r = NULL;
out:
    met_cls_result_free(r);
    finals_free(&fs);
    free(sel);
    free(tmap);
    free(pmap);
    free(cm);
    free(tps);
    free(pred_sum);
    free(true_sum);
    free(scratch);
    return rc;
}
