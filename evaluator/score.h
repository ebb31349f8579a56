/* Scoring one run's items: the suite's metrics through the metrics
 * library, and classification label normalization. Per-case metrics give
 * one number per item; classification metrics (accuracy, precision,
 * recall, f1) are corpus-level and computed over the normalized labels in
 * the run summary (runs.h). */
#ifndef AS_EVAL_SCORE_H
#define AS_EVAL_SCORE_H

#include <jansson.h>

typedef struct eval_scorer eval_scorer;

/* 'metrics': the suite's array of metric objects {"name", options...}
 * (borrowed); 'labels': the prompt's label array (borrowed, may be empty).
 * Unknown metrics or bad options are AS_EINVAL naming them. Caller frees
 * with eval_scorer_free. */
int eval_scorer_new(eval_scorer **out, const json_t *metrics, const json_t *labels);
void eval_scorer_free(eval_scorer *sc);

/* 1 when the prompt has labels: outputs are normalized to them. */
int eval_scorer_classifies(const eval_scorer *sc);

/* Score one item into *scores (new object: metric name -> number; metrics
 * that need a reference are left out when 'expected' is NULL; judge is
 * left out: judgments are their own table). For classification prompts
 * *label receives the normalized label (caller frees; NULL when the output
 * names no label of the set, then *out_of_labels is 1 and the item counts
 * as wrong). */
int eval_scorer_case(eval_scorer *sc, const char *output, const char *expected,
                     json_t **scores, char **label, int *out_of_labels);

/* Normalize a classification output to one of 'labels' (array of
 * strings): case-insensitive match of the whole output after trimming
 * white space, quotes and final punctuation; else the one label that
 * appears as a whole word (the first line is tried first). *out is a copy
 * of the label (caller frees) or NULL when none or several match. */
int eval_label_normalize(char **out, const json_t *labels, const char *output);

#endif
