/* ROUGE-N, ROUGE-L and ROUGE-Lsum as rouge_score 0.1.2; see rouge.h.
 *
 * Texts are tokenized once into integer ids from a vocabulary the scorer
 * keeps between calls (with each token's stem cached by id), so n-grams,
 * LCS and the Lsum token multisets compare integers. Integer counts divided
 * as doubles and F = 2*p*r/(p+r) give rouge_score's values bit for bit. */
#include "metrics/rouge.h"
#include "metrics/text.h"
#include "metrics/vocab.h"
#include "common/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct idtext {
    uint32_t *ids;          /* token ids in order */
    uint32_t *line;         /* line number of each token (for Lsum) */
    size_t n, cap;
} idtext;

typedef struct ngram_slot {
    uint64_t hash;
    uint32_t gen, pos, count;
} ngram_slot;

struct met_rouge {
    int stem;
    met_vocab v;
    idtext ref, pred;
    ngram_slot *ng;
    size_t ng_cap;
    uint32_t ng_gen;
    uint32_t *dp;           /* LCS tables */
    size_t dp_cap;
    uint32_t *cnt_r, *cnt_c;    /* per-id counts for Lsum (vocab-sized) */
    size_t cnt_cap;
    uint64_t *bits;         /* bit-parallel LCS: V and the match masks */
    size_t bits_cap;
    unsigned char *hit;     /* union of LCS indices of one reference sentence */
    size_t hit_cap;
    char *tok;              /* the current token (grown for long ones) */
    size_t tok_cap;
    char *stem_buf;
    size_t stem_cap;
};

static int oom(void)
{
    return as_error_set(AS_ENOMEM, "out of memory");
}

int met_rouge_new(met_rouge **out, int stem)
{
    met_rouge *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r == NULL)
        return oom();
    r->stem = stem;
    *out = r;
    return 0;
}

void met_rouge_free(met_rouge *r)
{
    if (r == NULL)
        return;
    met_vocab_free(&r->v);
    free(r->ref.ids);
    free(r->ref.line);
    free(r->pred.ids);
    free(r->pred.line);
    free(r->ng);
    free(r->dp);
    free(r->cnt_r);
    free(r->cnt_c);
    free(r->bits);
    free(r->hit);
    free(r->tok);
    free(r->stem_buf);
    free(r);
}

int met_rouge_type_parse(const char *name, int *type)
{
    if (strcmp(name, "rougeL") == 0) {
        *type = MET_ROUGE_L;
        return 0;
    }
    if (strcmp(name, "rougeLsum") == 0) {
        *type = MET_ROUGE_LSUM;
        return 0;
    }
    if (strncmp(name, "rouge", 5) == 0 && name[5] >= '0' && name[5] <= '9' && name[6] == '\0') {
        if (name[5] == '0')
            return as_error_set(AS_EINVAL, "rougen requires positive n: %s", name);
        *type = name[5] - '0';
        return 0;
    }
    return as_error_set(AS_EINVAL, "Invalid rouge type: %s", name);
}

const char *met_rouge_type_name(int type)
{
    static const char *const names[] = {"rouge0", "rouge1", "rouge2", "rouge3",
                                        "rouge4", "rouge5", "rouge6", "rouge7",
                                        "rouge8", "rouge9", "rougeL", "rougeLsum"};

    return type >= 0 && type <= MET_ROUGE_LSUM ? names[type] : "?";
}

/* Tokenize s into ids (and line numbers) in *t. */
static int text_ids(met_rouge *r, idtext *t, const char *s, size_t len)
{
    size_t pos = 0, start, n, scanned = 0;
    uint32_t line = 0;

    t->n = 0;
    if (r->tok == NULL && met_reserve(&r->tok, &r->tok_cap, 256, 1) < 0)
        return AS_ENOMEM;
    while ((n = met_rouge_next_token(s, len, &pos, &start, r->tok, r->tok_cap)) > 0) {
        uint32_t id;
        const char *nl;

        if (n > r->tok_cap) {
            size_t p2 = start;
            if (met_reserve(&r->tok, &r->tok_cap, n, 1) < 0)
                return AS_ENOMEM;
            met_rouge_next_token(s, len, &p2, &start, r->tok, r->tok_cap);
        }
        while (scanned < start && (nl = memchr(s + scanned, '\n', start - scanned)) != NULL) {
            line++;
            scanned = (size_t)(nl - s) + 1;
        }
        scanned = start;
        if ((id = met_vocab_id(&r->v, r->tok, n)) == MET_NO_ID)
            return AS_ENOMEM;
        if (r->stem && n > 3) {
            if (r->v.aux[id] == MET_NO_ID) {
                size_t m;
                uint32_t sid;
                if (met_reserve(&r->stem_buf, &r->stem_cap, n + 1, 1) < 0)
                    return AS_ENOMEM;
                m = met_porter_stem(r->tok, n, r->stem_buf);
                if ((sid = met_vocab_id(&r->v, r->stem_buf, m)) == MET_NO_ID)
                    return AS_ENOMEM;
                r->v.aux[id] = sid;
            }
            id = r->v.aux[id];
        }
        if (t->n == t->cap) {
            size_t c1 = t->cap, c2 = t->cap;
            if (met_reserve(&t->ids, &c1, t->n + 1, sizeof(uint32_t)) < 0 ||
                met_reserve(&t->line, &c2, t->n + 1, sizeof(uint32_t)) < 0)
                return AS_ENOMEM;
            t->cap = c1 < c2 ? c1 : c2;
        }
        t->ids[t->n] = id;
        t->line[t->n] = line;
        t->n++;
    }
    return 0;
}

static void set_prf(met_prf *o, size_t hits, size_t pred_units, size_t ref_units)
{
    double p = (double)hits / (double)(pred_units > 0 ? pred_units : 1);
    double rc = (double)hits / (double)(ref_units > 0 ? ref_units : 1);

    o->precision = p;
    o->recall = rc;
    o->fmeasure = p + rc > 0 ? 2.0 * p * rc / (p + rc) : 0.0;
}

/* Make the per-id arrays cnt_r and cnt_c cover every id (zeroed). Users
 * leave them all zero again when done. */
static int id_arrays(met_rouge *r)
{
    size_t nv = r->v.n, c1 = r->cnt_cap, c2 = r->cnt_cap;

    if (nv <= r->cnt_cap)
        return 0;
    if (met_reserve(&r->cnt_r, &c1, nv, sizeof(uint32_t)) < 0 ||
        met_reserve(&r->cnt_c, &c2, nv, sizeof(uint32_t)) < 0)
        return AS_ENOMEM;
    memset(r->cnt_r + r->cnt_cap, 0, (c1 - r->cnt_cap) * sizeof(uint32_t));
    memset(r->cnt_c + r->cnt_cap, 0, (c2 - r->cnt_cap) * sizeof(uint32_t));
    r->cnt_cap = c1 < c2 ? c1 : c2;
    return 0;
}

static uint64_t ngram_hash(const uint32_t *ids, int n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    int i;

    for (i = 0; i < n; i++) {
        h ^= ids[i];
        h *= 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    return h;
}

/* ROUGE-N: clipped n-gram overlap of pred against ref. */
static int rouge_n(met_rouge *r, int n, met_prf *out)
{
    const uint32_t *T = r->ref.ids, *P = r->pred.ids;
    size_t nt = r->ref.n >= (size_t)n ? r->ref.n - (size_t)n + 1 : 0;
    size_t np = r->pred.n >= (size_t)n ? r->pred.n - (size_t)n + 1 : 0;
    size_t i, size = 16, mask, hits = 0;

    if (nt == 0 || np == 0) {
        set_prf(out, 0, np, nt);
        return 0;
    }
    if (n == 1) {
        /* Unigrams: clip with per-id counts, no hashing. */
        if (id_arrays(r) < 0)
            return AS_ENOMEM;
        for (i = 0; i < nt; i++)
            r->cnt_r[T[i]]++;
        for (i = 0; i < np; i++) {
            if (r->cnt_r[P[i]] > 0) {
                r->cnt_r[P[i]]--;
                hits++;
            }
        }
        for (i = 0; i < nt; i++)
            r->cnt_r[T[i]] = 0;
        set_prf(out, hits, np, nt);
        return 0;
    }
    while (size < nt * 2)
        size *= 2;
    if (size > r->ng_cap) {
        ngram_slot *p = calloc(size, sizeof(*p));
        if (p == NULL)
            return oom();
        free(r->ng);
        r->ng = p;
        r->ng_cap = size;
        r->ng_gen = 0;
    }
    size = r->ng_cap;
    mask = size - 1;
    if (++r->ng_gen == 0) {
        memset(r->ng, 0, size * sizeof(*r->ng));
        r->ng_gen = 1;
    }
    for (i = 0; i < nt; i++) {
        uint64_t h = ngram_hash(T + i, n);
        size_t j = (size_t)h & mask;
        for (;; j = (j + 1) & mask) {
            ngram_slot *s = &r->ng[j];
            if (s->gen != r->ng_gen) {
                s->gen = r->ng_gen;
                s->hash = h;
                s->pos = (uint32_t)i;
                s->count = 1;
                break;
            }
            if (s->hash == h && memcmp(T + s->pos, T + i, (size_t)n * sizeof(*T)) == 0) {
                s->count++;
                break;
            }
        }
    }
    for (i = 0; i < np; i++) {
        uint64_t h = ngram_hash(P + i, n);
        size_t j = (size_t)h & mask;
        for (;; j = (j + 1) & mask) {
            ngram_slot *s = &r->ng[j];
            if (s->gen != r->ng_gen)
                break;
            if (s->hash == h && memcmp(T + s->pos, P + i, (size_t)n * sizeof(*T)) == 0) {
                if (s->count > 0) {
                    s->count--;
                    hits++;
                }
                break;
            }
        }
    }
    set_prf(out, hits, np, nt);
    return 0;
}

/* LCS length of a[0..na) and b[0..nb), bit-parallel (Crochemore et al.
 * 2001): one bit per position of the shorter sequence a, V starts all ones
 * and for each token of b with match mask M, V = (V + (V & M)) | (V & ~M)
 * (multi-word addition with carry); the LCS length is the number of zero
 * bits. The match masks are indexed through cnt_r (mask index + 1). */
static int lcs_len(met_rouge *r, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                   size_t *out)
{
    size_t words, i, j, nmask = 0, zeros = 0;
    uint64_t *V, *M;

    if (nb < na) {
        const uint32_t *t = a;
        size_t tn = na;
        a = b;
        na = nb;
        b = t;
        nb = tn;
    }
    words = (na + 63) / 64;
    if (id_arrays(r) < 0 ||
        met_reserve(&r->bits, &r->bits_cap, words * (na + 1), sizeof(uint64_t)) < 0)
        return AS_ENOMEM;
    V = r->bits;
    M = r->bits + words;
    for (i = 0; i < na; i++) {
        uint32_t k = r->cnt_r[a[i]];
        if (k == 0) {
            k = r->cnt_r[a[i]] = (uint32_t)++nmask;
            memset(M + (k - 1) * words, 0, words * sizeof(uint64_t));
        }
        M[(k - 1) * words + i / 64] |= (uint64_t)1 << (i % 64);
    }
    for (j = 0; j < words; j++)
        V[j] = ~(uint64_t)0;
    for (i = 0; i < nb; i++) {
        uint32_t k = b[i] < r->cnt_cap ? r->cnt_r[b[i]] : 0;
        const uint64_t *m;
        uint64_t carry = 0;
        if (k == 0)
            continue;
        m = M + (k - 1) * words;
        for (j = 0; j < words; j++) {
            uint64_t v = V[j], u = v & m[j], s1 = v + u, s2 = s1 + carry;
            carry = (s1 < v) | (s2 < s1);
            V[j] = s2 | (v & ~m[j]);
        }
    }
    for (j = 0; j < words; j++) {
        uint64_t v = V[j];
        if (j == words - 1 && na % 64)
            v |= ~(uint64_t)0 << (na % 64);     /* bits past the end count as ones */
        zeros += (size_t)(64 - __builtin_popcountll(v));
    }
    for (i = 0; i < na; i++)
        r->cnt_r[a[i]] = 0;
    *out = zeros;
    return 0;
}

static int rouge_l(met_rouge *r, met_prf *out)
{
    size_t l = 0;

    if (r->ref.n == 0 || r->pred.n == 0) {
        set_prf(out, 0, 0, 0);
        return 0;
    }
    if (lcs_len(r, r->ref.ids, r->ref.n, r->pred.ids, r->pred.n, &l) < 0)
        return AS_ENOMEM;
    set_prf(out, l, r->pred.n, r->ref.n);
    return 0;
}

/* Mark in r->hit the indices of x[0..nx) on one LCS with y, chosen by
 * rouge_score's _backtrack_norec: take a match whenever the tokens are
 * equal, move left in y only when strictly better, else move up in x. */
static int lcs_mark(met_rouge *r, const uint32_t *x, size_t nx, const uint32_t *y, size_t ny)
{
    size_t w = ny + 1, i, j;
    uint32_t *t;

    if (met_reserve(&r->dp, &r->dp_cap, (nx + 1) * w, sizeof(uint32_t)) < 0)
        return AS_ENOMEM;
    t = r->dp;
    memset(t, 0, w * sizeof(*t));
    for (i = 1; i <= nx; i++) {
        uint32_t *row = t + i * w, *up = row - w;
        row[0] = 0;
        for (j = 1; j <= ny; j++) {
            if (x[i - 1] == y[j - 1])
                row[j] = up[j - 1] + 1;
            else
                row[j] = up[j] > row[j - 1] ? up[j] : row[j - 1];
        }
    }
    i = nx;
    j = ny;
    while (i > 0 && j > 0) {
        if (x[i - 1] == y[j - 1]) {
            r->hit[i - 1] = 1;
            i--;
            j--;
        } else if (t[i * w + j - 1] > t[(i - 1) * w + j]) {
            j--;
        } else {
            i--;
        }
    }
    return 0;
}

static int rouge_lsum(met_rouge *r, met_prf *out)
{
    const idtext *R = &r->ref, *C = &r->pred;
    size_t hits = 0, a, b, i;

    if (R->n == 0 || C->n == 0) {
        set_prf(out, 0, 0, 0);
        return 0;
    }
    if (id_arrays(r) < 0)
        return AS_ENOMEM;
    for (i = 0; i < R->n; i++)
        r->cnt_r[R->ids[i]]++;
    for (i = 0; i < C->n; i++)
        r->cnt_c[C->ids[i]]++;
    /* Each reference sentence [a, b) against each candidate sentence. */
    for (a = 0; a < R->n; a = b) {
        size_t c, d, len;
        for (b = a; b < R->n && R->line[b] == R->line[a]; b++)
            ;
        len = b - a;
        if (met_reserve(&r->hit, &r->hit_cap, len, 1) < 0)
            goto nomem;
        memset(r->hit, 0, len);
        for (c = 0; c < C->n; c = d) {
            for (d = c; d < C->n && C->line[d] == C->line[c]; d++)
                ;
            if (lcs_mark(r, R->ids + a, len, C->ids + c, d - c) < 0)
                goto nomem;
        }
        for (i = 0; i < len; i++) {
            uint32_t tok = R->ids[a + i];
            if (r->hit[i] && r->cnt_c[tok] > 0 && r->cnt_r[tok] > 0) {
                hits++;
                r->cnt_c[tok]--;
                r->cnt_r[tok]--;
            }
        }
    }
    for (i = 0; i < R->n; i++)
        r->cnt_r[R->ids[i]] = 0;
    for (i = 0; i < C->n; i++)
        r->cnt_c[C->ids[i]] = 0;
    set_prf(out, hits, C->n, R->n);
    return 0;
nomem:
    for (i = 0; i < R->n; i++)
        r->cnt_r[R->ids[i]] = 0;
    for (i = 0; i < C->n; i++)
        r->cnt_c[C->ids[i]] = 0;
    return AS_ENOMEM;
}

static int check_types(const int *types, size_t ntypes)
{
    size_t i;

    for (i = 0; i < ntypes; i++)
        if (types[i] < 1 || types[i] > MET_ROUGE_LSUM)
            return as_error_set(AS_EINVAL, "invalid rouge type %d", types[i]);
    return 0;
}

/* Score the already tokenized r->ref and r->pred. */
static int score_ids(met_rouge *r, const int *types, size_t ntypes, met_prf *out)
{
    size_t i;
    int rc;

    for (i = 0; i < ntypes; i++) {
        if (types[i] == MET_ROUGE_L)
            rc = rouge_l(r, &out[i]);
        else if (types[i] == MET_ROUGE_LSUM)
            rc = rouge_lsum(r, &out[i]);
        else
            rc = rouge_n(r, types[i], &out[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int met_rouge_score(met_rouge *r, const char *ref, size_t ref_len, const char *pred,
                    size_t pred_len, const int *types, size_t ntypes, met_prf *out)
{
    int rc;

    if ((rc = check_types(types, ntypes)) < 0)
        return rc;
    met_vocab_bound(&r->v);
    if ((rc = text_ids(r, &r->ref, ref, ref_len)) < 0 ||
        (rc = text_ids(r, &r->pred, pred, pred_len)) < 0)
        return rc;
    return score_ids(r, types, ntypes, out);
}

int met_rouge_score_multi(met_rouge *r, const char *const *refs, const size_t *ref_lens,
                          size_t nrefs, const char *pred, size_t pred_len, const int *types,
                          size_t ntypes, met_prf *out)
{
    met_prf cur[MET_ROUGE_MAX_TYPES];
    size_t k, i;
    int rc;

    if ((rc = check_types(types, ntypes)) < 0)
        return rc;
    if (nrefs == 0)
        return as_error_set(AS_EINVAL, "score_multi needs at least one reference");
    if (ntypes > MET_ROUGE_MAX_TYPES)
        return as_error_set(AS_EINVAL, "at most %d rouge types", MET_ROUGE_MAX_TYPES);
    met_vocab_bound(&r->v);
    if ((rc = text_ids(r, &r->pred, pred, pred_len)) < 0)
        return rc;
    for (k = 0; k < nrefs; k++) {
        if ((rc = text_ids(r, &r->ref, refs[k], ref_lens[k])) < 0 ||
            (rc = score_ids(r, types, ntypes, cur)) < 0)
            return rc;
        for (i = 0; i < ntypes; i++)
            if (k == 0 || cur[i].fmeasure > out[i].fmeasure)
                out[i] = cur[i];
    }
    return 0;
}
