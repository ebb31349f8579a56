/* Continuous batching: many sequences through one model at once. A fixed
 * pool of slots, each a KV cache; a sequence is admitted into a free slot
 * and leaves it when it stops, so new sequences come in as others finish.
 * Each step feeds one token of every decoding sequence and, in the room
 * left, the next chunk of the prompts being prefilled (chunked prefill), so
 * that the weights are read once per step for all of them. Every sequence
 * keeps its own sampling and stop conditions (eng_seq), and its own timings:
 * time to first token and per-token time from its admission, and as busy
 * time its share of each step it was in (rows it fed / rows of the step,
 * times the step's compute time: wall time on the CPU, CUDA events on the
 * GPU). A sequence's tokens are exactly those it gets alone (eng_generate):
 * the rows of a step do not mix.
 *
 * One thread drives a batch. */
#ifndef AS_ENG_BATCH_H
#define AS_ENG_BATCH_H

#include "evaluator/engine/generate.h"

typedef struct eng_batch eng_batch;

/* Prompt tokens a GPU step takes beside its decode rows by default. */
#define ENG_GPU_PREFILL_CHUNK 512

typedef struct eng_batch_opts {
    int slots;               /* sequences at once, >= 1 */
    int ctx;                 /* positions per slot; 0: as eng_state_new */
    int step_rows;           /* rows per step, >= slots; 0: slots + ENG_PREFILL_CHUNK
                                (CPU) or + ENG_GPU_PREFILL_CHUNK (GPU: prefill
                                GEMMs want many rows) */
    int gpu;                 /* run the steps on the GPU (eng_gpu_batch); CUDA builds */
} eng_batch_opts;

/* Make a batch for 'm' (borrowed; must outlive it). AS_EINVAL for bad
 * options, AS_EUNSUPPORTED for gpu without CUDA, AS_EGPU or AS_ENOMEM when
 * the caches do not fit. Caller frees with eng_batch_free (accepts NULL),
 * which drops sequences still in without reporting them. */
int eng_batch_new(eng_batch **out, const eng_model *m, const eng_batch_opts *o);
void eng_batch_free(eng_batch *b);

int eng_batch_free_slots(const eng_batch *b);
/* Sequences admitted and not yet reported. */
int eng_batch_active(const eng_batch *b);

/* Admit a sequence: prompt[0..n) (copied) generated with 'p' (copied; its
 * stop strings and detok_ud stay borrowed until the sequence is reported);
 * 'ud' comes back with its result. AS_EBUSY when no slot is free; a bad
 * prompt or bad params are AS_EINVAL / AS_ETOOBIG (nothing admitted). */
int eng_batch_add(eng_batch *b, const int32_t *prompt, size_t n, const eng_gen_params *p, void *ud);

/* Admit a log-likelihood sequence (lm-evaluation-harness loglikelihood,
 * as eng_loglik): ids[0..nctx) the context, ids[nctx..nctx+ncont) the
 * continuation (copied). Its result has ids NULL, finish "scored",
 * logprob the sum of log p(continuation id | the ids before it), greedy 1
 * when each was the argmax, and the two token counts. */
int eng_batch_add_loglik(eng_batch *b, const int32_t *ids, size_t nctx, size_t ncont, void *ud);

/* A finished sequence: rc 0 with 'res' (the callee takes it and clears it
 * with eng_gen_result_clear), or rc < 0 with the error in as_error_msg()
 * and res empty. busy_ms is its share of the compute time. A negative
 * return stops the step with that error. */
typedef int (*eng_batch_done_fn)(void *arg, void *ud, int rc, eng_gen_result *res,
                                 double busy_ms);

/* Run one step and report the sequences it finished. Returns 0 (also when
 * nothing was active) or a negative AS_E* when the step itself failed: the
 * sequences still in are then lost to it (eng_batch_abort reports them). */
int eng_batch_step(eng_batch *b, eng_batch_done_fn done, void *arg);

/* Report every sequence still in with 'rc' (message 'why') and free its
 * slot. */
int eng_batch_abort(eng_batch *b, int rc, const char *why, eng_batch_done_fn done, void *arg);

#endif
