/* Means, MT19937, bootstrap intervals, the paired bootstrap test and
 * McNemar's test; see stats.h. */
#include "metrics/stats.h"
#include "common/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* numpy's pairwise_sum for float64 (loops.c.src): plain below 8, eight
 * accumulators up to 128, else split at half rounded down to 8. */
static double pairwise(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.;
        size_t i;
        for (i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8], res;
        size_t i, j;
        for (j = 0; j < 8; j++)
            r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (j = 0; j < 8; j++)
                r[j] += a[i + j];
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    } else {
        size_t n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise(a, n2) + pairwise(a + n2, n - n2);
    }
}

double met_sum(const double *x, size_t n)
{
    double acc = 0.0;
    size_t i;

    for (i = 0; i < n; i += 8192)
        acc += pairwise(x + i, n - i < 8192 ? n - i : 8192);
    return acc;
}

double met_mean(const double *x, size_t n)
{
    return n ? met_sum(x, n) / (double)n : NAN;
}

void met_mt_seed(met_mt *m, uint32_t seed)
{
    int i;

    m->s[0] = seed;
    for (i = 1; i < 624; i++)
        m->s[i] = 1812433253u * (m->s[i - 1] ^ (m->s[i - 1] >> 30)) + (uint32_t)i;
    m->i = 624;
}

uint32_t met_mt_next(met_mt *m)
{
    uint32_t y;

    if (m->i >= 624) {
        int k;
        for (k = 0; k < 624; k++) {
            y = (m->s[k] & 0x80000000u) | (m->s[(k + 1) % 624] & 0x7fffffffu);
            m->s[k] = m->s[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        m->i = 0;
    }
    y = m->s[m->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint32_t met_mt_below(met_mt *m, uint32_t n)
{
    uint32_t rng = n - 1, mask = rng, v;

    if (rng == 0)
        return 0;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    while ((v = met_mt_next(m) & mask) > rng)
        ;
    return v;
}

double met_percentile_sorted(const double *x, size_t n, double q)
{
    double v, g, a, b;
    size_t lo, hi;

    if (n == 0)
        return NAN;
    v = (double)(n - 1) * (q / 100.0);
    lo = (size_t)floor(v);
    if (lo > n - 1)
        lo = n - 1;
    hi = lo + 1 < n ? lo + 1 : n - 1;
    g = v - (double)lo;
    a = x[lo];
    b = x[hi];
    if (g >= 0.5)
        return b - (b - a) * (1 - g);
    return a + (b - a) * g;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

static int check_boot(size_t n, size_t resamples, double confidence)
{
    if (n == 0)
        return as_error_set(AS_EINVAL, "bootstrap needs at least one item");
    if (resamples < 1 || resamples > MET_BOOT_MAX_RESAMPLES)
        return as_error_set(AS_EINVAL, "resamples must be between 1 and %d",
                            MET_BOOT_MAX_RESAMPLES);
    if (!(confidence > 0 && confidence < 1))
        return as_error_set(AS_EINVAL, "confidence must be between 0 and 1 (exclusive)");
    if (n > UINT32_MAX)
        return as_error_set(AS_ETOOBIG, "too many items for the bootstrap");
    return 0;
}

/* The three percentiles of rouge_score: 100*[d, 0.5, 1-d], d = (1-c)/2. */
static void interval_of(double *sorted, size_t r, double confidence, met_interval *out)
{
    double d = (1 - confidence) / 2;

    qsort(sorted, r, sizeof(*sorted), cmp_double);
    out->low = met_percentile_sorted(sorted, r, 100 * d);
    out->mid = met_percentile_sorted(sorted, r, 100 * 0.5);
    out->high = met_percentile_sorted(sorted, r, 100 * (1 - d));
}

int met_bootstrap(const double *x, size_t n, size_t ncols, met_mt *rng, size_t resamples,
                  double confidence, met_interval *out)
{
    double *means, *acc;
    size_t s, i, c;
    int rc;

    if ((rc = check_boot(n, resamples, confidence)) < 0)
        return rc;
    if (ncols == 0)
        return as_error_set(AS_EINVAL, "bootstrap needs at least one column");
    means = malloc(resamples * ncols * sizeof(*means));
    acc = malloc(ncols * sizeof(*acc));
    if (means == NULL || acc == NULL) {
        free(means);
        free(acc);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    for (s = 0; s < resamples; s++) {
        for (c = 0; c < ncols; c++)
            acc[c] = 0.0;
        for (i = 0; i < n; i++) {
            const double *row = x + (size_t)met_mt_below(rng, (uint32_t)n) * ncols;
            for (c = 0; c < ncols; c++)
                acc[c] += row[c];
        }
        for (c = 0; c < ncols; c++)
            means[c * resamples + s] = acc[c] / (double)n;
    }
    for (c = 0; c < ncols; c++)
        interval_of(means + c * resamples, resamples, confidence, &out[c]);
    free(means);
    free(acc);
    return 0;
}

int met_paired_bootstrap(const double *a, const double *b, size_t n, uint32_t seed,
                         size_t resamples, double confidence, met_paired *out)
{
    double *diffs, *d, diff;
    size_t s, i, extreme = 0;
    met_mt rng;
    met_interval iv;
    int rc;

    if ((rc = check_boot(n, resamples, confidence)) < 0)
        return rc;
    diffs = malloc(resamples * sizeof(*diffs));
    d = malloc(n * sizeof(*d));
    if (diffs == NULL || d == NULL) {
        free(diffs);
        free(d);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    memset(out, 0, sizeof(*out));
    out->mean_a = met_mean(a, n);
    out->mean_b = met_mean(b, n);
    for (i = 0; i < n; i++)
        d[i] = b[i] - a[i];
    diff = met_mean(d, n);
    out->diff = diff;
    met_mt_seed(&rng, seed);
    for (s = 0; s < resamples; s++) {
        double acc = 0.0;
        for (i = 0; i < n; i++)
            acc += d[met_mt_below(&rng, (uint32_t)n)];
        diffs[s] = acc / (double)n;
        if (fabs(diffs[s] - diff) >= fabs(diff))
            extreme++;
    }
    interval_of(diffs, resamples, confidence, &iv);
    out->low = iv.low;
    out->high = iv.high;
    out->p_value = (double)(extreme + 1) / (double)(resamples + 1);
    out->n = n;
    out->resamples = resamples;
    free(diffs);
    free(d);
    return 0;
}

int met_mcnemar_counts(int64_t b, int64_t c, met_mcnemar *out)
{
    int64_t n = b + c, k, lo = b < c ? b : c;

    if (b < 0 || c < 0)
        return as_error_set(AS_EINVAL, "McNemar counts must not be negative");
    memset(out, 0, sizeof(*out));
    out->b = b;
    out->c = c;
    if (n == 0) {
        out->p_value = 1.0;
        out->exact = 1;
        return 0;
    }
    if (n < 25) {
        /* Two-sided exact binomial test with p = 1/2. */
        double term = pow(0.5, (double)n), tail = 0.0;
        for (k = 0; k <= lo; k++) {
            tail += term;
            term = term * (double)(n - k) / (double)(k + 1);
        }
        out->exact = 1;
        out->p_value = 2 * tail < 1.0 ? 2 * tail : 1.0;
        return 0;
    }
    {
        double diff = fabs((double)(b - c)) - 1.0;
        if (diff < 0)
            diff = 0;
        out->statistic = diff * diff / (double)n;
        out->p_value = erfc(sqrt(out->statistic / 2.0));
    }
    return 0;
}

int met_mcnemar_test(const int *pass_a, const int *pass_b, size_t n, met_mcnemar *out)
{
    int64_t b = 0, c = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (pass_a[i] && !pass_b[i])
            b++;
        else if (!pass_a[i] && pass_b[i])
            c++;
    }
    return met_mcnemar_counts(b, c, out);
}
