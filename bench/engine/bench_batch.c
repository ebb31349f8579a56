/* Generated tokens per second of continuous batching (evaluator/engine/batch.h)
 * against one sequence at a time, on a model folder:
 *
 *   engine_bench_batch MODEL_DIR [THREADS] [SEQUENCES] [PROMPT_TOKENS] [NEW_TOKENS] [SLOTS...]
 *
 * SEQUENCES (default 32) prompts of PROMPT_TOKENS (default 32)
 * pseudo-random ids each generate NEW_TOKENS (default 32) greedily with no
 * stop id: first one after another (eng_generate), then through a batch of
 * each SLOTS count (default 1 4 16 32), 'gpu' after a count running that
 * batch on the GPU. Every batched sequence must produce the ids it produced
 * alone; a row per setting gives the aggregate generated tokens per second
 * and the speed-up over one at a time. Best of two runs. */
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
    eng_gen_result_clear(res);
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

int main(int argc, char **argv)
{
    static const char *const dflt[] = {"1", "4", "16", "32"};
    eng_model *m = NULL;
    eng_state *s = NULL;
    eng_gen_params p;
    bench_seq *q = NULL;
    int threads = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0;
    int nseq = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 32;
    int np = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 32;
    int nn = argc > 5 ? (int)strtol(argv[5], NULL, 10) : 32;
    const char *const *slots = argc > 6 ? (const char *const *)argv + 6 : dflt;
    int nslots = argc > 6 ? argc - 6 : 4, i, j, k, rep, rc = 0;
    double alone_ms = 0, t0, total;

    if (argc < 2 || nseq < 1 || np < 1 || nn < 1) {
        fprintf(stderr, "usage: engine_bench_batch MODEL_DIR [THREADS] [SEQUENCES] "
                        "[PROMPT_TOKENS] [NEW_TOKENS] [SLOTS [gpu]...]\n");
        return 2;
    }
    if (eng_model_open(&m, argv[1], threads, ENG_DT_COUNT) < 0 ||
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
    total = (double)nseq * nn;
    for (rep = 0; rep < 2 && rc == 0; rep++) {
        t0 = as_clock_ms();
        for (i = 0; i < nseq && rc == 0; i++) {
            eng_gen_result_clear(&q[i].alone);
            rc = eng_generate(s, q[i].prompt, (size_t)np, &p, &q[i].alone);
        }
        if (rep == 0 || as_clock_ms() - t0 < alone_ms)
            alone_ms = as_clock_ms() - t0;
    }
    printf("| %s | %d threads | %d x (%d + %d) | one at a time | %.0f tok/s | 1.00x |\n", argv[1],
           eng_pool_threads(m->pool), nseq, np, nn, total / (alone_ms / 1000.0));
    for (k = 0; k < nslots && rc == 0; k++) {
        int n = (int)strtol(slots[k], NULL, 10), gpu = k + 1 < nslots && strcmp(slots[k + 1], "gpu") == 0;
        double best = 0, ms = 0;
        int same = 1;

        if (n < 1)
            continue;
        for (rep = 0; rep < 2 && rc == 0; rep++) {
            rc = run_batch(m, q, nseq, np, &p, n, gpu, &ms);
            if (rep == 0 || ms < best)
                best = ms;
        }
        for (i = 0; i < nseq; i++)
            same &= q[i].same;
        if (rc == 0)
            printf("| %s | %d threads | %d x (%d + %d) | batch of %d%s | %.0f tok/s | %.2fx |%s\n",
                   argv[1], eng_pool_threads(m->pool), nseq, np, nn, n, gpu ? " (GPU)" : "",
                   total / (best / 1000.0), alone_ms / best, same ? "" : " IDS DIFFER");
        if (!same)
            rc = AS_ERROR;
        k += gpu;
    }
    if (rc < 0)
        fprintf(stderr, "engine_bench_batch: %s\n", as_error_msg());
    for (i = 0; i < nseq; i++) {
        free(q[i].prompt);
        eng_gen_result_clear(&q[i].alone);
    }
    free(q);
    eng_state_free(s);
    eng_model_free(m);
    return rc < 0 ? 1 : 0;
}
