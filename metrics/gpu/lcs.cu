// Batched LCS lengths for ROUGE-L (met_gpu_lcs in met_gpu.h).
//
// Computes, for n pairs of token-id sequences, out[i] = LCS(a_i, b_i):
//   a_ids (sum of |a_i|) uint32, a_off (n + 1) uint64: a_i = a_ids[a_off[i] .. a_off[i+1])
//   b_ids (sum of |b_i|) uint32, b_off (n + 1) uint64: likewise
//   out (n) uint32
// The CPU specification is met_lcs (metrics/batch.c): bit-parallel LCS
// (Crochemore et al. 2001). With x the shorter sequence, one bit per token
// of x, V starts all ones; for each token of y with match mask M (bit k set
// when x[k] equals it), V = (V + (V & M)) | (V & ~M), the addition carrying
// across the whole bit string; the LCS length is the number of zero bits.
//
// One warp per pair: lane l holds bits 32l .. 32l+31 of V and the 32 tokens
// of x they stand for (in registers), so |x| <= 32 * 32 = 1024
// (MET_GPU_LCS_MAX_LEN; longer pairs get MET_GPU_LCS_TOO_LONG and the caller
// computes them on the CPU). Per token of y each lane builds its word of M
// by comparing, adds its word, and the carries between lanes are resolved
// at once from two ballots (generate G: the lane's add overflowed;
// propagate P: its sum is all ones): the carry into lane l is bit l of
// ((G|P) + G) ^ (G|P) ^ G. A token of y that matches nowhere changes
// nothing and is skipped. Integer arithmetic only: the result is exact.
#include <stdint.h>

#include "metrics/gpu/util.cuh"

#define WARP 32
#define FULL 0xffffffffu
#define LCS_WARPS_PER_BLOCK 4

static __global__ void lcs_kernel(const uint32_t *a_ids, const uint64_t *a_off,
                                  const uint32_t *b_ids, const uint64_t *b_off, size_t n,
                                  uint32_t *out)
{
    const unsigned lane = threadIdx.x % WARP;
    const size_t pair = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP;

    if (pair >= n)
        return; // the whole warp: one pair per warp
    const uint32_t *x = a_ids + a_off[pair], *y = b_ids + b_off[pair];
    uint64_t nx = a_off[pair + 1] - a_off[pair], ny = b_off[pair + 1] - b_off[pair];
    if (ny < nx) {
        const uint32_t *t = x;
        uint64_t tn = nx;
        x = y;
        nx = ny;
        y = t;
        ny = tn;
    }
    if (nx > MET_GPU_LCS_MAX_LEN) {
        if (lane == 0)
            out[pair] = MET_GPU_LCS_TOO_LONG;
        return;
    }
    // This lane's tokens of x and which of its bits stand for one.
    const uint64_t base = (uint64_t)lane * WARP;
    const uint32_t valid = base >= nx ? 0u : nx - base >= WARP ? FULL : (1u << (nx - base)) - 1u;
    uint32_t tok[WARP];
#pragma unroll
    for (int t = 0; t < WARP; t++)
        tok[t] = base + t < nx ? x[base + t] : 0u;

    uint32_t v = FULL;
    for (uint64_t j0 = 0; j0 < ny; j0 += WARP) {
        const uint32_t mine = j0 + lane < ny ? y[j0 + lane] : 0u;
        const int cnt = ny - j0 < WARP ? (int)(ny - j0) : WARP;
        for (int k = 0; k < cnt; k++) {
            const uint32_t yj = __shfl_sync(FULL, mine, k);
            uint32_t m = 0;
#pragma unroll
            for (int t = 0; t < WARP; t++)
                m |= (uint32_t)(tok[t] == yj) << t;
            m &= valid;
            if (!__any_sync(FULL, m != 0))
                continue; // V unchanged (warp-uniform branch)
            uint32_t s = v + (v & m);
            const uint32_t g = __ballot_sync(FULL, s < v);
            const uint32_t p = __ballot_sync(FULL, s == FULL);
            const uint32_t gp = g | p, carry_in = ((gp + g) ^ gp ^ g);
            s += (carry_in >> lane) & 1u;
            v = s | (v & ~m);
        }
    }
    uint32_t zeros = (uint32_t)__popc(~v & valid);
#pragma unroll
    for (int d = WARP / 2; d > 0; d /= 2)
        zeros += __shfl_xor_sync(FULL, zeros, d);
    if (lane == 0)
        out[pair] = zeros;
}

extern "C" int met_gpu_lcs(const uint32_t *a_ids, const uint64_t *a_off, const uint32_t *b_ids,
                           const uint64_t *b_off, size_t n, uint32_t *out, met_gpu_times *times)
{
    met_dbuf da, dao, db, dbo, dout;
    met_timer tm;
    const size_t na = a_off[n], nb = b_off[n], threads = LCS_WARPS_PER_BLOCK * WARP;
    int rc;

    if (n == 0)
        return 0;
    if ((rc = tm.init()) < 0 || (rc = da.alloc(na * sizeof(uint32_t))) < 0 ||
        (rc = db.alloc(nb * sizeof(uint32_t))) < 0 ||
        (rc = dao.alloc((n + 1) * sizeof(uint64_t))) < 0 ||
        (rc = dbo.alloc((n + 1) * sizeof(uint64_t))) < 0 ||
        (rc = dout.alloc(n * sizeof(uint32_t))) < 0 || (rc = tm.mark(0)) < 0)
        return rc;
    if ((rc = met_gpu_check(cudaMemcpy(da.p, a_ids, na * sizeof(uint32_t), cudaMemcpyHostToDevice),
                            "copy to the GPU")) < 0 ||
        (rc = met_gpu_check(cudaMemcpy(db.p, b_ids, nb * sizeof(uint32_t), cudaMemcpyHostToDevice),
                            "copy to the GPU")) < 0 ||
        (rc = met_gpu_check(
             cudaMemcpy(dao.p, a_off, (n + 1) * sizeof(uint64_t), cudaMemcpyHostToDevice),
             "copy to the GPU")) < 0 ||
        (rc = met_gpu_check(
             cudaMemcpy(dbo.p, b_off, (n + 1) * sizeof(uint64_t), cudaMemcpyHostToDevice),
             "copy to the GPU")) < 0 ||
        (rc = tm.mark(1)) < 0)
        return rc;
    lcs_kernel<<<(unsigned)((n + LCS_WARPS_PER_BLOCK - 1) / LCS_WARPS_PER_BLOCK),
                 (unsigned)threads>>>((const uint32_t *)da.p, (const uint64_t *)dao.p,
                                      (const uint32_t *)db.p, (const uint64_t *)dbo.p, n,
                                      (uint32_t *)dout.p);
    if ((rc = met_gpu_check(cudaGetLastError(), "LCS kernel launch")) < 0 ||
        (rc = tm.mark(2)) < 0 ||
        (rc = met_gpu_check(cudaMemcpy(out, dout.p, n * sizeof(uint32_t), cudaMemcpyDeviceToHost),
                            "copy from the GPU")) < 0 ||
        (rc = tm.mark(3)) < 0)
        return rc;
    return tm.finish(times);
}
