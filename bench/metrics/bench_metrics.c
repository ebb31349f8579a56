/* Throughput of the metrics library on one core: pairs per second for each
 * metric at 1k, 10k and 100k (reference, prediction) pairs of 60-word
 * texts, and the classification metrics over 1,000,000 labels. Pairs are
 * generated one at a time from a fixed seed (English-like words drawn with
 * a Zipf-like law from a generated 5,000-word vocabulary with inflections;
 * the prediction rewrites about a third of the reference) and only the
 * scoring is timed (process CPU time of the loop minus that of generating
 * the same pairs); memory stays flat in the number of pairs.
 *
 * usage: bench_metrics [max_pairs [name_filter]]   (default 100000, all) */
#include "metrics/bleu.h"
#include "metrics/classify.h"
#include "metrics/match.h"
#include "metrics/registry.h"
#include "metrics/rouge.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define VOCAB 5000
#define WORDS 60

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static char vocab[VOCAB][24];

static void make_vocab(void)
{
    static const char *const onset[] = {"b", "c", "d", "f", "g", "h", "l", "m", "n", "p",
                                        "r", "s", "t", "v", "w", "st", "tr", "pl", "ch", "sh"};
    static const char *const nucleus[] = {"a", "e", "i", "o", "u", "ea", "ou", "ai"};
    static const char *const suffix[] = {"", "", "", "s", "ed", "ing", "ation", "ness", "ly",
                                         "er", "ment", "ful", "ive", "ize", "al"};
    int i;

    for (i = 0; i < VOCAB; i++) {
        char *w = vocab[i];
        int syl = 1 + (int)(rnd() % 3), k;
        size_t n = 0;
        w[0] = '\0';
        for (k = 0; k < syl; k++) {
            const char *o = onset[rnd() % 20], *v = nucleus[rnd() % 8];
            n += (size_t)snprintf(w + n, sizeof(vocab[0]) - n, "%s%s", o, v);
        }
        if (n < sizeof(vocab[0]) - 6)
            snprintf(w + n, sizeof(vocab[0]) - n, "%s", suffix[rnd() % 15]);
    }
}

/* A Zipf-like word index: frequent words much more likely. */
static int word(void)
{
    double u = (double)(rnd() >> 11) / 9007199254740992.0;
    return (int)(pow(u, 3.0) * VOCAB) % VOCAB;
}

/* A 60-word text of 3 sentences separated by '\n' (for rougeLsum). */
static size_t make_text(char *out, size_t cap, const int *ids)
{
    size_t n = 0;
    int i;

    for (i = 0; i < WORDS; i++) {
        const char *w = vocab[ids[i]];
        int first = i % 20 == 0, last = i % 20 == 19;
        if (i > 0)
            out[n++] = i % 20 == 0 ? '\n' : ' ';
        n += (size_t)snprintf(out + n, cap - n, "%c%s%s", first ? w[0] - 32 : w[0], w + 1,
                              last ? "." : (rnd() % 9 == 0 ? "," : ""));
    }
    out[n] = '\0';
    return n;
}

static char ref[4096], pred[4096];
static size_t ref_len, pred_len;

static void make_pair(void)
{
    int r[WORDS], p[WORDS], i;

    for (i = 0; i < WORDS; i++)
        r[i] = word();
    for (i = 0; i < WORDS; i++) {
        uint64_t x = rnd() % 6;
        p[i] = x < 2 ? word() : r[i];
        if (x == 2 && i + 1 < WORDS) {      /* swap a neighbour pair */
            p[i] = r[i + 1];
        }
    }
    ref_len = make_text(ref, sizeof(ref), r);
    pred_len = make_text(pred, sizeof(pred), p);
}

/* Process CPU time: the machine is shared, so wall time would count other
 * processes' work. */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds spent generating 'pairs' pairs (subtracted from the timed
 * loops, which generate the same pairs). */
static double generation_time(size_t pairs)
{
    double t0 = now();
    size_t i;

    rng_state = 0x2545F4914F6CDD1Dull;
    for (i = 0; i < pairs; i++)
        make_pair();
    return now() - t0;
}

static double peak_mb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

typedef struct bench {
    const char *name;
    int kind;           /* 0 rouge, 1 bleu sentence, 2 bleu corpus, 3 registry spec */
    int stem;
    int types[4];
    size_t ntypes;
    const char *spec;
} bench;

static int run(const bench *b, size_t pairs, double *secs)
{
    met_rouge *r = NULL;
    met_bleu *bl = NULL;
    met_bleu_opts bo = {MET_BLEU_13A, MET_SMOOTH_EXP, -1, 0};
    met_bleu_stats st, total;
    met_bleu_result res;
    met_spec *spec = NULL;
    met_scorer *sc = NULL;
    met_prf out[4];
    double t0, sink = 0, v;
    size_t i;
    const char *refp = ref;

    memset(&total, 0, sizeof(total));
    rng_state = 0x2545F4914F6CDD1Dull;      /* the same pairs for every metric */
    if (b->kind == 0 && met_rouge_new(&r, b->stem) < 0)
        return -1;
    if ((b->kind == 1 || b->kind == 2) && met_bleu_new(&bl, &bo) < 0)
        return -1;
    if (b->kind == 3) {
        json_t *j = json_loads(b->spec, JSON_DECODE_ANY, NULL);
        if (j == NULL || met_spec_parse(&spec, j) < 0 || met_scorer_new(&sc, spec) < 0) {
            json_decref(j);
            return -1;
        }
        json_decref(j);
    }
    t0 = now();
    for (i = 0; i < pairs; i++) {
        make_pair();
        switch (b->kind) {
        case 0:
            if (met_rouge_score(r, ref, ref_len, pred, pred_len, b->types, b->ntypes, out) < 0)
                return -1;
            sink += out[0].fmeasure;
            break;
        case 1:
        case 2:
            if (met_bleu_segment(bl, pred, pred_len, &refp, &ref_len, 1, &st) < 0)
                return -1;
            if (b->kind == 1) {
                met_bleu_score(&st, &bo, 1, &res);
                sink += res.score;
            } else {
                met_bleu_stats_add(&total, &st);
            }
            break;
        default:
            if (met_scorer_case(sc, pred, pred_len, &refp, &ref_len, 1, &v) < 0)
                return -1;
            sink += v;
            break;
        }
    }
    if (b->kind == 2) {
        met_bleu_score(&total, &bo, 0, &res);
        sink += res.score;
    }
    *secs = now() - t0 - generation_time(pairs);
    if (sink < 0)
        printf("impossible\n");
    met_rouge_free(r);
    met_bleu_free(bl);
    met_scorer_free(sc);
    met_spec_free(spec);
    return 0;
}

static void classification(int strings, size_t n)
{
    static const char *const names[] = {"positive", "negative", "neutral", "mixed", "unknown",
                                        "sarcastic", "question", "spam", "other", "off_topic"};
    uint8_t *t = malloc(n), *p = malloc(n);
    met_cls *c;
    met_cls_result *r = NULL;
    met_cls_opts o = {NULL, 0, NULL, 0};
    double t0, t1;
    size_t i;

    if (t == NULL || p == NULL || met_cls_new(&c) < 0)
        return;
    rng_state = 42;
    for (i = 0; i < n; i++) {
        t[i] = (uint8_t)(rnd() % 10);
        p[i] = rnd() % 4 ? t[i] : (uint8_t)(rnd() % 10);
    }
    t0 = now();
    for (i = 0; i < n; i++) {
        if (strings) {
            const char *a = names[t[i]], *b = names[p[i]];
            met_cls_add_str(c, a, strlen(a), b, strlen(b));
        } else {
            met_label a = {MET_LABEL_INT, NULL, 0, t[i], 0}, b = {MET_LABEL_INT, NULL, 0, p[i], 0};
            met_cls_add(c, &a, &b);
        }
    }
    met_cls_compute(&r, c, &o);
    t1 = now();
    printf("%-34s %9zu %9.4f %12.0f %9.1f\n",
           strings ? "classification, string labels" : "classification, integer labels", n,
           t1 - t0, (double)n / (t1 - t0), peak_mb());
    if (r && r->accuracy < 0)
        printf("impossible\n");
    met_cls_result_free(r);
    met_cls_free(c);
    free(t);
    free(p);
}

int main(int argc, char **argv)
{
    static const bench benches[] = {
        {"rouge1+rouge2+rougeL, stem", 0, 1, {1, 2, MET_ROUGE_L, 0}, 3, NULL},
        {"rouge1+rouge2+rougeL+rougeLsum, stem", 0, 1, {1, 2, MET_ROUGE_L, MET_ROUGE_LSUM}, 4, NULL},
        {"rouge1+rouge2+rougeL, no stem", 0, 0, {1, 2, MET_ROUGE_L, 0}, 3, NULL},
        {"bleu sentence (13a)", 1, 0, {0}, 0, NULL},
        {"bleu corpus (13a)", 2, 0, {0}, 0, NULL},
        {"token_f1 (SQuAD)", 3, 0, {0}, 0, "\"token_f1\""},
        {"exact_match, ignore case+punct", 3, 0, {0}, 0,
         "{\"name\": \"exact_match\", \"ignore_case\": true, \"ignore_punctuation\": true}"},
        {"cosine_tfidf", 3, 0, {0}, 0, "\"cosine_tfidf\""},
    };
    static const size_t sizes[] = {1000, 10000, 100000};
    size_t max = 100000, i, k;
    const char *only;

    if (argc > 1) {
        char *end;
        max = strtoul(argv[1], &end, 10);
        if (*end || max == 0) {
            fprintf(stderr, "usage: bench_metrics [max_pairs [name_filter]]\n");
            return 2;
        }
    }
    make_vocab();
    only = argc > 2 ? argv[2] : NULL;
    printf("%-34s %9s %9s %12s %9s\n", "metric", "pairs", "seconds", "pairs/s", "peak MB");
    for (i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        if (only && strstr(benches[i].name, only) == NULL)
            continue;
        for (k = 0; k < 3; k++) {
            double secs;
            if (sizes[k] > max)
                break;
            if (run(&benches[i], sizes[k], &secs) < 0) {
                fprintf(stderr, "%s failed\n", benches[i].name);
                return 1;
            }
            printf("%-34s %9zu %9.4f %12.0f %9.1f\n", benches[i].name, sizes[k], secs,
                   (double)sizes[k] / secs, peak_mb());
            fflush(stdout);
        }
    }
    if (only == NULL || strstr("classification", only)) {
        classification(0, 1000000);
        classification(1, 1000000);
    }
    return 0;
}
