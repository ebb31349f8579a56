/* exact_match against cases.json (both upstream variants), SQuAD
 * normalization, normalized match and token F1. */
#include "tests/test.h"
#include "tests/metrics/fixture.h"
#include "metrics/match.h"

static json_t *cases;

static void match__every_exact_match_case(void)
{
    json_t *list = json_object_get(cases, "exact_match"), *c;
    size_t i, k;
    int plain;

    T_CHECK(json_array_size(list) == 6);
    json_array_foreach(list, i, c) {
        for (plain = 0; plain < 2; plain++) {
            json_t *res = json_object_get(c, "regexes_to_ignore");
            const char *regexes[8];
            met_match_opts o;
            met_matcher *m = NULL;
            json_t *preds = json_object_get(c, "predictions"), *refs = json_object_get(c, "references");
            double sum = 0, want;

            memset(&o, 0, sizeof(o));
            o.ignore_case = json_is_true(json_object_get(c, "ignore_case"));
            o.ignore_punctuation = json_is_true(json_object_get(c, "ignore_punctuation"));
            o.ignore_numbers = json_is_true(json_object_get(c, "ignore_numbers"));
            o.plain = plain;
            for (k = 0; k < json_array_size(res) && k < 8; k++)
                regexes[k] = json_string_value(json_array_get(res, k));
            o.regexes = regexes;
            o.nregexes = json_array_size(res);
            T_OK(met_matcher_new(&m, &o));
            for (k = 0; k < json_array_size(preds); k++) {
                json_t *p = json_array_get(preds, k), *r = json_array_get(refs, k);
                int hit = 0;
                T_OK(met_match_exact(m, json_string_value(p), json_string_length(p),
                                     json_string_value(r), json_string_length(r), &hit));
                sum += hit;
            }
            want = t_num2(c, "expected_emulated", plain ? "plain" : "with_empty_guard");
            T_NEAR(sum / (double)json_array_size(preds), want, 1e-15);
            met_matcher_free(m);
        }
    }
}

static void match__bad_regex_is_named(void)
{
    const char *bad[] = {"(unclosed"};
    met_match_opts o = {0, 0, 0, bad, 1, 0};
    met_matcher *m = NULL;

    T_ERR(met_matcher_new(&m, &o), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "(unclosed") != NULL);
    T_CHECK(m == NULL);
}

static void match__ignore_case_is_unicode_lower(void)
{
    met_match_opts o = {1, 0, 0, NULL, 0, 0};
    met_matcher *m;
    int hit = 0;

    T_OK(met_matcher_new(&m, &o));
    T_OK(met_match_exact(m, "\xC3\x89T\xC3\x89", 6, "\xC3\xA9t\xC3\xA9", 6, &hit)); /* ÉTÉ */
    T_EQ_INT(hit, 1);
    T_OK(met_match_exact(m, "cat", 3, "cat ", 4, &hit));
    T_EQ_INT(hit, 0);       /* whitespace is not stripped */
    met_matcher_free(m);
}

static void norm_is(met_matcher *m, const char *in, const char *want)
{
    const char *out;
    size_t len;

    T_OK(met_squad_normalize(m, in, strlen(in), &out, &len));
    T_EQ_STR(out, want);
}

static void match__squad_normalize(void)
{
    met_matcher *m;

    T_OK(met_matcher_new(&m, NULL));
    norm_is(m, "The Cat!", "cat");
    norm_is(m, "  an apple,  a  day\tthen ", "apple day then");
    norm_is(m, "theater anatomy", "theater anatomy");
    norm_is(m, "A-B the_c", "ab thec");                  /* "_" is punctuation */
    norm_is(m, "caf\xC3\xA9 a\xC3\xA9 \xC3\xA9the", "caf\xC3\xA9 a\xC3\xA9 \xC3\xA9the");
    norm_is(m, "x\xE3\x80\x80y", "x y");                  /* U+3000 is whitespace */
    norm_is(m, "", "");
    met_matcher_free(m);
}

static void match__squad_token_f1(void)
{
    met_matcher *m;
    double p, r, f;
    int hit;

    T_OK(met_matcher_new(&m, NULL));
    T_OK(met_squad_f1(m, "the cat sat", 11, "a cat sat down", 14, &p, &r, &f));
    T_NEAR(p, 1.0, 0);
    T_NEAR(r, 2.0 / 3.0, 0);
    T_NEAR(f, 0.8, 1e-15);
    T_OK(met_squad_f1(m, "cat cat dog", 11, "cat dog dog", 11, &p, &r, &f));
    T_NEAR(f, 2.0 / 3.0, 1e-15);
    T_OK(met_squad_f1(m, "the", 3, "", 0, &p, &r, &f));
    T_NEAR(f, 1.0, 0);      /* both normalize to no tokens */
    T_OK(met_squad_f1(m, "x", 1, "", 0, &p, &r, &f));
    T_NEAR(f, 0.0, 0);
    T_OK(met_squad_f1(m, "red", 3, "blue", 4, &p, &r, &f));
    T_NEAR(f, 0.0, 0);
    T_OK(met_squad_match(m, "The  Eiffel tower.", 18, "eiffel Tower", 12, &hit));
    T_EQ_INT(hit, 1);
    met_matcher_free(m);
}

int main(void)
{
    if ((cases = t_load_cases()) == NULL)
        return 1;
    T_RUN(match__every_exact_match_case);
    T_RUN(match__bad_regex_is_named);
    T_RUN(match__ignore_case_is_unicode_lower);
    T_RUN(match__squad_normalize);
    T_RUN(match__squad_token_f1);
    json_decref(cases);
    return t_done();
}
