/* A loaded model: its config, its memory-mapped weights bound to the
 * layers of the Llama/Qwen2/Mistral decoder (every tensor's shape and dtype
 * checked, missing and unexpected tensors reported), the rope frequencies
 * and the worker pool of the forward pass. Read-only once open; the
 * forward state (forward.h) holds everything that changes. */
#ifndef AS_ENG_MODEL_H
#define AS_ENG_MODEL_H

#include "evaluator/engine/config.h"
#include "evaluator/engine/ops.h"
#include "evaluator/engine/pool.h"
#include "evaluator/engine/safetensors.h"

typedef struct eng_layer {
    eng_mat attn_norm, ffn_norm;              /* (1, H) */
    eng_mat wq, wk, wv, wo;                   /* (heads*hd, H), (kv*hd, H) x2, (H, heads*hd) */
    eng_mat bq, bk, bv, bo;                   /* biases; data NULL when absent */
    eng_mat wg, wu, wd;                       /* (I, H), (I, H), (H, I) */
    eng_mat bg, bu, bd;
} eng_layer;

typedef struct eng_model {
    eng_config cfg;
    eng_weights *weights;
    eng_mat embed;                            /* (V, H) */
    eng_mat norm;                             /* (1, H) */
    eng_mat lm_head;                          /* (V, H); the embedding when tied */
    eng_layer *layers;                        /* cfg.n_layers */
    float *inv_freq;                          /* head_dim / 2 */
    eng_pool *pool;
    void **copies;                            /* aligned copies of misaligned tensors */
    size_t ncopies;
    eng_dtype dtype;                          /* the dtype the embedding table is kept in */
} eng_model;

/* Open the model folder 'dir' (config.json, generation_config.json,
 * safetensors). nthreads <= 0: one thread per CPU. 'keep' is the dtype the
 * weights are kept in: ENG_DT_COUNT keeps each as stored (memory-mapped,
 * no copy); ENG_DT_F32 or ENG_DT_BF16 converts them once at load
 * (arithmetic stays float32 either way). Caller frees with
 * eng_model_free. */
int eng_model_open(eng_model **out, const char *dir, int nthreads, eng_dtype keep);
/* "auto" (as stored), "float32", "bfloat16" -> the 'keep' of
 * eng_model_open; AS_EINVAL for anything else. */
int eng_keep_dtype_parse(const char *name, eng_dtype *out);
void eng_model_free(eng_model *m);

#endif
