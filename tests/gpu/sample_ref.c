/* Boundaries of a draw among the sampling candidates (sample_ref.h). */
#include "sample_ref.h"

#include <math.h>
#include <stdlib.h>

/* qsort has no context argument: the logits of the sort on this thread. */
static _Thread_local const float *order_logits;

static int by_order(const void *a, const void *b)
{
    float x = order_logits[*(const int *)a], y = order_logits[*(const int *)b];

    if (x != y)
        return x > y ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

int sref_init(sref *r, const float *logits, int vocab)
{
    int i;

    r->logits = logits;
    r->vocab = vocab;
    r->order = malloc((size_t)vocab * sizeof *r->order);
    r->cum = malloc((size_t)vocab * sizeof *r->cum);
    if (r->order == NULL || r->cum == NULL) {
        sref_free(r);
        return -1;
    }
    for (i = 0; i < vocab; i++)
        r->order[i] = i;
    order_logits = logits;
    qsort(r->order, (size_t)vocab, sizeof *r->order, by_order);
    return 0;
}

void sref_free(sref *r)
{
    free(r->order);
    free(r->cum);
    r->order = NULL;
    r->cum = NULL;
}

/* The first j in [0, n) with cum[j] > x, or n. */
static int first_above(const double *cum, int n, double x)
{
    int lo = 0, hi = n;

    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* 1 when x is within 'slack' of cum[j - 1] or cum[j] (j from first_above),
 * or past cum[n - 1]. */
static int near(const double *cum, int n, double x, double slack)
{
    int j = first_above(cum, n, x);

    return j == n || cum[j] - x <= slack || (j > 0 && x - cum[j - 1] <= slack);
}

void sref_params(sref *r, float temperature, int top_k, float top_p, double rel)
{
    const float *l = r->logits;
    float top = l[r->order[0]];
    double sum = 0.0, diff = 0.0;
    int j, k = top_k > 0 && top_k < r->vocab ? top_k : r->vocab;

    r->exp_differs = 0;
    for (j = 0; j < k; j++) {
        float a = (l[r->order[j]] - top) / temperature, p = expf(a);
        float exact = (float)exp((double)a);

        r->exp_differs += p != exact;
        diff += fabs((double)p - exact);
        sum += p;
        r->cum[j] = sum;
    }
    r->n = k;
    r->z = sum;
    r->slack = rel * sum + diff;
    r->cut_near = 0;
    if (top_p < 1.0f) {
        double tau = (double)top_p * sum;
        int c = first_above(r->cum, k, tau);

        /* the cut is the first j with cum[j] >= tau */
        while (c > 0 && r->cum[c - 1] >= tau)
            c--;
        r->cut_near = near(r->cum, k, tau, r->slack);
        r->n = c < k ? c + 1 : k;
        r->z = r->cum[r->n - 1];
    }
}

int sref_near(const sref *r, double u)
{
    return r->cut_near || near(r->cum, r->n, u * r->z, r->slack);
}
