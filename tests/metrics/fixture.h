/* Loading tests/fixtures/metrics/cases.json for the metrics unit tests. */
#ifndef T_METRICS_FIXTURE_H
#define T_METRICS_FIXTURE_H

#include "common/fs.h"
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>

#define T_FIXTURES AS_SOURCE_DIR "/tests/fixtures/metrics"

/* The parsed cases.json (new reference) or NULL after printing why. */
static inline json_t *t_load_cases(void)
{
    char *data = NULL;
    size_t len = 0;
    json_t *root = NULL;

    if (as_file_read(&data, &len, T_FIXTURES "/cases.json", (size_t)64 << 20) < 0 ||
        as_json_parse(&root, data, len, "cases.json") < 0) {
        fprintf(stderr, "cannot load cases.json: %s\n", as_error_msg());
        root = NULL;
    }
    free(data);
    return root;
}

/* obj[a][b] as a double (NaN when missing). */
static inline double t_num2(json_t *obj, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(obj, a), b);
    return v ? json_number_value(v) : NAN;
}

#endif
