/* Continuous batching on the GPU against the CPU reference. Six sequences
 * of different prompt lengths share three slots through eng_gpu_batch_step:
 * prompts go in chunks while other slots decode, finished sequences free
 * their slot and the next one starts there from position 0. One sequence
 * asks for every prompt row (scoring), the others for their last prompt
 * row and each decoded row; as batch.c does in a step that scores, the
 * wanted rows of sequences 3 and 5 have no target (-1). Every wanted row
 * is checked:
 *   - its logits against the CPU reference run per sequence (eng_prefill):
 *     within 1e-4 relative (max abs diff / max abs logit) for float32 and
 *     float16 weights (widened to float32 on the GPU); for bfloat16
 *     weights (the cuBLAS GEMMs of steps over ENG_GPU_GEMV_ROWS_MAX rows
 *     round their inputs to bfloat16) the top-1 agreement is reported;
 *   - its argmax equals eng_argmax of the GPU's own logits;
 *   - its log-probability equals eng_logprob of them within 1e-9 (is 0
 *     without a target);
 * and every step is run twice and must give bit-identical results. The
 * GPU's tokens (argmax, or sampled) are fed to both sides. The whole
 * schedule runs three times: with CUDA graphs (ASSAY_GPU_GRAPHS=1; decode
 * steps must have been replayed from graphs) and programmatic dependent
 * launches (launch.cuh; ASSAY_GPU_PDL=1, where the device has them), with
 * graphs off, and with graphs on and PDL off; every output of every step
 * (argmax, log-probabilities, sampled tokens, logits) must be
 * bit-identical between the three (a kernel that read its inputs before
 * its predecessor finished would show here). Sequences 0, 2
 * and 4 sample (temperature, top-k, top-p, each its own seed) on the
 * device, and feed their sampled tokens: each sampled token must be
 * sample.h's eng_sample_u on the GPU's own logits with the same draw,
 * except where the draw lies within rounding of a boundary
 * (kernels_sample.cu; counted and reported), and the greedy rows of a
 * sampling step must get their argmax. The schedule must have steps of at
 * most ENG_GPU_GEMV_ROWS_MAX rows (their matrix products go through
 * eng_gpu_gemv_rows) and steps of more (cuBLAS): run.sh's 32 new tokens
 * give both (decode steps of 3 rows or fewer; the first step feeds 14
 * rows), a handful may not. Then the continuous batch itself (batch.h):
 * six sequences, five of them sampling with their own seeds, generated on
 * the GPU (tokens sampled on the device) and on the CPU (eng_sample): the
 * same tokens are expected unless a draw falls within the logits'
 * difference of a boundary, so float32 and float16 models must agree on
 * every sequence and bfloat16 ones (whose GEMMs round inputs and whose KV
 * cache is bfloat16) are reported. Then decode tokens/s at batch 1, 8
 * (gemv_rows) and 64 (cuBLAS) in those three settings, unless --no-bench
 * (the CUDA emulator's runs: tests/gpu/emu/).
 *
 *   gpu_test_batch MODEL_DIR [NEW_TOKENS] [--no-bench]   (exit 77 without a GPU) */
#include "common/clock.h"
#include "common/error.h"
#include "evaluator/engine/batch.h"
#include "evaluator/engine/forward.h"
#include "evaluator/engine/gpu/forward_gpu.h"
#include "evaluator/engine/gpu/gpu.h"
#include "evaluator/engine/sample.h"
#include "sample_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSEQ 6
#define SLOTS 3
#define CHUNK 8
#define MAX_ROWS 64
#define BENCH_PROMPT 16
#define BENCH_STEPS 32
#define BENCH_WARM 2

typedef struct seq {
    int32_t *tok;        /* prompt, then the generated tokens */
    int plen, ntok, gen; /* prompt length, tokens known, tokens to generate */
    int fed;             /* tokens fed to the GPU */
    int slot;            /* -1 while waiting or when done */
    int score_all;       /* want every prompt row */
    eng_sampler *sampler; /* NULL: greedy */
    eng_state *cpu;
} seq;

typedef struct step_buf {
    int32_t tok[MAX_ROWS], slot[MAX_ROWS], pos[MAX_ROWS], want[MAX_ROWS], target[MAX_ROWS];
    int32_t argmax[MAX_ROWS], argmax2[MAX_ROWS];
    int owner[MAX_ROWS];             /* the sequence of each wanted row */
    double logprob[MAX_ROWS], logprob2[MAX_ROWS];
    eng_gpu_sample sample[MAX_ROWS];
    int32_t token[MAX_ROWS], token2[MAX_ROWS];
    int sampling;                    /* some wanted row of the step samples */
    float *logits, *logits2;         /* MAX_ROWS * vocab each */
} step_buf;

typedef struct tally {
    double worst;                    /* max relative logit error */
    int rows, top1, bad_argmax, bad_logprob, bad_repeat;
    uint64_t hash;                   /* FNV-1a of every step's outputs */
    int graphs;                      /* CUDA graphs the batch made */
    long replays;                    /* steps replayed from them */
    int small, large;                /* steps of at most / over ENG_GPU_GEMV_ROWS_MAX rows */
    int sampled, boundary, bad_sample; /* sampled rows; mismatches on a boundary, and not */
} tally;

#define SEED 0x9e3779b97f4a7c15ull
#define FNV_OFFSET 0xcbf29ce484222325ull

static uint64_t rng = SEED;

/* max(a, b) where a NaN in either wins: fmax would drop it, and NaN
 * logits would pass. */
static double worse(double a, double b)
{
    return isnan(a) || b <= a ? a : b;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static int next_rand(int n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (int)(rng % (uint64_t)n);
}

/* Rows of sequence 'sq' for this step into the step (n rows, k wanted). */
static void add_rows(step_buf *b, eng_gpu_step *st, seq *sq, int si, int vocab)
{
    int c = 1, i;

    if (sq->fed < sq->plen)
        c = sq->plen - sq->fed < CHUNK ? sq->plen - sq->fed : CHUNK;
    for (i = 0; i < c; i++) {
        int r = st->n++, p = sq->fed + i;

        b->tok[r] = sq->tok[p];
        b->slot[r] = sq->slot;
        b->pos[r] = p;
        if (p + 1 == sq->ntok || (sq->score_all && p < sq->plen)) {
            eng_gpu_sample *g = &b->sample[st->k];

            memset(g, 0, sizeof *g);
            g->top_p = 1.0f;
            if (sq->sampler != NULL) {
                const eng_sampling *sp = eng_sampler_params(sq->sampler);

                g->temperature = sp->temperature;
                g->top_k = sp->top_k;
                g->top_p = sp->top_p;
                g->u = eng_sampler_draw(sq->sampler);
                b->sampling = 1;
            }
            b->want[st->k] = r;
            b->owner[st->k] = si;
            if (si == 3 || si == 5)
                b->target[st->k] = -1;
            else
                b->target[st->k] = p + 1 < sq->ntok ? sq->tok[p + 1] : (sq->tok[p] * 31 + 7) % vocab;
            st->k++;
        }
    }
}

/* Wanted row i of a sampling step: a sampled token is eng_sample_u's on
 * the GPU's logits 'lg' with the same draw, unless the draw is on a
 * boundary; a greedy row's is its argmax. */
static int check_sample(const step_buf *b, int i, seq *sq, const float *lg, int vocab, tally *t)
{
    const eng_gpu_sample *g = &b->sample[i];
    sref ref;
    int want, near;

    if (g->temperature == 0.0f) {
        t->bad_sample += b->token[i] != b->argmax[i];
        return 0;
    }
    t->sampled++;
    want = eng_sample_u(sq->sampler, lg, g->u);
    if (b->token[i] == want)
        return 0;
    if (sref_init(&ref, lg, vocab) < 0) {
        fprintf(stderr, "gpu_test_batch: out of memory\n");
        return -1;
    }
    sref_params(&ref, g->temperature, g->top_k, g->top_p, 1e-9);
    near = sref_near(&ref, g->u);
    sref_free(&ref);
    t->boundary += near;
    t->bad_sample += !near;
    return 0;
}

/* Check the wanted rows of a finished step against the CPU reference. */
static int check_rows(step_buf *b, const eng_gpu_step *st, seq *seqs, int vocab, tally *t)
{
    int i, v;

    for (i = 0; i < st->k; i++) {
        seq *sq = &seqs[b->owner[i]];
        const float *lg = b->logits + (size_t)i * vocab, *lc = NULL;
        int p = b->pos[b->want[i]];
        double maxd = 0, maxr = 1e-30;

        if (eng_prefill(sq->cpu, sq->tok + sq->cpu->pos, (size_t)(p + 1 - sq->cpu->pos), &lc) < 0) {
            fprintf(stderr, "gpu_test_batch: CPU reference: %s\n", as_error_msg());
            return -1;
        }
        for (v = 0; v < vocab; v++) {
            maxd = worse(maxd, fabs((double)lg[v] - lc[v]));
            maxr = worse(maxr, fabs((double)lc[v]));
        }
        t->worst = worse(t->worst, maxd / maxr);
        t->rows++;
        t->top1 += eng_argmax(lc, vocab) == b->argmax[i];
        t->bad_argmax += eng_argmax(lg, vocab) != b->argmax[i];
        if (b->target[i] < 0)
            t->bad_logprob += b->logprob[i] != 0.0;
        else
            t->bad_logprob += !(fabs(b->logprob[i] - eng_logprob(lg, vocab, b->target[i])) <= 1e-9);
        if (b->sampling && check_sample(b, i, sq, lg, vocab, t) < 0)
            return -1;
    }
    return 0;
}

/* Run the step twice; the second run must repeat the first bit for bit. */
static int run_twice(eng_gpu_batch *g, step_buf *b, eng_gpu_step *st, int vocab, tally *t)
{
    eng_gpu_step again = *st;
    size_t k = (size_t)st->k;

    again.argmax = b->argmax2;
    again.logprob = b->logprob2;
    again.token = b->token2;
    again.logits = b->logits2;
    if (eng_gpu_batch_step(g, st) < 0 || eng_gpu_batch_step(g, &again) < 0) {
        fprintf(stderr, "gpu_test_batch: step: %s\n", as_error_msg());
        return -1;
    }
    t->bad_repeat += memcmp(b->argmax, b->argmax2, k * sizeof *b->argmax) != 0 ||
                     memcmp(b->logprob, b->logprob2, k * sizeof *b->logprob) != 0 ||
                     memcmp(b->logits, b->logits2, k * vocab * sizeof *b->logits) != 0 ||
                     (st->sample && memcmp(b->token, b->token2, k * sizeof *b->token) != 0);
    t->hash = fnv1a(t->hash, b->argmax, k * sizeof *b->argmax);
    if (st->sample != NULL)
        t->hash = fnv1a(t->hash, b->token, k * sizeof *b->token);
    t->hash = fnv1a(t->hash, b->logprob, k * sizeof *b->logprob);
    t->hash = fnv1a(t->hash, b->logits, k * vocab * sizeof *b->logits);
    return 0;
}

/* After a step: advance each sequence, take the token of its last row
 * (sampled, or the argmax), and free the slots of finished sequences. */
static void advance(step_buf *b, const eng_gpu_step *st, seq *seqs)
{
    int r, i;

    for (r = 0; r < st->n; r++)
        for (i = 0; i < NSEQ; i++)
            if (seqs[i].slot == b->slot[r] && seqs[i].fed == b->pos[r])
                seqs[i].fed++;
    for (i = 0; i < st->k; i++) {
        seq *sq = &seqs[b->owner[i]];

        if (b->pos[b->want[i]] + 1 == sq->ntok && sq->fed == sq->ntok)
            sq->tok[sq->ntok++] = sq->sampler != NULL ? b->token[i] : b->argmax[i];
    }
    for (i = 0; i < NSEQ; i++)
        if (seqs[i].slot >= 0 && seqs[i].ntok == seqs[i].plen + seqs[i].gen) {
            seqs[i].slot = -1;
            eng_state_free(seqs[i].cpu);
            seqs[i].cpu = NULL;
        }
}

/* The sampling of sequence i of the mixed schedule: 0, 2 and 4 sample. */
static int seq_sampler(seq *sq, int i, int vocab)
{
    static const eng_sampling ps[3] = {
        {0, 0.8f, 0, 0.9f, 101}, {0, 1.0f, 20, 1.0f, 102}, {0, 1.5f, 0, 1.0f, 103}};

    if (i % 2 != 0 || i / 2 >= 3)
        return 0;
    return eng_sampler_new(&sq->sampler, &ps[i / 2], vocab);
}

/* A free slot for each waiting sequence, in order. */
static int admit(seq *seqs, const eng_model *m, int ctx, int *started)
{
    int s, i;

    for (s = 0; s < SLOTS; s++) {
        int busy = 0;

        for (i = 0; i < NSEQ; i++)
            busy |= seqs[i].slot == s;
        if (busy || *started == NSEQ)
            continue;
        seqs[*started].slot = s;
        if (eng_state_new(&seqs[*started].cpu, m, ctx) < 0)
            return -1;
        (*started)++;
    }
    return 0;
}

/* The mixed schedule, with CUDA graphs or not, PDL or not; returns 0 when
 * it ran. */
static int mixed(const eng_model *m, int n_new, int graphs, int pdl, tally *t)
{
    int vocab = m->cfg.vocab, plen[NSEQ] = {5, 23, 1, 40, 12, 17}, ctx = 40 + n_new, i, rc = -1;
    int started = 0, active;
    seq seqs[NSEQ];
    step_buf b;
    eng_gpu_batch *g = NULL;

    memset(seqs, 0, sizeof seqs);
    rng = SEED;
    setenv("ASSAY_GPU_GRAPHS", graphs ? "1" : "0", 1);
    setenv("ASSAY_GPU_PDL", pdl ? "1" : "0", 1);
    b.logits = malloc((size_t)MAX_ROWS * vocab * sizeof(float));
    b.logits2 = malloc((size_t)MAX_ROWS * vocab * sizeof(float));
    for (i = 0; i < NSEQ; i++) {
        int j;

        seqs[i].plen = plen[i];
        seqs[i].ntok = plen[i];
        seqs[i].gen = n_new - 3 * i > 1 ? n_new - 3 * i : 1;
        seqs[i].slot = -1;
        seqs[i].score_all = i == 1;
        seqs[i].tok = malloc((size_t)(plen[i] + seqs[i].gen) * sizeof(int32_t));
        if (seqs[i].tok == NULL || seq_sampler(&seqs[i], i, vocab) < 0)
            goto out;
        for (j = 0; j < plen[i]; j++)
            seqs[i].tok[j] = next_rand(vocab);
    }
    if (b.logits == NULL || b.logits2 == NULL ||
        eng_gpu_batch_new(&g, m, SLOTS, ctx, MAX_ROWS) < 0) {
        fprintf(stderr, "gpu_test_batch: %s\n", as_error_msg());
        goto out;
    }
    do {
        eng_gpu_step st = {b.tok, b.slot, b.pos, 0, b.want, 0, b.target, b.argmax, b.logprob,
                           NULL, b.token, b.logits, 0};

        if (admit(seqs, m, ctx, &started) < 0)
            goto out;
        b.sampling = 0;
        for (i = 0, active = 0; i < NSEQ; i++)
            if (seqs[i].slot >= 0) {
                add_rows(&b, &st, &seqs[i], i, vocab);
                active++;
            }
        if (active == 0)
            break;
        st.sample = b.sampling ? b.sample : NULL;
        if (st.n <= ENG_GPU_GEMV_ROWS_MAX)
            t->small++;
        else
            t->large++;
        if (run_twice(g, &b, &st, vocab, t) < 0 || check_rows(&b, &st, seqs, vocab, t) < 0)
            goto out;
        advance(&b, &st, seqs);
    } while (1);
    rc = started == NSEQ ? 0 : -1;
    eng_gpu_batch_graph_stats(g, &t->graphs, &t->replays);
out:
    for (i = 0; i < NSEQ; i++) {
        free(seqs[i].tok);
        eng_sampler_free(seqs[i].sampler);
        eng_state_free(seqs[i].cpu);
    }
    eng_gpu_batch_free(g);
    free(b.logits);
    free(b.logits2);
    return rc;
}

/* The ids each sequence of agreement()'s batches generated. */
typedef struct gen_out {
    int32_t *ids[NSEQ];
    size_t n[NSEQ];
} gen_out;

static int keep_ids(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    gen_out *o = arg;
    int i = (int)(intptr_t)ud;

    (void)busy_ms;
    if (rc < 0)
        return rc;
    o->ids[i] = res->ids;
    o->n[i] = res->n_ids;
    res->ids = NULL;
    eng_gen_result_clear(res);
    return 0;
}

/* The six sequences of agreement() through a batch of SLOTS slots on the
 * GPU or the CPU, into *o. */
static int generate_all(const eng_model *m, int gpu, int n_new, gen_out *o)
{
    static const eng_sampling ps[NSEQ] = {
        {0, 0.8f, 0, 0.9f, 201}, {0, 1.0f, 20, 1.0f, 202}, {0, 1.5f, 0, 1.0f, 203},
        {1, 0.0f, 0, 1.0f, 204}, {0, 0.7f, 5, 0.8f, 205}, {0, 100.0f, 0, 1.0f, 206}};
    int plen[NSEQ] = {5, 23, 1, 12, 17, 9}, i, j, rc = 0;
    eng_batch_opts opts = {SLOTS, 40 + n_new, 0, gpu};
    eng_batch *b = NULL;
    int32_t prompt[40];

    memset(o, 0, sizeof *o);
    rng = SEED;
    if ((rc = eng_batch_new(&b, m, &opts)) < 0)
        return rc;
    for (i = 0; rc == 0 && (i < NSEQ || eng_batch_active(b) > 0);) {
        if (i < NSEQ && eng_batch_free_slots(b) > 0) {
            eng_gen_params p;

            memset(&p, 0, sizeof p);
            p.max_new_tokens = n_new;
            p.sampling = ps[i];
            for (j = 0; j < plen[i]; j++)
                prompt[j] = next_rand(m->cfg.vocab);
            rc = eng_batch_add(b, prompt, (size_t)plen[i], &p, (void *)(intptr_t)i);
            i++;
            continue;
        }
        rc = eng_batch_step(b, keep_ids, o);
    }
    eng_batch_free(b);
    return rc;
}

/* Sampled generation through the continuous batch on the GPU against the
 * same on the CPU; *ok is 0 when a float32 / float16 model disagrees. */
static int agreement(const eng_model *m, const char *dir, int n_new, int bf16, int *ok)
{
    gen_out g, c;
    int i, same = 0, rc;

    memset(&c, 0, sizeof c);
    setenv("ASSAY_GPU_GRAPHS", "1", 1);
    setenv("ASSAY_GPU_PDL", "1", 1);
    if ((rc = generate_all(m, 1, n_new, &g)) == 0)
        rc = generate_all(m, 0, n_new, &c);
    if (rc < 0) {
        fprintf(stderr, "gpu_test_batch: agreement: %s\n", as_error_msg());
        for (i = 0; i < NSEQ; i++) {
            free(g.ids[i]);
            free(c.ids[i]);
        }
        return rc;
    }
    for (i = 0; i < NSEQ; i++) {
        same += g.n[i] == c.n[i] && g.n[i] > 0 &&
                memcmp(g.ids[i], c.ids[i], g.n[i] * sizeof *g.ids[i]) == 0;
        free(g.ids[i]);
        free(c.ids[i]);
    }
    *ok = bf16 || same == NSEQ;
    printf("| %-30s | batch.h, 5 of %d sequences sampling: GPU against CPU | %d identical "
           "(%s) | %s |\n", dir, NSEQ, same, bf16 ? "bf16: reported" : "all expected",
           *ok ? "ok" : "FAIL");
    return 0;
}

/* Decode tokens/s with 'B' sequences in one batch: each slot prefilled
 * with BENCH_PROMPT tokens from position 0, then BENCH_WARM untimed steps
 * of B rows (the second captures the CUDA graph when graphs are on) and
 * BENCH_STEPS timed ones (argmax only). Prints one table row. */
static int bench(eng_gpu_batch *g, int vocab, int B, const char *how)
{
    int32_t tok[MAX_ROWS], slot[MAX_ROWS], pos[MAX_ROWS], want[MAX_ROWS], amax[MAX_ROWS];
    int32_t ptok[BENCH_PROMPT], pslot[BENCH_PROMPT], ppos[BENCH_PROMPT], last = BENCH_PROMPT - 1;
    double wall = 0, gpu_ms = 0;
    int s, i, step;

    for (s = 0; s < B; s++) {
        eng_gpu_step st = {ptok, pslot, ppos, BENCH_PROMPT, &last, 1, NULL, amax, NULL, NULL,
                           NULL, NULL, 0};

        for (i = 0; i < BENCH_PROMPT; i++) {
            ptok[i] = next_rand(vocab);
            pslot[i] = s;
            ppos[i] = i;
        }
        if (eng_gpu_batch_step(g, &st) < 0)
            return -1;
        tok[s] = amax[0];
        slot[s] = s;
        pos[s] = BENCH_PROMPT;
        want[s] = s;
    }
    for (step = 0; step < BENCH_WARM + BENCH_STEPS; step++) {
        eng_gpu_step st = {tok, slot, pos, B, want, B, NULL, amax, NULL, NULL, NULL, NULL, 0};

        if (step == BENCH_WARM)
            wall = as_clock_ms();
        if (eng_gpu_batch_step(g, &st) < 0)
            return -1;
        if (step >= BENCH_WARM)
            gpu_ms += st.gpu_ms;
        for (s = 0; s < B; s++) {
            tok[s] = amax[s];
            pos[s]++;
        }
    }
    wall = as_clock_ms() - wall;
    printf("| batch %2d | %-18s | %3d steps at positions %d.. | %9.0f tok/s (wall) | "
           "%9.0f tok/s (GPU events) | %.3f ms/step |\n",
           B, how, BENCH_STEPS, BENCH_PROMPT + BENCH_WARM,
           B * BENCH_STEPS / (wall / 1000.0), B * BENCH_STEPS / (gpu_ms / 1000.0),
           wall / BENCH_STEPS);
    return 0;
}

/* The tokens/s table at batch 1, 8 and 64: CUDA graphs and PDL, graphs
 * alone, neither. */
static int throughput(const eng_model *m)
{
    static const char *how[3] = {"graphs, PDL", "graphs, no PDL", "no graphs, no PDL"};
    int sizes[3] = {1, 8, 64}, i, k, ctx = BENCH_PROMPT + BENCH_WARM + BENCH_STEPS + 1;

    if (ctx > m->cfg.max_pos) {
        fprintf(stderr, "gpu_test_batch: throughput: the model allows %d positions, not %d\n",
                m->cfg.max_pos, ctx);
        return -1;
    }
    for (k = 0; k < 3; k++) {
        eng_gpu_batch *g = NULL;

        setenv("ASSAY_GPU_GRAPHS", k < 2 ? "1" : "0", 1);
        setenv("ASSAY_GPU_PDL", k == 0 ? "1" : "0", 1);
        if (eng_gpu_batch_new(&g, m, MAX_ROWS, ctx, MAX_ROWS) < 0) {
            fprintf(stderr, "gpu_test_batch: throughput: %s\n", as_error_msg());
            return -1;
        }
        for (i = 0; i < 3; i++)
            if (bench(g, m->cfg.vocab, sizes[i], how[k]) < 0) {
                fprintf(stderr, "gpu_test_batch: throughput: %s\n", as_error_msg());
                eng_gpu_batch_free(g);
                return -1;
            }
        eng_gpu_batch_free(g);
    }
    return 0;
}

/* One row of the result table for run 'what'; returns whether it passed. */
static int report(const char *dir, const char *what, const tally *t, int bf16)
{
    int ok = t->bad_argmax == 0 && t->bad_logprob == 0 && t->bad_repeat == 0 &&
             (bf16 ? !isnan(t->worst) : t->worst <= 1e-4) && t->small > 0 && t->large > 0 &&
             t->sampled > 0 && t->bad_sample == 0;

    printf("| %-30s | %-10s | %3d rows checked | logits max rel %.2e (%s) | top-1 %d/%d | "
           "argmax %s | logprob %s | sampled %d: %d wrong, %d on a boundary | repeat %s | "
           "%d graphs, %ld replays | steps of <= %d rows %d, more %d | %s |\n",
           dir, what, t->rows, t->worst, bf16 ? "bf16: reported" : "tol 1e-4", t->top1, t->rows,
           t->bad_argmax ? "DIFFERS" : "ok", t->bad_logprob ? "DIFFERS" : "ok", t->sampled,
           t->bad_sample, t->boundary, t->bad_repeat ? "DIFFERS" : "bit-identical", t->graphs,
           t->replays, ENG_GPU_GEMV_ROWS_MAX, t->small, t->large, ok ? "ok" : "FAIL");
    return ok;
}

int main(int argc, char **argv)
{
    eng_model *m = NULL;
    char why[160];
    tally on = {0, 0, 0, 0, 0, 0, FNV_OFFSET, 0, 0, 0, 0, 0, 0, 0}, off = on, nopdl = on;
    int n_new, bf16, ok, ok_on, ok_off, ok_nopdl, same, agree = 0, timed;

    if (argc < 2) {
        fprintf(stderr, "usage: gpu_test_batch MODEL_DIR [NEW_TOKENS] [--no-bench]\n");
        return 2;
    }
    n_new = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 32;
    timed = !(argc > 3 && strcmp(argv[3], "--no-bench") == 0);
    if (!eng_gpu_available(why, sizeof why)) {
        printf("gpu_test_batch: skipped: %s\n", why);
        return 77;
    }
    if (eng_model_open(&m, argv[1], 0, ENG_DT_COUNT) < 0) {
        fprintf(stderr, "gpu_test_batch: %s\n", as_error_msg());
        return 1;
    }
    if (n_new < 1 || 40 + n_new > m->cfg.max_pos)
        n_new = m->cfg.max_pos - 40 < 32 ? m->cfg.max_pos - 40 : 32;
    bf16 = m->layers[0].wq.dtype == ENG_DT_BF16;
    if (n_new < 1 || mixed(m, n_new, 1, 1, &on) < 0 || mixed(m, n_new, 0, 1, &off) < 0 ||
        mixed(m, n_new, 1, 0, &nopdl) < 0) {
        eng_model_free(m);
        return 1;
    }
    ok_on = report(argv[1], "graphs on", &on, bf16);
    ok_off = report(argv[1], "graphs off", &off, bf16);
    ok_nopdl = report(argv[1], "PDL off", &nopdl, bf16);
    same = on.hash == off.hash && on.rows == off.rows && on.hash == nopdl.hash &&
           on.rows == nopdl.rows;
    printf("| %-30s | graphs on, off and PDL off: %s |\n", argv[1],
           same ? "bit-identical" : "DIFFER");
    ok = ok_on && ok_off && ok_nopdl && same && on.replays > 0 && nopdl.replays > 0 &&
         off.graphs == 0;
    if (agreement(m, argv[1], n_new, bf16, &agree) < 0 || !agree)
        ok = 0;
    if (ok && timed && throughput(m) < 0)
        ok = 0;
    eng_model_free(m);
    return ok ? 0 : 1;
}
