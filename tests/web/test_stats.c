/* web/stats: agreement, correlation and ranking statistics of ratings
 * against published worked examples. */
#include "common/error.h"
#include "tests/test.h"
#include "web/stats.h"

#include <math.h>

/* Wikipedia "Cohen's kappa": 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no. */
static void stats__cohen_kappa_worked_example(void)
{
    int a[50], b[50], k = 0, i;

    for (i = 0; i < 20; i++, k++)
        a[k] = 1, b[k] = 1;
    for (i = 0; i < 5; i++, k++)
        a[k] = 1, b[k] = 0;
    for (i = 0; i < 10; i++, k++)
        a[k] = 0, b[k] = 1;
    for (i = 0; i < 15; i++, k++)
        a[k] = 0, b[k] = 0;
    T_NEAR(web_stats_cohen_kappa(a, b, 50), 0.4, 1e-12);
    T_NEAR(web_stats_cohen_kappa(a, a, 50), 1.0, 1e-12);
    T_CHECK(isnan(web_stats_cohen_kappa(a, b, 0)));
}

/* Krippendorff (2011), "Computing Krippendorff's alpha-reliability": four
 * observers, twelve units; interval alpha = 0.849. */
static void stats__krippendorff_alpha_interval_example(void)
{
    const double N = NAN;
    const double m[12][4] = {
        {1, 1, N, 1}, {2, 2, 3, 2}, {3, 3, 3, 3}, {3, 3, 3, 3}, {2, 2, 2, 2}, {1, 2, 3, 4},
        {4, 4, 4, 4}, {1, 1, 2, 1}, {2, 2, 2, 2}, {N, 5, 5, 5}, {N, N, 1, 1}, {N, 3, N, N},
    };
    const double same[3][2] = {{2, 2}, {2, 2}, {2, 2}};

    T_NEAR(web_stats_krippendorff_alpha(&m[0][0], 12, 4), 0.849, 0.0005);
    T_CHECK(isnan(web_stats_krippendorff_alpha(&same[0][0], 3, 2)));
}

static void stats__spearman_with_and_without_ties(void)
{
    const double x[4] = {1, 2, 3, 4}, y[4] = {1, 3, 2, 4};
    const double tx[4] = {1, 2, 2, 3}, ty[4] = {10, 20, 20, 30}, rev[4] = {4, 3, 3, 1};
    const double c[3] = {5, 5, 5};

    T_NEAR(web_stats_spearman(x, y, 4), 0.8, 1e-12);
    T_NEAR(web_stats_spearman(tx, ty, 4), 1.0, 1e-12);
    T_NEAR(web_stats_spearman(tx, rev, 4), -1.0, 1e-12);
    T_CHECK(isnan(web_stats_spearman(c, c, 3)));
}

static void stats__bradley_terry_orders_and_intervals(void)
{
    web_vote v[40];
    double s[3], lo[3], hi[3], s2[3];
    int k = 0, i;

    /* 0 beats 1 mostly, 1 beats 2 mostly, 0 beats 2 always; a few ties. */
    for (i = 0; i < 8; i++)
        v[k++] = (web_vote){0, 1, 0};
    for (i = 0; i < 2; i++)
        v[k++] = (web_vote){0, 1, 1};
    for (i = 0; i < 7; i++)
        v[k++] = (web_vote){1, 2, 0};
    for (i = 0; i < 3; i++)
        v[k++] = (web_vote){2, 1, 2};
    for (i = 0; i < 10; i++)
        v[k++] = (web_vote){2, 0, 1};
    T_OK(web_stats_bradley_terry(v, (size_t)k, 3, 200, 7, s, lo, hi));
    T_CHECK(s[0] > s[1] && s[1] > s[2]);
    T_NEAR(s[0] + s[1] + s[2], 0.0, 1e-9);
    for (i = 0; i < 3; i++)
        T_CHECK(lo[i] <= s[i] + 1e-9 && s[i] <= hi[i] + 1e-9 && lo[i] < hi[i]);
    /* The same seed gives the same intervals. */
    T_OK(web_stats_bradley_terry(v, (size_t)k, 3, 200, 7, s2, lo, hi));
    T_NEAR(s2[0], s[0], 0);
    v[0].j = 5;
    T_ERR(web_stats_bradley_terry(v, (size_t)k, 3, 0, 1, s, NULL, NULL), AS_EINVAL);
}

static void stats__mean_ci_contains_mean_and_repeats(void)
{
    const double x[6] = {3, 4, 5, 6, 7, 8};
    double m, lo, hi, m2, lo2, hi2;

    web_stats_mean_ci(x, 6, 1000, 42, &m, &lo, &hi);
    T_NEAR(m, 5.5, 1e-12);
    T_CHECK(lo < m && m < hi && lo >= 3 && hi <= 8);
    web_stats_mean_ci(x, 6, 1000, 42, &m2, &lo2, &hi2);
    T_NEAR(lo2, lo, 0);
    T_NEAR(hi2, hi, 0);
}

static void stats__hash_is_deterministic(void)
{
    T_CHECK(web_stats_hash(1, "case-1") == web_stats_hash(1, "case-1"));
    T_CHECK(web_stats_hash(1, "case-1") != web_stats_hash(2, "case-1"));
    T_CHECK(web_stats_hash(1, "case-1") != web_stats_hash(1, "case-2"));
}

int main(void)
{
    T_RUN(stats__cohen_kappa_worked_example);
    T_RUN(stats__krippendorff_alpha_interval_example);
    T_RUN(stats__spearman_with_and_without_ties);
    T_RUN(stats__bradley_terry_orders_and_intervals);
    T_RUN(stats__mean_ci_contains_mean_and_repeats);
    T_RUN(stats__hash_is_deterministic);
    return t_done();
}
