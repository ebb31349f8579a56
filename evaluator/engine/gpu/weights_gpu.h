/* A model's weights in device memory, shared by the single-sequence decode
 * step (forward_gpu.c) and the batched step (batch_gpu.c). Internal to
 * gpu/; built only with CUDA. Matrices keep their stored dtype except
 * where the caller asks for float16 to become float32 (the cuBLAS GEMMs of
 * gpu.h read float32 and bfloat16 only); biases are always float32. */
#ifndef AS_ENG_WEIGHTS_GPU_H
#define AS_ENG_WEIGHTS_GPU_H

#include "evaluator/engine/model.h"

/* A weight matrix on the device in one of gpu.h's ENG_GPU_* dtypes. */
typedef struct eng_gpu_mat {
    void *d;
    int dtype;
} eng_gpu_mat;

/* wqkv stacks wq, wk, wv by rows, wgu stacks wg and wu (one product
 * each in a batched step); wq, wk, wv, wg, wu are views into them, and
 * likewise bq, bk, bv into bqkv and bg, bu into bgu (which hold zeros for
 * an absent one and are NULL when all are absent). */
typedef struct eng_gpu_layer {
    eng_gpu_mat attn_norm, ffn_norm, wqkv, wgu, wq, wk, wv, wo, wg, wu, wd;
    float *bqkv, *bgu, *bq, *bk, *bv, *bo, *bg, *bu, *bd;   /* float32 biases or NULL */
} eng_gpu_layer;

typedef struct eng_gpu_weights {
    int n_layers;
    eng_gpu_mat embed, norm, lm_head;          /* lm_head.d == embed.d when tied */
    eng_gpu_layer *layers;                     /* n_layers */
    float *inv_freq;                           /* head_dim / 2 */
} eng_gpu_weights;

/* Upload every weight of 'm' into *w (zeroed first). With f16_to_f32,
 * float16 matrices are widened to float32 on the way (exact). On failure
 * what was uploaded is freed and *w is left empty. */
int eng_gpu_weights_upload(eng_gpu_weights *w, const eng_model *m, int f16_to_f32);
/* Free what eng_gpu_weights_upload put in *w; accepts an empty *w. */
void eng_gpu_weights_free(eng_gpu_weights *w);

#endif
