/* BLEU against sacrebleu 2.6.0: every corpus and sentence score of
 * cases.json (tokenizers 13a, none, intl, char; smoothing exp, floor,
 * add-k, none; lowercase; several references) within 1e-9, with counts,
 * totals, brevity penalty and lengths. */
#include "tests/test.h"
#include "tests/metrics/fixture.h"
#include "metrics/bleu.h"

static json_t *cases;

static void check_result(const char *id, const char *what, const met_bleu_result *r, json_t *want)
{
    int k, bad = 0;

    bad |= !(fabs(r->score - json_number_value(json_object_get(want, "score"))) <= 1e-9);
    bad |= !(fabs(r->bp - json_number_value(json_object_get(want, "bp"))) <= 1e-12);
    bad |= r->sys_len != json_integer_value(json_object_get(want, "sys_len"));
    bad |= r->ref_len != json_integer_value(json_object_get(want, "ref_len"));
    for (k = 0; k < 4; k++) {
        bad |= r->counts[k] != json_number_value(json_array_get(json_object_get(want, "counts"), (size_t)k));
        bad |= r->totals[k] != json_number_value(json_array_get(json_object_get(want, "totals"), (size_t)k));
        bad |= !(fabs(r->precisions[k] -
                      json_number_value(json_array_get(json_object_get(want, "precisions"), (size_t)k))) <= 1e-9);
    }
    if (bad) {
        fprintf(stderr, "  %s %s: score %.17g (want %.17g) counts %g %g %g %g totals %g %g %g %g sys %lld ref %lld\n",
                id, what, r->score, json_number_value(json_object_get(want, "score")), r->counts[0],
                r->counts[1], r->counts[2], r->counts[3], r->totals[0], r->totals[1], r->totals[2],
                r->totals[3], (long long)r->sys_len, (long long)r->ref_len);
        t_failed_checks++;
    }
}

static void bleu__every_case_matches_sacrebleu(void)
{
    json_t *list = json_object_get(json_object_get(cases, "bleu"), "cases"), *c;
    size_t i, k, s, count = 0;

    T_CHECK(json_array_size(list) == 65);
    json_array_foreach(list, i, c) {
        const char *id = json_string_value(json_object_get(c, "id"));
        json_t *opt = json_object_get(c, "options"), *hyps = json_object_get(c, "hypotheses");
        json_t *streams = json_object_get(c, "references");
        met_bleu_opts o = {MET_BLEU_13A, MET_SMOOTH_EXP, -1, 0};
        met_bleu_stats total, seg;
        met_bleu_result r;
        met_bleu *b;
        const char *tok = json_string_value(json_object_get(opt, "tokenize"));
        const char *sm = json_string_value(json_object_get(opt, "smooth_method"));

        if (tok)
            T_OK(met_bleu_tok_parse(tok, &o.tokenize));
        if (sm)
            T_OK(met_bleu_smooth_parse(sm, &o.smooth));
        o.lowercase = json_is_true(json_object_get(opt, "lowercase"));
        T_OK(met_bleu_new(&b, &o));
        memset(&total, 0, sizeof(total));
        for (s = 0; s < json_array_size(hyps); s++) {
            const char *refs[8];
            size_t lens[8], nr = json_array_size(streams);
            json_t *h = json_array_get(hyps, s);
            for (k = 0; k < nr && k < 8; k++) {
                json_t *rj = json_array_get(json_array_get(streams, k), s);
                refs[k] = json_string_value(rj);
                lens[k] = json_string_length(rj);
            }
            T_OK(met_bleu_segment(b, json_string_value(h), json_string_length(h), refs, lens, nr, &seg));
            met_bleu_stats_add(&total, &seg);
            met_bleu_score(&seg, &o, 1, &r);
            check_result(id, "sentence", &r, json_array_get(json_object_get(c, "sentence_bleu"), s));
        }
        met_bleu_score(&total, &o, 0, &r);
        check_result(id, "corpus", &r, json_object_get(c, "corpus_bleu"));
        met_bleu_free(b);
        count++;
    }
    T_EQ_INT(count, 65);
}

static void tok_is(met_bleu_tok t, const char *in, const char *want)
{
    met_bleu_opts o = {t, MET_SMOOTH_EXP, -1, 0};
    met_bleu *b;
    const char *out;
    size_t len;

    T_OK(met_bleu_new(&b, &o));
    T_OK(met_bleu_tokenize(b, in, strlen(in), &out, &len));
    T_EQ_STR(out, want);
    met_bleu_free(b);
}

static void bleu__tokenizers(void)
{
    tok_is(MET_BLEU_13A, "Hello, world! It's 3.5-4.0 (approx.) &amp;lt; e.g.",
           "Hello , world ! It's 3.5 - 4.0 ( approx . ) < e . g .");
    tok_is(MET_BLEU_13A, "a<skipped>b-\nc\nd", "abc d");
    tok_is(MET_BLEU_NONE, "a,b  c ", "a,b c");
    tok_is(MET_BLEU_CHAR, "ab c", "a b c");
    tok_is(MET_BLEU_INTL, "Hi, \xE2\x82\xAC" "5 1,000.", "Hi , \xE2\x82\xAC 5 1,000.");  /* no split before a digit or the end */
}

static void bleu__errors(void)
{
    met_bleu_tok t;
    met_bleu_smooth s;
    met_bleu *b;
    met_bleu_stats st;

    T_ERR(met_bleu_tok_parse("zh", &t), AS_EINVAL);
    T_ERR(met_bleu_smooth_parse("sideways", &s), AS_EINVAL);
    T_OK(met_bleu_new(&b, NULL));
    T_ERR(met_bleu_segment(b, "a", 1, NULL, NULL, 0, &st), AS_EINVAL);
    met_bleu_free(b);
}

int main(void)
{
    if ((cases = t_load_cases()) == NULL)
        return 1;
    T_RUN(bleu__every_case_matches_sacrebleu);
    T_RUN(bleu__tokenizers);
    T_RUN(bleu__errors);
    json_decref(cases);
    return t_done();
}
