/* Rating queues (internal to web/): a queue names runs of one suite, a
 * mode (single or pairwise), a sampling rate, a seed and how many raters
 * each item should get. */
#ifndef AS_WEB_QUEUE_H
#define AS_WEB_QUEUE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "store/store.h"

#define WEB_QUEUE_MAX_RUNS 16

typedef struct web_queue {
    int64_t id;
    char name[128];
    char mode[16];              /* "single" or "pairwise" */
    char suite[CAT_NAME_MAX + 1];
    int64_t runs[WEB_QUEUE_MAX_RUNS];
    size_t nruns;
    double rate;
    int64_t seed;
    int64_t raters;             /* raters per item */
} web_queue;

/* Fill q->runs from a JSON array of run ids. */
int web_queue_runs_from_json(web_queue *q, const json_t *a);
/* Load queue 'id'; AS_ENOTFOUND. */
int web_queue_load(store *db, int64_t id, web_queue *q);
/* The queue as JSON (new reference). */
json_t *web_queue_json(const web_queue *q);
/* 1 when case 'case_id' is in the queue's sample: hash(seed, case) < rate. */
int web_queue_samples(const web_queue *q, const char *case_id);

#endif
