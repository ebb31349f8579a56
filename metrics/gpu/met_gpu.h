/* The C-facing header of the metrics' CUDA kernels (lcs.cu, cosine.cu,
 * device.cu), compiled only when CMake found CUDA (ASSAY_HAVE_CUDA);
 * cuda_runtime.h stays inside the .cu files. metrics/batch.h is the API
 * the rest of assay uses; these functions are its GPU half.
 *
 * Each kernel has a CPU specification: met_lcs (batch.h) for the LCS
 * lengths and met_cosine (cosine.h) for the cosines, and gives the same
 * bits (tests/gpu/metrics_gpu.c checks 100,000 random pairs). Arguments
 * are host memory; each call copies in, runs, copies out and waits.
 * Functions return 0 or AS_EGPU with the CUDA error text. */
#ifndef MET_GPU_H
#define MET_GPU_H

#include <stddef.h>
#include <stdint.h>

/* The longest shorter side of a pair the LCS kernel takes: one warp per
 * pair, 32 lanes x 32 bits of the shorter sequence. */
#define MET_GPU_LCS_MAX_LEN 1024
/* What met_gpu_lcs writes for a pair over that length. */
#define MET_GPU_LCS_TOO_LONG UINT32_MAX

/* Where the time of one call went, in milliseconds (CUDA events). */
typedef struct met_gpu_times {
    double h2d_ms, kernel_ms, d2h_ms;
} met_gpu_times;

/* 1 when a CUDA device can be used; otherwise 0 and the reason in 'why'. */
int met_gpu_available(char *why, size_t size);
/* The device's name into 'out' ("NVIDIA H100 80GB HBM3, sm_90"). */
int met_gpu_describe(char *out, size_t size);

/* LCS lengths of n pairs: pair i is a = a_ids[a_off[i] .. a_off[i+1]) and
 * b = b_ids[b_off[i] .. b_off[i+1]); out[i] = LCS length, or
 * MET_GPU_LCS_TOO_LONG when both sides are longer than MET_GPU_LCS_MAX_LEN.
 * a_off and b_off have n + 1 entries and start at 0. 'times' may be NULL. */
int met_gpu_lcs(const uint32_t *a_ids, const uint64_t *a_off, const uint32_t *b_ids,
                const uint64_t *b_off, size_t n, uint32_t *out, met_gpu_times *times);

/* out[i] = cosine of rows i of a and b ((n, dim) row-major doubles), as
 * met_cosine: 0 when either row is all zeros. 'times' may be NULL. */
int met_gpu_cosine(const double *a, const double *b, size_t n, size_t dim, double *out,
                   met_gpu_times *times);

#endif
