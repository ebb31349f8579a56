/* Generation loop and continuation scoring (generate.h). */
#include "evaluator/engine/generate.h"

#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "evaluator/engine/ops.h"

#include <stdlib.h>
#include <string.h>

#define GEN_TEXT_MAX ((size_t)16 << 20)

void eng_gen_result_clear(eng_gen_result *res)
{
    if (res == NULL)
        return;
    free(res->ids);
    free(res->text);
    memset(res, 0, sizeof *res);
}

static int is_stop_id(const eng_gen_params *p, int32_t id)
{
    int i;

    for (i = 0; i < p->n_stop_ids; i++)
        if (p->stop_ids[i] == id)
            return 1;
    return 0;
}

/* After text grew from 'old_len': the index of the earliest stop string
 * that now ends inside the new part (its start into *at), or -1. */
static int find_stop(const eng_gen_params *p, const as_buf *text, size_t old_len, size_t *at)
{
    int i, found = -1;

    for (i = 0; i < p->n_stop_strings; i++) {
        size_t slen = strlen(p->stop_strings[i]), from;
        const char *hit;

        if (slen == 0 || text->len < slen)
            continue;
        from = old_len >= slen - 1 ? old_len - (slen - 1) : 0;
        hit = memmem(text->data + from, text->len - from, p->stop_strings[i], slen);
        if (hit != NULL && (found < 0 || (size_t)(hit - text->data) < *at)) {
            *at = (size_t)(hit - text->data);
            found = i;
        }
    }
    return found;
}

static int check_params(const eng_state *s, size_t n, const eng_gen_params *p)
{
    int i;

    if (n == 0)
        return as_error_set(AS_EINVAL, "the prompt is empty");
    if (n >= (size_t)s->ctx)
        return as_error_set(AS_ETOOBIG, "the prompt has %zu tokens; the context holds %d "
                            "(prompt plus at least one new token)", n, s->ctx);
    if (p->max_new_tokens < 1)
        return as_error_set(AS_EINVAL, "max_new_tokens must be at least 1");
    if (p->n_stop_ids < 0 || p->n_stop_ids > ENG_MAX_STOP_IDS ||
        p->n_stop_strings < 0 || p->n_stop_strings > ENG_MAX_STOP_STRINGS)
        return as_error_set(AS_EINVAL, "too many stop ids or stop strings");
    if (p->n_stop_strings > 0 && p->detok == NULL)
        return as_error_set(AS_EINVAL, "stop strings need a tokenizer to decode with");
    for (i = 0; i < p->n_stop_strings; i++)
        if (p->stop_strings[i] == NULL)
            return as_error_set(AS_EINVAL, "stop string %d is missing", i);
    return 0;
}

int eng_generate(eng_state *s, const int32_t *prompt, size_t n, const eng_gen_params *p,
                 eng_gen_result *res)
{
    eng_sampler *sampler = NULL;
    const float *logits = NULL;
    as_buf text;
    double t0 = as_clock_ms(), t_first = 0;
    size_t cap;
    int rc;

    memset(res, 0, sizeof *res);
    as_buf_init(&text, GEN_TEXT_MAX);
    if ((rc = check_params(s, n, p)) < 0)
        return rc;
    if ((rc = eng_sampler_new(&sampler, &p->sampling, s->m->cfg.vocab)) < 0)
        return rc;
    cap = (size_t)p->max_new_tokens;
    if (cap > (size_t)s->ctx - n)
        cap = (size_t)s->ctx - n;
    if ((res->ids = malloc(cap * sizeof *res->ids)) == NULL) {
        rc = as_error_set(AS_ENOMEM, "out of memory");
        goto fail;
    }
    res->prompt_tokens = (int)n;
    res->finish = "length";
    res->stop_string = -1;
    eng_state_rewind(s, 0);
    if ((rc = eng_prefill(s, prompt, n, &logits)) < 0)
        goto fail;
    res->prefill_ms = as_clock_ms() - t0;
    while (res->n_ids < cap) {
        int32_t tok = eng_sample(sampler, logits);

        res->ids[res->n_ids++] = tok;
        if (res->n_ids == 1)
            t_first = as_clock_ms();
        if (is_stop_id(p, tok)) {
            res->finish = "stop";
            break;
        }
        if (p->detok != NULL) {
            const char *piece;
            size_t plen, old = text.len, at;

            if ((rc = p->detok(p->detok_ud, tok, &piece, &plen)) < 0 ||
                (rc = as_buf_append(&text, piece, plen)) < 0)
                goto fail;
            if ((res->stop_string = find_stop(p, &text, old, &at)) >= 0) {
                text.len = at;
                text.data[at] = '\0';
                res->finish = "stop";
                break;
            }
        }
        if (res->n_ids == cap)
            break;
        if ((rc = eng_forward(s, tok, &logits)) < 0)
            goto fail;
    }
    res->total_ms = as_clock_ms() - t0;
    res->ttft_ms = t_first - t0;
    res->per_token_ms = res->n_ids > 1 ? (res->total_ms - res->ttft_ms) / (double)(res->n_ids - 1) : 0;
    res->completion_tokens = (int)res->n_ids;
    if (p->detok != NULL) {
        res->text_len = text.len;
        res->text = as_buf_detach(&text);
    }
    as_buf_free(&text);
    eng_sampler_free(sampler);
    return 0;
fail:
    as_buf_free(&text);
    eng_sampler_free(sampler);
    eng_gen_result_clear(res);
    return rc;
}

int eng_loglik(eng_state *s, const int32_t *ctx, size_t nctx, const int32_t *cont,
               size_t ncont, double *logprob, int *greedy)
{
    const float *logits = NULL;
    size_t i;
    int rc, vocab = s->m->cfg.vocab;

    *logprob = 0.0;
    *greedy = 1;
    if (nctx == 0 || ncont == 0)
        return as_error_set(AS_EINVAL, "scoring needs a context and a continuation of at least one token");
    if (nctx + ncont - 1 > (size_t)s->ctx)
        return as_error_set(AS_ETOOBIG, "context and continuation have %zu tokens; the context holds %d",
                            nctx + ncont, s->ctx);
    eng_state_rewind(s, 0);
    if ((rc = eng_prefill(s, ctx, nctx, &logits)) < 0)
        return rc;
    for (i = 0; i < ncont; i++) {
        if (cont[i] < 0 || cont[i] >= vocab)
            return as_error_set(AS_EINVAL, "token id %d is outside the vocabulary of %d", cont[i], vocab);
        *logprob += eng_logprob(logits, vocab, cont[i]);
        if (eng_argmax(logits, vocab) != cont[i])
            *greedy = 0;
        if (i + 1 < ncont && (rc = eng_forward(s, cont[i], &logits)) < 0)
            return rc;
    }
    return 0;
}
