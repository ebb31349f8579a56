/* A whole model on the GPU against the CPU reference: two forward states
 * of the same model, one moved to the GPU with eng_state_use_gpu (the
 * decode step of gpu/forward_gpu.h), fed the same prompt and greedy
 * continuation. Every step's logits must agree within 1e-4 relative and
 * the argmax must be the same; prints the worst error, the top-1
 * agreement and the GPU tokens/s of this unfused version.
 *
 *   gpu_test_forward MODEL_DIR [NEW_TOKENS]      (exit 77 without a GPU)
 *
 * This is the first whole-model check of issue 8; the fast engine (fused
 * kernels, CUDA graphs, batching) must pass the same comparison. */
#include "common/clock.h"
#include "common/error.h"
#include "evaluator/engine/forward.h"
#include "evaluator/engine/gpu/gpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* max(a, b) where a NaN in either wins: fmax would drop it, and NaN
 * logits would pass. */
static double worse(double a, double b)
{
    return isnan(a) || b <= a ? a : b;
}

int main(int argc, char **argv)
{
    eng_model *m = NULL;
    eng_state *cpu = NULL, *gpu = NULL;
    const float *lc = NULL, *lg = NULL;
    char why[160];
    int prompt[8] = {1, 17, 42, 99, 3, 250, 7, 64}, n_new, i, tok, agree = 0, steps = 0, ok;
    double worst = 0, t_gpu = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: gpu_test_forward MODEL_DIR [NEW_TOKENS]\n");
        return 2;
    }
    n_new = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 32;
    if (n_new < 1 || n_new > 4096)
        n_new = 32;
    if (!eng_gpu_available(why, sizeof why)) {
        printf("gpu_test_forward: skipped: %s\n", why);
        return 77;
    }
    if (eng_model_open(&m, argv[1], 0, ENG_DT_COUNT) < 0 || eng_state_new(&cpu, m, 8 + n_new) < 0 ||
        eng_state_new(&gpu, m, 8 + n_new) < 0 || eng_state_use_gpu(gpu) < 0) {
        fprintf(stderr, "gpu_test_forward: %s\n", as_error_msg());
        eng_state_free(cpu);
        eng_state_free(gpu);
        eng_model_free(m);
        return 1;
    }
    tok = prompt[0] % m->cfg.vocab;
    for (i = 0; i < 8 + n_new; i++) {
        double t0, maxd = 0, maxr = 1e-30;
        int v;

        if (i < 8)
            tok = prompt[i] % m->cfg.vocab;
        if (eng_forward(cpu, tok, &lc) < 0)
            break;
        t0 = as_clock_ms();
        if (eng_forward(gpu, tok, &lg) < 0) {
            fprintf(stderr, "gpu_test_forward: step %d: %s\n", i, as_error_msg());
            worst = INFINITY;
            break;
        }
        t_gpu += as_clock_ms() - t0;
        for (v = 0; v < m->cfg.vocab; v++) {
            maxd = worse(maxd, fabs((double)lg[v] - lc[v]));
            maxr = worse(maxr, fabs((double)lc[v]));
        }
        worst = worse(worst, maxd / maxr);
        steps++;
        agree += eng_argmax(lg, m->cfg.vocab) == eng_argmax(lc, m->cfg.vocab);
        if (i >= 7)
            tok = eng_argmax(lc, m->cfg.vocab);     /* greedy, fed to both */
    }
    ok = steps == 8 + n_new && worst <= 1e-4 && agree == steps;
    printf("| %-30s | %3d steps | logits max rel %.2e (tol 1e-4) | argmax agree %d/%d | "
           "GPU %.0f tok/s (unfused, logits copied back) | %s |\n",
           argv[1], steps, worst, agree, steps, steps / (t_gpu / 1000.0), ok ? "ok" : "FAIL");
    eng_state_free(cpu);
    eng_state_free(gpu);
    eng_model_free(m);
    return ok ? 0 : 1;
}
