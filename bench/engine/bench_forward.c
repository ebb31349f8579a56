/* Tokens per second of the CPU reference forward pass on a model folder:
 *
 *   engine_bench_forward MODEL_DIR [THREADS] [PROMPT_TOKENS] [NEW_TOKENS]
 *
 * Prefill feeds PROMPT_TOKENS (default 64) pseudo-random ids one by one (the
 * reference has no batched prefill); decode then generates NEW_TOKENS
 * (default 64) greedily, ignoring EOS. The best of three runs is reported
 * (the machine may be shared). Prints one table row; run_forward.sh makes
 * the tiny models and prints the table of bench/README.md. */
#include "common/clock.h"
#include "common/error.h"
#include "evaluator/engine/forward.h"
#include "evaluator/engine/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    eng_model *m = NULL;
    eng_state *s = NULL;
    const float *logits = NULL;
    int threads = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0;
    int np = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 64;
    int nn = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 64;
    double t0, t1, t2, params = 0, best_prefill = 0, best_decode = 0;
    int i, tok = 1, l, rep;

    if (argc < 2 || np < 1 || nn < 1) {
        fprintf(stderr, "usage: engine_bench_forward MODEL_DIR [THREADS] [PROMPT_TOKENS] [NEW_TOKENS]\n");
        return 2;
    }
    if (eng_model_open(&m, argv[1], threads, ENG_DT_COUNT) < 0 ||
        eng_state_new(&s, m, np + nn) < 0) {
        fprintf(stderr, "engine_bench_forward: %s\n", as_error_msg());
        eng_model_free(m);
        return 1;
    }
    params = (double)m->cfg.vocab * m->cfg.hidden * (m->cfg.tied ? 1 : 2) + m->cfg.hidden;
    for (l = 0; l < m->cfg.n_layers; l++) {
        const eng_layer *L = &m->layers[l];

        params += (double)L->wq.rows * L->wq.cols + (double)L->wk.rows * L->wk.cols * 2 +
                  (double)L->wo.rows * L->wo.cols + 3.0 * L->wg.rows * L->wg.cols + 2.0 * m->cfg.hidden;
    }
    for (rep = 0; rep < 3; rep++) {
        eng_state_rewind(s, 0);
        t0 = as_clock_ms();
        for (i = 0; i < np; i++) {
            tok = (int)((i * 2654435761u) % (unsigned)m->cfg.vocab);
            if (eng_forward(s, tok, i + 1 == np ? &logits : NULL) < 0)
                goto fail;
        }
        t1 = as_clock_ms();
        for (i = 0; i < nn; i++) {
            tok = eng_argmax(logits, m->cfg.vocab);
            if (i + 1 < nn && eng_forward(s, tok, &logits) < 0)
                goto fail;
        }
        t2 = as_clock_ms();
        if (rep == 0 || t1 - t0 < best_prefill)
            best_prefill = t1 - t0;
        if (rep == 0 || t2 - t1 < best_decode)
            best_decode = t2 - t1;
    }
    printf("| %-14s | %-4s | %6.2fM | %2d | %9.0f | %9.0f |\n", argv[1], eng_dtype_name(m->dtype),
           params / 1e6, eng_pool_threads(m->pool), np / (best_prefill / 1000.0),
           (nn - 1) / (best_decode / 1000.0));
    eng_state_free(s);
    eng_model_free(m);
    return 0;
fail:
    fprintf(stderr, "engine_bench_forward: %s\n", as_error_msg());
    eng_state_free(s);
    eng_model_free(m);
    return 1;
}
