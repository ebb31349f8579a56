/* String matching metrics: Hugging Face evaluate's exact_match (regexes to
 * ignore, ignore case, punctuation, numbers) and SQuAD's normalized exact
 * match and token-level F1 (official SQuAD 2.0 evaluation script:
 * lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse
 * whitespace; an empty answer on either side scores 1 only if both are
 * empty). */
#ifndef MET_MATCH_H
#define MET_MATCH_H

#include <stddef.h>

#define MET_MATCH_MAX_REGEXES 32

typedef struct met_match_opts {
    int ignore_case;            /* Python str.lower() on both sides */
    int ignore_punctuation;     /* delete ASCII string.punctuation */
    int ignore_numbers;         /* delete ASCII digits */
    const char *const *regexes; /* removed first, in order (POSIX extended
                                   syntax with GNU \w \s \b; Python's re
                                   syntax beyond that is not supported) */
    size_t nregexes;
    int plain;                  /* 1: the older upstream variant (p == r);
                                   0 (default): the current one, where a
                                   prediction emptied by normalization only
                                   matches if the original strings are equal */
} met_match_opts;

typedef struct met_matcher met_matcher;

/* Compile the options (caller frees with met_matcher_free). A regex that
 * does not compile gives AS_EINVAL naming it. 'opts' may be NULL for the
 * plain SQuAD functions. */
int met_matcher_new(met_matcher **out, const met_match_opts *opts);
void met_matcher_free(met_matcher *m);

/* exact_match of one pair: *match is 0 or 1. */
int met_match_exact(met_matcher *m, const char *pred, size_t plen, const char *ref, size_t rlen,
                    int *match);

/* SQuAD normalize_answer(s) into the matcher's scratch; the result is
 * borrowed until the next call on 'm'. */
int met_squad_normalize(met_matcher *m, const char *s, size_t len, const char **out,
                        size_t *olen);
/* SQuAD exact match: normalized strings equal. */
int met_squad_match(met_matcher *m, const char *pred, size_t plen, const char *ref, size_t rlen,
                    int *match);
/* SQuAD token F1 with its precision and recall. */
int met_squad_f1(met_matcher *m, const char *pred, size_t plen, const char *ref, size_t rlen,
                 double *precision, double *recall, double *f1);

#endif
