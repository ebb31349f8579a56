/* engine_batch: continuous batching against one sequence at a time.
 *
 *   engine_check_batch MODEL_DIR
 *
 * Nine prompts of 1 to 70 ids (longer than a prefill chunk), greedy and
 * seeded sampling, different max_new_tokens and stop ids, are generated
 * alone with eng_generate, then together through eng_batch with several
 * slot and step sizes (so prefill is split over steps, decode and prefill
 * share steps, and slots are reused): every sequence must get exactly the
 * same ids, finish reason and prompt count. Log-likelihood sequences mixed
 * in must get exactly eng_loglik's sum and greedy flag. Then the batch's
 * errors. */
#include "common/error.h"
#include "evaluator/engine/batch.h"
#include "evaluator/engine/forward.h"
#include "evaluator/engine/generate.h"
#include "evaluator/engine/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSEQ 9

/* Both kinds of case start with 'scoring', which tells them apart in on_done. */
typedef struct seq_case {
    int scoring;             /* 0 */
    int32_t prompt[80];
    size_t n;
    eng_gen_params p;
    eng_gen_result alone, batched;
    double busy_ms;
    int reported;
} seq_case;

#define NSCORE 5

typedef struct score_case {
    int scoring;             /* 1 */
    int32_t ids[80];
    size_t nctx, ncont;
    double logprob;
    int greedy, reported;
} score_case;

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void make_cases(seq_case *c, int vocab)
{
    static const size_t lens[NSEQ] = {1, 5, 33, 70, 2, 17, 40, 9, 64};
    uint64_t r = 88172645463325252ULL;
    int i;
    size_t j;

    memset(c, 0, NSEQ * sizeof *c);
    for (i = 0; i < NSEQ; i++) {
        c[i].n = lens[i];
        for (j = 0; j < c[i].n; j++) {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            c[i].prompt[j] = (int32_t)(r % (uint64_t)vocab);
        }
        c[i].p.max_new_tokens = 3 + 5 * i;
        c[i].p.sampling.greedy = i % 3 != 1;
        c[i].p.sampling.temperature = 0.8f;
        c[i].p.sampling.top_k = i % 2 ? 0 : 20;
        c[i].p.sampling.top_p = i % 2 ? 0.9f : 1.0f;
        c[i].p.sampling.seed = 1000 + (uint64_t)i;
        if (i % 4 == 3) {
            /* a stop id that greedy decoding of this model meets early */
            c[i].p.stop_ids[0] = c[i].prompt[0];
            c[i].p.stop_ids[1] = 7 % vocab;
            c[i].p.n_stop_ids = 2;
        }
    }
}

static int on_done(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    seq_case *c = ud;

    (void)arg;
    if (*(const int *)ud) {
        score_case *sc = ud;

        CHECK(rc >= 0, "scoring failed: %s", as_error_msg());
        CHECK(res->ids == NULL && strcmp(res->finish, "scored") == 0, "a scoring result");
        CHECK(res->logprob == sc->logprob && res->greedy == sc->greedy,
              "scored %.17g (greedy %d), alone %.17g (greedy %d)", res->logprob, res->greedy,
              sc->logprob, sc->greedy);
        CHECK(res->prompt_tokens == (int)sc->nctx && res->completion_tokens == (int)sc->ncont,
              "scoring token counts");
        sc->reported++;
        return 0;
    }
    CHECK(rc >= 0, "sequence failed: %s", as_error_msg());
    CHECK(!c->reported, "a sequence reported twice");
    c->reported = 1;
    c->batched = *res;
    c->busy_ms = busy_ms;
    return 0;
}

/* All cases through a batch of 'slots' slots and 'rows' rows per step,
 * with the scoring cases 'sc' (or NULL) admitted after every other one. */
static void run_batched(const eng_model *m, seq_case *c, score_case *sc, int slots, int rows)
{
    eng_batch_opts o = {slots, 0, rows, 0};
    eng_batch *b;
    int next = 0, nscore = 0, i, steps = 0;

    if (eng_batch_new(&b, m, &o) < 0) {
        CHECK(0, "eng_batch_new(%d, %d): %s", slots, rows, as_error_msg());
        return;
    }
    for (i = 0; i < NSEQ; i++) {
        c[i].reported = 0;
        c[i].busy_ms = 0;
    }
    for (i = 0; sc != NULL && i < NSCORE; i++)
        sc[i].reported = 0;
    while (next < NSEQ || (sc != NULL && nscore < NSCORE) || eng_batch_active(b) > 0) {
        while ((next < NSEQ || (sc != NULL && nscore < NSCORE)) && eng_batch_free_slots(b) > 0) {
            if (sc != NULL && nscore < NSCORE && (next % 2 == 1 || next == NSEQ)) {
                CHECK(eng_batch_add_loglik(b, sc[nscore].ids, sc[nscore].nctx, sc[nscore].ncont,
                                           &sc[nscore]) == 0, "add scoring: %s", as_error_msg());
                nscore++;
                if (next < NSEQ && eng_batch_free_slots(b) == 0)
                    break;
            }
            if (next == NSEQ)
                continue;
            CHECK(eng_batch_add(b, c[next].prompt, c[next].n, &c[next].p, &c[next]) == 0,
                  "add: %s", as_error_msg());
            next++;
        }
        if (eng_batch_step(b, on_done, NULL) < 0) {
            CHECK(0, "step: %s", as_error_msg());
            break;
        }
        steps++;
    }
    for (i = 0; i < NSEQ; i++) {
        eng_gen_result *a = &c[i].alone, *z = &c[i].batched;

        CHECK(c[i].reported, "slots %d rows %d: sequence %d never reported", slots, rows, i);
        CHECK(z->n_ids == a->n_ids && memcmp(z->ids, a->ids, a->n_ids * sizeof *a->ids) == 0,
              "slots %d rows %d: sequence %d got other ids (%zu vs %zu alone)", slots, rows, i,
              z->n_ids, a->n_ids);
        CHECK(strcmp(z->finish, a->finish) == 0, "sequence %d finish %s, alone %s", i, z->finish,
              a->finish);
        CHECK(z->prompt_tokens == a->prompt_tokens && z->completion_tokens == a->completion_tokens,
              "sequence %d token counts differ", i);
        CHECK(c[i].busy_ms > 0 && z->ttft_ms >= z->prefill_ms && z->total_ms >= z->ttft_ms,
              "sequence %d timings: busy %g prefill %g ttft %g total %g", i, c[i].busy_ms,
              z->prefill_ms, z->ttft_ms, z->total_ms);
        eng_gen_result_clear(z);
    }
    for (i = 0; sc != NULL && i < NSCORE; i++)
        CHECK(sc[i].reported == 1, "scoring case %d reported %d times", i, sc[i].reported);
    printf("slots %d, %d rows per step%s: %d steps, every sequence as alone\n", slots, rows,
           sc ? ", scoring mixed in" : "", steps);
    eng_batch_free(b);
}

/* Scoring cases and their sums from eng_loglik, one at a time. */
static void make_scores(eng_state *s, score_case *sc, int vocab)
{
    static const size_t nctx[NSCORE] = {1, 8, 40, 3, 12}, ncont[NSCORE] = {1, 5, 30, 2, 9};
    int i;
    size_t j;

    for (i = 0; i < NSCORE; i++) {
        sc[i].scoring = 1;
        sc[i].nctx = nctx[i];
        sc[i].ncont = ncont[i];
        for (j = 0; j < nctx[i] + ncont[i]; j++)
            sc[i].ids[j] = (int32_t)((j * 31 + (size_t)i * 17 + 5) % (size_t)vocab);
        if (eng_loglik(s, sc[i].ids, nctx[i], sc[i].ids + nctx[i], ncont[i], &sc[i].logprob,
                       &sc[i].greedy) < 0)
            CHECK(0, "eng_loglik %d: %s", i, as_error_msg());
    }
    /* one continuation that greedy decoding produces */
    {
        eng_gen_params p;
        eng_gen_result r;

        memset(&p, 0, sizeof p);
        p.max_new_tokens = 4;
        p.sampling.greedy = 1;
        if (eng_generate(s, sc[3].ids, 3, &p, &r) == 0 && r.n_ids >= 2) {
            sc[3].ids[3] = r.ids[0];
            sc[3].ids[4] = r.ids[1];
            eng_loglik(s, sc[3].ids, 3, sc[3].ids + 3, 2, &sc[3].logprob, &sc[3].greedy);
            CHECK(sc[3].greedy == 1, "the greedy continuation scored as not greedy");
        }
        eng_gen_result_clear(&r);
    }
}

static int count_done(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    (void)ud;
    (void)busy_ms;
    CHECK(rc == AS_ECANCELED, "abort reported %d", rc);
    CHECK(res->ids == NULL, "an aborted sequence has a result");
    ++*(int *)arg;
    return 0;
}

static void check_errors(const eng_model *m, seq_case *c)
{
    eng_batch_opts bad_rows = {4, 0, 2, 0}, none = {0, 0, 0, 0}, small = {2, 16, 0, 0};
    eng_batch *b;
    eng_gen_params p = c[0].p;
    int32_t big = m->cfg.vocab;
    int aborted = 0;

    CHECK(eng_batch_new(&b, m, &bad_rows) == AS_EINVAL, "fewer rows than slots accepted");
    CHECK(eng_batch_new(&b, m, &none) == AS_EINVAL, "zero slots accepted");
    if (eng_batch_new(&b, m, &small) < 0) {
        CHECK(0, "eng_batch_new: %s", as_error_msg());
        return;
    }
    CHECK(eng_batch_add(b, c[0].prompt, 0, &p, NULL) == AS_EINVAL, "empty prompt admitted");
    CHECK(eng_batch_add(b, &big, 1, &p, NULL) == AS_EINVAL, "token outside the vocabulary admitted");
    CHECK(eng_batch_add(b, c[3].prompt, 16, &p, NULL) == AS_ETOOBIG, "prompt filling the context admitted");
    p.max_new_tokens = 0;
    CHECK(eng_batch_add(b, c[1].prompt, 3, &p, NULL) == AS_EINVAL, "max_new_tokens 0 admitted");
    p.max_new_tokens = 4;
    CHECK(eng_batch_active(b) == 0, "a refused sequence took a slot");
    CHECK(eng_batch_add(b, c[1].prompt, 3, &p, NULL) == 0, "add: %s", as_error_msg());
    CHECK(eng_batch_add(b, c[1].prompt, 3, &p, NULL) == 0, "add: %s", as_error_msg());
    CHECK(eng_batch_add(b, c[1].prompt, 3, &p, NULL) == AS_EBUSY, "a third sequence in two slots");
    CHECK(eng_batch_step(b, count_done, &aborted) == 0, "step: %s", as_error_msg());
    CHECK(eng_batch_abort(b, AS_ECANCELED, "canceled", count_done, &aborted) == 0, "abort failed");
    CHECK(aborted == 2 && eng_batch_active(b) == 0 && eng_batch_free_slots(b) == 2,
          "abort reported %d of 2", aborted);
    eng_batch_free(b);
}

static void check_rows_errors(const eng_model *m)
{
    eng_state *s;
    eng_work *w;
    eng_row rows[2];

    if (eng_state_new(&s, m, 8) < 0 || eng_work_new(&w, m, 2, 1) < 0) {
        CHECK(0, "state: %s", as_error_msg());
        return;
    }
    rows[0] = (eng_row){s, 0, 1, NULL};
    rows[1] = (eng_row){s, 2, 1, NULL};
    CHECK(eng_forward_rows(w, rows, 2) == AS_EINVAL, "a gap in a sequence's positions accepted");
    rows[1].pos = 1;
    CHECK(eng_forward_rows(w, rows, 3) == AS_EINVAL, "more rows than the work holds accepted");
    CHECK(eng_forward_rows(w, rows, 2) == 0 && s->pos == 2, "rows: %s", as_error_msg());
    rows[0].pos = 8;
    CHECK(eng_forward_rows(w, rows, 1) == AS_ETOOBIG, "a position past the context accepted");
    eng_work_free(w);
    eng_state_free(s);
}

int main(int argc, char **argv)
{
    eng_model *m;
    eng_state *s;
    seq_case *c;
    score_case sc[NSCORE];
    int i;

    if (argc != 2) {
        fprintf(stderr, "usage: engine_check_batch MODEL_DIR\n");
        return 2;
    }
    if (eng_model_open(&m, argv[1], 2, ENG_DT_COUNT) < 0 || eng_state_new(&s, m, 0) < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], as_error_msg());
        return 1;
    }
    c = calloc(NSEQ, sizeof *c);
    make_cases(c, m->cfg.vocab);
    for (i = 0; i < NSEQ; i++)
        if (eng_generate(s, c[i].prompt, c[i].n, &c[i].p, &c[i].alone) < 0) {
            fprintf(stderr, "alone %d: %s\n", i, as_error_msg());
            return 1;
        }
    make_scores(s, sc, m->cfg.vocab);
    run_batched(m, c, NULL, 1, 1);
    run_batched(m, c, NULL, 3, 5);
    run_batched(m, c, NULL, 4, 0);
    run_batched(m, c, NULL, NSEQ, 64);
    run_batched(m, c, sc, 1, 1);
    run_batched(m, c, sc, 3, 7);
    run_batched(m, c, sc, NSEQ + NSCORE, 128);
    check_errors(m, c);
    check_rows_errors(m);
    for (i = 0; i < NSEQ; i++)
        eng_gen_result_clear(&c[i].alone);
    free(c);
    eng_state_free(s);
    eng_model_free(m);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("%s: batched generation equals generation alone\n", argv[1]);
    return 0;
}
