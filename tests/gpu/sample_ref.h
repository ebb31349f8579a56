/* The CPU side of the GPU sampling checks (test_sample_gpu.c,
 * test_batch_gpu.c): where a draw falls among the candidates' running
 * sums, to tell a token the GPU may choose differently (the draw or the
 * top-p cut within rounding of a boundary, as kernels_sample.cu states)
 * from a wrong one. The expected token itself is always sample.h's
 * eng_sample_u. */
#ifndef AS_TESTS_GPU_SAMPLE_REF_H
#define AS_TESTS_GPU_SAMPLE_REF_H

typedef struct sref {
    const float *logits;     /* borrowed */
    int vocab;
    int *order;              /* ids, highest logit first, lower id on ties */
    double *cum;             /* running probability sums in that order */
    int n;                   /* candidates left by top-k and top-p */
    double z;                /* their sum */
    double slack;            /* distance to a running sum that counts as on it */
    int cut_near;            /* the top-p cut is itself on a boundary */
    int exp_differs;         /* candidates whose expf is not the correctly rounded exp */
} sref;

/* Order 'logits' (vocab; borrowed until sref_free). 0, or -1 out of memory. */
int sref_init(sref *r, const float *logits, int vocab);
void sref_free(sref *r);
/* The candidates and sums for these parameters (temperature > 0); 'rel'
 * is the relative rounding allowance (slack = rel * Z plus the sum of
 * |expf - correctly rounded exp| over the candidates). */
void sref_params(sref *r, float temperature, int top_k, float top_p, double rel);
/* 1 when draw u lands within slack of a running sum (or the cut does). */
int sref_near(const sref *r, double u);

#endif
