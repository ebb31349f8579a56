/* ROUGE against rouge_score 0.1.2: every rouge and rouge_multi case of
 * cases.json bit for bit, the tokenizer's token lists, rouge_score's own
 * test files with their published values, type names and errors. */
#include "tests/test.h"
#include "tests/metrics/fixture.h"
#include "metrics/rouge.h"
#include "metrics/text.h"

static json_t *cases;
static const int all_types[] = {1, 2, MET_ROUGE_L, MET_ROUGE_LSUM};
static const char *const type_names[] = {"rouge1", "rouge2", "rougeL", "rougeLsum"};

/* Exact equality of doubles, printing the case on a mismatch. */
static void check_prf(const char *id, const char *mode, const char *type, const met_prf *got,
                      json_t *exp)
{
    double p = json_number_value(json_object_get(exp, "precision"));
    double r = json_number_value(json_object_get(exp, "recall"));
    double f = json_number_value(json_object_get(exp, "fmeasure"));

    if (got->precision != p || got->recall != r || got->fmeasure != f) {
        fprintf(stderr, "  %s %s %s: got %.17g %.17g %.17g want %.17g %.17g %.17g\n", id, mode,
                type, got->precision, got->recall, got->fmeasure, p, r, f);
        t_failed_checks++;
    }
}

static void rouge__every_case_bit_identical(void)
{
    json_t *list = json_object_get(cases, "rouge"), *c;
    size_t i, k, n = 0;
    int stem;

    T_CHECK(json_array_size(list) == 325);
    for (stem = 0; stem < 2; stem++) {
        met_rouge *r;
        T_OK(met_rouge_new(&r, stem));
        json_array_foreach(list, i, c) {
            const char *ref = json_string_value(json_object_get(c, "reference"));
            const char *pred = json_string_value(json_object_get(c, "prediction"));
            json_t *exp = json_object_get(json_object_get(c, "expected"), stem ? "stem" : "nostem");
            met_prf out[4];
            T_OK(met_rouge_score(r, ref, strlen(ref), pred, strlen(pred), all_types, 4, out));
            for (k = 0; k < 4; k++)
                check_prf(json_string_value(json_object_get(c, "id")), stem ? "stem" : "nostem",
                          type_names[k], &out[k], json_object_get(exp, type_names[k]));
            n++;
        }
        met_rouge_free(r);
    }
    T_EQ_INT(n, 650);
}

static void rouge__multi_reference_best_f_first_wins(void)
{
    json_t *list = json_object_get(cases, "rouge_multi"), *c;
    size_t i, k;
    int stem;

    T_CHECK(json_array_size(list) == 24);
    for (stem = 0; stem < 2; stem++) {
        met_rouge *r;
        T_OK(met_rouge_new(&r, stem));
        json_array_foreach(list, i, c) {
            json_t *refs = json_object_get(c, "references");
            const char *pred = json_string_value(json_object_get(c, "prediction"));
            json_t *exp = json_object_get(json_object_get(c, "expected"), stem ? "stem" : "nostem");
            const char *rs[16];
            size_t lens[16], nr = json_array_size(refs);
            met_prf out[4];
            T_CHECK(nr <= 16);
            for (k = 0; k < nr && k < 16; k++) {
                rs[k] = json_string_value(json_array_get(refs, k));
                lens[k] = strlen(rs[k]);
            }
            T_OK(met_rouge_score_multi(r, rs, lens, nr, pred, strlen(pred), all_types, 4, out));
            for (k = 0; k < 4; k++)
                check_prf(json_string_value(json_object_get(c, "id")), stem ? "stem" : "nostem",
                          type_names[k], &out[k], json_object_get(exp, type_names[k]));
        }
        met_rouge_free(r);
    }
}

static int toks_equal(const met_toks *t, json_t *want)
{
    size_t i;

    if (t->n != json_array_size(want))
        return 0;
    for (i = 0; i < t->n; i++)
        if (strcmp(met_toks_at(t, i), json_string_value(json_array_get(want, i))) != 0)
            return 0;
    return 1;
}

static void rouge__tokenizer_matches_every_case(void)
{
    json_t *list = json_object_get(cases, "rouge"), *c;
    met_toks t;
    size_t i;
    int stem;

    met_toks_init(&t);
    json_array_foreach(list, i, c) {
        for (stem = 0; stem < 2; stem++) {
            json_t *want = json_object_get(json_object_get(c, "tokens"), stem ? "stem" : "nostem");
            const char *side[2] = {"reference", "prediction"};
            int k;
            for (k = 0; k < 2; k++) {
                const char *s = json_string_value(json_object_get(c, side[k]));
                T_OK(met_rouge_tokenize(&t, s, strlen(s), stem));
                if (!toks_equal(&t, json_object_get(want, side[k]))) {
                    fprintf(stderr, "  %s %s stem=%d: tokens differ\n",
                            json_string_value(json_object_get(c, "id")), side[k], stem);
                    t_failed_checks++;
                }
            }
        }
    }
    met_toks_free(&t);
}

static void tokenize_one(const char *s, int stem, const char *want)
{
    met_toks t;
    char joined[512] = "";
    size_t i, at = 0;

    met_toks_init(&t);
    T_OK(met_rouge_tokenize(&t, s, strlen(s), stem));
    for (i = 0; i < t.n; i++)
        at += (size_t)snprintf(joined + at, sizeof(joined) - at, "%s%s", i ? " " : "",
                               met_toks_at(&t, i));
    T_EQ_STR(joined, want);
    met_toks_free(&t);
}

static void rouge__tokenizer_special_code_points(void)
{
    tokenize_one("300 \xE2\x84\xAA", 0, "300 k");
    tokenize_one("\xC4\xB0stanbul is big", 0, "i stanbul is big");
    tokenize_one("x\xC4\xB0y", 0, "xi y");
    tokenize_one("caf\xC3\xA9 na\xC3\xAFve", 0, "caf na ve");
    tokenize_one("was has his this thus", 1, "was has his thi thu");
    tokenize_one("bad \xFF\xFE bytes\xC3", 0, "bad bytes");
    tokenize_one("", 0, "");
}

static void rouge__long_token_is_not_truncated(void)
{
    char *big = malloc(5001);
    met_toks t;
    met_rouge *r;
    met_prf out[1];
    int type = 1;

    memset(big, 'a', 5000);
    big[5000] = '\0';
    met_toks_init(&t);
    T_OK(met_rouge_tokenize(&t, big, 5000, 1));
    T_EQ_INT(t.n, 1);
    T_EQ_INT(strlen(met_toks_at(&t, 0)), 5000);
    T_OK(met_rouge_new(&r, 1));
    T_OK(met_rouge_score(r, big, 5000, big, 5000, &type, 1, out));
    T_CHECK(out[0].fmeasure == 1.0);
    met_rouge_free(r);
    met_toks_free(&t);
    free(big);
}

static void rouge__type_names_and_errors(void)
{
    int t = 0;

    T_OK(met_rouge_type_parse("rouge1", &t));
    T_EQ_INT(t, 1);
    T_OK(met_rouge_type_parse("rouge9", &t));
    T_EQ_INT(t, 9);
    T_OK(met_rouge_type_parse("rougeLsum", &t));
    T_EQ_INT(t, MET_ROUGE_LSUM);
    T_ERR(met_rouge_type_parse("rouge0", &t), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "rougen requires positive n: rouge0");
    T_ERR(met_rouge_type_parse("rouge10", &t), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "Invalid rouge type: rouge10");
    T_ERR(met_rouge_type_parse("rougen", &t), AS_EINVAL);
    T_EQ_STR(met_rouge_type_name(MET_ROUGE_L), "rougeL");
}

static char *read_line(const char *path, int want)
{
    char *data = NULL, *p, *line = NULL;
    size_t len;
    int n = 0;

    if (as_file_read(&data, &len, path, 1 << 20) < 0)
        return NULL;
    for (p = data; p && *p; n++) {
        char *e = strchr(p, '\n');
        if (n == want) {
            size_t l = e ? (size_t)(e - p) : strlen(p);
            line = malloc(l + 1);
            memcpy(line, p, l);
            line[l] = '\0';
            break;
        }
        p = e ? e + 1 : NULL;
    }
    free(data);
    return line;
}

/* rouge_score's rouge_scorer_test.py values (5 decimals). */
static void rouge__published_test_file_values(void)
{
    char *t0 = read_line(T_FIXTURES "/rouge_testdata/target.txt", 0);
    char *p0 = read_line(T_FIXTURES "/rouge_testdata/prediction.txt", 0);
    char *t1 = read_line(T_FIXTURES "/rouge_testdata/target.txt", 1);
    char *p1 = read_line(T_FIXTURES "/rouge_testdata/prediction.txt", 1);
    const int types[] = {1, 2, MET_ROUGE_L};
    met_rouge *r, *rs;
    met_prf o[3];

    T_CHECK(t0 && p0 && t1 && p1);
    if (!(t0 && p0 && t1 && p1))
        goto out;
    T_OK(met_rouge_new(&r, 0));
    T_OK(met_rouge_new(&rs, 1));
    T_OK(met_rouge_score(r, t0, strlen(t0), p0, strlen(p0), types, 3, o));
    T_NEAR(o[0].precision, 0.68750, 5e-6);
    T_NEAR(o[0].recall, 0.40741, 5e-6);
    T_NEAR(o[0].fmeasure, 0.51163, 5e-6);
    T_NEAR(o[1].precision, 0.53333, 5e-6);
    T_NEAR(o[1].recall, 0.30769, 5e-6);
    T_NEAR(o[1].fmeasure, 0.39024, 5e-6);
    T_OK(met_rouge_score(r, t1, strlen(t1), p1, strlen(p1), types, 3, o));
    T_NEAR(o[0].precision, 0.65385, 5e-6);
    T_NEAR(o[0].recall, 0.40476, 5e-6);
    T_NEAR(o[0].fmeasure, 0.50000, 5e-6);
    T_NEAR(o[1].precision, 0.48000, 5e-6);
    T_NEAR(o[1].recall, 0.29268, 5e-6);
    T_NEAR(o[1].fmeasure, 0.36364, 5e-6);
    T_NEAR(o[2].precision, 0.65385, 5e-6);
    T_NEAR(o[2].recall, 0.40476, 5e-6);
    T_NEAR(o[2].fmeasure, 0.50000, 5e-6);
    T_OK(met_rouge_score(rs, t1, strlen(t1), p1, strlen(p1), types, 1, o));
    T_NEAR(o[0].precision, 0.69231, 5e-6);
    T_NEAR(o[0].recall, 0.42857, 5e-6);
    T_NEAR(o[0].fmeasure, 0.52941, 5e-6);
    met_rouge_free(r);
    met_rouge_free(rs);
out:
    free(t0);
    free(p0);
    free(t1);
    free(p1);
}

static void rouge__lsum_published_multi_sentence_files(void)
{
    char *t = NULL, *p = NULL;
    size_t tl, pl;
    int type = MET_ROUGE_LSUM;
    met_rouge *r;
    met_prf o;

    T_OK(as_file_read(&t, &tl, T_FIXTURES "/rouge_testdata/pyrouge_files/target_multi.0.txt", 1 << 20));
    T_OK(as_file_read(&p, &pl, T_FIXTURES "/rouge_testdata/pyrouge_files/prediction_multi.0.txt", 1 << 20));
    T_OK(met_rouge_new(&r, 1));
    if (t && p) {
        T_OK(met_rouge_score(r, t, tl, p, pl, &type, 1, &o));
        T_NEAR(o.precision, 0.66667, 5e-6);
        T_NEAR(o.recall, 0.36538, 5e-6);
        T_NEAR(o.fmeasure, 0.47205, 5e-6);
    }
    met_rouge_free(r);
    free(t);
    free(p);
}

static void rouge__lsum_splits_on_newlines(void)
{
    const char *ref = "w1 w2 w3 w4 w5", *pred = "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5";
    int types[2] = {MET_ROUGE_LSUM, MET_ROUGE_L};
    met_rouge *r;
    met_prf o[2];

    T_OK(met_rouge_new(&r, 0));
    T_OK(met_rouge_score(r, ref, strlen(ref), pred, strlen(pred), types, 2, o));
    T_CHECK(o[0].recall == 0.8 && o[0].precision == 0.4);
    T_CHECK(o[1].recall == 0.8 && o[1].precision == 0.4);   /* LCS w1 w2 w3 w5 */
    T_ERR(met_rouge_score_multi(r, NULL, NULL, 0, pred, strlen(pred), types, 1, o), AS_EINVAL);
    met_rouge_free(r);
}

static void rouge__stemmer_matches_nltk_table(void)
{
    char *data = NULL, *p, out[256];
    size_t len, n = 0, bad = 0;

    T_OK(as_file_read(&data, &len, T_FIXTURES "/porter_stems.tsv", 16 << 20));
    for (p = data; p && *p;) {
        char *tab, *nl;
        if (*p == '#') {            /* the header comment */
            p = strchr(p, '\n');
            p = p ? p + 1 : NULL;
            continue;
        }
        if ((tab = strchr(p, '\t')) == NULL)
            break;
        nl = strchr(tab, '\n');
        if (nl == NULL)
            nl = tab + strlen(tab);
        {
            size_t wl = (size_t)(tab - p), sl = (size_t)(nl - tab - 1);
            size_t m;
            T_CHECK(wl < sizeof(out));
            m = met_porter_stem(p, wl, out);
            if (m != sl || memcmp(out, tab + 1, sl) != 0) {
                if (bad++ < 10)
                    fprintf(stderr, "  stem(%.*s) = %s, want %.*s\n", (int)wl, p, out, (int)sl,
                            tab + 1);
            }
        }
        n++;
        p = *nl ? nl + 1 : nl;
    }
    T_EQ_INT(n, 72132);
    T_EQ_INT(bad, 0);
    free(data);
}

/* rougeL (bit-parallel LCS) against rougeLsum (DP table with backtrack) on
 * single-line texts, where both are the plain LCS: random texts over a
 * small alphabet, lengths across the 64-bit word boundaries. */
static void rouge__bit_parallel_lcs_equals_dp(void)
{
    static const char *const alpha[] = {"a", "b", "c", "d", "ab", "ba"};
    uint32_t seed = 12345;
    met_rouge *r;
    int round, types[2] = {MET_ROUGE_L, MET_ROUGE_LSUM};

    T_OK(met_rouge_new(&r, 0));
    for (round = 0; round < 300; round++) {
        char x[2048], y[2048];
        size_t xl = 0, yl = 0;
        int nx, ny, i;
        met_prf o[2];
        seed = seed * 1103515245u + 12345u;
        nx = (int)(seed >> 16) % 200;
        seed = seed * 1103515245u + 12345u;
        ny = (int)(seed >> 16) % 200;
        for (i = 0; i < nx; i++) {
            seed = seed * 1103515245u + 12345u;
            xl += (size_t)snprintf(x + xl, sizeof(x) - xl, "%s ", alpha[(seed >> 16) % 6]);
        }
        for (i = 0; i < ny; i++) {
            seed = seed * 1103515245u + 12345u;
            yl += (size_t)snprintf(y + yl, sizeof(y) - yl, "%s ", alpha[(seed >> 16) % 6]);
        }
        T_OK(met_rouge_score(r, x, xl, y, yl, types, 2, o));
        if (o[0].precision != o[1].precision || o[0].recall != o[1].recall) {
            fprintf(stderr, "  round %d (%d x %d): L %.17g lsum %.17g\n", round, nx, ny,
                    o[0].recall, o[1].recall);
            t_failed_checks++;
        }
    }
    met_rouge_free(r);
}

int main(void)
{
    if ((cases = t_load_cases()) == NULL)
        return 1;
    T_RUN(rouge__every_case_bit_identical);
    T_RUN(rouge__multi_reference_best_f_first_wins);
    T_RUN(rouge__tokenizer_matches_every_case);
    T_RUN(rouge__tokenizer_special_code_points);
    T_RUN(rouge__long_token_is_not_truncated);
    T_RUN(rouge__type_names_and_errors);
    T_RUN(rouge__published_test_file_values);
    T_RUN(rouge__lsum_published_multi_sentence_files);
    T_RUN(rouge__lsum_splits_on_newlines);
    T_RUN(rouge__stemmer_matches_nltk_table);
    T_RUN(rouge__bit_parallel_lcs_equals_dp);
    json_decref(cases);
    return t_done();
}
