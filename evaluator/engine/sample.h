/* Choosing the next token from logits: greedy (argmax) or sampling with
 * temperature, then top-k, then top-p (the order of HF generate's logits
 * warpers), from a seeded generator so that a seed repeats its output.
 * Candidates are visited highest logit first (lower id on ties) without
 * sorting the vocabulary: the top k are selected with a heap, or, without
 * top-k, popped from a heap only as far as top-p and the draw need, so a
 * draw costs about one pass over the logits. */
#ifndef AS_ENG_SAMPLE_H
#define AS_ENG_SAMPLE_H

#include <stdint.h>

typedef struct eng_sampling {
    int greedy;              /* 1: argmax; temperature etc. ignored */
    float temperature;       /* > 0; 0 means greedy */
    int top_k;               /* 0: off */
    float top_p;             /* in (0, 1]; 1: off */
    uint64_t seed;
} eng_sampling;

typedef struct eng_sampler eng_sampler;

/* Check 'p' (AS_EINVAL naming the bad value) and make a sampler for a
 * vocabulary of 'vocab'. Caller frees with eng_sampler_free. */
int eng_sampler_new(eng_sampler **out, const eng_sampling *p, int vocab);
void eng_sampler_free(eng_sampler *s);
/* 1 when the sampler takes the argmax (greedy, or temperature 0). */
int eng_sampler_greedy(const eng_sampler *s);
/* The next token for 'logits' (vocab). */
int eng_sample(eng_sampler *s, const float *logits);

#endif
