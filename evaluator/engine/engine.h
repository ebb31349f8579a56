/* The local engine as the rest of assay uses it: open a Hugging Face model
 * folder (weights, config, tokenizer), then turn a prompt -- text or chat
 * messages -- into generated text with exact token counts and timings.
 *
 * Every request, one alone or many at once, runs through the engine's
 * continuous batch (batch.h), so there is one generation path and one copy
 * of the model on the device.
 *
 * Device: "cpu" and "auto" run the CPU reference forward pass (forward.h);
 * "gpu" runs the batched GPU step (gpu/forward_gpu.h) when the build has
 * CUDA and a usable device holds the model, and otherwise falls back to the
 * CPU with a note saying why (eng_engine_note returns it for the caller to
 * show). "auto" will choose the GPU once the GPU engine has been validated
 * on hardware (issue 8).
 *
 * One engine serves one caller thread at a time. */
#ifndef AS_ENG_ENGINE_H
#define AS_ENG_ENGINE_H

#include "evaluator/engine/generate.h"
#include "evaluator/engine/model.h"
#include "evaluator/engine/sample.h"
#include "evaluator/engine/tokenizer.h"

#include <jansson.h>

typedef enum eng_device { ENG_DEVICE_AUTO, ENG_DEVICE_CPU, ENG_DEVICE_GPU } eng_device;

/* "auto", "cpu", "gpu" -> *out; AS_EINVAL otherwise. */
int eng_device_parse(const char *name, eng_device *out);

typedef struct eng_engine_opts {
    eng_device device;
    int nthreads;            /* <= 0: one per CPU */
    int ctx;                 /* KV cache positions; 0: the model's, capped at 4096 */
    eng_dtype keep;          /* weights kept as: ENG_DT_COUNT (as stored), F32, BF16 */
    int slots;               /* sequences at once (eng_engine_batch_open); <= 0: 1 */
} eng_engine_opts;

typedef struct eng_engine {
    eng_model *model;
    eng_tokenizer *tok;
    int ctx;                             /* positions per sequence */
    int32_t stop_ids[ENG_MAX_STOP_IDS];  /* config + generation_config + tokenizer EOS */
    int n_stop_ids;
    const char *device;                  /* "cpu" or "gpu" */
    char note[512];                      /* why a GPU request runs on the CPU, or "" */
    struct eng_batch *batch;             /* every request runs through it */
    int batch_slots;
} eng_engine;

/* Open 'dir'. Caller frees with eng_engine_close. */
int eng_engine_open(eng_engine **out, const char *dir, const eng_engine_opts *o);
void eng_engine_close(eng_engine *e);
/* The device fallback note, or NULL when there is none. */
const char *eng_engine_note(const eng_engine *e);

typedef struct eng_request {
    const char *prompt;      /* the text, used when 'messages' is NULL */
    const json_t *messages;  /* chat messages [{"role","content"}], or NULL */
    int chat;                /* render through the tokenizer's chat template
                                (a prompt alone becomes one user message) */
    int max_new_tokens;
    eng_sampling sampling;
    const char *stop[ENG_MAX_STOP_STRINGS]; /* borrowed stop strings */
    int n_stop;
} eng_request;

/* Tokenize, generate and detokenize (special tokens left out of the text).
 * res->text is the complete output. Caller clears res with
 * eng_gen_result_clear. */
int eng_engine_generate(eng_engine *e, const eng_request *r, eng_gen_result *res);

/* Continuous batching through the engine (batch.h): requests are
 * submitted while slots are free and reported as each finishes, with the
 * same text, counts and stop handling as eng_engine_generate. On a GPU
 * engine the batch runs on the GPU when it fits there, else on the CPU
 * (the note says why). */

/* Give the engine a batch of 'slots' slots (it opens with one): the same
 * count keeps the batch, another replaces it while nothing is in it
 * (AS_EBUSY otherwise). */
int eng_engine_batch_open(eng_engine *e, int slots);
int eng_engine_free_slots(const eng_engine *e);
int eng_engine_active(const eng_engine *e);

/* A finished request: rc 0 with 'res' (the callee clears it), or rc < 0
 * with the message in as_error_msg(). busy_ms: its share of the compute
 * time. A negative return stops the step with that error. */
typedef int (*eng_engine_done_fn)(void *arg, void *ud, int rc, eng_gen_result *res,
                                  double busy_ms);

/* Encode 'r' and admit it (its stop strings stay borrowed until it is
 * reported); 'ud' comes back with its result. AS_EBUSY when no slot
 * is free; a request that cannot run is its error (nothing admitted). */
int eng_engine_submit(eng_engine *e, const eng_request *r, void *ud);
/* Admit the scoring of 'continuation' after 'context' (encoded as
 * eng_engine_loglik does); its result has logprob, greedy, and the
 * continuation's token count as completion_tokens. */
int eng_engine_submit_loglik(eng_engine *e, const char *context, const char *continuation,
                             void *ud);
/* One step of the batch; reports the requests it finished. */
int eng_engine_step(eng_engine *e, eng_engine_done_fn done, void *arg);
/* Report every request still in with 'rc' and message 'why'. */
int eng_engine_abort(eng_engine *e, int rc, const char *why, eng_engine_done_fn done, void *arg);

/* The log-likelihood of 'continuation' after 'context' (texts) into
 * *logprob, with *greedy 1 when greedy decoding would produce it and
 * *n_tokens its token count. As lm-evaluation-harness does: trailing
 * whitespace of the context moves to the continuation, context+continuation
 * is encoded whole (with the tokenizer's BOS) and the continuation is the
 * ids past the context's own encoding. An empty continuation, or a
 * context that encodes to no ids, is AS_EINVAL. */
int eng_engine_loglik(eng_engine *e, const char *context, const char *continuation,
                      double *logprob, int *greedy, size_t *n_tokens);

/* Read OpenAI-style generation params (temperature, top_p, top_k, seed,
 * max_tokens / max_new_tokens, stop as a string or a list of strings) from
 * 'params' over the defaults already in 'r'. Strings in r->stop borrow from
 * 'params'. AS_EINVAL names a bad value. */
int eng_request_from_params(eng_request *r, const json_t *params);

#endif
