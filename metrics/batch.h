/* Batched scoring of many pairs at once, on the CPU or on a CUDA GPU:
 * ROUGE-L of N pairs of token-id sequences and the cosine of N pairs of
 * vectors. Both paths give the same bits: the GPU computes only the integer
 * LCS lengths and P/R/F are derived from them here with rouge.c's double
 * arithmetic; the GPU cosine accumulates in double in met_cosine's order
 * with no fused multiply-add (metrics/gpu/met_gpu.h). tests/metrics/
 * test_batch.c checks the CPU path against met_rouge_score and met_cosine;
 * tests/gpu/metrics_gpu.c checks the GPU path against the CPU path.
 *
 * The GPU is used when assay was built with CUDA (ASSAY_HAVE_CUDA), a
 * device is usable and, with MET_DEVICE_AUTO, the batch is larger than the
 * MET_BATCH_*_GPU_MIN thresholds below (under them the CPU is faster once
 * the CUDA context start and the copies are counted). Not thread-safe per
 * object; the functions themselves keep no state besides the CUDA context. */
#ifndef MET_BATCH_H
#define MET_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/rouge.h"

typedef enum met_device { MET_DEVICE_AUTO = 0, MET_DEVICE_CPU = 1, MET_DEVICE_GPU = 2 } met_device;

/* With MET_DEVICE_AUTO: the GPU for ROUGE-L when the pairs' LCS work
 * (sum of |ref| * |pred|) reaches MET_BATCH_LCS_GPU_MIN, and for cosine
 * when n * dim reaches MET_BATCH_COSINE_GPU_MIN. From the CPU speeds
 * measured here (one core: 0.09 ns per LCS cell, 1.1 ns per cosine
 * element; bench/README.md) against the CUDA start (~0.3 s, to be measured
 * on an H100): ROUGE-L moves to the GPU once the CPU would need ~0.4 s.
 * A cosine reads 16 bytes per element, which the copy to the GPU takes
 * about as long to move as the CPU takes to compute, so the GPU is chosen
 * only for batches of 1e9 elements and more (8 GB per side). */
#define MET_BATCH_LCS_GPU_MIN ((uint64_t)4000000000u)
#define MET_BATCH_COSINE_GPU_MIN ((uint64_t)1000000000u)

/* Parse "cpu", "gpu" or "auto" (AS_EINVAL otherwise). */
int met_device_parse(const char *s, met_device *out);
/* "cpu", "gpu" or "auto". */
const char *met_device_name(met_device d);
/* 1 when this build has CUDA and a device is usable; otherwise 0 and the
 * reason in why[0..size). The first call starts the CUDA runtime. */
int met_gpu_usable(char *why, size_t size);

/* N sequences of token ids stored back to back: sequence i is
 * ids[off[i] .. off[i+1]). Owns its arrays (met_seqs_free). */
typedef struct met_seqs {
    uint32_t *ids;
    uint64_t *off; /* n + 1 entries once anything was pushed */
    size_t n, ids_cap, off_cap;
} met_seqs;

void met_seqs_init(met_seqs *s);
void met_seqs_free(met_seqs *s);
/* Append a sequence of n ids (copied). Returns 0 or AS_ENOMEM. */
int met_seqs_push(met_seqs *s, const uint32_t *ids, size_t n);

/* Texts to token ids as ROUGE sees them: rouge_score's tokenizer (and the
 * Porter stemmer for tokens longer than 3 characters when 'stem'), every
 * token interned in one vocabulary so equal tokens get equal ids across all
 * the texts of a batch. Caller frees with met_interner_free. */
typedef struct met_interner met_interner;

int met_interner_new(met_interner **out, int stem);
void met_interner_free(met_interner *t);
/* Tokenize text[0..len) and append its ids to s as one sequence. */
int met_interner_add(met_interner *t, met_seqs *s, const char *text, size_t len);

/* ROUGE-L of pair i = (reference refs[i], prediction preds[i]) into out[i]
 * for i < refs->n (preds->n must be equal: AS_EINVAL): P = lcs / |pred|,
 * R = lcs / |ref|, F = 2PR / (P + R), all 0 when either side is empty,
 * exactly as met_rouge_score's rougeL. *used (may be NULL) tells where the
 * LCS lengths were computed. MET_DEVICE_GPU without a usable GPU fails with
 * AS_EUNSUPPORTED; a CUDA failure is AS_EGPU. Pairs whose shorter side is
 * longer than MET_GPU_LCS_MAX_LEN (1024, metrics/gpu/met_gpu.h) tokens are always computed on the
 * CPU. */
int met_batch_rouge_l(const met_seqs *refs, const met_seqs *preds, met_device dev, met_prf *out,
                      met_device *used);

/* out[i] = met_cosine(a + i*dim, b + i*dim, dim) for i < n (row-major
 * (n, dim) arrays), on the device chosen as for met_batch_rouge_l. */
int met_batch_cosine(const double *a, const double *b, size_t n, size_t dim, met_device dev,
                     double *out, met_device *used);

/* The CPU reference of the GPU LCS kernel: LCS length of a[0..na) and
 * b[0..nb), bit-parallel (Crochemore et al. 2001) over 64-bit words.
 * '*scratch' is reused between calls: start it NULL, free it with
 * met_lcs_scratch_free. Returns 0 or AS_ENOMEM. */
typedef struct met_lcs_scratch met_lcs_scratch;
int met_lcs(met_lcs_scratch **scratch, const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
            uint32_t *out);
void met_lcs_scratch_free(met_lcs_scratch *s);

#endif
