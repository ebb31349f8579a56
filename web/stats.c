/* Statistics of human ratings; see stats.h. */
#include "web/stats.h"

#include "common/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: small, fast and good enough for resampling indices. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t web_stats_hash(uint64_t seed, const char *text)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed, s;

    for (; *text; text++) {
        h ^= (unsigned char)*text;
        h *= 0x100000001b3ULL;
    }
    s = h;
    return next_rand(&s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n) by linear interpolation. */
static double quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double f = pos - (double)i;

    if (i + 1 >= n)
        return v[n - 1];
    return v[i] * (1 - f) + v[i + 1] * f;
}

void web_stats_mean_ci(const double *x, size_t n, int resamples, uint64_t seed, double *mean,
                       double *lo, double *hi)
{
    double sum = 0, *means;
    size_t i;
    int b;

    *mean = *lo = *hi = 0;
    if (n == 0)
        return;
    for (i = 0; i < n; i++)
        sum += x[i];
    *mean = *lo = *hi = sum / (double)n;
    if (n < 2 || resamples < 2 || (means = malloc((size_t)resamples * sizeof *means)) == NULL)
        return;
    for (b = 0; b < resamples; b++) {
        double s = 0;
        for (i = 0; i < n; i++)
            s += x[next_rand(&seed) % n];
        means[b] = s / (double)n;
    }
    qsort(means, (size_t)resamples, sizeof *means, cmp_double);
    *lo = quantile(means, (size_t)resamples, 0.025);
    *hi = quantile(means, (size_t)resamples, 0.975);
    free(means);
}

/* MM iterations for BT on votes[idx[k]] (idx NULL: all votes in order). */
static void bt_fit(const web_vote *votes, const size_t *idx, size_t nvotes, int np, double *p,
                   double *wins, double *denom)
{
    const double prior = 0.5;   /* virtual games against a strength-1 player */
    int it, a;
    size_t k;

    for (a = 0; a < np; a++)
        p[a] = 1.0;
    for (it = 0; it < 500; it++) {
        double change = 0, logsum = 0;
        for (a = 0; a < np; a++) {
            wins[a] = prior;            /* half a win and half a loss vs 1.0 */
            denom[a] = 2 * prior / (p[a] + 1.0);
        }
        for (k = 0; k < nvotes; k++) {
            const web_vote *v = &votes[idx ? idx[k] : k];
            double d = 1.0 / (p[v->i] + p[v->j]);
            wins[v->i] += v->winner == 0 ? 1 : v->winner == 2 ? 0.5 : 0;
            wins[v->j] += v->winner == 1 ? 1 : v->winner == 2 ? 0.5 : 0;
            denom[v->i] += d;
            denom[v->j] += d;
        }
        for (a = 0; a < np; a++) {
            double np_a = wins[a] / denom[a];
            change = fmax(change, fabs(log(np_a) - log(p[a])));
            p[a] = np_a;
        }
        for (a = 0; a < np; a++)
            logsum += log(p[a]);
        for (a = 0; a < np; a++)
            p[a] /= exp(logsum / np);
        if (change < 1e-10)
            break;
    }
    for (a = 0; a < np; a++)
        p[a] = 400.0 * log10(p[a]);
}

int web_stats_bradley_terry(const web_vote *votes, size_t nvotes, int nplayers, int resamples,
                            uint64_t seed, double *score, double *lo, double *hi)
{
    double *work, *boot = NULL;
    size_t k, *idx = NULL;
    int a, b, rc = 0;

    for (k = 0; k < nvotes; k++)
        if (votes[k].i < 0 || votes[k].i >= nplayers || votes[k].j < 0 ||
            votes[k].j >= nplayers || votes[k].i == votes[k].j || votes[k].winner < 0 ||
            votes[k].winner > 2)
            return as_error_set(AS_EINVAL, "vote %zu: bad players or winner", k);
    if (nplayers <= 0)
        return 0;
    if ((work = malloc(3 * (size_t)nplayers * sizeof *work)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    bt_fit(votes, NULL, nvotes, nplayers, score, work + nplayers, work + 2 * nplayers);
    if (lo == NULL || hi == NULL)
        goto out;
    for (a = 0; a < nplayers; a++)
        lo[a] = hi[a] = score[a];
    if (resamples < 2 || nvotes == 0)
        goto out;
    if ((boot = malloc((size_t)resamples * (size_t)nplayers * sizeof *boot)) == NULL ||
        (idx = malloc(nvotes * sizeof *idx)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto out;
    }
    for (b = 0; b < resamples; b++) {
        for (k = 0; k < nvotes; k++)
            idx[k] = (size_t)(next_rand(&seed) % nvotes);
        bt_fit(votes, idx, nvotes, nplayers, work, work + nplayers, work + 2 * nplayers);
        for (a = 0; a < nplayers; a++)
            boot[(size_t)a * (size_t)resamples + (size_t)b] = work[a];
    }
    for (a = 0; a < nplayers; a++) {
        double *col = boot + (size_t)a * (size_t)resamples;
        qsort(col, (size_t)resamples, sizeof *col, cmp_double);
        lo[a] = quantile(col, (size_t)resamples, 0.025);
        hi[a] = quantile(col, (size_t)resamples, 0.975);
    }
out:
    free(idx);
    free(boot);
    free(work);
    return rc;
}

double web_stats_cohen_kappa(const int *a, const int *b, size_t n)
{
    enum { MAXC = 64 };
    double pa[MAXC] = {0}, pb[MAXC] = {0}, po = 0, pe = 0;
    size_t k;
    int c;

    if (n == 0)
        return NAN;
    for (k = 0; k < n; k++) {
        if (a[k] < 0 || a[k] >= MAXC || b[k] < 0 || b[k] >= MAXC)
            return NAN;
        po += a[k] == b[k];
        pa[a[k]] += 1;
        pb[b[k]] += 1;
    }
    po /= (double)n;
    for (c = 0; c < MAXC; c++)
        pe += (pa[c] / (double)n) * (pb[c] / (double)n);
    if (pe >= 1.0)
        return po >= 1.0 ? 1.0 : NAN;
    return (po - pe) / (1.0 - pe);
}

double web_stats_krippendorff_alpha(const double *v, size_t nunits, size_t nraters)
{
    double do_sum = 0, de_sum = 0, npair = 0;
    double *vals;
    size_t u, r, s, nv = 0, i, j;

    if ((vals = malloc(nunits * nraters * sizeof *vals + 1)) == NULL)
        return NAN;
    /* Observed disagreement: within each unit with m >= 2 values, every
     * ordered pair weighted 1/(m-1); expected: over all pairable values. */
    for (u = 0; u < nunits; u++) {
        const double *row = v + u * nraters;
        size_t m = 0;
        for (r = 0; r < nraters; r++)
            m += !isnan(row[r]);
        if (m < 2)
            continue;
        for (r = 0; r < nraters; r++) {
            if (isnan(row[r]))
                continue;
            vals[nv++] = row[r];
            for (s = 0; s < nraters; s++)
                if (s != r && !isnan(row[s]))
                    do_sum += (row[r] - row[s]) * (row[r] - row[s]) / (double)(m - 1);
        }
    }
    npair = (double)nv;
    if (nv < 2) {
        free(vals);
        return NAN;
    }
    for (i = 0; i < nv; i++)
        for (j = 0; j < nv; j++)
            de_sum += (vals[i] - vals[j]) * (vals[i] - vals[j]);
    free(vals);
    if (de_sum == 0)
        return NAN;
    /* alpha = 1 - (n - 1) * sum_o / sum_e with sums over ordered pairs. */
    return 1.0 - (npair - 1) * do_sum / de_sum;
}

/* Average ranks (1-based) of x into r. */
static int ranks(const double *x, size_t n, double *r)
{
    size_t *ord = malloc(n * sizeof *ord), i, j, k;

    if (ord == NULL)
        return -1;
    for (i = 0; i < n; i++)
        ord[i] = i;
    /* insertion sort of indices by value: n is the number of rated items */
    for (i = 1; i < n; i++) {
        size_t t = ord[i];
        for (j = i; j > 0 && x[ord[j - 1]] > x[t]; j--)
            ord[j] = ord[j - 1];
        ord[j] = t;
    }
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && x[ord[j]] == x[ord[i]]; j++)
            ;
        for (k = i; k < j; k++)
            r[ord[k]] = (double)(i + j + 1) / 2.0;
    }
    free(ord);
    return 0;
}

double web_stats_spearman(const double *x, const double *y, size_t n)
{
    double *rx, *ry, mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0, rho = NAN;
    size_t i;

    if (n < 2)
        return NAN;
    rx = malloc(n * sizeof *rx);
    ry = malloc(n * sizeof *ry);
    if (rx == NULL || ry == NULL || ranks(x, n, rx) < 0 || ranks(y, n, ry) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        mx += rx[i];
        my += ry[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    if (sxx > 0 && syy > 0)
        rho = sxy / sqrt(sxx * syy);
out:
    free(rx);
    free(ry);
    return rho;
}
