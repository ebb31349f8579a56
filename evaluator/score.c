/* Scoring one run's items with the metrics registry (score.h). Per-case
 * metrics are scored here; corpus-level ones (accuracy, precision, recall,
 * f1) are computed over the stored labels in the run summary (runs.c). */
#include "evaluator/score.h"
#include "metrics/registry.h"
#include "common/error.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

struct eval_scorer {
    met_spec **specs;       /* per-case metrics only */
    met_scorer **scorers;
    size_t n;
    json_t *labels;         /* borrowed reference held */
};

void eval_scorer_free(eval_scorer *sc)
{
    size_t i;

    if (sc == NULL)
        return;
    for (i = 0; i < sc->n; i++) {
        met_scorer_free(sc->scorers[i]);
        met_spec_free(sc->specs[i]);
    }
    free(sc->specs);
    free(sc->scorers);
    json_decref(sc->labels);
    free(sc);
}

int eval_scorer_new(eval_scorer **out, const json_t *metrics, const json_t *labels)
{
    eval_scorer *sc = calloc(1, sizeof(*sc));
    size_t i, n = json_array_size(metrics);
    int rc;

    *out = NULL;
    if (sc == NULL || (n && ((sc->specs = calloc(n, sizeof(*sc->specs))) == NULL ||
                             (sc->scorers = calloc(n, sizeof(*sc->scorers))) == NULL))) {
        eval_scorer_free(sc);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    sc->labels = labels ? json_incref((json_t *)labels) : json_array();
    for (i = 0; i < n; i++) {
        met_spec *spec = NULL;
        rc = met_spec_parse(&spec, json_array_get(metrics, i));
        if (rc == MET_EEVALUATOR)
            continue;       /* the judge: its own phase */
        if (rc < 0) {
            eval_scorer_free(sc);
            return rc;
        }
        if (met_spec_is_corpus(spec)) {
            met_spec_free(spec);
            continue;
        }
        sc->specs[sc->n] = spec;
        if ((rc = met_scorer_new(&sc->scorers[sc->n], spec)) < 0) {
            met_spec_free(spec);
            sc->specs[sc->n] = NULL;
            eval_scorer_free(sc);
            return rc;
        }
        sc->n++;
    }
    *out = sc;
    return 0;
}

int eval_scorer_classifies(const eval_scorer *sc)
{
    return json_array_size(sc->labels) > 0;
}

int eval_scorer_case(eval_scorer *sc, const char *output, const char *expected,
                     json_t **scores, char **label, int *out_of_labels)
{
    const char *pred = output;
    json_t *o;
    size_t i, rlen;
    int rc;

    *scores = NULL;
    *label = NULL;
    *out_of_labels = 0;
    if (eval_scorer_classifies(sc)) {
        if ((rc = eval_label_normalize(label, sc->labels, output)) < 0)
            return rc;
        *out_of_labels = *label == NULL;
        pred = *label ? *label : "";
    }
    if ((o = json_object()) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (expected) {
        rlen = strlen(expected);
        for (i = 0; i < sc->n; i++) {
            double v;
            if ((rc = met_scorer_case(sc->scorers[i], pred, strlen(pred), &expected, &rlen, 1,
                                      &v)) < 0) {
                json_decref(o);
                free(*label);
                *label = NULL;
                return as_error_wrap(rc, "metric %s", met_spec_name(sc->specs[i]));
            }
            json_object_set_new(o, met_spec_name(sc->specs[i]), json_real(v));
        }
    }
    *scores = o;
    return 0;
}
