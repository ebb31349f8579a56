/* ROUGE exactly as Google's rouge_score 0.1.2 computes it (what Hugging
 * Face evaluate uses): ROUGE-N (rouge1..rouge9), ROUGE-L (LCS over the whole
 * text) and ROUGE-Lsum (union LCS over newline-separated sentences), with
 * or without the Porter stemmer, single or multiple references. Per-pair
 * values are bit-identical to rouge_score's (see
 * ../shared/reference/METRICS.md section 1).
 *
 * A scorer keeps its scratch memory (token vocabulary, stems, DP tables)
 * between calls, so scoring many pairs allocates almost nothing; it is not
 * thread-safe: use one per thread. */
#ifndef MET_ROUGE_H
#define MET_ROUGE_H

#include <stddef.h>

/* Rouge types: 1..9 are rouge1..rouge9. */
enum { MET_ROUGE_L = 10, MET_ROUGE_LSUM = 11, MET_ROUGE_MAX_TYPES = 16 };

typedef struct met_prf {
    double precision, recall, fmeasure;
} met_prf;

typedef struct met_rouge met_rouge;

/* A scorer with or without stemming (caller frees with met_rouge_free). */
int met_rouge_new(met_rouge **out, int stem);
void met_rouge_free(met_rouge *r);

/* Parse a type name as rouge_score accepts it: "rougeL", "rougeLsum",
 * "rouge1".."rouge9". "rouge0" fails with "rougen requires positive n:
 * rouge0", anything else with "Invalid rouge type: NAME" (AS_EINVAL). */
int met_rouge_type_parse(const char *name, int *type);
/* The name of a type ("rouge2", "rougeLsum"); borrowed, static. */
const char *met_rouge_type_name(int type);

/* Score 'pred' against the reference 'ref' (rouge_score's
 * score(target=ref, prediction=pred)) for each of the 'ntypes' types, into
 * out[0..ntypes). Precision divides by the prediction's counts, recall by
 * the reference's. Returns 0, AS_EINVAL for a bad type or AS_ENOMEM. */
int met_rouge_score(met_rouge *r, const char *ref, size_t ref_len, const char *pred,
                    size_t pred_len, const int *types, size_t ntypes, met_prf *out);

/* score_multi: per type, the score against the reference with the highest
 * fmeasure (the first wins ties). nrefs must be >= 1 (AS_EINVAL otherwise,
 * as rouge_score raises on an empty list). */
int met_rouge_score_multi(met_rouge *r, const char *const *refs, const size_t *ref_lens,
                          size_t nrefs, const char *pred, size_t pred_len, const int *types,
                          size_t ntypes, met_prf *out);

#endif
