/* Run items as the rating queues see them (internal to web/): read-only
 * queries over the evaluator's runs, items and judgments tables
 * (migrations/0003_runs.sql), and the input of a case from the catalog at
 * the exact dataset commit the run used. */
#ifndef AS_WEB_ITEMS_H
#define AS_WEB_ITEMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct web_item {
    int64_t id, run_id;
    char *case_id;
    char *model;
    char *output;
    char *expected;     /* NULL when the case is unlabelled */
    double judge;       /* the LLM judge's score, NaN when none */
} web_item;

/* The answered items (status ok, first repetition) of 'runs' into *out
 * (caller frees with web_items_free), ordered by run then case. */
int web_items_of_runs(web_item **out, size_t *n, store *db, const int64_t *runs, size_t nruns);
/* One item by id (clear with web_item_clear); AS_ENOTFOUND. */
int web_item_get(web_item *out, store *db, int64_t id);
void web_item_clear(web_item *it);
void web_items_free(web_item *items, size_t n);

/* The newest complete run of each model of 'suite' (by run id) into *runs
 * (caller frees with free()). */
int web_latest_runs(int64_t **runs, size_t *n, store *db, const char *suite);

/* The suite of a run into buf; AS_ENOTFOUND. */
int web_run_suite(store *db, int64_t run, char *buf, size_t size);

/* The input variables of case 'case_id' of the dataset that run 'run' used,
 * at its commit: *vars is a new reference. */
int web_case_vars(json_t **vars, store *db, const char *data_dir, int64_t run, const char *case_id);

/* For each item rated in rating queue 'queue' that the LLM judge scored:
 * the mean human score and the judge's score, in *human and *judge
 * (caller frees both with free()), *n pairs. */
int web_judge_vs_human(double **human, double **judge, size_t *n, store *db, int64_t queue);

#endif
