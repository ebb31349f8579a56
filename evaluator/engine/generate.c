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

static int check_params(size_t n, int ctx, const eng_gen_params *p)
{
    int i;

    if (n == 0)
        return as_error_set(AS_EINVAL, "the prompt is empty");
    if (n >= (size_t)ctx)
        return as_error_set(AS_ETOOBIG, "the prompt has %zu tokens; the context holds %d "
                            "(prompt plus at least one new token)", n, ctx);
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

void eng_seq_clear(eng_seq *q)
{
    if (q == NULL)
        return;
    eng_sampler_free(q->sampler);
    as_buf_free(&q->text);
    eng_gen_result_clear(&q->res);
    memset(q, 0, sizeof *q);
}

int eng_seq_begin(eng_seq *q, const eng_gen_params *p, size_t n, int ctx, int vocab)
{
    int rc;

    memset(q, 0, sizeof *q);
    as_buf_init(&q->text, GEN_TEXT_MAX);
    q->t0 = as_clock_ms();
    if ((rc = check_params(n, ctx, p)) < 0)
        return rc;
    q->p = *p;
    if ((rc = eng_sampler_new(&q->sampler, &p->sampling, vocab)) < 0)
        return rc;
    q->cap = (size_t)p->max_new_tokens;
    if (q->cap > (size_t)ctx - n)
        q->cap = (size_t)ctx - n;
    if ((q->res.ids = malloc(q->cap * sizeof *q->res.ids)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    q->res.prompt_tokens = (int)n;
    q->res.finish = "length";
    q->res.stop_string = -1;
    return 0;
}

void eng_seq_prefilled(eng_seq *q)
{
    q->res.prefill_ms = as_clock_ms() - q->t0;
}

/* Append the text of 'tok'; 1 when a stop string now cuts the text. */
static int seq_text(eng_seq *q, int32_t tok)
{
    const char *piece;
    size_t plen, old = q->text.len, at;
    int rc;

    if ((rc = q->p.detok(q->p.detok_ud, tok, &piece, &plen)) < 0 ||
        (rc = as_buf_append(&q->text, piece, plen)) < 0)
        return rc;
    if ((q->res.stop_string = find_stop(&q->p, &q->text, old, &at)) >= 0) {
        q->text.len = at;
        q->text.data[at] = '\0';
        q->res.finish = "stop";
        return 1;
    }
    return 0;
}

int eng_seq_greedy(const eng_seq *q)
{
    return eng_sampler_greedy(q->sampler);
}

int eng_seq_next(eng_seq *q, const float *logits, int32_t *next)
{
    return eng_seq_push(q, eng_sample(q->sampler, logits), next);
}

int eng_seq_push(eng_seq *q, int32_t tok, int32_t *next)
{
    int rc;

    q->res.ids[q->res.n_ids++] = tok;
    if (q->res.n_ids == 1)
        q->t_first = as_clock_ms();
    if (is_stop_id(&q->p, tok)) {
        q->res.finish = "stop";
        return 1;
    }
    if (q->p.detok != NULL && (rc = seq_text(q, tok)) != 0)
        return rc;
    if (q->res.n_ids == q->cap)
        return 1;
    *next = tok;
    return 0;
}

void eng_seq_finish(eng_seq *q, eng_gen_result *res)
{
    eng_gen_result *r = &q->res;

    r->total_ms = as_clock_ms() - q->t0;
    r->ttft_ms = q->t_first - q->t0;
    r->per_token_ms = r->n_ids > 1 ? (r->total_ms - r->ttft_ms) / (double)(r->n_ids - 1) : 0;
    r->completion_tokens = (int)r->n_ids;
    if (q->p.detok != NULL) {
        r->text_len = q->text.len;
        r->text = as_buf_detach(&q->text);
    }
    *res = *r;
    memset(r, 0, sizeof *r);
}

int eng_generate(eng_state *s, const int32_t *prompt, size_t n, const eng_gen_params *p,
                 eng_gen_result *res)
{
    eng_seq q;
    const float *logits = NULL;
    int32_t tok;
    int rc;

    memset(res, 0, sizeof *res);
    if ((rc = eng_seq_begin(&q, p, n, s->ctx, s->m->cfg.vocab)) < 0)
        goto out;
    eng_state_rewind(s, 0);
    if ((rc = eng_prefill(s, prompt, n, &logits)) < 0)
        goto out;
    eng_seq_prefilled(&q);
    while ((rc = eng_seq_next(&q, logits, &tok)) == 0)
        if ((rc = eng_forward(s, tok, &logits)) < 0)
            goto out;
    if (rc > 0) {
        eng_seq_finish(&q, res);
        rc = 0;
    }
out:
    eng_seq_clear(&q);
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
