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

#endif
