// Matrix products of decode-sized steps (gpu.h's eng_gpu_gemv_rows):
// out (n, rows) = x (n, cols) . W (rows, cols)^T [+ bias (rows)] [+ out]
// for 1 <= n <= ENG_GPU_GEMV_ROWS_MAX. Such a product is bound by reading W, so
// each weight row is read from global memory once for all n vectors, in
// 16-byte loads where W's rows and x are 16-byte aligned (element by
// element otherwise); x is small and read through the cache. The CPU
// reference is ops.h's eng_matmat.
//
// One warp computes R consecutive rows (R grows with n so that every x
// value a lane loads serves several weight rows); lane l takes the 16-byte
// chunks l, l + 32, ... of each row in order, keeping float32 sums per
// (row, vector), and the warp adds its lanes' sums with warp_sum. The
// order of every sum is fixed by n, rows, cols and the alignment, so the
// results are deterministic; there are no atomics.
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "evaluator/engine/gpu/kernels_common.cuh"
#include "evaluator/engine/gpu/launch.cuh"

#define GR_WARPS 4           // warps per block

// Bytes of one weight element.
template <int DT> static __host__ __device__ constexpr int elem_bytes()
{
    return DT == ENG_GPU_F32 ? 4 : 2;
}

// Weight element i of row 'w' as float32.
template <int DT> static __device__ __forceinline__ float elem(const void *w, int i)
{
    if constexpr (DT == ENG_GPU_BF16)
        return __uint_as_float((uint32_t)__ldg((const unsigned short *)w + i) << 16);
    else if constexpr (DT == ENG_GPU_F16)
        return __half2float(__ushort_as_half(__ldg((const unsigned short *)w + i)));
    else
        return __ldg((const float *)w + i);
}

// The 16 / elem_bytes<DT>() weights of a 16-byte chunk as float32, in
// memory order (the lower half of a 32-bit word comes first).
template <int DT> static __device__ __forceinline__ void unpack(float *f, uint4 u)
{
    uint32_t v[4] = {u.x, u.y, u.z, u.w};

#pragma unroll
    for (int i = 0; i < 4; i++) {
        if constexpr (DT == ENG_GPU_F32) {
            f[i] = __uint_as_float(v[i]);
        } else if constexpr (DT == ENG_GPU_BF16) {
            f[2 * i] = __uint_as_float(v[i] << 16);
            f[2 * i + 1] = __uint_as_float(v[i] & 0xffff0000u);
        } else {
            f[2 * i] = __half2float(__ushort_as_half((unsigned short)(v[i] & 0xffffu)));
            f[2 * i + 1] = __half2float(__ushort_as_half((unsigned short)(v[i] >> 16)));
        }
    }
}

// acc[r][t] += the chunks of the R rows at wr[r] times x (N, cols), 16
// bytes at a time: chunk c holds elements [c * E, (c + 1) * E).
template <int DT, int N, int R>
static __device__ __forceinline__ void dot_chunks(float (*acc)[N], const unsigned char *const *wr,
                                                  const float *__restrict__ x, int cols)
{
    constexpr int E = 16 / elem_bytes<DT>();
    int chunks = cols / E;

#pragma unroll 4
    for (int c = threadIdx.x % WARP; c < chunks; c += WARP) {
        float wf[R][E];

#pragma unroll
        for (int r = 0; r < R; r++)
            unpack<DT>(wf[r], __ldg((const uint4 *)wr[r] + c));
#pragma unroll
        for (int t = 0; t < N; t++) {
            const float4 *xp = (const float4 *)(x + (size_t)t * cols + (size_t)c * E);

#pragma unroll
            for (int q = 0; q < E / 4; q++) {
                float4 xv = __ldg(xp + q);

#pragma unroll
                for (int r = 0; r < R; r++) {
                    acc[r][t] = fmaf(wf[r][4 * q], xv.x, acc[r][t]);
                    acc[r][t] = fmaf(wf[r][4 * q + 1], xv.y, acc[r][t]);
                    acc[r][t] = fmaf(wf[r][4 * q + 2], xv.z, acc[r][t]);
                    acc[r][t] = fmaf(wf[r][4 * q + 3], xv.w, acc[r][t]);
                }
            }
        }
    }
}

// The same element by element, for rows or x that are not 16-byte aligned.
template <int DT, int N, int R>
static __device__ __forceinline__ void dot_elems(float (*acc)[N], const unsigned char *const *wr,
                                                 const float *__restrict__ x, int cols)
{
    for (int c = threadIdx.x % WARP; c < cols; c += WARP) {
        float wf[R];

#pragma unroll
        for (int r = 0; r < R; r++)
            wf[r] = elem<DT>(wr[r], c);
#pragma unroll
        for (int t = 0; t < N; t++) {
            float xv = __ldg(x + (size_t)t * cols + c);

#pragma unroll
            for (int r = 0; r < R; r++)
                acc[r][t] = fmaf(wf[r], xv, acc[r][t]);
        }
    }
}

// Rows [row0, row0 + R) of out (N, rows), one warp each R rows; a last
// warp past 'rows' reads row rows - 1 again for its missing rows and
// writes nothing for them. With 'add' the old out is added last, as
// forward.c's residual connection adds a product to the stream.
template <int DT, int N, int R>
static __global__ void __launch_bounds__(GR_WARPS * WARP)
    gemv_rows_kernel(float *__restrict__ out, const void *__restrict__ w,
                     const float *__restrict__ x, const float *__restrict__ bias, int rows,
                     int cols, int vec, int add)
{
    int row0 = (blockIdx.x * GR_WARPS + threadIdx.x / WARP) * R;
    size_t line = (size_t)(threadIdx.x % WARP) * 128, row_bytes = (size_t)cols * elem_bytes<DT>();
    const unsigned char *wr[R];
    float acc[R][N];

#pragma unroll
    for (int r = 0; r < R; r++) {
        int row = row0 + r < rows ? row0 + r : rows - 1;

        wr[r] = (const unsigned char *)w + (size_t)row * row_bytes;
        if (row0 < rows && line < row_bytes)
            pdl_prefetch_l2(wr[r] + line);   // the first 4 KB of the row while the last kernel ends
#pragma unroll
        for (int t = 0; t < N; t++)
            acc[r][t] = 0.0f;
    }
    pdl_enter();
    if (row0 >= rows)
        return;              // the whole warp: warp_sum below needs all its lanes
    if (vec)
        dot_chunks<DT, N, R>(acc, wr, x, cols);
    else
        dot_elems<DT, N, R>(acc, wr, x, cols);
#pragma unroll
    for (int r = 0; r < R; r++) {
#pragma unroll
        for (int t = 0; t < N; t++) {
            float s = warp_sum(acc[r][t]);
            float *o = out + (size_t)t * rows + row0 + r;

            if (threadIdx.x % WARP == 0 && row0 + r < rows) {
                s += bias != NULL ? bias[row0 + r] : 0.0f;
                *o = add ? *o + s : s;
            }
        }
    }
}

template <int DT, int N>
static void launch_n(float *out, const void *w, const float *x, const float *bias, int rows,
                     int cols, int vec, int add)
{
    constexpr int R = N <= 2 ? 1 : N <= 5 ? 2 : 4;
    unsigned blocks = (unsigned)(((size_t)rows + R * GR_WARPS - 1) / (R * GR_WARPS));

    pdl_launch(gemv_rows_kernel<DT, N, R>, blocks, GR_WARPS * WARP, 0, out, w, x, bias, rows, cols,
               vec, add);
}

template <int DT>
static void launch_dt(float *out, const void *w, const float *x, const float *bias, int n,
                      int rows, int cols, int vec, int add)
{
    switch (n) {
    case 1: launch_n<DT, 1>(out, w, x, bias, rows, cols, vec, add); break;
    case 2: launch_n<DT, 2>(out, w, x, bias, rows, cols, vec, add); break;
    case 3: launch_n<DT, 3>(out, w, x, bias, rows, cols, vec, add); break;
    case 4: launch_n<DT, 4>(out, w, x, bias, rows, cols, vec, add); break;
    case 5: launch_n<DT, 5>(out, w, x, bias, rows, cols, vec, add); break;
    case 6: launch_n<DT, 6>(out, w, x, bias, rows, cols, vec, add); break;
    case 7: launch_n<DT, 7>(out, w, x, bias, rows, cols, vec, add); break;
    default: launch_n<DT, 8>(out, w, x, bias, rows, cols, vec, add); break;
    }
}

extern "C" int eng_gpu_gemv_rows(float *d_out, const void *d_w, int dtype, const float *d_x,
                                 const float *d_bias, int n, int rows, int cols, int acc)
{
    size_t esize = dtype == ENG_GPU_F32 ? 4 : 2;
    int vec = (uintptr_t)d_w % 16 == 0 && (uintptr_t)d_x % 16 == 0 &&
              (size_t)cols * esize % 16 == 0 && cols % 4 == 0;

    if (n < 1 || n > ENG_GPU_GEMV_ROWS_MAX || rows <= 0 || cols <= 0 ||
        (dtype != ENG_GPU_F32 && dtype != ENG_GPU_BF16 && dtype != ENG_GPU_F16))
        return as_error_set(AS_EINVAL, "gemv_rows: %d vectors of %d against (%d, %d) of dtype %d",
                            n, cols, rows, cols, dtype);
    if (dtype == ENG_GPU_F32)
        launch_dt<ENG_GPU_F32>(d_out, d_w, d_x, d_bias, n, rows, cols, vec, acc);
    else if (dtype == ENG_GPU_BF16)
        launch_dt<ENG_GPU_BF16>(d_out, d_w, d_x, d_bias, n, rows, cols, vec, acc);
    else
        launch_dt<ENG_GPU_F16>(d_out, d_w, d_x, d_bias, n, rows, cols, vec, acc);
    return launched("gemv_rows");
}
