/* Batched ROUGE-L and cosine with a CPU/GPU choice; see batch.h. */
#include "metrics/batch.h"
#include "metrics/cosine.h"
#include "metrics/gpu/met_gpu.h"
#include "metrics/text.h"
#include "metrics/vocab.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int met_device_parse(const char *s, met_device *out)
{
    if (strcmp(s, "auto") == 0)
        *out = MET_DEVICE_AUTO;
    else if (strcmp(s, "cpu") == 0)
        *out = MET_DEVICE_CPU;
    else if (strcmp(s, "gpu") == 0)
        *out = MET_DEVICE_GPU;
    else
        return as_error_set(AS_EINVAL, "device must be cpu, gpu or auto, not '%s'", s);
    return 0;
}

const char *met_device_name(met_device d)
{
    return d == MET_DEVICE_CPU ? "cpu" : d == MET_DEVICE_GPU ? "gpu" : "auto";
}

int met_gpu_usable(char *why, size_t size)
{
#ifdef ASSAY_HAVE_CUDA
    return met_gpu_available(why, size);
#else
    snprintf(why, size, "assay was built without CUDA");
    return 0;
#endif
}

/* ---- sequences ---- */

void met_seqs_init(met_seqs *s)
{
    memset(s, 0, sizeof(*s));
}

void met_seqs_free(met_seqs *s)
{
    free(s->ids);
    free(s->off);
    met_seqs_init(s);
}

/* Room for one more sequence of n ids; the first call sets off[0] = 0. */
static int seqs_grow(met_seqs *s, size_t n)
{
    size_t used = s->n > 0 ? (size_t)s->off[s->n] : 0;

    if (met_reserve(&s->off, &s->off_cap, s->n + 2, sizeof(uint64_t)) < 0 ||
        met_reserve(&s->ids, &s->ids_cap, used + n + 1, sizeof(uint32_t)) < 0)
        return AS_ENOMEM;
    if (s->n == 0)
        s->off[0] = 0;
    return 0;
}

int met_seqs_push(met_seqs *s, const uint32_t *ids, size_t n)
{
    if (seqs_grow(s, n) < 0)
        return AS_ENOMEM;
    if (n > 0)
        memcpy(s->ids + s->off[s->n], ids, n * sizeof(uint32_t));
    s->off[s->n + 1] = s->off[s->n] + n;
    s->n++;
    return 0;
}

/* ---- interner ---- */

struct met_interner {
    int stem;
    met_vocab v;
    met_toks toks;
};

int met_interner_new(met_interner **out, int stem)
{
    met_interner *t = calloc(1, sizeof(*t));

    *out = NULL;
    if (t == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    t->stem = stem;
    met_toks_init(&t->toks);
    *out = t;
    return 0;
}

void met_interner_free(met_interner *t)
{
    if (t == NULL)
        return;
    met_vocab_free(&t->v);
    met_toks_free(&t->toks);
    free(t);
}

int met_interner_add(met_interner *t, met_seqs *s, const char *text, size_t len)
{
    size_t i;
    uint32_t *dst;
    int rc;

    if ((rc = met_rouge_tokenize(&t->toks, text, len, t->stem)) < 0 ||
        (rc = seqs_grow(s, t->toks.n)) < 0)
        return rc;
    dst = s->ids + s->off[s->n];
    for (i = 0; i < t->toks.n; i++) {
        const char *tok = met_toks_at(&t->toks, i);
        if ((dst[i] = met_vocab_id(&t->v, tok, strlen(tok))) == MET_NO_ID)
            return AS_ENOMEM;
    }
    s->off[s->n + 1] = s->off[s->n] + t->toks.n;
    s->n++;
    return 0;
}

/* ---- CPU LCS ---- */

/* The match masks of the shorter sequence: an open-addressing table from
 * token id to mask index (slots valid when their generation is current). */
typedef struct lcs_slot {
    uint32_t id, gen, mask;
} lcs_slot;

struct met_lcs_scratch {
    lcs_slot *tab;
    size_t tab_cap; /* a power of two */
    uint32_t gen;
    uint64_t *bits; /* V, then one mask per distinct token */
    size_t bits_cap;
};

void met_lcs_scratch_free(met_lcs_scratch *s)
{
    if (s == NULL)
        return;
    free(s->tab);
    free(s->bits);
    free(s);
}

static size_t slot_of(const met_lcs_scratch *s, uint32_t id)
{
    size_t mask = s->tab_cap - 1, j = (size_t)((id * 0x9E3779B1u) & mask);

    while (s->tab[j].gen == s->gen && s->tab[j].id != id)
        j = (j + 1) & mask;
    return j;
}

int met_lcs(met_lcs_scratch **scratch, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
            uint32_t *out)
{
    met_lcs_scratch *s = *scratch;
    size_t words, i, j, need = 16, nmask = 0, zeros = 0;
    uint64_t *V, *M;

    if (nb < na) {
        const uint32_t *t = a;
        size_t tn = na;
        a = b;
        na = nb;
        b = t;
        nb = tn;
    }
    *out = 0;
    if (na == 0)
        return 0;
    if (s == NULL && (s = *scratch = calloc(1, sizeof(*s))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    while (need < na * 2)
        need *= 2;
    if (need > s->tab_cap) {
        lcs_slot *t = calloc(need, sizeof(*t));
        if (t == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        free(s->tab);
        s->tab = t;
        s->tab_cap = need;
        s->gen = 0;
    }
    if (++s->gen == 0) {
        memset(s->tab, 0, s->tab_cap * sizeof(*s->tab));
        s->gen = 1;
    }
    words = (na + 63) / 64;
    if (met_reserve(&s->bits, &s->bits_cap, words * (na + 1), sizeof(uint64_t)) < 0)
        return AS_ENOMEM;
    V = s->bits;
    M = s->bits + words;
    for (i = 0; i < na; i++) {
        lcs_slot *e = &s->tab[slot_of(s, a[i])];
        if (e->gen != s->gen) {
            e->gen = s->gen;
            e->id = a[i];
            e->mask = (uint32_t)nmask++;
            memset(M + (size_t)e->mask * words, 0, words * sizeof(uint64_t));
        }
        M[(size_t)e->mask * words + i / 64] |= (uint64_t)1 << (i % 64);
    }
    for (j = 0; j < words; j++)
        V[j] = ~(uint64_t)0;
    for (i = 0; i < nb; i++) {
        const lcs_slot *e = &s->tab[slot_of(s, b[i])];
        const uint64_t *m;
        uint64_t carry = 0;
        if (e->gen != s->gen)
            continue; /* matches nowhere: V unchanged */
        m = M + (size_t)e->mask * words;
        for (j = 0; j < words; j++) {
            uint64_t v = V[j], u = v & m[j], s1 = v + u, s2 = s1 + carry;
            carry = (s1 < v) | (s2 < s1);
            V[j] = s2 | (v & ~m[j]);
        }
    }
    for (j = 0; j < words; j++) {
        uint64_t v = V[j];
        if (j == words - 1 && na % 64)
            v |= ~(uint64_t)0 << (na % 64); /* bits past the end count as ones */
        zeros += (size_t)(64 - __builtin_popcountll(v));
    }
    *out = (uint32_t)zeros;
    return 0;
}

/* ---- dispatch ---- */

/* Resolve 'dev' for a batch of 'work' units against 'threshold'. */
static int choose(met_device dev, uint64_t work, uint64_t threshold, met_device *use)
{
    char why[160];

    *use = MET_DEVICE_CPU;
    if (dev == MET_DEVICE_CPU || (dev == MET_DEVICE_AUTO && work < threshold))
        return 0;
    if (!met_gpu_usable(why, sizeof(why))) {
        if (dev == MET_DEVICE_GPU)
            return as_error_set(AS_EUNSUPPORTED, "no usable GPU: %s", why);
        return 0;
    }
    *use = MET_DEVICE_GPU;
    return 0;
}

/* rouge.c's set_prf for ROUGE-L: the same double operations in the same
 * order, so the values are bit-identical to met_rouge_score's. */
static void lcs_prf(met_prf *o, uint32_t lcs, size_t npred, size_t nref)
{
    double p, r;

    if (npred == 0 || nref == 0) {
        o->precision = o->recall = o->fmeasure = 0.0;
        return;
    }
    p = (double)lcs / (double)npred;
    r = (double)lcs / (double)nref;
    o->precision = p;
    o->recall = r;
    o->fmeasure = p + r > 0 ? 2.0 * p * r / (p + r) : 0.0;
}

int met_batch_rouge_l(const met_seqs *refs, const met_seqs *preds, met_device dev, met_prf *out,
                      met_device *used)
{
    met_lcs_scratch *scr = NULL;
    uint32_t *lcs = NULL;
    uint64_t work = 0;
    met_device use;
    size_t i, n = refs->n;
    int rc = 0;

    if (used)
        *used = MET_DEVICE_CPU;
    if (preds->n != n)
        return as_error_set(AS_EINVAL, "ROUGE-L batch: %zu references and %zu predictions", n,
                            preds->n);
    for (i = 0; i < n; i++)
        work += (refs->off[i + 1] - refs->off[i]) * (preds->off[i + 1] - preds->off[i]);
    if ((rc = choose(dev, work, MET_BATCH_LCS_GPU_MIN, &use)) < 0)
        return rc;
    if (n == 0)
        return 0;
    if ((lcs = malloc(n * sizeof(*lcs))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
#ifdef ASSAY_HAVE_CUDA
    if (use == MET_DEVICE_GPU &&
        (rc = met_gpu_lcs(refs->ids, refs->off, preds->ids, preds->off, n, lcs, NULL)) < 0)
        goto out;
#endif
    for (i = 0; i < n; i++) {
        size_t nr = (size_t)(refs->off[i + 1] - refs->off[i]);
        size_t np = (size_t)(preds->off[i + 1] - preds->off[i]);
        if (use == MET_DEVICE_CPU || lcs[i] == MET_GPU_LCS_TOO_LONG) {
            if ((rc = met_lcs(&scr, refs->ids + refs->off[i], nr, preds->ids + preds->off[i], np,
                              &lcs[i])) < 0)
                goto out;
        }
        lcs_prf(&out[i], lcs[i], np, nr);
    }
    if (used)
        *used = use;
out:
    free(lcs);
    met_lcs_scratch_free(scr);
    return rc;
}

int met_batch_cosine(const double *a, const double *b, size_t n, size_t dim, met_device dev,
                     double *out, met_device *used)
{
    met_device use;
    size_t i;
    int rc;

    if (used)
        *used = MET_DEVICE_CPU;
    if (dim != 0 && n > SIZE_MAX / dim / sizeof(double))
        return as_error_set(AS_ETOOBIG, "cosine batch: %zu x %zu is too big", n, dim);
    if ((rc = choose(dev, (uint64_t)n * dim, MET_BATCH_COSINE_GPU_MIN, &use)) < 0)
        return rc;
#ifdef ASSAY_HAVE_CUDA
    if (use == MET_DEVICE_GPU) {
        if ((rc = met_gpu_cosine(a, b, n, dim, out, NULL)) < 0)
            return rc;
        if (used)
            *used = use;
        return 0;
    }
#endif
    for (i = 0; i < n; i++)
        out[i] = met_cosine(a + i * dim, b + i * dim, dim);
    return 0;
}
