/* BLEU exactly as sacrebleu 2.6.0 computes it: corpus and sentence BLEU,
 * tokenizers 13a (default), none, intl and char, smoothing exp (default),
 * floor, add-k and none, lowercase, any number of references per segment
 * (see ../shared/reference/METRICS.md section 5). Scores are 0..100.
 *
 * A scorer keeps its scratch memory between segments; not thread-safe. */
#ifndef MET_BLEU_H
#define MET_BLEU_H

#include <stddef.h>
#include <stdint.h>

typedef enum { MET_BLEU_13A, MET_BLEU_NONE, MET_BLEU_INTL, MET_BLEU_CHAR } met_bleu_tok;
typedef enum { MET_SMOOTH_EXP, MET_SMOOTH_FLOOR, MET_SMOOTH_ADDK, MET_SMOOTH_NONE } met_bleu_smooth;

typedef struct met_bleu_opts {
    met_bleu_tok tokenize;
    met_bleu_smooth smooth;
    double smooth_value;        /* floor (default 0.1) or add-k (default 1);
                                   a negative value means the default */
    int lowercase;
} met_bleu_opts;

/* Sufficient statistics; corpus statistics are the sums over segments. */
typedef struct met_bleu_stats {
    int64_t counts[4], totals[4];
    int64_t sys_len, ref_len;
} met_bleu_stats;

typedef struct met_bleu_result {
    double score;
    double counts[4], totals[4];    /* after add-k smoothing, as sacrebleu reports */
    double precisions[4];
    double bp;
    int64_t sys_len, ref_len;
} met_bleu_result;

/* Parse "13a", "none", "intl", "char" and "exp", "floor", "add-k", "none";
 * AS_EINVAL naming the value otherwise. */
int met_bleu_tok_parse(const char *s, met_bleu_tok *out);
int met_bleu_smooth_parse(const char *s, met_bleu_smooth *out);

typedef struct met_bleu met_bleu;

int met_bleu_new(met_bleu **out, const met_bleu_opts *opts);   /* free with met_bleu_free */
void met_bleu_free(met_bleu *b);

/* The statistics of one segment: hypothesis 'hyp' against 'nrefs'
 * references (n-gram counts clipped by the maximum count over references,
 * ref_len the closest reference length, the shorter on ties). nrefs == 0
 * is AS_EINVAL. */
int met_bleu_segment(met_bleu *b, const char *hyp, size_t hlen, const char *const *refs,
                     const size_t *ref_lens, size_t nrefs, met_bleu_stats *out);
void met_bleu_stats_add(met_bleu_stats *acc, const met_bleu_stats *s);

/* The score from statistics: corpus BLEU with effective_order 0, sentence
 * BLEU (sacrebleu's sentence_bleu) with 1. */
void met_bleu_score(const met_bleu_stats *st, const met_bleu_opts *opts, int effective_order,
                    met_bleu_result *out);

/* The tokenized form of one segment (after lowercasing and rstrip), for
 * tests and debugging: tokens joined by single spaces, borrowed until the
 * next call on b. */
int met_bleu_tokenize(met_bleu *b, const char *s, size_t len, const char **out, size_t *olen);

#endif
