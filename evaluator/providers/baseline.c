/* The baseline provider: honest references that need no model, so a
 * leaderboard shows what "no model at all" scores.
 *   majority  the most frequent expected answer of the dataset
 *   lead-N    the first N sentences of input variable 'var'
 *   copy      input variable 'var' unchanged
 * They cost nothing and report zero tokens. */
#include "evaluator/provider.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { BL_MAJORITY, BL_LEAD, BL_COPY };

typedef struct baseline_prov {
    prov base;
    int kind;
    long lead_n;
    char *var;
    char *majority;     /* from the run info */
} baseline_prov;

static const char *const baseline_keys[] = {"strategy", "var", NULL};

static void baseline_destroy(prov *p)
{
    baseline_prov *b = (baseline_prov *)p;

    if (b == NULL)
        return;
    free(b->var);
    free(b->majority);
    free(b);
}

static int baseline_create(prov **out, const char *model_name, const json_t *settings)
{
    baseline_prov *b;
    const char *strategy, *var, *key;
    json_t *v;

    (void)model_name;
    *out = NULL;
    if (!json_is_object(settings))
        return as_error_set(AS_EINVAL, "settings: must be an object");
    json_object_foreach((json_t *)settings, key, v)
        if (strcmp(key, "strategy") != 0 && strcmp(key, "var") != 0)
            return as_error_set(AS_EINVAL, "setting %s: unknown to provider baseline", key);
    if (prov_setting_str(settings, "strategy", NULL, &strategy) < 0 ||
        prov_setting_str(settings, "var", NULL, &var) < 0)
        return AS_EINVAL;
    if (strategy == NULL)
        return as_error_set(AS_EINVAL, "setting strategy: required (majority, lead-N or copy)");
    if ((b = calloc(1, sizeof(*b))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (strcmp(strategy, "majority") == 0) {
        b->kind = BL_MAJORITY;
    } else if (strcmp(strategy, "copy") == 0) {
        b->kind = BL_COPY;
    } else if (strncmp(strategy, "lead-", 5) == 0 && isdigit((unsigned char)strategy[5])) {
        char *end;
        errno = 0;
        b->kind = BL_LEAD;
        b->lead_n = strtol(strategy + 5, &end, 10);
        if (errno || *end || b->lead_n < 1 || b->lead_n > 1000) {
            free(b);
            return as_error_set(AS_EINVAL, "setting strategy: '%s': N must be 1..1000", strategy);
        }
    } else {
        free(b);
        return as_error_set(AS_EINVAL, "setting strategy: '%s' is not majority, lead-N or copy",
                            strategy);
    }
    if (b->kind != BL_MAJORITY) {
        if (var == NULL) {
            free(b);
            return as_error_set(AS_EINVAL, "setting var: required for %s (the input variable)",
                                strategy);
        }
        if ((b->var = strdup(var)) == NULL) {
            free(b);
            return as_error_set(AS_ENOMEM, "out of memory");
        }
    }
    *out = &b->base;
    return 0;
}

static int baseline_start(prov *p, const prov_run_info *info)
{
    baseline_prov *b = (baseline_prov *)p;

    if (b->kind != BL_MAJORITY)
        return 0;
    if (info == NULL || info->majority_label == NULL)
        return as_error_set(AS_EINVAL, "baseline majority: the dataset has no expected answers");
    free(b->majority);
    if ((b->majority = strdup(info->majority_label)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

/* The length of the first n sentences of s: a sentence ends after '.', '!'
 * or '?' followed by white space, or at a line break. */
static size_t lead_len(const char *s, size_t len, long n)
{
    size_t i = 0;
    long found = 0;

    while (i < len) {
        char c = s[i];
        if (c == '\n' || ((c == '.' || c == '!' || c == '?') &&
                          (i + 1 == len || isspace((unsigned char)s[i + 1])))) {
            i++;
            while (i < len && (s[i] == '.' || s[i] == '!' || s[i] == '?'))
                i++;
            if (c != '\n' || i > 1)
                found++;
            if (found >= n)
                return i;
            continue;
        }
        i++;
    }
    return len;
}

static int baseline_invoke(prov *p, const prov_call *calls, size_t n, prov_result *res)
{
    baseline_prov *b = (baseline_prov *)p;
    size_t i;

    for (i = 0; i < n; i++) {
        double t0 = as_clock_ms();
        const char *text = NULL;
        size_t len = 0;
        if (b->kind == BL_MAJORITY) {
            text = b->majority;
            len = strlen(text);
        } else {
            json_t *v = json_object_get(calls[i].vars, b->var);
            if (!json_is_string(v)) {
                prov_result_fail(&res[i], AS_EINVAL, PROV_RETRY_NO,
                                 "case %s has no text variable '%s'", calls[i].case_id, b->var);
                continue;
            }
            text = json_string_value(v);
            len = json_string_length(v);
            if (b->kind == BL_LEAD) {
                len = lead_len(text, len, b->lead_n);
                while (len > 0 && isspace((unsigned char)text[len - 1]))
                    len--;
                while (len > 0 && isspace((unsigned char)text[0])) {
                    text++;
                    len--;
                }
            }
        }
        if (prov_result_set_output(&res[i], text, len) < 0)
            return AS_ENOMEM;
        res[i].prompt_tokens = 0;
        res[i].completion_tokens = 0;
        res[i].latency_ms = as_clock_ms() - t0;
    }
    return 0;
}

const prov_vtable prov_baseline = {
    .name = "baseline",
    .summary = "references that need no model: --strategy majority|lead-N|copy [--var NAME]",
    .settings_keys = baseline_keys,
    .create = baseline_create,
    .start = baseline_start,
    .destroy = baseline_destroy,
    .invoke = baseline_invoke,
};
