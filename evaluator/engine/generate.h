/* Generation and scoring on the reference forward pass:
 *  - eng_generate: prefill a prompt, then sample up to max_new_tokens,
 *    stopping on a stop id (EOS) or a stop string, timing the first token
 *    and the rest;
 *  - eng_loglik: the log-likelihood of a continuation after a context and
 *    whether greedy decoding would have produced it (lm-evaluation-harness
 *    loglikelihood requests). */
#ifndef AS_ENG_GENERATE_H
#define AS_ENG_GENERATE_H

#include "common/buf.h"
#include "evaluator/engine/forward.h"
#include "evaluator/engine/sample.h"

#include <stddef.h>
#include <stdint.h>

#define ENG_MAX_STOP_IDS 16
#define ENG_MAX_STOP_STRINGS 8

/* Text of one generated token, from the tokenizer's streaming decoder:
 * set *text and *len to the newly complete text (borrowed until the next call).
 * Returns 0 or a negative AS_E* code. */
typedef int (*eng_detok_fn)(void *ud, int32_t token, const char **text, size_t *len);

typedef struct eng_gen_params {
    int max_new_tokens;                          /* >= 1 */
    eng_sampling sampling;
    int32_t stop_ids[ENG_MAX_STOP_IDS];          /* generation ends after one of these */
    int n_stop_ids;
    const char *stop_strings[ENG_MAX_STOP_STRINGS]; /* borrowed; need 'detok' */
    int n_stop_strings;
    eng_detok_fn detok;                          /* NULL: no text, ids only */
    void *detok_ud;
} eng_gen_params;

typedef struct eng_gen_result {
    int32_t *ids;            /* the generated ids, a stop id included (malloc'd) */
    size_t n_ids;
    char *text;              /* decoded text cut before a stop string (malloc'd);
                                NULL without detok */
    size_t text_len;
    const char *finish;      /* "stop" (stop id or string) or "length" (static) */
    int stop_string;         /* index of the stop string that cut the text, or -1 */
    int prompt_tokens;
    int completion_tokens;
    double prefill_ms;       /* the prompt through the model */
    double ttft_ms;          /* start to the first generated token */
    double total_ms;
    double per_token_ms;     /* mean time of each token after the first; 0 if one */
    double logprob;          /* scoring sequences (batch.h) only: the continuation's */
    int greedy;              /* scoring: every continuation id was the argmax */
} eng_gen_result;

/* Generate after 'prompt' (n >= 1 ids) from position 0 of 's'. A prompt that
 * leaves no room in the context is AS_ETOOBIG naming both sizes. Caller
 * frees the result with eng_gen_result_clear. */
int eng_generate(eng_state *s, const int32_t *prompt, size_t n, const eng_gen_params *p,
                 eng_gen_result *res);
void eng_gen_result_clear(eng_gen_result *res);

/* One sequence's generation bookkeeping, apart from the forward pass that
 * feeds it (eng_generate runs one alone; batch.h runs many together):
 * sampling, the stop conditions, the decoded text and the timings. */
typedef struct eng_seq {
    eng_gen_params p;
    struct eng_sampler *sampler;
    as_buf text;             /* decoded so far */
    eng_gen_result res;
    size_t cap;              /* most ids it may generate */
    double t0, t_first;
} eng_seq;

/* Check 'p' for a prompt of n ids in a context of 'ctx' positions and a
 * vocabulary of 'vocab', and start the clock. AS_EINVAL / AS_ETOOBIG name
 * what is wrong. Caller clears with eng_seq_clear (also after a failure). */
int eng_seq_begin(eng_seq *q, const eng_gen_params *p, size_t n, int ctx, int vocab);
/* The prompt's logits are ready (the end of prefill). */
void eng_seq_prefilled(eng_seq *q);
/* Choose the next token from 'logits' (vocab) and take it. Returns 1 when
 * the sequence is over (q->res is complete but for eng_seq_finish), 0 when
 * *next must be fed to get the following logits, or a negative AS_E*. */
int eng_seq_next(eng_seq *q, const float *logits, int32_t *next);
/* The same with the token already chosen (a greedy sequence whose argmax
 * was taken elsewhere, e.g. on the GPU). */
int eng_seq_push(eng_seq *q, int32_t tok, int32_t *next);
/* 1 when the sequence decodes greedily (its logits are needed only for
 * their argmax). */
int eng_seq_greedy(const eng_seq *q);
/* Stop the clock and move the result into 'res' (caller clears it). */
void eng_seq_finish(eng_seq *q, eng_gen_result *res);
void eng_seq_clear(eng_seq *q);

/* Sum of log p(cont[i] | ctx, cont[..i]) into *logprob and, into *greedy,
 * 1 when every cont[i] is the argmax. nctx >= 1 (put BOS first for an empty
 * context), ncont >= 1. Runs from position 0 of 's'. */
int eng_loglik(eng_state *s, const int32_t *ctx, size_t nctx, const int32_t *cont,
               size_t ncont, double *logprob, int *greedy);

#endif
