/* CPU reference kernels (ops.h). Clarity first: these are the spec. */
#include "evaluator/engine/ops.h"

#include "evaluator/engine/config.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

float eng_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, bits;
    float f;

    if (exp == 0) {                     /* zero or subnormal: man * 2^-24 */
        f = (float)man * 5.9604644775390625e-8f;
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | (man << 13);
    else
        bits = sign | ((exp + 112) << 23) | (man << 13);
    memcpy(&f, &bits, sizeof f);
    return f;
}

float eng_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;

    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t eng_f32_to_bf16(float f)
{
    uint32_t bits;

    memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((bits >> 16) | 0x40);
    bits += 0x7fffu + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

float eng_mat_get(const eng_mat *m, size_t i)
{
    switch (m->dtype) {
    case ENG_DT_F16:
        return eng_f16_to_f32(((const uint16_t *)m->data)[i]);
    case ENG_DT_BF16:
        return eng_bf16_to_f32(((const uint16_t *)m->data)[i]);
    default:
        return ((const float *)m->data)[i];
    }
}

typedef struct matvec_job {
    float *out;
    size_t out_stride, x_stride;
    const eng_mat *w, *bias;
    const float *x;
    int n;
} matvec_job;

/* Dot product of x with one weight row of n elements. Eight partial sums,
 * combined pairwise at the end: a single running sum would make the loop
 * wait on one chain of dependent adds (and forbid vectorizing it); this
 * fixed order is part of the specification the GPU kernels are checked
 * against within a tolerance. */
#define DOT_ROW(name, T, LOAD)                                                  \
    static float name(const T *row, const float *x, size_t n)                  \
    {                                                                           \
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                \
        size_t c = 0;                                                           \
        int k;                                                                  \
                                                                                \
        for (; c + 8 <= n; c += 8)                                              \
            for (k = 0; k < 8; k++)                                             \
                acc[k] += LOAD(row[c + k]) * x[c + k];                          \
        for (; c < n; c++)                                                      \
            acc[c % 8] += LOAD(row[c]) * x[c];                                  \
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) +                        \
               ((acc[4] + acc[5]) + (acc[6] + acc[7]));                         \
    }
/* float16 -> float32 through a table of all 65536 values (filled once from
 * eng_f16_to_f32): the bit manipulation per element would dominate. */
static float f16_table[65536];
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;

static void f16_fill(void)
{
    uint32_t i;

    for (i = 0; i < 65536; i++)
        f16_table[i] = eng_f16_to_f32((uint16_t)i);
}

#define LOAD_F32(v) (v)
#define LOAD_F16(v) (f16_table[(v)])
DOT_ROW(dot_f32, float, LOAD_F32)
DOT_ROW(dot_bf16, uint16_t, eng_bf16_to_f32)
DOT_ROW(dot_f16, uint16_t, LOAD_F16)

/* Rows [b, e) of the product, for every vector. */
static void matvec_rows(void *arg, size_t b, size_t e)
{
    const matvec_job *j = arg;
    size_t r, cols = (size_t)j->w->cols;
    int t;

    for (r = b; r < e; r++) {
        const void *row = (const char *)j->w->data + r * cols * eng_dtype_size(j->w->dtype);
        float bias = j->bias != NULL && j->bias->data != NULL ? eng_mat_get(j->bias, r) : 0.0f;

        for (t = 0; t < j->n; t++) {
            const float *x = j->x + (size_t)t * j->x_stride;
            float sum;

            if (j->w->dtype == ENG_DT_F32)
                sum = dot_f32(row, x, cols);
            else if (j->w->dtype == ENG_DT_BF16)
                sum = dot_bf16(row, x, cols);
            else
                sum = dot_f16(row, x, cols);
            if (j->bias != NULL && j->bias->data != NULL)
                sum += bias;
            j->out[(size_t)t * j->out_stride + r] = sum;
        }
    }
}

void eng_matmat(eng_pool *pool, float *out, size_t out_stride, const eng_mat *w, const float *x,
                size_t x_stride, int n, const eng_mat *bias)
{
    matvec_job j = {out, out_stride, x_stride, w, bias, x, n};

    if (w->dtype == ENG_DT_F16)
        pthread_once(&f16_once, f16_fill);
    /* Below ~32k multiply-adds waking threads costs more than it saves. */
    if ((size_t)w->rows * (size_t)w->cols * (size_t)n < 32768)
        matvec_rows(&j, 0, (size_t)w->rows);
    else
        eng_pool_run(pool, (size_t)w->rows, matvec_rows, &j);
}

void eng_matvec(eng_pool *pool, float *out, const eng_mat *w, const float *x, const eng_mat *bias)
{
    eng_matmat(pool, out, 0, w, x, 0, 1, bias);
}

void eng_rmsnorm(float *out, const float *x, const eng_mat *w, int n, float eps)
{
    float ss = 0.0f, scale;
    int i;

    for (i = 0; i < n; i++)
        ss += x[i] * x[i];
    scale = 1.0f / sqrtf(ss / (float)n + eps);
    for (i = 0; i < n; i++)
        out[i] = x[i] * scale * eng_mat_get(w, (size_t)i);
}

void eng_embed(float *out, const eng_mat *e, int row)
{
    size_t i, base = (size_t)row * (size_t)e->cols;

    for (i = 0; i < (size_t)e->cols; i++)
        out[i] = eng_mat_get(e, base + i);
}

void eng_rope_inv_freq(float *inv_freq, const eng_config *cfg)
{
    int i, half = cfg->head_dim / 2;

    for (i = 0; i < half; i++) {
        double inv = 1.0 / pow(cfg->rope_theta, (double)(2 * i) / cfg->head_dim);

        if (cfg->rope_kind == ENG_ROPE_LINEAR) {
            inv /= cfg->rope_factor;
        } else if (cfg->rope_kind == ENG_ROPE_LLAMA3) {
            /* HF _compute_llama3_parameters: long wavelengths are slowed
             * by 'factor', short ones kept, the band between blended. */
            double wavelen = 2.0 * M_PI / inv;
            double low_wl = cfg->rope_orig_max / cfg->rope_low;
            double high_wl = cfg->rope_orig_max / cfg->rope_high;

            if (wavelen > low_wl) {
                inv /= cfg->rope_factor;
            } else if (wavelen >= high_wl) {
                double s = (cfg->rope_orig_max / wavelen - cfg->rope_low) /
                           (cfg->rope_high - cfg->rope_low);

                inv = (1.0 - s) * inv / cfg->rope_factor + s * inv;
            }
        }
        inv_freq[i] = (float)inv;
    }
}

void eng_rope(float *x, int n_heads, int head_dim, int pos, const float *inv_freq)
{
    int h, i, half = head_dim / 2;

    for (i = 0; i < half; i++) {
        float angle = (float)pos * inv_freq[i];
        float c = cosf(angle), s = sinf(angle);

        for (h = 0; h < n_heads; h++) {
            float *v = x + (size_t)h * head_dim;
            float x1 = v[i], x2 = v[i + half];

            v[i] = x1 * c - x2 * s;
            v[i + half] = x2 * c + x1 * s;
        }
    }
}

void eng_softmax(float *x, int n)
{
    float max = x[0], sum = 0.0f;
    int i;

    for (i = 1; i < n; i++)
        if (x[i] > max)
            max = x[i];
    for (i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    for (i = 0; i < n; i++)
        x[i] /= sum;
}

void eng_swiglu(float *out, const float *gate, const float *up, int n)
{
    int i;

    for (i = 0; i < n; i++)
        out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void eng_attend(float *out, const float *q, const float *k, const float *v, size_t stride,
                int t0, int t1, int head_dim, float scale, float *scores)
{
    int t, i;

    for (t = t0; t < t1; t++) {
        const float *kt = k + (size_t)t * stride;
        float dot = 0.0f;

        for (i = 0; i < head_dim; i++)
            dot += q[i] * kt[i];
        scores[t] = dot * scale;
    }
    eng_softmax(scores + t0, t1 - t0);
    memset(out, 0, (size_t)head_dim * sizeof *out);
    for (t = t0; t < t1; t++) {
        const float *vt = v + (size_t)t * stride;

        for (i = 0; i < head_dim; i++)
            out[i] += scores[t] * vt[i];
    }
}

int eng_argmax(const float *x, int n)
{
    int i, best = 0;

    for (i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

double eng_logprob(const float *x, int n, int i)
{
    double max = x[0], sum = 0.0;
    int j;

    for (j = 1; j < n; j++)
        if (x[j] > max)
            max = x[j];
    for (j = 0; j < n; j++)
        sum += exp((double)x[j] - max);
    return (double)x[i] - max - log(sum);
}
