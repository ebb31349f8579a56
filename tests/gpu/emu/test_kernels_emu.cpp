// gpu_kernels_emulated: the engine's fused, gemv and attention kernels run
// on the CUDA emulator (emu.cpp) and compared with their CPU references in
// ops.c, so CI without a GPU checks their indexing, bounds and PDL launch
// order on every commit. A reduced set of shapes: each case names the path
// it covers. The set runs twice: buffers against their end guard page with
// blocks and their threads run first to last, then against their start
// guard page with both run last to first. tests/gpu/test_kernels.c checks
// the same kernels on a device (and on the emulator: gpu_emu_kernels).
//
// Usage: gpu_kernels_emulated [fused|gemv|att]
#include <cuda_runtime.h>

#include "emu.h"

#include <cstdarg>
#include <cstdlib>
#include <vector>

extern "C" {
#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
#include "evaluator/engine/ops.h"
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static int cases, failures;

// Uniform in [-1, 1), reproducible (xorshift64).
static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static unsigned char rand_byte(void)
{
    return (unsigned char)(__float_as_uint(frand()) >> 8);
}

template <class T> static T *dev_array(size_t n, const char *name)
{
    return (T *)emu_alloc(n * sizeof(T), name);
}

// Largest |a - b| over largest |b|; a NaN or infinity in 'a' is infinite.
static double rel_err(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = 1e-30;

    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);

        if (std::isnan(a[i]) != std::isnan(b[i]) || std::isinf(a[i]))
            d = INFINITY;
        worst = std::max(worst, d);
        scale = std::max(scale, fabs((double)b[i]));
    }
    return worst / scale;
}

// One case's result: it fails too if the emulator saw a violation. Frees
// the case's device buffers.
static void verdict(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verdict(bool ok, const char *fmt, ...)
{
    int v = emu_take_violations();
    va_list ap;

    ok = ok && v == 0;
    cases++;
    failures += !ok;
    printf("%s  ", ok ? "PASS" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (v)
        printf(" [%d emulator violations]", v);
    printf("\n");
    emu_free_all();
}

static const char *dtype_name(int dt)
{
    return dt == ENG_GPU_F32 ? "f32 " : dt == ENG_GPU_BF16 ? "bf16" : "f16 ";
}

// --- qkv_rope_scatter and swiglu_rows -------------------------------------

struct RowSet {
    int n;
    const int *slot;
    const int *pos;
    int n_slots;
};

struct Heads {
    int nh;
    int nkv;
    int hd;
};

// What eng_gpu_qkv_rope_scatter must leave: rotated q rows in 'q', and
// each row's k and v at its slot and position in the byte images 'k', 'v'.
static void qkv_reference(std::vector<float> &q, std::vector<unsigned char> &k,
                          std::vector<unsigned char> &v, const float *qkv, const float *inv,
                          Heads h, RowSet rows, int kv_dt, size_t stride)
{
    int qdim = h.nh * h.hd, kvdim = h.nkv * h.hd, width = qdim + 2 * kvdim;
    std::vector<float> tmp(width);

    for (int r = 0; r < rows.n; r++) {
        size_t dst = (size_t)rows.slot[r] * stride + (size_t)rows.pos[r] * kvdim;

        memcpy(tmp.data(), qkv + (size_t)r * width, (size_t)width * 4);
        eng_rope(tmp.data(), h.nh, h.hd, rows.pos[r], inv);
        eng_rope(tmp.data() + qdim, h.nkv, h.hd, rows.pos[r], inv);
        memcpy(&q[(size_t)r * qdim], tmp.data(), (size_t)qdim * 4);
        for (int i = 0; i < kvdim; i++) {
            float kf = tmp[qdim + i], vf = tmp[qdim + kvdim + i];

            if (kv_dt == ENG_GPU_BF16) {
                ((uint16_t *)k.data())[dst + i] = eng_f32_to_bf16(kf);
                ((uint16_t *)v.data())[dst + i] = eng_f32_to_bf16(vf);
            } else {
                ((float *)k.data())[dst + i] = kf;
                ((float *)v.data())[dst + i] = vf;
            }
        }
    }
}

static size_t bytes_differing(const void *a, const std::vector<unsigned char> &b)
{
    size_t n = 0;

    for (size_t i = 0; i < b.size(); i++)
        n += ((const unsigned char *)a)[i] != b[i];
    return n;
}

// The whole caches are compared, so a write to any other slot or position
// fails as well as a wrong value.
static void test_qkv(int kv_dt, Heads h, int ctx, RowSet rows)
{
    int qdim = h.nh * h.hd, kvdim = h.nkv * h.hd, width = qdim + 2 * kvdim, half = h.hd / 2;
    size_t stride = (size_t)ctx * kvdim + 3;   // deliberately not ctx * kvdim
    size_t es = kv_dt == ENG_GPU_BF16 ? 2 : 4, cache_bytes = stride * rows.n_slots * es;
    float *qkv = dev_array<float>((size_t)rows.n * width, "qkv");
    float *q = dev_array<float>((size_t)rows.n * qdim, "q_out");
    float *inv = dev_array<float>(half ? half : 1, "inv_freq");
    int32_t *slot = dev_array<int32_t>(rows.n, "slot");
    int32_t *pos = dev_array<int32_t>(rows.n, "pos");
    unsigned char *kc = dev_array<unsigned char>(cache_bytes, "kcache");
    unsigned char *vc = dev_array<unsigned char>(cache_bytes, "vcache");
    std::vector<unsigned char> k_ref(cache_bytes), v_ref(cache_bytes);
    std::vector<float> q_ref((size_t)rows.n * qdim);
    double q_err;
    size_t k_diff, v_diff;
    int rc;

    for (int i = 0; i < rows.n * width; i++)
        qkv[i] = frand() * 3;
    for (int i = 0; i < half; i++)
        inv[i] = (float)(1.0 / pow(10000.0, 2.0 * i / h.hd));
    for (int r = 0; r < rows.n; r++) {
        slot[r] = rows.slot[r];
        pos[r] = rows.pos[r];
    }
    for (int i = 0; i < rows.n * qdim; i++)
        q[i] = NAN;
    for (size_t i = 0; i < cache_bytes; i++) {
        kc[i] = k_ref[i] = rand_byte();
        vc[i] = v_ref[i] = rand_byte();
    }
    qkv_reference(q_ref, k_ref, v_ref, qkv, inv, h, rows, kv_dt, stride);
    rc = eng_gpu_qkv_rope_scatter(q, kc, vc, kv_dt, qkv, slot, pos, inv, rows.n, stride, h.nh,
                                  h.nkv, h.hd);
    q_err = rel_err(q, q_ref.data(), q_ref.size());
    k_diff = bytes_differing(kc, k_ref);
    v_diff = bytes_differing(vc, v_ref);
    verdict(rc == 0 && q_err <= 1e-5 && k_diff == 0 && v_diff == 0,
            "qkv_rope_scatter %s nh %d kv %d hd %d rows %d: q relerr %.2e, cache bytes "
            "differing K %zu V %zu, rc %d",
            dtype_name(kv_dt), h.nh, h.nkv, h.hd, rows.n, q_err, k_diff, v_diff, rc);
}

static void test_swiglu(int n, int inter)
{
    float *gu = dev_array<float>((size_t)n * 2 * inter, "gate_up");
    float *out = dev_array<float>((size_t)n * inter, "out");
    std::vector<float> ref((size_t)n * inter);
    double err;
    int rc;

    for (size_t i = 0; i < (size_t)n * 2 * inter; i++)
        gu[i] = frand() * 8;
    for (size_t i = 0; i < ref.size(); i++)
        out[i] = NAN;
    for (int r = 0; r < n; r++) {
        const float *row = gu + (size_t)r * 2 * inter;

        eng_swiglu(&ref[(size_t)r * inter], row, row + inter, inter);
    }
    rc = eng_gpu_swiglu_rows(out, gu, n, inter);
    err = rel_err(out, ref.data(), ref.size());
    verdict(rc == 0 && err <= 1e-5, "swiglu_rows rows %d I %d: relerr %.2e rc %d", n, inter, err,
            rc);
}

static void run_fused(void)
{
    static const int slot5[] = {2, 0, 1, 2, 3}, pos5[] = {0, 1, 37, 4095, 4999};
    static const int pos3[] = {0, 17, 299};
    const RowSet five = {5, slot5, pos5, 4}, three = {3, slot5 + 1, pos3, 4};

    for (int dt : {ENG_GPU_F32, ENG_GPU_BF16}) {
        test_qkv(dt, {8, 2, 16}, 5000, five);    // GQA
        test_qkv(dt, {3, 1, 9}, 5000, five);     // odd head_dim
        test_qkv(dt, {4, 4, 7}, 5000, five);     // no GQA, odd head_dim
        test_qkv(dt, {16, 4, 64}, 300, three);   // width 1536: several blocks per row
    }
    for (int inter : {255, 257, 1000})
        test_swiglu(3, inter);
    test_swiglu(1, 1);
}

// --- gemv_rows ------------------------------------------------------------

static uint16_t to_half(float f)
{
    _Float16 h = (_Float16)f;
    uint16_t u;

    memcpy(&u, &h, 2);
    return u;
}

static void fill_weights(void *w, int dt, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float f = frand();

        if (dt == ENG_GPU_F32)
            ((float *)w)[i] = f;
        else if (dt == ENG_GPU_BF16)
            ((uint16_t *)w)[i] = eng_f32_to_bf16(f);
        else
            ((uint16_t *)w)[i] = to_half(f);
    }
}

static eng_dtype host_dtype(int dt)
{
    return dt == ENG_GPU_F32 ? ENG_DT_F32 : dt == ENG_GPU_BF16 ? ENG_DT_BF16 : ENG_DT_F16;
}

// x starts 'x_off' floats into its buffer: 1 makes it misaligned for the
// 16-byte vector path, so the element path runs.
static void test_gemv(int dt, int n, int rows, int cols, bool bias, int acc, int x_off)
{
    size_t es = dt == ENG_GPU_F32 ? 4 : 2, outs = (size_t)n * rows;
    void *w = emu_alloc((size_t)rows * cols * es, "W");
    float *x = dev_array<float>((size_t)n * cols + x_off, "x") + x_off;
    float *b = bias ? dev_array<float>(rows, "bias") : NULL;
    float *out = dev_array<float>(outs, "out");
    std::vector<float> old(outs), ref(outs);
    eng_mat m = {w, host_dtype(dt), rows, cols};
    eng_mat bm = {b, ENG_DT_F32, 1, rows};
    double err, tol = dt == ENG_GPU_F32 ? 1e-5 : 1e-2;
    bool vec = (uintptr_t)w % 16 == 0 && (uintptr_t)x % 16 == 0 && (size_t)cols * es % 16 == 0 &&
               cols % 4 == 0;
    int rc;

    fill_weights(w, dt, (size_t)rows * cols);
    for (size_t i = 0; i < (size_t)n * cols; i++)
        x[i] = frand();
    for (int i = 0; b && i < rows; i++)
        b[i] = frand();
    for (size_t i = 0; i < outs; i++)
        old[i] = out[i] = acc ? frand() * 4 : NAN;
    eng_matmat(NULL, ref.data(), rows, &m, x, cols, n, bias ? &bm : NULL);
    for (size_t i = 0; acc && i < outs; i++)
        ref[i] += old[i];
    rc = eng_gpu_gemv_rows(out, w, dt, x, b, n, rows, cols, acc);
    err = rel_err(out, ref.data(), outs);
    verdict(rc == 0 && err <= tol,
            "gemv_rows %s n %d rows %d cols %d bias %d acc %d %s: relerr %.2e (tol %.0e) rc %d",
            dtype_name(dt), n, rows, cols, bias, acc, vec ? "vec " : "elem", err, tol, rc);
}

static void run_gemv(void)
{
    // 70 x 64: the vector path; 70 x 36: cols not a multiple of 8 (bf16
    // and f16 rows not 16-byte multiples); 37 x 37 and 1 x 300: the element
    // path (cols not a multiple of 4).
    static const int shapes[][2] = {{70, 64}, {70, 36}, {37, 37}, {1, 300}};

    for (int dt : {ENG_GPU_F32, ENG_GPU_BF16, ENG_GPU_F16}) {
        for (auto &s : shapes)
            for (int n : {1, 3, 8}) {
                test_gemv(dt, n, s[0], s[1], false, 0, 0);
                test_gemv(dt, n, s[0], s[1], true, 1, 0);
            }
        test_gemv(dt, 3, 70, 64, true, 0, 0);
        test_gemv(dt, 3, 70, 64, false, 1, 0);
        test_gemv(dt, 3, 70, 64, true, 1, 1);   // misaligned x: element path
    }
}

// --- attention rows, unsplit and split --------------------------------------

struct AttCase {
    int kv_dt;
    Heads h;
    int ctx;
    RowSet rows;
    int window;
};

struct AttBuffers {
    unsigned char *kc, *vc;
    float *q, *out_rows, *out_split, *part;
    int32_t *slot, *pos;
    std::vector<float> kf, vf;   // the caches as f32, for the reference
    size_t stride;
};

static int first_pos(const AttCase &c, int r)
{
    int end = c.rows.pos[r] + 1;

    return c.window > 0 && end > c.window ? end - c.window : 0;
}

static void att_fill(AttBuffers &a, const AttCase &c)
{
    size_t cn = a.stride * c.rows.n_slots;
    size_t qn = (size_t)c.rows.n * c.h.nh * c.h.hd;
    size_t pf = eng_gpu_attention_part_floats(c.rows.n, c.h.nh, c.h.hd, c.ctx);
    size_t es = c.kv_dt == ENG_GPU_BF16 ? 2 : 4;

    a.kc = dev_array<unsigned char>(cn * es, "kcache");
    a.vc = dev_array<unsigned char>(cn * es, "vcache");
    a.q = dev_array<float>(qn, "q");
    a.out_rows = dev_array<float>(qn, "out_rows");
    a.out_split = dev_array<float>(qn, "out_split");
    a.part = dev_array<float>(pf, "part");
    a.slot = dev_array<int32_t>(c.rows.n, "slot");
    a.pos = dev_array<int32_t>(c.rows.n, "pos");
    a.kf.resize(cn);
    a.vf.resize(cn);
    for (size_t i = 0; i < cn; i++) {
        float k = frand() * 2, v = frand() * 2;

        if (c.kv_dt == ENG_GPU_BF16) {
            uint16_t kb = eng_f32_to_bf16(k), vb = eng_f32_to_bf16(v);

            ((uint16_t *)a.kc)[i] = kb;
            ((uint16_t *)a.vc)[i] = vb;
            a.kf[i] = eng_bf16_to_f32(kb);
            a.vf[i] = eng_bf16_to_f32(vb);
        } else {
            ((float *)a.kc)[i] = a.kf[i] = k;
            ((float *)a.vc)[i] = a.vf[i] = v;
        }
    }
    for (size_t i = 0; i < qn; i++) {
        a.q[i] = frand() * 2;
        a.out_rows[i] = a.out_split[i] = NAN;
    }
    for (size_t i = 0; i < pf; i++)
        a.part[i] = NAN;
    for (int r = 0; r < c.rows.n; r++) {
        a.slot[r] = c.rows.slot[r];
        a.pos[r] = c.rows.pos[r];
    }
}

static void att_reference(std::vector<float> &ref, const AttBuffers &a, const AttCase &c,
                          float scale)
{
    size_t kvdim = (size_t)c.h.nkv * c.h.hd;
    int group = c.h.nh / c.h.nkv;
    std::vector<float> scores(c.ctx);

    for (int r = 0; r < c.rows.n; r++)
        for (int h = 0; h < c.h.nh; h++) {
            size_t base = a.slot[r] * a.stride + (size_t)(h / group) * c.h.hd;
            size_t at = ((size_t)r * c.h.nh + h) * c.h.hd;

            eng_attend(&ref[at], a.q + at, &a.kf[base], &a.vf[base], kvdim, first_pos(c, r),
                       a.pos[r] + 1, c.h.hd, scale, scores.data());
        }
}

// Rows short enough not to be split must come out of the split form bit
// for bit as from the unsplit one. Returns how many are; *unsplit counts them.
static int unsplit_rows_equal(const AttBuffers &a, const AttCase &c, int *unsplit)
{
    size_t row = (size_t)c.h.nh * c.h.hd;
    int same = 0;

    *unsplit = 0;
    for (int r = 0; r < c.rows.n; r++) {
        if (a.pos[r] + 1 - first_pos(c, r) > ENG_GPU_SPLIT_MIN)
            continue;
        (*unsplit)++;
        same += memcmp(a.out_rows + r * row, a.out_split + r * row, row * 4) == 0;
    }
    return same;
}

// The f32 single-row decode form must agree bit for bit with row 0.
static bool decode_equal(const AttBuffers &a, const AttCase &c, float scale)
{
    size_t row = (size_t)c.h.nh * c.h.hd;
    float *out = dev_array<float>(row, "out_decode");
    const float *k = (const float *)a.kc + a.slot[0] * a.stride;
    const float *v = (const float *)a.vc + a.slot[0] * a.stride;

    for (size_t i = 0; i < row; i++)
        out[i] = NAN;
    return eng_gpu_attention_decode(out, a.q, k, v, c.h.nh, c.h.nkv, c.h.hd, first_pos(c, 0),
                                    a.pos[0] + 1, scale) == 0 &&
           memcmp(out, a.out_rows, row * 4) == 0;
}

static void test_att(const AttCase &c)
{
    AttBuffers a;
    size_t qn = (size_t)c.rows.n * c.h.nh * c.h.hd;
    float scale = 1.0f / sqrtf((float)c.h.hd);
    std::vector<float> ref(qn);
    double e_rows, e_split;
    int rc_rows, rc_split, unsplit, same;
    bool decode_ok;

    a.stride = (size_t)c.ctx * c.h.nkv * c.h.hd + 5;   // deliberately not ctx * kvdim
    att_fill(a, c);
    att_reference(ref, a, c, scale);
    rc_rows = eng_gpu_attention_rows(a.out_rows, a.q, a.kc, a.vc, c.kv_dt, a.slot, a.pos, c.rows.n,
                                     a.stride, c.h.nh, c.h.nkv, c.h.hd, c.window, scale);
    rc_split = eng_gpu_attention_rows_split(a.out_split, a.part, a.q, a.kc, a.vc, c.kv_dt, a.slot,
                                            a.pos, c.rows.n, a.stride, c.h.nh, c.h.nkv, c.h.hd,
                                            c.window, scale, c.ctx);
    e_rows = rel_err(a.out_rows, ref.data(), qn);
    e_split = rel_err(a.out_split, ref.data(), qn);
    same = unsplit_rows_equal(a, c, &unsplit);
    decode_ok = c.kv_dt != ENG_GPU_F32 || decode_equal(a, c, scale);
    verdict(rc_rows == 0 && rc_split == 0 && e_rows <= 1e-5 && e_split <= 1e-5 &&
                same == unsplit && decode_ok,
            "attention %s nh %d kv %d hd %d rows %d win %d ctx %d: rows relerr %.2e, split "
            "relerr %.2e, unsplit rows bit-equal %d/%d, decode bit-equal %s",
            dtype_name(c.kv_dt), c.h.nh, c.h.nkv, c.h.hd, c.rows.n, c.window, c.ctx, e_rows,
            e_split, same, unsplit, c.kv_dt == ENG_GPU_F32 ? (decode_ok ? "yes" : "NO") : "n/a");
}

static void run_att(void)
{
    // Positions on both sides of ENG_GPU_SPLIT_MIN (64).
    static const int slot5[] = {3, 0, 2, 1, 0}, pos5[] = {0, 63, 64, 65, 300};
    static const int slot4[] = {1, 0, 1, 0}, pos4[] = {299, 5, 130, 64};
    static const int slot1[] = {0}, pos1[] = {300};
    const RowSet five = {5, slot5, pos5, 4}, four = {4, slot4, pos4, 2}, one = {1, slot1, pos1, 1};

    for (int dt : {ENG_GPU_BF16, ENG_GPU_F32}) {
        test_att({dt, {8, 2, 16}, 320, five, 0});
        test_att({dt, {8, 2, 16}, 320, five, 50});    // window
        test_att({dt, {7, 1, 8}, 320, four, 70});     // window, odd head count
        test_att({dt, {4, 2, 64}, 320, four, 0});     // 2 dims per lane
        test_att({dt, {4, 1, 100}, 320, four, 0});    // 4 dims per lane
        test_att({dt, {9, 1, 200}, 320, four, 0});    // 8 dims per lane, two head groups
        test_att({dt, {3, 3, 1}, 320, four, 0});      // head_dim 1
        test_att({dt, {8, 2, 16}, 320, one, 0});      // one long row: many splits
    }
}

static void run_set(const char *only)
{
    if (!strcmp(only, "all") || !strcmp(only, "fused"))
        run_fused();
    if (!strcmp(only, "all") || !strcmp(only, "gemv"))
        run_gemv();
    if (!strcmp(only, "all") || !strcmp(only, "att"))
        run_att();
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "all";
    eng_gpu_stream *s = NULL;

    setvbuf(stdout, NULL, _IOLBF, 0);
    // A stream of the engine's own: on the emulated sm_90 its kernels are
    // programmatic dependents, so every pdl_launch is checked.
    if (eng_gpu_stream_new(&s) < 0) {
        fprintf(stderr, "gpu_kernels_emulated: %s\n", as_error_msg());
        return 1;
    }
    eng_gpu_stream_use(s);
    emu_set_lock_every_block(true);
    emu_set_reverse(false);
    printf("-- buffers end-aligned, blocks and threads in order\n");
    run_set(only);
    emu_set_start_aligned(true);
    emu_set_reverse(true);
    printf("-- buffers start-aligned, blocks and threads in reverse order\n");
    run_set(only);
    printf("%d cases, %d failed\n", cases, failures);
    eng_gpu_stream_use(NULL);
    eng_gpu_stream_free(s);
    return failures != 0 || cases == 0;
}
