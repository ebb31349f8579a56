/* Aggregation and significance: numpy's pairwise sum and mean, the
 * MT19937 generator with numpy's legacy RandomState integer draws, the
 * percentile bootstrap interval of a mean (bit-identical to rouge_score's
 * BootstrapAggregator under np.random.seed), the paired bootstrap test
 * between two systems and McNemar's test for pass/fail outcomes. */
#ifndef MET_STATS_H
#define MET_STATS_H

#include <stddef.h>
#include <stdint.h>

/* numpy's np.sum of a float64 array (pairwise, in blocks of 8192), so
 * means match np.mean bit for bit. */
double met_sum(const double *x, size_t n);
/* met_sum(x)/n; NaN for n == 0. */
double met_mean(const double *x, size_t n);

/* Mersenne Twister MT19937 (init_genrand seeding, as numpy's
 * RandomState(seed) for a 32-bit seed). */
typedef struct met_mt {
    uint32_t s[624];
    int i;
} met_mt;

void met_mt_seed(met_mt *m, uint32_t seed);
uint32_t met_mt_next(met_mt *m);
/* numpy legacy randint(0, n): masked rejection sampling; n >= 1. */
uint32_t met_mt_below(met_mt *m, uint32_t n);

/* numpy's np.percentile with the default linear method on sorted x[0..n)
 * at q in [0, 100]. */
double met_percentile_sorted(const double *x, size_t n, double q);

typedef struct met_interval {
    double low, mid, high;      /* percentiles (1-c)/2, 50 and (1+c)/2 */
} met_interval;

#define MET_BOOT_MAX_RESAMPLES 1000000

/* Percentile bootstrap of the mean of each of 'ncols' columns of the
 * row-major n x ncols matrix x: 'resamples' resamples of n rows drawn with
 * replacement from 'rng' (met_mt_below, sample by sample and index by
 * index), each column mean a sequential sum divided by n; out[c] holds the
 * percentiles. rouge_score's BootstrapAggregator after np.random.seed(S)
 * is, bit for bit: met_mt_seed(&rng, S), then one call per rouge type in
 * the scorer's type order with ncols 3 (precision, recall, fmeasure), 1000
 * resamples, confidence 0.95. Needs n >= 1, resamples in
 * [1, MET_BOOT_MAX_RESAMPLES], 0 < confidence < 1; AS_EINVAL otherwise. */
int met_bootstrap(const double *x, size_t n, size_t ncols, met_mt *rng, size_t resamples,
                  double confidence, met_interval *out);

typedef struct met_paired {
    double mean_a, mean_b, diff;    /* diff: mean of b[i] - a[i] */
    double low, high;               /* percentile interval of the difference */
    double p_value;                 /* two-sided */
    size_t n, resamples;
} met_paired;

/* Paired bootstrap test of system b against system a on the same n items
 * (a[i] and b[i] score item i): resample items with replacement, recompute
 * the difference of means; the interval is its percentile interval and the
 * two-sided p-value is the share of resampled differences, shifted to
 * have mean zero under the null hypothesis (d* - diff), at least as
 * extreme as |diff|, computed as (count + 1) / (resamples + 1). */
int met_paired_bootstrap(const double *a, const double *b, size_t n, uint32_t seed,
                         size_t resamples, double confidence, met_paired *out);

typedef struct met_mcnemar {
    int64_t b, c;           /* b: a passed and b failed; c: a failed, b passed */
    double statistic;       /* chi-square with continuity correction (0 when exact) */
    double p_value;         /* two-sided */
    int exact;              /* 1: exact binomial test (b + c < 25) */
} met_mcnemar;

/* McNemar's test on paired pass/fail outcomes (nonzero = pass): exact
 * two-sided binomial test when the discordant count b + c is below 25,
 * else the chi-square test with continuity correction (1 degree of
 * freedom). b + c == 0 gives p = 1. */
int met_mcnemar_test(const int *pass_a, const int *pass_b, size_t n, met_mcnemar *out);
/* The same from the discordant counts. */
int met_mcnemar_counts(int64_t b, int64_t c, met_mcnemar *out);

#endif
