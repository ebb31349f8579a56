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
 * (so that it can be captured into a graph). On devices of compute
 * capability 9.0 or later the kernels of a batched step launched on it
 * may overlap their predecessors' ends (programmatic dependent launch)
 * unless ASSAY_GPU_PDL=0 when it is made. eng_gpu_stream_free accepts
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
 * over t in [t0, t1), g = h / (n_heads / n_kv); 1 <= head_dim <= 256.
 * Each K and V row is read once for the query heads that share it (at
 * most 8 per block, 4 for head_dim > 128). Deterministic, and bit for bit
 * what eng_gpu_attention_rows computes for a row over the same positions
 * (kernels_attention.cu). */
int eng_gpu_attention_decode(float *d_out, const float *d_q, const float *d_k, const float *d_v,
                             int n_heads, int n_kv, int head_dim, int t0, int t1, float scale);

/* *out (device int32) = index of the largest of x (n), the first on ties. */
int eng_gpu_argmax(int32_t *d_out, const float *d_x, int n);

/* out (rows) = W (rows, cols, 'dtype') . x (cols) [+ bias (rows), may be
 * NULL]: one warp per row, float32 accumulation. */
int eng_gpu_gemv(float *d_out, const void *d_w, int dtype, const float *d_x, const float *d_bias,
                 int rows, int cols);

/* out (n, rows) = x (n, cols) . W (rows, cols, 'dtype')^T [+ bias (rows),
 * may be NULL] [+ out, with 'acc': a residual connection folded into the
 * product] for 1 <= n <= ENG_GPU_GEMV_ROWS_MAX, as eng_matmat: the
 * matrix product of a decode-sized step, bound by reading W, which it
 * reads once for all n vectors (16-byte loads when W's rows and x are
 * 16-byte aligned). Float32 accumulation in a fixed order (deterministic).
 * out must not alias x. */
enum { ENG_GPU_GEMV_ROWS_MAX = 8 };
int eng_gpu_gemv_rows(float *d_out, const void *d_w, int dtype, const float *d_x,
                      const float *d_bias, int n, int rows, int cols, int acc);

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

/* out (T, rows) = x (T, cols) . W (rows, cols)^T [+ out, with 'acc'] for
 * T tokens at once. float32 weights: an SGEMM. bfloat16 weights: x is
 * first rounded to bfloat16 into 'd_xh' (T * cols scratch of uint16), then
 * a bf16 x bf16 GEMM with float32 accumulation and output. float16
 * weights are AS_EUNSUPPORTED here. */
int eng_gpu_gemm(eng_gpu_blas *b, float *d_out, const void *d_w, int dtype, const float *d_x,
                 uint16_t *d_xh, int T, int rows, int cols, int acc);

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
 * d_kc + s * slot_stride elements (likewise d_vc). */

/* out (T, rows) += bias (rows), per row: a GEMM's bias. */
int eng_gpu_add_bias(float *d_out, const float *d_bias, int T, int rows);

/* out (k, cols) = rows idx[0..k) (device int32) of x (n, cols). */
int eng_gpu_gather_rows(float *d_out, const float *d_x, const int32_t *d_idx, int k, int cols);

/* The step after a fused q|k|v product: qkv (n, qdim + 2 * kvdim), row r
 * being [q (n_heads, head_dim) | k (n_kv, head_dim) | v (n_kv, head_dim)]
 * of a token at position pos[r]: q_out (n, qdim) = q rotated as
 * eng_gpu_rope; k rotated and v go to position pos[r] of slot slot[r]'s
 * caches (as eng_gpu_kv_scatter; caches of kv_dtype, ENG_GPU_F32 or
 * ENG_GPU_BF16, rounded to nearest even; slot_stride counts elements).
 * One launch for what eng_gpu_rope twice and eng_gpu_kv_scatter do. Rows
 * must name distinct (slot, position). */
int eng_gpu_qkv_rope_scatter(float *d_q_out, void *d_kc, void *d_vc, int kv_dtype,
                             const float *d_qkv, const int32_t *d_slot, const int32_t *d_pos,
                             const float *d_inv_freq, int n, size_t slot_stride, int n_heads,
                             int n_kv, int head_dim);

/* out (n, I) = silu(gate) * up per row of gu (n, 2 * I) = [gate | up]:
 * eng_gpu_swiglu after a fused gate|up product. */
int eng_gpu_swiglu_rows(float *d_out, const float *d_gu, int n, int I);

/* Row r of k, v (n, kvdim) goes to position pos[r] of slot slot[r]'s
 * caches. Rows must name distinct (slot, position) pairs. */
int eng_gpu_kv_scatter(float *d_kc, float *d_vc, const float *d_k, const float *d_v,
                       const int32_t *d_slot, const int32_t *d_pos, int n, size_t slot_stride,
                       int kvdim);

/* Decode attention of n rows at once: q, out (n, n_heads, head_dim); row r
 * attends (GQA, online softmax, as eng_gpu_attention_decode) to positions
 * [t0, pos[r]] of slot slot[r]'s caches, t0 = pos[r] + 1 - window when
 * window > 0 and shorter than that, else 0. One block per row and kv
 * head (and group of its query heads) walks all of the row's positions:
 * long rows of a small batch want the split form below. The caches hold
 * kv_dtype elements: ENG_GPU_F32, or ENG_GPU_BF16 (half the bytes to read
 * and to keep; the arithmetic stays float32); slot_stride counts
 * elements. */
int eng_gpu_attention_rows(float *d_out, const float *d_q, const void *d_kc, const void *d_vc,
                           int kv_dtype, const int32_t *d_slot, const int32_t *d_pos, int n,
                           size_t slot_stride, int n_heads, int n_kv, int head_dim, int window,
                           float scale);

/* Split-context (flash-decoding) form of eng_gpu_attention_rows for caches
 * of 'ctx' positions (every pos[r] < ctx). A launch has S splits, the
 * fewest with n * n_heads * S >= ENG_GPU_SPLIT_FILL but at most
 * eng_gpu_attention_splits(ctx) (so a batch of one long row still fills
 * the GPU while a large batch, which fills it with rows, is not split). A
 * row attending to more than ENG_GPU_SPLIT_MIN positions has them cut into
 * at most S consecutive chunks of equal length (the last shorter, none
 * under ENG_GPU_SPLIT_CHUNK), each attended by its own block into a
 * partial (max, sum of exponentials, weighted values) in d_part (n,
 * n_heads, S, head_dim + 2), then a second kernel combines the partials in
 * chunk order, so the result is deterministic. Other rows (all rows when
 * S = 1) are computed exactly as by eng_gpu_attention_rows (bit for bit).
 * Launch shapes depend only on n, the model's shape and ctx. d_part:
 * eng_gpu_attention_part_floats(n, n_heads, head_dim, ctx) floats of
 * scratch, enough for any n' <= n rows.
 *
 * A chunk of 64 positions is one pass of a block's 8 warps at head_dim
 * 64 (32 KB of K and V in flight); shorter chunks would not shorten a
 * block's time (a memory round trip) but add blocks and partials, longer
 * ones lengthen the critical path of batch-1 decode (64 blocks of 64
 * positions each cover a 512-position row of Llama-3.2-1B's 8 kv heads in
 * one round trip). ENG_GPU_SPLIT_FILL = 2048 query-head splits gives 512
 * blocks (about 4 per SM of an H100) when 4 query heads share a kv head
 * (Llama-3.2-1B). eng_gpu_attention_splits(ctx), the most splits for
 * caches of ctx positions, stops at ENG_GPU_SPLIT_MAX = 64: a row of 4096
 * positions is then still cut into chunks of 64 (512 blocks for 8 kv
 * heads), and longer rows are bound by memory bandwidth anyway. */
enum {
    ENG_GPU_SPLIT_MIN = 64,
    ENG_GPU_SPLIT_CHUNK = 64,
    ENG_GPU_SPLIT_MAX = 64,
    ENG_GPU_SPLIT_FILL = 2048
};
int eng_gpu_attention_splits(int ctx);
size_t eng_gpu_attention_part_floats(int n, int n_heads, int head_dim, int ctx);
int eng_gpu_attention_rows_split(float *d_out, float *d_part, const float *d_q, const void *d_kc,
                                 const void *d_vc, int kv_dtype, const int32_t *d_slot,
                                 const int32_t *d_pos, int n, size_t slot_stride, int n_heads,
                                 int n_kv, int head_dim, int window, float scale, int ctx);

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
