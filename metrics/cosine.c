/* Vector and TF-IDF cosine similarity; see cosine.h. */
#include "metrics/cosine.h"
#include "metrics/text.h"
#include "metrics/vocab.h"
#include "common/error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double met_cosine(const double *a, const double *b, size_t n)
{
    double dot = 0, na = 0, nb = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    /* scikit-learn divides each row by its norm first: a zero norm leaves
     * the zeros, a norm that overflows turns the row into zeros */
    if (!(na > 0 && na <= DBL_MAX) || !(nb > 0 && nb <= DBL_MAX))
        return 0.0;
    return dot / (sqrt(na) * sqrt(nb));
}

typedef struct term {
    uint32_t id, count;
} term;

typedef struct doc {
    size_t first, n;        /* its distinct terms in t->terms, sorted by id */
    double norm;
} doc;

struct met_tfidf {
    met_vocab v;
    term *terms;
    size_t nterms, terms_cap;
    doc *docs;
    size_t ndocs, docs_cap;
    double *idf;
    size_t idf_cap;
    int fitted;
    met_toks toks;
    uint32_t *ids;
    size_t ids_cap;
};

int met_tfidf_new(met_tfidf **out)
{
    met_tfidf *t = calloc(1, sizeof(*t));

    *out = NULL;
    if (t == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    met_toks_init(&t->toks);
    *out = t;
    return 0;
}

void met_tfidf_free(met_tfidf *t)
{
    if (t == NULL)
        return;
    met_vocab_free(&t->v);
    met_toks_free(&t->toks);
    free(t->terms);
    free(t->docs);
    free(t->idf);
    free(t->ids);
    free(t);
}

void met_tfidf_reset(met_tfidf *t)
{
    met_vocab_clear(&t->v);
    t->nterms = 0;
    t->ndocs = 0;
    t->fitted = 0;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

    return a < b ? -1 : a > b;
}

int met_tfidf_add(met_tfidf *t, const char *text, size_t len, size_t *out)
{
    doc *d;
    size_t i;
    int rc;

    if (t->fitted)
        return as_error_set(AS_EINVAL, "TF-IDF: documents added after fitting");
    if ((rc = met_rouge_tokenize(&t->toks, text, len, 0)) < 0)
        return rc;
    if (met_reserve(&t->ids, &t->ids_cap, t->toks.n + 1, sizeof(uint32_t)) < 0 ||
        met_reserve(&t->docs, &t->docs_cap, t->ndocs + 1, sizeof(doc)) < 0 ||
        met_reserve(&t->terms, &t->terms_cap, t->nterms + t->toks.n + 1, sizeof(term)) < 0)
        return AS_ENOMEM;
    for (i = 0; i < t->toks.n; i++) {
        const char *s = met_toks_at(&t->toks, i);
        if ((t->ids[i] = met_vocab_id(&t->v, s, strlen(s))) == MET_NO_ID)
            return AS_ENOMEM;
    }
    qsort(t->ids, t->toks.n, sizeof(uint32_t), cmp_u32);
    d = &t->docs[t->ndocs];
    d->first = t->nterms;
    d->n = 0;
    d->norm = 0;
    for (i = 0; i < t->toks.n; i++) {
        if (d->n > 0 && t->terms[t->nterms - 1].id == t->ids[i]) {
            t->terms[t->nterms - 1].count++;
            continue;
        }
        t->terms[t->nterms].id = t->ids[i];
        t->terms[t->nterms].count = 1;
        t->nterms++;
        d->n++;
    }
    *out = t->ndocs++;
    return 0;
}

int met_tfidf_fit(met_tfidf *t)
{
    size_t i, k;
    double *df;

    if (t->v.n == 0)
        return as_error_set(AS_EINVAL, "empty vocabulary; perhaps the documents only contain "
                                       "stop words");
    if (met_reserve(&t->idf, &t->idf_cap, t->v.n, sizeof(double)) < 0)
        return AS_ENOMEM;
    df = t->idf;
    memset(df, 0, t->v.n * sizeof(double));
    for (i = 0; i < t->nterms; i++)
        df[t->terms[i].id] += 1;
    for (i = 0; i < t->v.n; i++)
        t->idf[i] = log((double)(t->ndocs + 1) / (df[i] + 1)) + 1;
    for (k = 0; k < t->ndocs; k++) {
        doc *d = &t->docs[k];
        double ss = 0;
        for (i = d->first; i < d->first + d->n; i++) {
            double w = t->terms[i].count * t->idf[t->terms[i].id];
            ss += w * w;
        }
        d->norm = sqrt(ss);
    }
    t->fitted = 1;
    return 0;
}

int met_tfidf_cosine(const met_tfidf *t, size_t a, size_t b, double *out)
{
    const doc *da, *db;
    size_t i, j;
    double dot = 0;

    if (!t->fitted)
        return as_error_set(AS_EINVAL, "TF-IDF: not fitted");
    if (a >= t->ndocs || b >= t->ndocs)
        return as_error_set(AS_EINVAL, "TF-IDF: no such document");
    da = &t->docs[a];
    db = &t->docs[b];
    *out = 0.0;
    if (da->norm == 0 || db->norm == 0)
        return 0;
    i = da->first;
    j = db->first;
    while (i < da->first + da->n && j < db->first + db->n) {
        uint32_t x = t->terms[i].id, y = t->terms[j].id;
        if (x == y) {
            double idf = t->idf[x];
            dot += (t->terms[i].count * idf / da->norm) * (t->terms[j].count * idf / db->norm);
            i++;
            j++;
        } else if (x < y) {
            i++;
        } else {
            j++;
        }
    }
    *out = dot;
    return 0;
}
