/* The CPU reference kernels on hand-checked values. */
#include "../test.h"

#include "evaluator/engine/ops.h"
#include "evaluator/engine/pool.h"

#include <stdlib.h>

static void ops__half_conversions(void)
{
    T_NEAR(eng_f16_to_f32(0x3c00), 1.0, 0);
    T_NEAR(eng_f16_to_f32(0xc000), -2.0, 0);
    T_NEAR(eng_f16_to_f32(0x0001), 5.9604644775390625e-8, 0);   /* smallest subnormal */
    T_NEAR(eng_f16_to_f32(0x7bff), 65504.0, 0);
    T_CHECK(isinf(eng_f16_to_f32(0x7c00)));
    T_CHECK(isnan(eng_f16_to_f32(0x7e00)));
    T_NEAR(eng_bf16_to_f32(0x3f80), 1.0, 0);
    T_EQ_INT(eng_f32_to_bf16(1.0f), 0x3f80);
    T_EQ_INT(eng_f32_to_bf16(1.00390625f), 0x3f80);   /* halfway: to even */
    T_EQ_INT(eng_f32_to_bf16(1.01171875f), 0x3f82);   /* halfway: to even (up) */
    T_EQ_INT(eng_f32_to_bf16(1.0079f), 0x3f81);
    T_CHECK(isnan(eng_bf16_to_f32(eng_f32_to_bf16(NAN))));
}

static void ops__rmsnorm_rope_softmax_swiglu(void)
{
    float x[4] = {1, 2, 3, 4}, out[4], w[4] = {1, 1, 2, 0.5f}, inv[2] = {1.0f, 0.5f};
    eng_mat wm = {w, ENG_DT_F32, 1, 4};
    float h[4] = {1, 0, 0, 1}, s[3] = {1, 2, 3}, g[2] = {0, 2}, u[2] = {5, 3};
    double r = 1.0 / sqrt(7.5 + 1e-5);

    eng_rmsnorm(out, x, &wm, 4, 1e-5f);
    T_NEAR(out[0], r, 1e-6);
    T_NEAR(out[2], 6 * r, 1e-6);
    T_NEAR(out[3], 2 * r, 1e-6);
    /* head_dim 4: pairs (0,2) at angle pos*1 and (1,3) at pos*0.5. */
    eng_rope(h, 1, 4, 2, inv);
    T_NEAR(h[0], cos(2.0), 1e-6);
    T_NEAR(h[2], sin(2.0), 1e-6);
    T_NEAR(h[1], -sin(1.0), 1e-6);
    T_NEAR(h[3], cos(1.0), 1e-6);
    eng_softmax(s, 3);
    T_NEAR(s[0] + s[1] + s[2], 1.0, 1e-6);
    T_NEAR(s[2] / s[1], exp(1.0), 1e-5);
    eng_swiglu(g, g, u, 2);
    T_NEAR(g[0], 0.0, 0);
    T_NEAR(g[1], 2.0 / (1.0 + exp(-2.0)) * 3, 1e-6);
    T_EQ_INT(eng_argmax(s, 3), 2);
    T_NEAR(eng_logprob(x, 4, 3), 4 - log(exp(1) + exp(2) + exp(3) + exp(4)), 1e-12);
}

static void ops__attend_one_head(void)
{
    /* Two cached positions, stride 3 floats, head_dim 2. */
    float k[6] = {1, 0, 9, 0, 1, 9}, v[6] = {10, 20, 9, 30, 40, 9}, q[2] = {2, 0}, out[2], sc[2];
    double p0 = 1.0 / (1.0 + exp(-2.0 * M_SQRT1_2));

    eng_attend(out, q, k, v, 3, 0, 2, 2, (float)M_SQRT1_2, sc);
    T_NEAR(out[0], p0 * 10 + (1 - p0) * 30, 1e-5);
    T_NEAR(out[1], p0 * 20 + (1 - p0) * 40, 1e-5);
    eng_attend(out, q, k, v, 3, 1, 2, 2, (float)M_SQRT1_2, sc);   /* window: only t = 1 */
    T_NEAR(out[0], 30, 1e-6);
}

static void ops__threaded_matvec_equals_single(void)
{
    int rows = 300, cols = 257, i;
    float *w = malloc((size_t)rows * cols * sizeof *w), *x = malloc((size_t)cols * sizeof *x);
    float *a = malloc((size_t)rows * sizeof *a), *b = malloc((size_t)rows * sizeof *b);
    uint16_t *wb = malloc((size_t)rows * cols * sizeof *wb);
    eng_mat m = {w, ENG_DT_F32, rows, cols}, mb = {wb, ENG_DT_BF16, rows, cols};
    eng_pool *pool = NULL;

    for (i = 0; i < rows * cols; i++) {
        w[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
        wb[i] = eng_f32_to_bf16(w[i]);
    }
    for (i = 0; i < cols; i++)
        x[i] = (float)(i % 7) - 3.0f;
    T_OK(eng_pool_new(&pool, 3));
    T_EQ_INT(eng_pool_threads(pool), 3);
    eng_matvec(NULL, a, &m, x, NULL);
    eng_matvec(pool, b, &m, x, NULL);
    T_CHECK(memcmp(a, b, (size_t)rows * sizeof *a) == 0);
    {
        double ref = 0;

        for (i = 0; i < cols; i++)
            ref += (double)w[(size_t)5 * cols + i] * x[i];
        T_NEAR(a[5], ref, 1e-4);
    }
    eng_matvec(pool, b, &mb, x, NULL);
    T_NEAR(b[5], a[5], 0.05);
    eng_pool_free(pool);
    free(w);
    free(x);
    free(a);
    free(b);
    free(wb);
}

int main(void)
{
    T_RUN(ops__half_conversions);
    T_RUN(ops__rmsnorm_rope_softmax_swiglu);
    T_RUN(ops__attend_one_head);
    T_RUN(ops__threaded_matvec_equals_single);
    return t_done();
}
