/* The CPU reference kernels of the forward pass, in plain float32 C. They
 * are the specification the GPU kernels (gpu/) are checked against: each
 * says what it computes and the shapes of its arrays. Weights may be F32,
 * F16 or BF16 (converted to float32 element by element); activations and
 * every sum are float32. */
#ifndef AS_ENG_OPS_H
#define AS_ENG_OPS_H

#include "evaluator/engine/pool.h"
#include "evaluator/engine/safetensors.h"

#include <stddef.h>
#include <stdint.h>

/* A weight matrix (rows, cols) or vector (rows = 1), row-major, in its
 * stored dtype; data borrowed from the weights. */
typedef struct eng_mat {
    const void *data;
    eng_dtype dtype;
    int rows, cols;
} eng_mat;

float eng_f16_to_f32(uint16_t h);
float eng_bf16_to_f32(uint16_t b);
/* Round to nearest even (NaN stays NaN). */
uint16_t eng_f32_to_bf16(float f);

/* Element i of 'm' (row-major index) as float32. */
float eng_mat_get(const eng_mat *m, size_t i);

/* out (rows) = W (rows, cols) . x (cols) [+ bias (rows), may have NULL data].
 * Each dot product keeps eight partial sums (element c goes to sum c % 8),
 * added pairwise at the end. Rows are split over the pool's threads. 'out'
 * must not alias 'x'. */
void eng_matvec(eng_pool *pool, float *out, const eng_mat *w, const float *x, const eng_mat *bias);

/* The same for n vectors at once: out row t (at out + t * out_stride) =
 * W . x row t (at x + t * x_stride) [+ bias], for t < n. Each weight row is
 * read once for all n vectors (the prefill's matrix product); every output
 * element is the same dot product as eng_matvec's, so the results are
 * bit-identical to n separate calls. */
void eng_matmat(eng_pool *pool, float *out, size_t out_stride, const eng_mat *w, const float *x,
                size_t x_stride, int n, const eng_mat *bias);

/* out (n) = x / sqrt(mean(x^2) + eps) * w (n)  (HF LlamaRMSNorm). */
void eng_rmsnorm(float *out, const float *x, const eng_mat *w, int n, float eps);

/* out (cols) = row 'row' of the embedding table E (vocab, cols). */
void eng_embed(float *out, const eng_mat *e, int row);

/* inv_freq (head_dim/2) for the rope of 'cfg' (default, linear, llama3). */
struct eng_config;
void eng_rope_inv_freq(float *inv_freq, const struct eng_config *cfg);

/* Rotate x (n_heads, head_dim) in place for position 'pos', half-split
 * (HF rotate_half / NEOX) pairing: (x[i], x[i + d/2]) for i < d/2, angle
 * pos * inv_freq[i]. */
void eng_rope(float *x, int n_heads, int head_dim, int pos, const float *inv_freq);

/* In place: x (n) = softmax(x). */
void eng_softmax(float *x, int n);

/* out (n) = silu(gate) * up, silu(z) = z / (1 + exp(-z)). out may alias gate. */
void eng_swiglu(float *out, const float *gate, const float *up, int n);

/* One query head over cached keys/values: out (head_dim) =
 * sum_t softmax_t(q . K[t] * scale) V[t] for t in [t0, t1); K and V rows are
 * 'stride' floats apart; 'scores' is scratch of t1 entries. */
void eng_attend(float *out, const float *q, const float *k, const float *v, size_t stride,
                int t0, int t1, int head_dim, float scale, float *scores);

/* Index of the largest of x (n) (the first on ties). */
int eng_argmax(const float *x, int n);

/* log softmax(x)[i], computed in double. */
double eng_logprob(const float *x, int n, int i);

#endif
