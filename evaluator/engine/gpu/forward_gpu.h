/* The decode step of forward.h on the GPU: the model's weights uploaded as
 * stored (F32, BF16 or F16; biases as float32), a float32 KV cache in
 * device memory, and the kernels of gpu.h run in the order of the CPU
 * reference, one launch per operation (the first, unfused version; issue
 * 8's fast engine replaces the inside, not this interface). Built only
 * with CUDA. tests/gpu/test_forward_gpu.c compares it with the CPU
 * reference on whole models (logits 1e-4 relative, same argmax). */
#ifndef AS_ENG_FORWARD_GPU_H
#define AS_ENG_FORWARD_GPU_H

#include "evaluator/engine/model.h"

typedef struct eng_gpu_state eng_gpu_state;

/* Upload 'm' (borrowed; must outlive the state) and allocate a cache of
 * 'ctx' positions. AS_EGPU (or AS_ENOMEM) when the device cannot hold it.
 * Caller frees with eng_gpu_state_free. */
int eng_gpu_state_new(eng_gpu_state **out, const eng_model *m, int ctx);
void eng_gpu_state_free(eng_gpu_state *g);

/* Feed 'token' at position 'pos'; with 'logits' not NULL, copy the
 * vocab-sized logits into it (host memory). */
int eng_gpu_forward(eng_gpu_state *g, int token, int pos, float *logits);

/* Continuous batching on the GPU: 'slots' sequences, each with its own KV
 * cache of 'ctx' positions in device memory, fed together one step at a
 * time (evaluator/engine/batch.h drives it; forward.h's eng_forward_rows
 * is the CPU reference of a step). */
typedef struct eng_gpu_batch eng_gpu_batch;

/* Upload 'm' (borrowed; must outlive the batch) and allocate 'slots'
 * caches of 'ctx' positions and scratch for steps of up to 'max_rows'
 * rows. AS_EGPU or AS_ENOMEM when the device cannot hold it. Caller frees
 * with eng_gpu_batch_free (accepts NULL). */
int eng_gpu_batch_new(eng_gpu_batch **out, const eng_model *m, int slots, int ctx, int max_rows);
void eng_gpu_batch_free(eng_gpu_batch *g);

/* What one step asks for: n rows, row r feeding tok[r] at position pos[r]
 * into the cache of slot slot[r]. Rows of one slot are contiguous and in
 * position order, and each slot's earlier positions were fed by earlier
 * steps (a slot starting over simply feeds position 0 again). For the k
 * rows listed in want[] (row indices, increasing) the step reports, per
 * listed row i:
 *   argmax[i]   the index of the largest next-token logit (first on ties);
 *   logprob[i]  when target != NULL: log softmax(logits)[target[i]]
 *               (computed in double from float32 logits, as eng_logprob);
 *               0 where target[i] is negative: in a step that scores
 *               some rows, the other wanted rows (generating ones) give
 *               -1;
 *   token[i]    when sample != NULL: the token row i samples on the device
 *               with sample[i] (gpu.h's eng_gpu_sample_rows, the choice of
 *               sample.h's eng_sample_u), or its argmax where
 *               sample[i].temperature is 0;
 *   logits      when not NULL: the vocab-sized logits at logits + i * vocab
 *               (host memory). */
typedef struct eng_gpu_sample {
    float temperature;       /* 0: the argmax; else (0, 100] */
    int32_t top_k;           /* 0 (or >= vocab): off */
    float top_p;             /* (0, 1]; 1: off */
    double u;                /* the draw, in [0, 1) (eng_sampler_draw) */
} eng_gpu_sample;

typedef struct eng_gpu_step {
    const int32_t *tok, *slot, *pos;
    int n;
    const int32_t *want;
    int k;
    const int32_t *target;   /* k entries, or NULL */
    int32_t *argmax;         /* k entries (host) */
    double *logprob;         /* k entries (host), used with target */
    const eng_gpu_sample *sample; /* k entries, or NULL when no row samples */
    int32_t *token;          /* k entries (host), used with sample */
    float *logits;           /* k * vocab (host), or NULL */
    double gpu_ms;           /* out: the step's device time (CUDA events) */
} eng_gpu_step;

/* Run one step. n <= max_rows; every slot < slots; every pos < ctx;
 * AS_EINVAL otherwise (nothing run). Results are deterministic: the same
 * step on the same caches gives bit-identical outputs, whether or not it
 * is replayed from a CUDA graph. Steps whose rows are each a different
 * slot's and all wanted are replayed from a graph per row count (and
 * with or without targets, with or without sampling) once that shape has
 * been seen, unless the environment variable
 * ASSAY_GPU_GRAPHS was "0" when the batch was made. */
int eng_gpu_batch_step(eng_gpu_batch *g, eng_gpu_step *st);

/* How many CUDA graphs 'g' holds and how many steps it has replayed from
 * them (both 0 with graphs off, or when capturing failed). */
void eng_gpu_batch_graph_stats(const eng_gpu_batch *g, int *graphs, long *replays);

#endif
