/* Statistics of human ratings (internal to web/): means with bootstrap
 * intervals, Bradley-Terry strengths from pairwise votes with bootstrap
 * intervals, inter-rater agreement (Cohen's kappa, Krippendorff's alpha)
 * and Spearman's rank correlation. Pure functions, no I/O; bootstrap
 * resampling uses a fixed-seed generator so results repeat exactly. */
#ifndef AS_WEB_STATS_H
#define AS_WEB_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Mean of x[0..n) with a 95% percentile bootstrap interval from 'resamples'
 * resamples drawn with 'seed'. n == 0 gives zeros. */
void web_stats_mean_ci(const double *x, size_t n, int resamples, uint64_t seed, double *mean,
                       double *lo, double *hi);

/* One pairwise comparison: players i and j (indices), winner 0 = i,
 * 1 = j, 2 = tie (half a win each). */
typedef struct web_vote {
    int i, j;
    int winner;
} web_vote;

/* Bradley-Terry strengths of 'nplayers' from 'votes' by the MM algorithm
 * (Hunter 2004), reported on the Elo scale: 400 * log10(p) centred on a
 * mean of 0. A tiny prior win against a virtual average player keeps
 * strengths finite for a player who never lost or never won. 'score' gets
 * nplayers values; lo/hi (may be NULL) the 95% bootstrap interval from
 * 'resamples' resamples of the votes. Returns 0, or AS_EINVAL for a vote
 * naming a player out of range. */
int web_stats_bradley_terry(const web_vote *votes, size_t nvotes, int nplayers, int resamples,
                            uint64_t seed, double *score, double *lo, double *hi);

/* Cohen's kappa of two raters' labels a[k], b[k] on n items (nominal).
 * Returns NaN when undefined (n == 0 or chance agreement 1 with no
 * disagreement counts as 1). */
double web_stats_cohen_kappa(const int *a, const int *b, size_t n);

/* Krippendorff's alpha, interval metric, for a reliability matrix: values
 * v[u * nraters + r] for unit u and rater r, NaN when rater r did not rate
 * unit u. Units with fewer than two values are left out. NaN when there
 * are no pairable values or no variation at all. */
double web_stats_krippendorff_alpha(const double *v, size_t nunits, size_t nraters);

/* Spearman's rho of x and y (average ranks for ties); NaN for n < 2 or a
 * constant series. */
double web_stats_spearman(const double *x, const double *y, size_t n);

/* A 64-bit mix of (seed, text) for deterministic sampling and ordering. */
uint64_t web_stats_hash(uint64_t seed, const char *text);

#endif
