/* Generated tokens per second of continuous batching (evaluator/engine/batch.h)
 * against one sequence at a time, on a model folder:
 *
 *   engine_bench_batch [--first-is-baseline] MODEL_DIR [THREADS] [SEQUENCES]
 *                      [PROMPT_TOKENS] [NEW_TOKENS] [SLOTS...]
 *
 * SEQUENCES (default 32) prompts of PROMPT_TOKENS (default 32)
 * pseudo-random ids each generate NEW_TOKENS (default 32) greedily with no
 * stop id: first one after another (eng_generate on the CPU), then through
 * a batch of each SLOTS count (default 1 4 16 32), 'gpu' after a count
 * running that batch on the GPU. Every batched sequence must produce the
 * ids it produced alone. With --first-is-baseline the CPU run is skipped
 * and the first SLOTS setting is the baseline instead (e.g. "1 gpu 64 gpu":
 * the GPU at batch 64 against the GPU at batch 1); the other settings then
 * report the share of sequences whose ids agree with it instead of
 * requiring all (a GEMM over more rows may round differently). A row per
 * setting gives generated tokens per second, all tokens (prompt and
 * generated) per second, and the speed-up over the baseline. Best of two
 * runs. */
#include "common/clock.h"
#include "common/error.h"
#include "evaluator/engine/batch.h"
#include "evaluator/engine/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench_seq {
    int32_t *prompt;
    eng_gen_result alone;
    eng_gen_result got;      /* the latest batched run's, for a baseline batch */
    int same;
} bench_seq;

static int on_done(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    bench_seq *q = ud;

    (void)arg;
    (void)busy_ms;
    if (rc < 0)
        return rc;
    q->same = res->n_ids == q->alone.n_ids &&
              memcmp(res->ids, q->alone.ids, res->n_ids * sizeof *res->ids) == 0;
    eng_gen_result_clear(&q->got);
    q->got = *res;
    return 0;
}

/* All sequences through a batch of 'slots'; the wall time in *ms. */
static int run_batch(const eng_model *m, bench_seq *q, int nseq, int np,
                     const eng_gen_params *p, int slots, int gpu, double *ms)
{
    eng_batch_opts o = {slots, np + p->max_new_tokens, 0, gpu};
    eng_batch *b;
    double t0;
    int next = 0, rc = 0;

    if ((rc = eng_batch_new(&b, m, &o)) < 0)
        return rc;
    t0 = as_clock_ms();
    while (rc == 0 && (next < nseq || eng_batch_active(b) > 0)) {
        while (rc == 0 && next < nseq && eng_batch_free_slots(b) > 0) {
            rc = eng_batch_add(b, q[next].prompt, (size_t)np, p, &q[next]);
            next++;
        }
        if (rc == 0)
            rc = eng_batch_step(b, on_done, NULL);
    }
    *ms = as_clock_ms() - t0;
    eng_batch_free(b);
    return rc;
}

static void print_row(const char *model, const eng_model *m, int nseq, int np, int nn,
                      const char *setting, double ms, double base_ms, const char *note)
{
    printf("| %s | %d threads | %d x (%d + %d) | %s | %.0f tok/s | %.0f all tok/s | %.2fx |%s\n",
           model, eng_pool_threads(m->pool), nseq, np, nn, setting, (double)nseq * nn / (ms / 1000.0),
           (double)nseq * (np + nn) / (ms / 1000.0), base_ms / ms, note);
}

int main(int argc, char **argv)
{
    static const char *const dflt[] = {"1", "4", "16", "32"};
    eng_model *m = NULL;
    eng_state *s = NULL;
    eng_gen_params p;
    bench_seq *q = NULL;
    int first_base = argc > 1 && strcmp(argv[1], "--first-is-baseline") == 0;
    char **av = argv + first_base;
    int ac = argc - first_base;
    int threads = ac > 2 ? (int)strtol(av[2], NULL, 10) : 0;
    int nseq = ac > 3 ? (int)strtol(av[3], NULL, 10) : 32;
    int np = ac > 4 ? (int)strtol(av[4], NULL, 10) : 32;
    int nn = ac > 5 ? (int)strtol(av[5], NULL, 10) : 32;
    const char *const *slots = ac > 6 ? (const char *const *)av + 6 : dflt;
    int nslots = ac > 6 ? ac - 6 : 4, i, j, k, rep, rc = 0;
    double base_ms = 0, t0;

    if (ac < 2 || nseq < 1 || np < 1 || nn < 1) {
        fprintf(stderr, "usage: engine_bench_batch [--first-is-baseline] MODEL_DIR [THREADS] "
                        "[SEQUENCES] [PROMPT_TOKENS] [NEW_TOKENS] [SLOTS [gpu]...]\n");
        return 2;
    }
    if (eng_model_open(&m, av[1], threads, ENG_DT_COUNT) < 0 ||
        eng_state_new(&s, m, np + nn) < 0 || (q = calloc((size_t)nseq, sizeof *q)) == NULL) {
        fprintf(stderr, "engine_bench_batch: %s\n", as_error_msg());
        return 1;
    }
    memset(&p, 0, sizeof p);
    p.max_new_tokens = nn;
    p.sampling.greedy = 1;
    for (i = 0; i < nseq; i++) {
        q[i].prompt = malloc((size_t)np * sizeof(int32_t));
        for (j = 0; j < np; j++)
            q[i].prompt[j] = (int32_t)(((unsigned)(i * 7919 + j) * 2654435761u) % (unsigned)m->cfg.vocab);
    }
    for (rep = 0; !first_base && rep < 2 && rc == 0; rep++) {
        t0 = as_clock_ms();
        for (i = 0; i < nseq && rc == 0; i++) {
            eng_gen_result_clear(&q[i].alone);
            rc = eng_generate(s, q[i].prompt, (size_t)np, &p, &q[i].alone);
        }
        if (rep == 0 || as_clock_ms() - t0 < base_ms)
            base_ms = as_clock_ms() - t0;
    }
    if (!first_base && rc == 0)
        print_row(av[1], m, nseq, np, nn, "one at a time", base_ms, base_ms, "");
    for (k = 0; k < nslots && rc == 0; k++) {
        int n = (int)strtol(slots[k], NULL, 10), gpu = k + 1 < nslots && strcmp(slots[k + 1], "gpu") == 0;
        int is_base = first_base && base_ms == 0, agree = 0;
        double best = 0, ms = 0;
        char setting[64], note[64] = "";

        k += gpu;
        if (n < 1)
            continue;
        for (rep = 0; rep < 2 && rc == 0; rep++) {
            rc = run_batch(m, q, nseq, np, &p, n, gpu, &ms);
            if (rep == 0 || ms < best)
                best = ms;
        }
        if (rc < 0)
            break;
        for (i = 0; i < nseq; i++) {
            agree += q[i].same;
            if (is_base) {
                eng_gen_result_clear(&q[i].alone);
                q[i].alone = q[i].got;
                memset(&q[i].got, 0, sizeof q[i].got);
            }
        }
        if (is_base)
            base_ms = best;
        else if (first_base)
            snprintf(note, sizeof note, " %d of %d sequences agree with the baseline", agree, nseq);
        else if (agree < nseq)
            snprintf(note, sizeof note, " IDS DIFFER");
        snprintf(setting, sizeof setting, "batch of %d%s%s", n, gpu ? " (GPU)" : "",
                 is_base ? ", baseline" : "");
        print_row(av[1], m, nseq, np, nn, setting, best, base_ms, note);
        if (!first_base && agree < nseq)
            rc = as_error_set(AS_ERROR, "batched ids differ from one at a time");
    }
    if (rc < 0)
        fprintf(stderr, "engine_bench_batch: %s\n", as_error_msg());
    for (i = 0; i < nseq; i++) {
        free(q[i].prompt);
        eng_gen_result_clear(&q[i].alone);
        eng_gen_result_clear(&q[i].got);
    }
    free(q);
    eng_state_free(s);
    eng_model_free(m);
    return rc < 0 ? 1 : 0;
}
