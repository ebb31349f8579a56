// Batched cosine similarity of paired vectors (met_gpu_cosine in met_gpu.h).
//
// Computes out[i] = dot(a_i, b_i) / (sqrt(|a_i|^2) * sqrt(|b_i|^2)), 0 when
// either squared norm is 0 or overflows, for
//   a (n, dim) double, b (n, dim) double, row-major; out (n) double.
// The CPU specification is met_cosine (metrics/cosine.c): three double sums
// accumulated element by element in index order. Here one thread owns one
// pair and accumulates in that same order with explicitly rounded adds and
// multiplies (__dadd_rn, __dmul_rn: never fused into FMAs), and the square
// roots and the division are IEEE correctly rounded as on the CPU, so the
// result has the same bits. For coalesced reads a warp takes 32 consecutive
// pairs and stages 32 x 32 tiles of a and b through shared memory (each row
// read by the 32 lanes side by side), then each lane sums its own row.
#include <float.h>
#include <stdint.h>

#include "metrics/gpu/util.cuh"

#define WARP 32
#define COS_WARPS_PER_BLOCK 2

static __global__ void cosine_kernel(const double *a, const double *b, size_t n, size_t dim,
                                     double *out)
{
    __shared__ double ta[COS_WARPS_PER_BLOCK][WARP][WARP + 1];
    __shared__ double tb[COS_WARPS_PER_BLOCK][WARP][WARP + 1];
    const unsigned lane = threadIdx.x % WARP, w = threadIdx.x / WARP;
    const size_t p0 = ((size_t)blockIdx.x * COS_WARPS_PER_BLOCK + w) * WARP, mine = p0 + lane;
    double dot = 0, na = 0, nb = 0;

    if (p0 >= n)
        return; // the whole warp
    for (size_t k0 = 0; k0 < dim; k0 += WARP) {
        const int cnt = dim - k0 < WARP ? (int)(dim - k0) : WARP;
        for (int r = 0; r < WARP; r++) {
            const size_t p = p0 + r;
            const bool in = p < n && (int)lane < cnt;
            ta[w][r][lane] = in ? a[p * dim + k0 + lane] : 0.0;
            tb[w][r][lane] = in ? b[p * dim + k0 + lane] : 0.0;
        }
        __syncwarp();
        for (int k = 0; k < cnt; k++) {
            const double x = ta[w][lane][k], y = tb[w][lane][k];
            dot = __dadd_rn(dot, __dmul_rn(x, y));
            na = __dadd_rn(na, __dmul_rn(x, x));
            nb = __dadd_rn(nb, __dmul_rn(y, y));
        }
        __syncwarp();
    }
    if (mine < n)
        out[mine] = !(na > 0 && na <= DBL_MAX) || !(nb > 0 && nb <= DBL_MAX)
                        ? 0.0
                        : __ddiv_rn(dot, __dmul_rn(__dsqrt_rn(na), __dsqrt_rn(nb)));
}

extern "C" int met_gpu_cosine(const double *a, const double *b, size_t n, size_t dim, double *out,
                              met_gpu_times *times)
{
    met_dbuf da, db, dout;
    met_timer tm;
    const size_t bytes = n * dim * sizeof(double), per_block = COS_WARPS_PER_BLOCK * WARP;
    int rc;

    if (n == 0)
        return 0;
    if ((rc = tm.init()) < 0 || (rc = da.alloc(bytes)) < 0 || (rc = db.alloc(bytes)) < 0 ||
        (rc = dout.alloc(n * sizeof(double))) < 0 || (rc = tm.mark(0)) < 0)
        return rc;
    if ((rc = met_gpu_check(cudaMemcpy(da.p, a, bytes, cudaMemcpyHostToDevice),
                            "copy to the GPU")) < 0 ||
        (rc = met_gpu_check(cudaMemcpy(db.p, b, bytes, cudaMemcpyHostToDevice),
                            "copy to the GPU")) < 0 ||
        (rc = tm.mark(1)) < 0)
        return rc;
    cosine_kernel<<<(unsigned)((n + per_block - 1) / per_block), (unsigned)per_block>>>(
        (const double *)da.p, (const double *)db.p, n, dim, (double *)dout.p);
    if ((rc = met_gpu_check(cudaGetLastError(), "cosine kernel launch")) < 0 ||
        (rc = tm.mark(2)) < 0 ||
        (rc = met_gpu_check(cudaMemcpy(out, dout.p, n * sizeof(double), cudaMemcpyDeviceToHost),
                            "copy from the GPU")) < 0 ||
        (rc = tm.mark(3)) < 0)
        return rc;
    return tm.finish(times);
}
