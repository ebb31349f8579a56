/* Vector cosine and the TF-IDF text cosine, checked against values
 * worked out from scikit-learn's definitions. */
#include "tests/test.h"
#include "metrics/cosine.h"

static void cosine__vectors(void)
{
    double a[] = {1, 2, 3}, b[] = {4, 5, 6}, z[] = {0, 0, 0}, c[] = {-1, -2, -3};

    T_NEAR(met_cosine(a, b, 3), 32.0 / (sqrt(14.0) * sqrt(77.0)), 1e-15);
    T_NEAR(met_cosine(a, a, 3), 1.0, 1e-15);
    T_NEAR(met_cosine(a, c, 3), -1.0, 1e-15);
    T_NEAR(met_cosine(a, z, 3), 0.0, 0);        /* zero vector: 0, as scikit-learn */
    T_NEAR(met_cosine(a, b, 0), 0.0, 0);
}

/* docs: "a b", "a c", "a b b": n = 3, df(a) = 3, df(b) = 2, df(c) = 1.
 * idf = ln(4 / (df + 1)) + 1. */
static void cosine__tfidf_matches_sklearn_definition(void)
{
    met_tfidf *t;
    size_t d0, d1, d2, d3;
    double ia = log(4.0 / 4.0) + 1, ib = log(4.0 / 3.0) + 1, ic = log(4.0 / 2.0) + 1, got;

    T_OK(met_tfidf_new(&t));
    T_OK(met_tfidf_add(t, "A b", 3, &d0));
    T_OK(met_tfidf_add(t, "a, c!", 5, &d1));
    T_OK(met_tfidf_add(t, "a b b", 5, &d2));
    T_OK(met_tfidf_fit(t));
    T_OK(met_tfidf_cosine(t, d0, d1, &got));
    T_NEAR(got, ia * ia / (sqrt(ia * ia + ib * ib) * sqrt(ia * ia + ic * ic)), 1e-12);
    T_OK(met_tfidf_cosine(t, d0, d2, &got));
    T_NEAR(got, (ia * ia + 2 * ib * ib) / (sqrt(ia * ia + ib * ib) * sqrt(ia * ia + 4 * ib * ib)),
           1e-12);
    T_OK(met_tfidf_cosine(t, d0, d0, &got));
    T_NEAR(got, 1.0, 1e-12);
    T_ERR(met_tfidf_add(t, "late", 4, &d3), AS_EINVAL);
    T_ERR(met_tfidf_cosine(t, d0, 9, &got), AS_EINVAL);
    met_tfidf_free(t);
}

static void cosine__tfidf_empty_documents(void)
{
    met_tfidf *t;
    size_t d0, d1;
    double got = 1;

    T_OK(met_tfidf_new(&t));
    T_OK(met_tfidf_add(t, "\xE5\x8C\x97\xE4\xBA\xAC", 6, &d0));   /* no [a-z0-9] tokens */
    T_OK(met_tfidf_add(t, "?!", 2, &d1));
    T_ERR(met_tfidf_fit(t), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "empty vocabulary; perhaps the documents only contain stop words");
    met_tfidf_free(t);
    T_OK(met_tfidf_new(&t));
    T_OK(met_tfidf_add(t, "", 0, &d0));
    T_OK(met_tfidf_add(t, "word", 4, &d1));
    T_OK(met_tfidf_fit(t));
    T_OK(met_tfidf_cosine(t, d0, d1, &got));
    T_NEAR(got, 0.0, 0);
    met_tfidf_free(t);
}

int main(void)
{
    T_RUN(cosine__vectors);
    T_RUN(cosine__tfidf_matches_sklearn_definition);
    T_RUN(cosine__tfidf_empty_documents);
    return t_done();
}
