/* The C-facing header of the engine's CUDA kernels (the .cu files of gpu/), compiled
 * only when CMake found CUDA (ASSAY_HAVE_CUDA). The one place outside .cu
 * files that knows a GPU exists; cuda_runtime.h stays inside the .cu files.
 *
 * Every kernel has a CPU reference in ops.h that is its specification;
 * tests/gpu/test_kernels.c compares them (float32 within 1e-5 relative,
 * bfloat16 within 1e-2) and then times them. Pointers named d_* are device
 * memory. Functions return 0 or AS_EGPU with the CUDA error text; kernels,
 * GEMMs, copies and timers run on the calling thread's current stream
 * (eng_gpu_stream_use; the legacy default stream unless one is set) and
 * the kernel functions do not wait for them (eng_gpu_sync does). */
#ifndef AS_ENG_GPU_H
#define AS_ENG_GPU_H

#include <stddef.h>
#include <stdint.h>

/* Weight element types the kernels read (safetensors dtypes). */
enum { ENG_GPU_F32 = 0, ENG_GPU_BF16 = 1, ENG_GPU_F16 = 2 };

/* 1 when a CUDA device can be used; otherwise 0 and the reason in 'why'. */
int eng_gpu_available(char *why, size_t size);
/* The device's name and memory into 'out' ("NVIDIA H100 80GB HBM3, 79.1 GiB"). */
int eng_gpu_describe(char *out, size_t size);

int eng_gpu_alloc(void **d_ptr, size_t bytes);
void eng_gpu_free(void *d_ptr);
/* Copies on the current stream, after the work queued there; they return
 * when the copy is done. */
int eng_gpu_upload(void *d_dst, const void *src, size_t bytes);
int eng_gpu_download(void *dst, const void *d_src, size_t bytes);
/* Wait for every launched kernel; reports errors they raised. */
int eng_gpu_sync(void);

/* A CUDA stream that does not synchronise with the legacy default stream
 * (so that it can be captured into a graph). eng_gpu_stream_free accepts
 * NULL and waits for the stream's work first. */
typedef struct eng_gpu_stream eng_gpu_stream;
int eng_gpu_stream_new(eng_gpu_stream **out);
void eng_gpu_stream_free(eng_gpu_stream *s);
/* Make 's' (borrowed; NULL: the legacy default stream) the calling
 * thread's current stream; returns the previous one, to be restored. */
eng_gpu_stream *eng_gpu_stream_use(eng_gpu_stream *s);

/* CUDA graphs: the work the calling thread queues on its current stream
 * (which must be an eng_gpu_stream) between eng_gpu_capture_begin and
 * eng_gpu_capture_end is recorded, not run. eng_gpu_capture_end always
 * ends the recording; with 'keep' it returns the graph, ready to launch,
 * in *out (caller frees with eng_gpu_graph_free, which accepts NULL),
 * otherwise it discards it. A graph replays its kernels with the
 * arguments and launch shapes they were recorded with. */
typedef struct eng_gpu_graph eng_gpu_graph;
int eng_gpu_capture_begin(void);
int eng_gpu_capture_end(eng_gpu_graph **out, int keep);
/* Queue the graph's work on the current stream. */
int eng_gpu_graph_launch(eng_gpu_graph *gr);
void eng_gpu_graph_free(eng_gpu_graph *gr);

/* out (T, cols) = table[ids[t]]: embedding gather; table (vocab, cols) in
 * 'dtype'; ids (T) int32 on the device. */
int eng_gpu_embed(float *d_out, const void *d_table, int dtype, const int32_t *d_ids, int T,
                  int cols);

/* out (rows, n) = x / sqrt(mean(x^2) + eps) * w (n, 'dtype'), per row. */
int eng_gpu_rmsnorm(float *d_out, const float *d_x, const void *d_w, int dtype, int rows, int n,
                    float eps);

/* In place, x (T, n_heads, head_dim): half-split rotation of each head at
 * position pos[t] (device int32 (T)), angle pos * inv_freq[i] (head_dim/2). */
int eng_gpu_rope(float *d_x, const int32_t *d_pos, const float *d_inv_freq, int T, int n_heads,
                 int head_dim);

/* out (n) = silu(gate) * up. */
int eng_gpu_swiglu(float *d_out, const float *d_gate, const float *d_up, int n);

/* Decode attention for one token with GQA and online softmax:
 * q (n_heads, head_dim); k, v caches (ctx, n_kv * head_dim) of one layer;
 * out (n_heads, head_dim) = sum_t softmax_t(q_h . k_t[g] * scale) v_t[g]
 * over t in [t0, t1), g = h / (n_heads / n_kv). */
int eng_gpu_attention_decode(float *d_out, const float *d_q, const float *d_k, const float *d_v,
                             int n_heads, int n_kv, int head_dim, int t0, int t1, float scale);

/* *out (device int32) = index of the largest of x (n), the first on ties. */
int eng_gpu_argmax(int32_t *d_out, const float *d_x, int n);

/* out (rows) = W (rows, cols, 'dtype') . x (cols) [+ bias (rows), may be
 * NULL]: one warp per row, float32 accumulation. */
int eng_gpu_gemv(float *d_out, const void *d_w, int dtype, const float *d_x, const float *d_bias,
                 int rows, int cols);

/* out (n, rows) = x (n, cols) . W (rows, cols, 'dtype')^T [+ bias (rows),
 * may be NULL] for 1 <= n <= ENG_GPU_GEMV_ROWS_MAX, as eng_matmat: the
 * matrix product of a decode-sized step, bound by reading W, which it
 * reads once for all n vectors (16-byte loads when W's rows and x are
 * 16-byte aligned). Float32 accumulation in a fixed order (deterministic).
 * out must not alias x. */
enum { ENG_GPU_GEMV_ROWS_MAX = 8 };
int eng_gpu_gemv_rows(float *d_out, const void *d_w, int dtype, const float *d_x,
                      const float *d_bias, int n, int rows, int cols);

/* x (n) += y (n): the residual connection. */
int eng_gpu_add(float *d_x, const float *d_y, int n);

/* Append one position to a layer's KV cache: k, v (kvdim) go to row 'pos'
 * of the caches (ctx, kvdim). */
int eng_gpu_kv_append(float *d_kcache, float *d_vcache, const float *d_k, const float *d_v,
                      int pos, int kvdim);

/* A cuBLAS handle for the GEMMs of prefill and batched decode; one per
 * thread. It has a fixed workspace of its own (so its GEMMs can be
 * captured into a graph) and follows the current stream.
 * eng_gpu_blas_free accepts NULL. */
typedef struct eng_gpu_blas eng_gpu_blas;
int eng_gpu_blas_new(eng_gpu_blas **out);
void eng_gpu_blas_free(eng_gpu_blas *b);

/* out (T, rows) = x (T, cols) . W (rows, cols)^T for T tokens at once.
 * float32 weights: an SGEMM. bfloat16 weights: x is first rounded to
 * bfloat16 into 'd_xh' (T * cols scratch of uint16), then a bf16 x bf16
 * GEMM with float32 accumulation and output. float16 weights are
 * AS_EUNSUPPORTED here. */
int eng_gpu_gemm(eng_gpu_blas *b, float *d_out, const void *d_w, int dtype, const float *d_x,
                 uint16_t *d_xh, int T, int rows, int cols);

/* Device time of a span of work on the current stream (CUDA events).
 * eng_gpu_timer_free accepts NULL. */
typedef struct eng_gpu_timer eng_gpu_timer;
int eng_gpu_timer_new(eng_gpu_timer **out);
void eng_gpu_timer_free(eng_gpu_timer *t);
int eng_gpu_timer_start(eng_gpu_timer *t);
/* Wait for the work launched since eng_gpu_timer_start (reporting errors
 * it raised); *ms gets its device time in milliseconds. */
int eng_gpu_timer_stop(eng_gpu_timer *t, double *ms);

/* --- continuous batching (kernels_batch.cu) ------------------------------
 * A step feeds n rows (n <= 65535), row r being a token of slot slot[r] at
 * position pos[r] (device int32 (n) each). The KV cache of one layer for
 * every slot is one array: slot s's (ctx, kvdim) cache starts at
 * d_kc + s * slot_stride floats (likewise d_vc). */

/* out (T, rows) += bias (rows), per row: a GEMM's bias. */
int eng_gpu_add_bias(float *d_out, const float *d_bias, int T, int rows);

/* out (k, cols) = rows idx[0..k) (device int32) of x (n, cols). */
int eng_gpu_gather_rows(float *d_out, const float *d_x, const int32_t *d_idx, int k, int cols);

/* Row r of k, v (n, kvdim) goes to position pos[r] of slot slot[r]'s
 * caches. Rows must name distinct (slot, position) pairs. */
int eng_gpu_kv_scatter(float *d_kc, float *d_vc, const float *d_k, const float *d_v,
                       const int32_t *d_slot, const int32_t *d_pos, int n, size_t slot_stride,
                       int kvdim);

/* Decode attention of n rows at once: q, out (n, n_heads, head_dim); row r
 * attends (GQA, online softmax, as eng_gpu_attention_decode) to positions
 * [t0, pos[r]] of slot slot[r]'s caches, t0 = pos[r] + 1 - window when
 * window > 0 and shorter than that, else 0. */
int eng_gpu_attention_rows(float *d_out, const float *d_q, const float *d_kc, const float *d_vc,
                           const int32_t *d_slot, const int32_t *d_pos, int n, size_t slot_stride,
                           int n_heads, int n_kv, int head_dim, int window, float scale);

/* Split-context (flash-decoding) form of eng_gpu_attention_rows for caches
 * of 'ctx' positions (every pos[r] < ctx). A row attending to more than
 * ENG_GPU_SPLIT_MIN positions has them cut into at most
 * eng_gpu_attention_splits(ctx) consecutive chunks of equal length (the
 * last shorter, none under ENG_GPU_SPLIT_CHUNK), each attended by its own
 * block into a partial (max, sum of exponentials, weighted values) in
 * d_part, then a second kernel combines the partials in chunk order, so
 * the result is deterministic. Shorter rows are computed exactly as by
 * eng_gpu_attention_rows (bit for bit). Launch shapes depend only on n,
 * the model's shape and ctx. d_part: eng_gpu_attention_part_floats(n,
 * n_heads, head_dim, ctx) floats of scratch. */
enum { ENG_GPU_SPLIT_MIN = 1024, ENG_GPU_SPLIT_CHUNK = 512, ENG_GPU_SPLIT_MAX = 32 };
int eng_gpu_attention_splits(int ctx);
size_t eng_gpu_attention_part_floats(int n, int n_heads, int head_dim, int ctx);
int eng_gpu_attention_rows_split(float *d_out, float *d_part, const float *d_q, const float *d_kc,
                                 const float *d_vc, const int32_t *d_slot, const int32_t *d_pos,
                                 int n, size_t slot_stride, int n_heads, int n_kv, int head_dim,
                                 int window, float scale, int ctx);

/* Per row i < k of logits (k, vocab): argmax[i] (device int32 (k)), the
 * first index of the largest; with d_target (device int32 (k)) not NULL,
 * logprob[i] (device double (k)) = log softmax(row i)[target[i]] computed
 * in double as eng_logprob, or 0 where target[i] is negative (a row
 * nothing is scored on). */
int eng_gpu_argmax_logprob(int32_t *d_argmax, double *d_logprob, const float *d_logits,
                           const int32_t *d_target, int k, int vocab);

/* Sampling (kernels_sample.cu): per row i < k of logits (k, vocab), out[i]
 * (device int32 (k)) = the token sample.h's eng_sample_u chooses from the
 * row with temperature temp[i], top_k[i], top_p[i] and draw u[i] (device
 * arrays of k each; u in [0, 1)), or the argmax (first index of the
 * largest) where temp[i] is not > 0. Deterministic; equal to the CPU's
 * choice except where the draw or the top-p cut falls within rounding of
 * a candidate boundary (kernels_sample.cu states the bound). Logits finite
 * or -inf; vocab <= ENG_GPU_SAMPLE_VOCAB_MAX. */
enum { ENG_GPU_SAMPLE_VOCAB_MAX = 1 << 24 };
int eng_gpu_sample_rows(int32_t *d_out, const float *d_logits, const float *d_temp,
                        const int32_t *d_top_k, const float *d_top_p, const double *d_u, int k,
                        int vocab);

#endif
