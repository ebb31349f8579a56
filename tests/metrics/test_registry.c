/* The metric registry: spec parsing and validation errors, per-case
 * scores for each metric, corpus-level classification metrics. */
#include "tests/test.h"
#include "common/json.h"
#include "metrics/registry.h"

#include <stdlib.h>

static met_spec *spec_of(const char *text)
{
    json_t *j = NULL;
    met_spec *s = NULL;

    if (as_json_parse(&j, text, strlen(text), "spec") < 0)
        return NULL;
    if (met_spec_parse(&s, j) < 0)
        s = NULL;
    json_decref(j);
    return s;
}

static int spec_error(const char *text)
{
    json_t *j = NULL;
    met_spec *s = NULL;
    int rc;

    if (as_json_parse(&j, text, strlen(text), "spec") < 0)
        return 1;
    rc = met_spec_parse(&s, j);
    met_spec_free(s);
    json_decref(j);
    return rc;
}

static double case_score(const char *spec, const char *pred, const char *ref)
{
    met_spec *s = spec_of(spec);
    met_scorer *sc = NULL;
    double v = -1;
    size_t rl = strlen(ref);

    if (s && met_scorer_new(&sc, s) >= 0 && met_scorer_case(sc, pred, strlen(pred), &ref, &rl, 1, &v) < 0)
        v = -2;
    met_scorer_free(sc);
    met_spec_free(s);
    return v;
}

static void registry__spec_errors_name_the_metric(void)
{
    T_ERR(spec_error("\"judge\""), MET_EEVALUATOR);
    T_EQ_STR(as_error_msg(), "metric 'judge' is handled by the evaluator");
    T_ERR(spec_error("{\"name\": \"judge\", \"rubric\": \"x\"}"), MET_EEVALUATOR);
    /* cosine_embedding: the evaluator's once its model is named */
    T_ERR(spec_error("{\"name\": \"cosine_embedding\", \"model\": \"emb\"}"), MET_EEVALUATOR);
    T_EQ_STR(as_error_msg(), "metric 'cosine_embedding' is handled by the evaluator");
    T_ERR(spec_error("\"cosine_embedding\""), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "metric 'cosine_embedding': option 'model' is required (the name "
                             "of an embedding model)");
    T_ERR(spec_error("{\"name\": \"cosine_embedding\", \"model\": 3}"), AS_EINVAL);
    T_ERR(spec_error("{\"name\": \"cosine_embedding\", \"model\": \"\"}"), AS_EINVAL);
    T_ERR(spec_error("{\"name\": \"cosine_embedding\", \"model\": \"e\", \"stem\": true}"),
          AS_EINVAL);
    T_EQ_STR(as_error_msg(), "metric 'cosine_embedding': unknown option 'stem'");
    T_ERR(spec_error("\"rouge0\""), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "metric 'rouge0': rougen requires positive n: rouge0");
    T_ERR(spec_error("\"bertscore\""), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "unknown metric 'bertscore'") != NULL);
    T_ERR(spec_error("{\"name\": \"rouge1\", \"stemm\": true}"), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "metric 'rouge1': unknown option stemm");
    T_ERR(spec_error("{\"name\": \"rouge1\", \"stem\": 1}"), AS_EINVAL);
    /* keys that are empty or hold a space (the sanitizer run once caught a
     * read before the option list for these) */
    T_ERR(spec_error("{\"name\": \"f1\", \" average\": \"macro\"}"), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "metric 'f1': unknown option  average");
    T_ERR(spec_error("{\"name\": \"rouge1\", \"\": true}"), AS_EINVAL);
    T_ERR(spec_error("{\"name\": \"f1\", \"average labels\": 1}"), AS_EINVAL);
    T_ERR(spec_error("{\"name\": \"f1\", \"average\": \"samples\"}"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "metric 'f1'") != NULL);
    T_ERR(spec_error("{\"name\": \"bleu\", \"tokenize\": \"zh\"}"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "metric 'bleu'") != NULL);
    T_ERR(spec_error("{\"name\": \"exact_match\", \"regexes_to_ignore\": [\"(\"]}"), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "metric 'exact_match'") != NULL);
    T_ERR(spec_error("{\"stem\": true}"), AS_EINVAL);
    T_ERR(spec_error("42"), AS_EINVAL);
}

static void registry__spec_kinds_and_round_trip(void)
{
    met_spec *s = spec_of("{\"name\": \"f1\", \"average\": \"macro\", \"labels\": [\"a\", \"b\"]}");
    json_t *j;
    char *text;

    T_CHECK(s != NULL);
    if (s == NULL)
        return;
    T_EQ_INT(met_spec_is_corpus(s), 1);
    T_EQ_INT(met_spec_kind(s), MET_F1);
    T_EQ_STR(met_spec_name(s), "f1");
    j = met_spec_to_json(s);
    text = as_json_dump(j);
    T_EQ_STR(text, "{\"name\":\"f1\",\"average\":\"macro\",\"pos_label\":1,\"zero_division\":0,\"labels\":[\"a\",\"b\"]}");
    free(text);
    json_decref(j);
    met_spec_free(s);
    s = spec_of("\"rougeLsum\"");
    T_CHECK(s && !met_spec_is_corpus(s) && met_spec_kind(s) == MET_ROUGE);
    met_spec_free(s);
}

static void registry__per_case_scores(void)
{
    T_CHECK(case_score("\"rouge1\"", "The quick brown dog jumps on the log.",
                       "The quick brown fox jumps over the lazy dog.") == 0.7058823529411765);
    T_CHECK(case_score("{\"name\": \"rouge1\", \"stem\": true}", "cats running", "cat runs") == 1.0);
    T_CHECK(case_score("\"rouge1\"", "cats running", "cat runs") == 0.0);
    T_NEAR(case_score("\"exact_match\"", "Paris", "Paris"), 1.0, 0);
    T_NEAR(case_score("\"exact_match\"", "paris", "Paris"), 0.0, 0);
    T_NEAR(case_score("{\"name\": \"exact_match\", \"ignore_case\": true}", "paris", "Paris"), 1.0, 0);
    T_NEAR(case_score("\"match\"", "The Paris.", "paris"), 1.0, 0);
    T_NEAR(case_score("\"token_f1\"", "the cat sat", "a cat sat down"), 0.8, 1e-15);
    T_NEAR(case_score("\"bleu\"", "The cat sat on the mat.", "The cat sat on the mat."), 1.0, 0);
    T_NEAR(case_score("\"bleu\"", "the cat", "the cat sat on the mat"), 0.13533528323661276, 1e-12);
    T_NEAR(case_score("\"cosine_tfidf\"", "a b", "a b"), 1.0, 1e-12);
    T_NEAR(case_score("\"cosine_tfidf\"", "x", "y"), 0.0, 0);
    T_NEAR(case_score("\"cosine_tfidf\"", "!!", "??"), 0.0, 0);
}

static void registry__multi_reference_takes_the_best(void)
{
    met_spec *s = spec_of("\"exact_match\"");
    met_scorer *sc = NULL;
    const char *refs[] = {"London", "Paris"};
    size_t lens[] = {6, 5};
    double v = -1;

    T_OK(met_scorer_new(&sc, s));
    T_OK(met_scorer_case(sc, "Paris", 5, refs, lens, 2, &v));
    T_NEAR(v, 1.0, 0);
    T_ERR(met_scorer_case(sc, "Paris", 5, refs, lens, 0, &v), AS_EINVAL);
    T_ERR(met_scorer_corpus(sc, &v), AS_EINVAL);    /* per-case metric */
    met_scorer_free(sc);
    met_spec_free(s);
}

/* One scorer over many cases gives what fresh scorers give. */
static void registry__scorer_reuse_is_stateless(void)
{
    static const char *const specs[] = {"\"cosine_tfidf\"", "\"rougeLsum\"", "\"bleu\"",
                                        "\"token_f1\"", "{\"name\": \"rouge2\", \"stem\": true}"};
    static const char *const pairs[][2] = {
        {"a b c", "a b d"}, {"x", "y"}, {"running cats\nsat", "the cat ran\nsat down"},
        {"", "something"}, {"a b c", "a b d"}};
    size_t i, k;

    for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        met_spec *s = spec_of(specs[i]);
        met_scorer *sc = NULL;
        T_OK(met_scorer_new(&sc, s));
        for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
            const char *ref = pairs[k][1];
            size_t rl = strlen(ref);
            double v = -1;
            T_OK(met_scorer_case(sc, pairs[k][0], strlen(pairs[k][0]), &ref, &rl, 1, &v));
            T_CHECK(v >= 0 && v <= 1);
            T_CHECK(v == case_score(specs[i], pairs[k][0], ref));
        }
        met_scorer_free(sc);
        met_spec_free(s);
    }
}

static double corpus(const char *spec, const char *const *t, const char *const *p, size_t n, int *rc)
{
    met_spec *s = spec_of(spec);
    met_scorer *sc = NULL;
    double v = -1, c;
    size_t i;

    *rc = -100;
    if (s == NULL || met_scorer_new(&sc, s) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        size_t tl = strlen(t[i]);
        if (met_scorer_case(sc, p[i], strlen(p[i]), &t[i], &tl, 1, &c) < 0)
            goto out;
    }
    *rc = met_scorer_corpus(sc, &v);
out:
    met_scorer_free(sc);
    met_spec_free(s);
    return v;
}

static void registry__corpus_classification(void)
{
    const char *t[] = {"cat", "dog", "pig", "cat", "dog", "pig"};
    const char *p[] = {"cat", "pig", "dog", "cat", "cat", "dog"};
    int rc;

    T_NEAR(corpus("\"accuracy\"", t, p, 6, &rc), 1.0 / 3.0, 1e-15);
    T_EQ_INT(rc, 0);
    T_NEAR(corpus("{\"name\": \"f1\", \"average\": \"macro\"}", t, p, 6, &rc), 0.26666666666666666, 1e-12);
    T_EQ_INT(rc, 0);
    T_NEAR(corpus("{\"name\": \"precision\", \"average\": \"weighted\"}", t, p, 6, &rc), 0.2222222222222222, 1e-12);
    T_NEAR(corpus("{\"name\": \"recall\", \"average\": \"micro\"}", t, p, 6, &rc), 1.0 / 3.0, 1e-12);
    corpus("\"f1\"", t, p, 6, &rc);
    T_EQ_INT(rc, AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "Target is multiclass but average='binary'") != NULL);
    {
        const char *bt[] = {"yes", "no", "yes", "yes"}, *bp[] = {"yes", "yes", "no", "yes"};
        T_NEAR(corpus("{\"name\": \"f1\", \"pos_label\": \"yes\"}", bt, bp, 4, &rc), 2.0 / 3.0, 1e-12);
        T_EQ_INT(rc, 0);
        corpus("\"f1\"", bt, bp, 4, &rc);
        T_EQ_INT(rc, AS_EINVAL);
        T_EQ_STR(as_error_msg(), "metric 'f1': pos_label=1 is not a valid label. It should be one of ['no', 'yes']");
    }
}

int main(void)
{
    T_RUN(registry__spec_errors_name_the_metric);
    T_RUN(registry__spec_kinds_and_round_trip);
    T_RUN(registry__per_case_scores);
    T_RUN(registry__multi_reference_takes_the_best);
    T_RUN(registry__scorer_reuse_is_stateless);
    T_RUN(registry__corpus_classification);
    return t_done();
}
