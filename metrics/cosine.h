/* Cosine similarity: of two vectors (double accumulation; a zero vector,
 * or one whose squared norm overflows, gives 0, as scikit-learn's
 * cosine_similarity does), and of texts over
 * TF-IDF vectors defined exactly as scikit-learn's
 * TfidfVectorizer(tokenizer=<rouge_score's tokenizer, no stemming>,
 * lowercase=False, smooth_idf=True, sublinear_tf=False, norm="l2") fitted
 * on every document of one call: idf = ln((1 + n) / (1 + df)) + 1, raw term
 * counts times idf, rows L2-normalized. */
#ifndef MET_COSINE_H
#define MET_COSINE_H

#include <stddef.h>

/* dot(a, b) / (|a| |b|) over n elements; 0 when either is all zeros or
 * its squared norm overflows (scikit-learn's normalized row is then all
 * zeros), never NaN. */
double met_cosine(const double *a, const double *b, size_t n);

typedef struct met_tfidf met_tfidf;

int met_tfidf_new(met_tfidf **out);     /* caller frees with met_tfidf_free */
void met_tfidf_free(met_tfidf *t);
/* Forget every document and the fit, keeping the memory for reuse. */
void met_tfidf_reset(met_tfidf *t);
/* Add a document (before met_tfidf_fit); *doc is its index. */
int met_tfidf_add(met_tfidf *t, const char *text, size_t len, size_t *doc);
/* Compute the idf weights and document norms. With no token in any
 * document this fails as scikit-learn does: AS_EINVAL "empty vocabulary;
 * perhaps the documents only contain stop words". */
int met_tfidf_fit(met_tfidf *t);
/* Cosine of documents a and b (after met_tfidf_fit); 0 for a document
 * without tokens. */
int met_tfidf_cosine(const met_tfidf *t, size_t a, size_t b, double *out);

#endif
