/* Choosing the next token from logits: greedy (argmax) or sampling with
 * temperature, then top-k, then top-p (the order of HF generate's logits
 * warpers), from a seeded generator so that a seed repeats its output.
 * Candidates are visited highest logit first (lower id on ties) without
 * sorting the vocabulary: the top k are selected with a heap, or, without
 * top-k, popped from a heap only as far as top-p and the draw need, so a
 * draw costs about one pass over the logits.
 *
 * A draw is two parts: u, the next number in [0, 1) from the sampler's
 * generator (eng_sampler_draw), and the choice that u makes among the
 * candidates (eng_sample_u): the first candidate whose running
 * probability exceeds u times their total. eng_sample is the two together;
 * the GPU engine takes u here and makes the choice on the device
 * (gpu/gpu.h's eng_gpu_sample_rows, whose reference eng_sample_u is). */
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
/* The next token for 'logits' (vocab): the argmax for a greedy sampler,
 * else eng_sample_u(s, logits, eng_sampler_draw(s)). */
int eng_sample(eng_sampler *s, const float *logits);

/* s's parameters as it applies them (greedy set when temperature is 0);
 * borrowed for the sampler's life. */
const eng_sampling *eng_sampler_params(const eng_sampler *s);
/* The next draw u in [0, 1) (a multiple of 2^-53) from s's generator,
 * which advances exactly as one eng_sample call advances it: once per
 * token of a sampling sampler, never for a greedy one (which returns 0). */
double eng_sampler_draw(eng_sampler *s);
/* The token that draw 'u' (in [0, 1)) chooses from 'logits' (vocab) with
 * s's parameters, leaving its generator alone: softmax(logits / T) in
 * float (exp of (logit - max) / T) over the candidates (the top_k highest,
 * or all; highest logit first, lower id on ties), cut to the shortest
 * prefix whose probability reaches top_p, then the first candidate whose
 * running sum (double) exceeds u times the prefix's sum, or the last one.
 * A greedy sampler returns the argmax whatever u is. */
int eng_sample_u(eng_sampler *s, const float *logits, double u);

#endif
