/* Checks the reference forward pass against expected outputs written by
 * tests/engine/tinymodel.py (an independent pure-Python forward pass in
 * double precision) or, later, by tests/gpu/make_fixtures.py (transformers):
 *
 *   check_reference MODEL_DIR EXPECTED_JSON [NTHREADS [KEEP_DTYPE]]
 *
 * For each case: the logits after the prompt within 1e-4 relative (max |d|
 * over max |ref|), the greedy tokens exactly (stopping on the model's EOS
 * ids), then the continuation log-likelihood within 1e-4 relative and its
 * is-greedy flag. Also checks that eng_prefill over 70 tokens (three
 * chunks) gives bit-identical logits to feeding them one at a time.
 * Exit 0 when everything matches. */
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "evaluator/engine/forward.h"
#include "evaluator/engine/generate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REL_TOL 1e-4

static int failures;

static int to_ids(const json_t *a, int32_t **out, size_t *n)
{
    size_t i;

    *n = json_array_size(a);
    if ((*out = malloc((*n ? *n : 1) * sizeof **out)) == NULL)
        return -1;
    for (i = 0; i < *n; i++)
        (*out)[i] = (int32_t)json_integer_value(json_array_get(a, i));
    return 0;
}

static void check_case(eng_state *s, const json_t *c, int idx)
{
    const json_t *ref_logits = json_object_get(c, "logits"), *ref_greedy = json_object_get(c, "greedy");
    eng_gen_params p;
    eng_gen_result res;
    const float *logits = NULL;
    int32_t *prompt;
    size_t n, i;
    double maxd = 0, maxref = 0;
    const eng_config *cfg = &s->m->cfg;
    int failures_before = failures;

    if (to_ids(json_object_get(c, "prompt"), &prompt, &n) < 0)
        return;
    if (json_array_size(ref_logits) != (size_t)cfg->vocab) {
        fprintf(stderr, "case %d: expected logits have %zu entries, vocab is %d\n", idx,
                json_array_size(ref_logits), cfg->vocab);
        failures++;
        free(prompt);
        return;
    }
    eng_state_rewind(s, 0);
    for (i = 0; i < n; i++)
        if (eng_forward(s, prompt[i], i + 1 == n ? &logits : NULL) < 0) {
            fprintf(stderr, "case %d: forward: %s\n", idx, as_error_msg());
            failures++;
            free(prompt);
            return;
        }
    for (i = 0; i < (size_t)cfg->vocab; i++) {
        double r = json_number_value(json_array_get(ref_logits, i));

        maxd = fmax(maxd, fabs(logits[i] - r));
        maxref = fmax(maxref, fabs(r));
    }
    printf("case %d: logits max |diff| %.3g, relative %.3g\n", idx, maxd, maxd / maxref);
    if (!(maxd <= REL_TOL * maxref)) {
        fprintf(stderr, "case %d: logits differ: %.3g relative > %g\n", idx, maxd / maxref, REL_TOL);
        failures++;
    }

    memset(&p, 0, sizeof p);
    p.max_new_tokens = (int)json_array_size(ref_greedy);
    p.sampling.greedy = 1;
    for (i = 0; i < (size_t)cfg->n_eos; i++)
        p.stop_ids[p.n_stop_ids++] = cfg->eos_ids[i];
    if (eng_generate(s, prompt, n, &p, &res) < 0) {
        fprintf(stderr, "case %d: generate: %s\n", idx, as_error_msg());
        failures++;
        free(prompt);
        return;
    }
    if (res.n_ids != json_array_size(ref_greedy)) {
        fprintf(stderr, "case %d: %zu greedy tokens, expected %zu\n", idx, res.n_ids,
                json_array_size(ref_greedy));
        failures++;
    }
    for (i = 0; i < res.n_ids && i < json_array_size(ref_greedy); i++)
        if (res.ids[i] != json_integer_value(json_array_get(ref_greedy, i))) {
            fprintf(stderr, "case %d: greedy token %zu is %d, expected %lld\n", idx, i, res.ids[i],
                    (long long)json_integer_value(json_array_get(ref_greedy, i)));
            failures++;
            break;
        }
    printf("case %d: %zu greedy tokens %s (finish %s)\n", idx, res.n_ids,
           failures > failures_before ? "DIFFER" : "equal", res.finish);
    eng_gen_result_clear(&res);
    free(prompt);
}

/* eng_prefill and eng_forward must agree bit for bit (same dot products
 * in the same order), across chunk boundaries. */
static void check_prefill(eng_state *s)
{
    int vocab = s->m->cfg.vocab, i;
    int32_t ids[70];
    const float *logits = NULL;
    float *one = malloc((size_t)vocab * sizeof *one);

    if (one == NULL)
        return;
    for (i = 0; i < 70; i++)
        ids[i] = (int32_t)((i * 7919 + 13) % vocab);
    eng_state_rewind(s, 0);
    for (i = 0; i < 70; i++)
        if (eng_forward(s, ids[i], &logits) < 0)
            break;
    if (logits != NULL)
        memcpy(one, logits, (size_t)vocab * sizeof *one);
    eng_state_rewind(s, 0);
    if (i != 70 || eng_prefill(s, ids, 70, &logits) < 0 ||
        memcmp(one, logits, (size_t)vocab * sizeof *one) != 0) {
        fprintf(stderr, "prefill of 70 tokens differs from one token at a time (%s)\n", as_error_msg());
        failures++;
    } else {
        printf("prefill: 70 tokens bit-identical to one at a time\n");
    }
    free(one);
}

static void check_loglik(eng_state *s, const json_t *ll)
{
    int32_t *ctx, *cont;
    size_t nctx, ncont;
    double lp, ref = json_number_value(json_object_get(ll, "logprob"));
    int greedy;

    if (to_ids(json_object_get(ll, "context"), &ctx, &nctx) < 0)
        return;
    if (to_ids(json_object_get(ll, "continuation"), &cont, &ncont) < 0) {
        free(ctx);
        return;
    }
    if (eng_loglik(s, ctx, nctx, cont, ncont, &lp, &greedy) < 0) {
        fprintf(stderr, "loglik: %s\n", as_error_msg());
        failures++;
    } else {
        printf("loglik: %.9g, expected %.9g\n", lp, ref);
        if (!(fabs(lp - ref) <= REL_TOL * fabs(ref)) ||
            greedy != json_is_true(json_object_get(ll, "greedy"))) {
            fprintf(stderr, "loglik differs: %.9g (greedy %d), expected %.9g\n", lp, greedy, ref);
            failures++;
        }
    }
    free(ctx);
    free(cont);
}

int main(int argc, char **argv)
{
    eng_model *m = NULL;
    eng_state *s = NULL;
    json_t *exp = NULL, *cases;
    char *text = NULL;
    size_t len, i;
    eng_dtype keep = ENG_DT_COUNT;

    if (argc < 3 || (argc > 4 && eng_keep_dtype_parse(argv[4], &keep) < 0)) {
        fprintf(stderr, "usage: check_reference MODEL_DIR EXPECTED_JSON [NTHREADS [auto|float32|bfloat16]]\n");
        return 2;
    }
    if (as_file_read(&text, &len, argv[2], (size_t)256 << 20) < 0 ||
        as_json_parse(&exp, text, len, argv[2]) < 0 ||
        eng_model_open(&m, argv[1], argc > 3 ? (int)strtol(argv[3], NULL, 10) : 2, keep) < 0 ||
        eng_state_new(&s, m, 0) < 0) {
        fprintf(stderr, "check_reference: %s\n", as_error_msg());
        free(text);
        json_decref(exp);
        eng_model_free(m);
        return 1;
    }
    cases = json_object_get(exp, "cases");
    for (i = 0; i < json_array_size(cases); i++)
        check_case(s, json_array_get(cases, i), (int)i);
    if (json_object_get(exp, "loglik") != NULL)
        check_loglik(s, json_object_get(exp, "loglik"));
    if (s->ctx >= 70)
        check_prefill(s);
    eng_state_free(s);
    eng_model_free(m);
    json_decref(exp);
    free(text);
    printf("%s: %s\n", argv[1], failures ? "MISMATCH" : "matches");
    return failures ? 1 : 0;
}
