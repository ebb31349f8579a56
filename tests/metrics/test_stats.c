/* Aggregation: numpy means, MT19937 against its reference outputs, the
 * seeded bootstrap of cases.json's rouge_aggregate bit for bit, the paired
 * bootstrap test and McNemar's test. */
#include "tests/test.h"
#include "tests/metrics/fixture.h"
#include "metrics/rouge.h"
#include "metrics/stats.h"

static json_t *cases;

/* MT19937 init_genrand(5489): the first outputs of the reference code. */
static void stats__mt19937_reference_outputs(void)
{
    met_mt m;

    met_mt_seed(&m, 5489);
    T_EQ_INT(met_mt_next(&m), 3499211612u);
    T_EQ_INT(met_mt_next(&m), 581869302u);
    T_EQ_INT(met_mt_next(&m), 3890346734u);
    met_mt_seed(&m, 0);
    T_EQ_INT(met_mt_next(&m), 2357136044u);   /* np.random.RandomState(0).randint(2**32) */
    met_mt_seed(&m, 1);
    T_EQ_INT(met_mt_below(&m, 1), 0);         /* n == 1 draws nothing */
    T_EQ_INT(met_mt_next(&m), 1791095845u);
}

static void stats__sum_is_numpy_pairwise(void)
{
    double x[1000];
    size_t i;

    for (i = 0; i < 1000; i++)
        x[i] = 1.0 / (double)(i + 1);
    /* np.sum(1/np.arange(1, 1001)) and the sequential sum differ. */
    T_CHECK(met_sum(x, 1000) == 7.485470860550345);
    T_CHECK(isnan(met_mean(x, 0)));
    T_CHECK(met_mean(x, 1) == 1.0);
}

static void stats__percentile_linear(void)
{
    double x[] = {1, 2, 3, 4};

    T_NEAR(met_percentile_sorted(x, 4, 50), 2.5, 0);
    T_NEAR(met_percentile_sorted(x, 4, 0), 1, 0);
    T_NEAR(met_percentile_sorted(x, 4, 100), 4, 0);
    T_NEAR(met_percentile_sorted(x, 4, 25), 1.75, 1e-15);
}

static void stats__rouge_bootstrap_matches_numpy_seed(void)
{
    static const int types[] = {1, 2, MET_ROUGE_L, MET_ROUGE_LSUM};
    json_t *list = json_object_get(cases, "rouge"), *agg = json_object_get(cases, "rouge_aggregate");
    size_t n = json_array_size(list), i, k;
    double *rows = malloc(n * 4 * 3 * sizeof(double)), *col = malloc(n * sizeof(double));
    int stem;

    for (stem = 0; stem < 2; stem++) {
        met_rouge *r;
        met_mt rng;
        json_t *c;
        T_OK(met_rouge_new(&r, stem));
        json_array_foreach(list, i, c) {
            const char *ref = json_string_value(json_object_get(c, "reference"));
            const char *pred = json_string_value(json_object_get(c, "prediction"));
            met_prf o[4];
            T_OK(met_rouge_score(r, ref, strlen(ref), pred, strlen(pred), types, 4, o));
            for (k = 0; k < 4; k++) {
                rows[(k * n + i) * 3 + 0] = o[k].precision;
                rows[(k * n + i) * 3 + 1] = o[k].recall;
                rows[(k * n + i) * 3 + 2] = o[k].fmeasure;
            }
        }
        met_rouge_free(r);
        met_mt_seed(&rng, 123);
        for (k = 0; k < 4; k++) {
            json_t *want = json_object_get(json_object_get(agg, stem ? "stem" : "nostem"),
                                           met_rouge_type_name(types[k]));
            json_t *boot = json_object_get(want, "bootstrap_seed123");
            static const char *const m[] = {"precision", "recall", "fmeasure"};
            met_interval iv[3];
            int j;
            for (j = 0; j < 3; j++) {
                for (i = 0; i < n; i++)
                    col[i] = rows[(k * n + i) * 3 + (size_t)j];
                T_CHECK(met_mean(col, n) == t_num2(want, "mean", m[j]));
            }
            T_OK(met_bootstrap(rows + k * n * 3, n, 3, &rng, 1000, 0.95, iv));
            for (j = 0; j < 3; j++) {
                if (iv[j].low != t_num2(boot, "low", m[j]) || iv[j].mid != t_num2(boot, "mid", m[j]) ||
                    iv[j].high != t_num2(boot, "high", m[j])) {
                    fprintf(stderr, "  stem=%d %s %s: %.17g %.17g %.17g\n", stem,
                            met_rouge_type_name(types[k]), m[j], iv[j].low, iv[j].mid, iv[j].high);
                    t_failed_checks++;
                }
            }
        }
    }
    free(rows);
    free(col);
}

static void stats__bootstrap_errors(void)
{
    double x[2] = {0, 1};
    met_interval iv;
    met_mt rng;

    met_mt_seed(&rng, 1);
    T_ERR(met_bootstrap(x, 0, 1, &rng, 10, 0.95, &iv), AS_EINVAL);
    T_ERR(met_bootstrap(x, 2, 1, &rng, 0, 0.95, &iv), AS_EINVAL);
    T_ERR(met_bootstrap(x, 2, 1, &rng, 10, 1.0, &iv), AS_EINVAL);
    T_OK(met_bootstrap(x, 2, 1, &rng, 10, 0.9, &iv));
    T_CHECK(iv.low >= 0 && iv.high <= 1 && iv.low <= iv.mid && iv.mid <= iv.high);
}

static void stats__paired_bootstrap_detects_a_real_difference(void)
{
    double a[200], b[200], c[200];
    met_paired p;
    size_t i;

    for (i = 0; i < 200; i++)
        a[i] = (double)(i % 10) / 10.0;
    for (i = 0; i < 200; i++) {
        b[i] = a[i] + ((i % 4) ? 0.1 : 0.0);    /* b better on 3 of 4 items */
        c[i] = a[(i + 105) % 200];              /* same values, other items */
    }
    T_OK(met_paired_bootstrap(a, b, 200, 7, 1000, 0.95, &p));
    T_NEAR(p.diff, 0.075, 1e-12);
    T_CHECK(p.low > 0 && p.high > p.low);
    T_CHECK(p.p_value < 0.01);
    T_OK(met_paired_bootstrap(a, c, 200, 7, 1000, 0.95, &p));
    T_NEAR(p.diff, 0.0, 1e-12);
    T_CHECK(p.low < 0 && p.high > 0);
    T_CHECK(p.p_value > 0.5);
    /* Same seed, same answer. */
    {
        met_paired q;
        T_OK(met_paired_bootstrap(a, c, 200, 7, 1000, 0.95, &q));
        T_CHECK(q.low == p.low && q.high == p.high && q.p_value == p.p_value);
    }
    T_ERR(met_paired_bootstrap(a, b, 0, 7, 1000, 0.95, &p), AS_EINVAL);
}

static void stats__mcnemar_exact_and_chi_square(void)
{
    met_mcnemar m;
    int pa[10] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 1}, pb[10] = {0, 0, 0, 0, 0, 0, 1, 0, 1, 1};

    /* b = 6 (a passes, b fails), c = 1: scipy binomtest(1, 7, 0.5) p = 0.125 */
    T_OK(met_mcnemar_test(pa, pb, 10, &m));
    T_EQ_INT(m.b, 6);
    T_EQ_INT(m.c, 1);
    T_CHECK(m.exact);
    T_NEAR(m.p_value, 0.125, 1e-15);
    T_OK(met_mcnemar_counts(0, 0, &m));
    T_NEAR(m.p_value, 1.0, 0);
    T_OK(met_mcnemar_counts(5, 5, &m));
    T_NEAR(m.p_value, 1.0, 0);
    /* statsmodels mcnemar([[0, 40], [20, 0]], exact=False): stat 6.016667, p 0.014171 */
    T_OK(met_mcnemar_counts(40, 20, &m));
    T_CHECK(!m.exact);
    T_NEAR(m.statistic, 361.0 / 60.0, 1e-12);
    T_NEAR(m.p_value, 0.014171, 1e-6);
    T_ERR(met_mcnemar_counts(-1, 2, &m), AS_EINVAL);
}

int main(void)
{
    if ((cases = t_load_cases()) == NULL)
        return 1;
    T_RUN(stats__mt19937_reference_outputs);
    T_RUN(stats__sum_is_numpy_pairwise);
    T_RUN(stats__percentile_linear);
    T_RUN(stats__rouge_bootstrap_matches_numpy_seed);
    T_RUN(stats__bootstrap_errors);
    T_RUN(stats__paired_bootstrap_detects_a_real_difference);
    T_RUN(stats__mcnemar_exact_and_chi_square);
    json_decref(cases);
    return t_done();
}
