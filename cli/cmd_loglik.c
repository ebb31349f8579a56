/* assay generate --loglik FILE: score many continuations at once through
 * the engine's continuous batch (lm-evaluation-harness loglikelihood
 * requests, e.g. the choices of multiple-choice tasks). Every line is
 * checked before any is scored, and nothing is printed unless every line
 * scores: the output is whole or absent. */
#include "cli/cli.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json.h"
#include "evaluator/engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGLIK_FILE_MAX ((size_t)256 << 20)

typedef struct loglik_line {
    json_t *in;              /* {"context", "continuation"} */
    size_t lineno;
    json_t *out;             /* the answer, once scored */
} loglik_line;

typedef struct loglik_ctx {
    const char *path;
    int failed;
} loglik_ctx;

static int on_scored(void *arg, void *ud, int rc, eng_gen_result *res, double busy_ms)
{
    loglik_ctx *c = arg;
    loglik_line *l = ud;

    (void)busy_ms;
    if (rc < 0) {
        if (!c->failed) {
            as_error_wrap(rc, "%s: line %zu", c->path, l->lineno);
            fprintf(stderr, "assay: %s\n", as_error_msg());
        }
        c->failed = 1;
        return 0;
    }
    l->out = json_object();
    as_json_set_num(l->out, "logprob", res->logprob);
    json_object_set_new(l->out, "greedy", json_boolean(res->greedy));
    as_json_set_int(l->out, "continuation_tokens", res->completion_tokens);
    eng_gen_result_clear(res);
    return 0;
}

/* Split 'data' into JSON lines (blank lines skipped), each an object with
 * string "context" and "continuation". */
static int parse_lines(char *data, size_t len, const char *path, loglik_line **out, size_t *n)
{
    loglik_line *lines = NULL;
    size_t cap = 0, lineno = 0, at = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    while (at < len && rc == 0) {
        char *nl = memchr(data + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - data) : len, l = end - at;
        json_t *in = NULL;

        lineno++;
        while (l > 0 && (data[at + l - 1] == '\r' || data[at + l - 1] == ' '))
            l--;
        if (l > 0) {
            if ((rc = as_json_parse(&in, data + at, l, path)) == 0 &&
                (!json_is_string(json_object_get(in, "context")) ||
                 !json_is_string(json_object_get(in, "continuation"))))
                rc = as_error_set(AS_EINVAL, "needs \"context\" and \"continuation\" strings");
            if (rc == 0 && *n == cap) {
                loglik_line *grown = realloc(lines, (cap = cap ? 2 * cap : 64) * sizeof *lines);

                if (grown == NULL)
                    rc = as_error_set(AS_ENOMEM, "out of memory");
                else
                    lines = grown;
            }
            if (rc < 0) {
                json_decref(in);
                as_error_wrap(rc, "%s: line %zu", path, lineno);
                break;
            }
            lines[*n].in = in;
            lines[*n].lineno = lineno;
            lines[(*n)++].out = NULL;
        }
        at = end + 1;
    }
    *out = lines;
    return rc;
}

int cli_generate_loglik(eng_engine *e, const char *path, int slots)
{
    loglik_ctx c = {path, 0};
    loglik_line *lines = NULL;
    char *data = NULL;
    size_t len = 0, n = 0, next = 0, i;
    int rc;

    if ((rc = as_file_read(&data, &len, path, LOGLIK_FILE_MAX)) < 0 ||
        (rc = parse_lines(data, len, path, &lines, &n)) < 0 ||
        (rc = eng_engine_batch_open(e, slots)) < 0)
        goto out;
    if (n == 0) {
        rc = as_error_set(AS_EINVAL, "%s: no lines to score", path);
        goto out;
    }
    while (!c.failed && (next < n || eng_engine_active(e) > 0)) {
        while (!c.failed && next < n && eng_engine_free_slots(e) > 0) {
            const json_t *in = lines[next].in;

            if ((rc = eng_engine_submit_loglik(e, json_string_value(json_object_get(in, "context")),
                                               json_string_value(json_object_get(in, "continuation")),
                                               &lines[next])) < 0)
                on_scored(&c, &lines[next], rc, NULL, 0);
            next++;
        }
        if (!c.failed && (rc = eng_engine_step(e, on_scored, &c)) < 0)
            goto out;
    }
    rc = c.failed ? AS_EINVAL : 0;
    for (i = 0; rc == 0 && i < n; i++) {
        char *s = json_dumps(lines[i].out, JSON_COMPACT);

        if (s == NULL) {
            rc = as_error_set(AS_ENOMEM, "out of memory");
            break;
        }
        printf("%s\n", s);
        free(s);
    }
out:
    for (i = 0; i < n; i++) {
        json_decref(lines[i].in);
        json_decref(lines[i].out);
    }
    free(lines);
    free(data);
    if (rc < 0 && !c.failed)
        return cli_fail();
    return rc < 0 ? CLI_FAIL : CLI_OK;
}
