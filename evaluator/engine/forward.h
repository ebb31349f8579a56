/* The reference forward pass: tokens through the decoder with a float32 KV
 * cache (llama2.c run.c structure, HF weight layout), one at a time when
 * decoding and in chunks when prefilling (the same arithmetic), per token:
 *
 *   x = E[tok]
 *   per layer: h = rmsnorm(x) w_attn; q,k,v = h Wq^T (+bq), h Wk^T (+bk), h Wv^T (+bv)
 *              rope(q, k, pos) (half-split); K[pos], V[pos] = k, v
 *              per head hq (kv group g = hq / (heads/kv)): o = softmax(q K[g]^T / sqrt(hd)) V[g]
 *              x += o Wo^T (+bo); h = rmsnorm(x) w_ffn; x += (silu(h Wg^T) * (h Wu^T)) Wd^T
 *   logits = rmsnorm(x) w_final Wlm^T
 *
 * A state belongs to one sequence and one thread at a time. Several states
 * can be fed together (eng_forward_rows): the continuous batching of
 * batch.h, where each weight is read once per step for every sequence. */
#ifndef AS_ENG_FORWARD_H
#define AS_ENG_FORWARD_H

#include "evaluator/engine/model.h"

/* Tokens a prefill pushes through the decoder together. */
#define ENG_PREFILL_CHUNK 32

/* Scratch for the rows of one step (activations of every row). */
typedef struct eng_work eng_work;

typedef struct eng_state {
    const eng_model *m;
    int ctx;                 /* positions the cache holds */
    int pos;                 /* tokens already in the cache */
    float *kcache, *vcache;  /* (layers, ctx, kv_heads * head_dim) */
    eng_work *work;          /* ENG_PREFILL_CHUNK rows, for this state alone */
    float *scores;           /* (heads, ctx): one attention score row per head */
    float *logits;
    struct eng_gpu_state *gpu; /* set by eng_state_use_gpu: the steps run there */
} eng_state;

/* A state for up to 'ctx' positions (0: the model's max_position_embeddings,
 * capped at 4096); more than the model allows is AS_EINVAL. Caller frees
 * with eng_state_free. */
int eng_state_new(eng_state **out, const eng_model *m, int ctx);
void eng_state_free(eng_state *s);
/* Run this state's steps on the GPU (gpu/forward_gpu.h): upload the
 * model and keep the KV cache in device memory. Without CUDA in the build
 * AS_EUNSUPPORTED; on any failure the state stays on the CPU, unchanged.
 * Call before the first eng_forward. */
int eng_state_use_gpu(eng_state *s);
/* Forget every position from 'pos' on (0: start a new sequence). */
void eng_state_rewind(eng_state *s, int pos);

/* Feed 'token' at position s->pos and advance. When 'logits' is not NULL it
 * receives the vocab-sized logits of the next token (borrowed until the
 * next call; computing them is skipped when NULL, for prompt tokens whose
 * logits nobody reads). AS_EINVAL for a token outside the vocabulary,
 * AS_ETOOBIG when the context is full. */
int eng_forward(eng_state *s, int token, const float **logits);

/* Feed tokens[0..n) at positions s->pos.. in chunks of ENG_PREFILL_CHUNK
 * (each weight read once per chunk) and advance; *logits (when not NULL)
 * gets the last token's logits. Bit-identical to n eng_forward calls.
 * AS_EINVAL for an id outside the vocabulary, AS_ETOOBIG when the tokens
 * do not fit the context (nothing is fed then). */
int eng_prefill(eng_state *s, const int32_t *tokens, size_t n, const float **logits);

/* One row of a step: token 'tok' of the sequence in 's' at position 'pos'.
 * With 'logits' not NULL it receives the vocab-sized next-token logits. */
typedef struct eng_row {
    eng_state *s;
    int pos;
    int32_t tok;
    float *logits;
} eng_row;

/* Scratch for steps of up to 'rows' rows, of which up to 'logit_rows' ask
 * for logits at once (more are done in turns). Caller frees with
 * eng_work_free (accepts NULL). */
int eng_work_new(eng_work **out, const eng_model *m, int rows, int logit_rows);
void eng_work_free(eng_work *w);
int eng_work_rows(const eng_work *w);

/* Feed rows[0..n) through the decoder together: each matrix product reads
 * each weight once for all n rows. Rows of one state are contiguous and in
 * position order, starting at a position the state already holds or at
 * its end (a state can start over at 0); each state's pos becomes its last
 * row's pos + 1. Every row's results are bit-identical to feeding its
 * sequence alone (eng_prefill, eng_forward). CPU states only; AS_EINVAL for
 * a bad token, position or row count. */
int eng_forward_rows(eng_work *w, const eng_row *rows, int n);

#endif
