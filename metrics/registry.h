/* The metric registry used by the evaluator: parse and validate a metric
 * spec as a suite writes it ("rougeL", or {"name": "rouge1", "stem": true}),
 * tell per-case metrics from corpus-level ones, score one case to a double
 * in [0, 1] and compute the corpus-level values.
 *
 * Names and options (an unknown name or option is AS_EINVAL naming it):
 *   exact_match   HF exact_match; ignore_case, ignore_punctuation,
 *                 ignore_numbers (bool), regexes_to_ignore ([str]),
 *                 plain (bool: the older variant without the empty guard)
 *   match         SQuAD normalized exact match
 *   token_f1      SQuAD token F1
 *   rouge1..rouge9, rougeL, rougeLsum   fmeasure; stem (bool)
 *   bleu          sacrebleu sentence BLEU / 100 (0..1, effective order);
 *                 tokenize ("13a"|"none"|"intl"|"char"),
 *                 smooth ("exp"|"floor"|"add-k"|"none"), lowercase (bool)
 *   cosine_tfidf  TF-IDF cosine, the vectorizer fitted on the case's
 *                 prediction and references
 *   accuracy      corpus-level: share of exact (true, pred) label matches
 *   precision, recall, f1   corpus-level over all (true, pred) pairs;
 *                 average ("micro"|"macro"|"weighted"|"binary", default
 *                 "binary" as scikit-learn), pos_label (str|number,
 *                 default 1), zero_division (0|1), labels ([str|number])
 *   judge         not a metric of this library: met_spec_parse returns
 *                 MET_EEVALUATOR so the evaluator handles it.
 *   cosine_embedding   likewise the evaluator's (it calls an embedding
 *                 model); model (str, required) is checked here, and
 *                 MET_EEVALUATOR returned when the options are right.
 *
 * With several references, per-case scores take the best reference
 * (rouge_score's score_multi for ROUGE, SQuAD's max over ground truths for
 * match/token_f1/exact_match, the max for cosine_tfidf, all references at
 * once for BLEU). Corpus-level metrics take the first reference as the
 * true label and need exactly one. */
#ifndef MET_REGISTRY_H
#define MET_REGISTRY_H

#include "common/error.h"
#include "metrics/bleu.h"
#include "metrics/classify.h"

#include <jansson.h>
#include <stddef.h>

/* Returned by met_spec_parse for metrics the evaluator handles itself. */
#define MET_EEVALUATOR AS_EUNSUPPORTED

typedef enum {
    MET_EXACT_MATCH, MET_MATCH, MET_TOKEN_F1, MET_ROUGE, MET_BLEU, MET_COSINE_TFIDF,
    MET_ACCURACY, MET_PRECISION, MET_RECALL, MET_F1
} met_kind;

typedef enum { MET_AVG_BINARY, MET_AVG_MICRO, MET_AVG_MACRO, MET_AVG_WEIGHTED } met_average;

#define MET_SPEC_MAX_LABELS 1024

typedef struct met_spec met_spec;

/* The name of the embedding metric the evaluator scores (registry.h's
 * list: cosine_embedding). */
#define MET_COSINE_EMBEDDING "cosine_embedding"

/* The first entry of 'specs' (an array of metric objects, each with a
 * string "name") named 'name' (borrowed), or NULL. */
const json_t *met_spec_find(const json_t *specs, const char *name);

/* Parse a spec (a JSON string or object) into *out (caller frees with
 * met_spec_free). Errors: AS_EINVAL "metric 'NAME': ..." naming what is
 * wrong; MET_EEVALUATOR "metric 'judge' is handled by the evaluator" (and
 * the same for a well-formed cosine_embedding). */
int met_spec_parse(met_spec **out, const json_t *spec);
void met_spec_free(met_spec *s);

/* The metric's name as written ("rougeL", "f1"); borrowed from s. */
const char *met_spec_name(const met_spec *s);
met_kind met_spec_kind(const met_spec *s);
/* 1 for accuracy, precision, recall and f1 (computed over the whole run
 * from the (true, pred) pairs), 0 for per-case metrics. */
int met_spec_is_corpus(const met_spec *s);
/* The spec back as a JSON object with every option explicit (new ref). */
json_t *met_spec_to_json(const met_spec *s);

/* A scorer for one spec: per-case scratch memory reused across calls, and
 * for corpus-level metrics the accumulated pairs. One per thread. The spec
 * must outlive the scorer. */
typedef struct met_scorer met_scorer;

int met_scorer_new(met_scorer **out, const met_spec *spec);   /* free with met_scorer_free */
void met_scorer_free(met_scorer *sc);

/* Score one case: prediction against nrefs >= 1 references, into *score
 * in [0, 1]. For corpus-level metrics the pair (refs[0], pred) is added to
 * the run and *score is 1 if they are equal, else 0. */
int met_scorer_case(met_scorer *sc, const char *pred, size_t plen, const char *const *refs,
                    const size_t *ref_lens, size_t nrefs, double *score);

/* The corpus-level value over every case scored so far (corpus metrics
 * only; AS_EINVAL for per-case ones, and scikit-learn's errors such as
 * "Target is multiclass but average='binary'..." as AS_EINVAL). NaN never
 * comes back: zero_division is 0 or 1. */
int met_scorer_corpus(met_scorer *sc, double *score);

/* A label from JSON: string, integer, real or boolean (borrowing the
 * string); AS_EINVAL for other types. */
int met_label_from_json(met_label *out, const json_t *v);

#endif
