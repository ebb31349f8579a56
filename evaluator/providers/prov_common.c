/* Token counts and streamed-answer state shared by the HTTP providers; see
 * prov_common.h. */
#include "evaluator/providers/prov_common.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

void pc_fill_tokens(prov_result *res, const prov_call *call, int64_t in, int64_t out)
{
    res->prompt_tokens = in;
    res->completion_tokens = out;
    if (in < 0 || out < 0) {
        /* servers that report generated tokens only (SageMaker containers
         * with details:true) or nothing at all: the rest is counted locally */
        res->usage_estimated = 1;
        if (in < 0)
            res->prompt_tokens = prov_estimate_tokens(call->prompt, strlen(call->prompt));
        if (out < 0)
            res->completion_tokens = prov_estimate_tokens(res->output ? res->output : "",
                                                          res->output_len);
    }
}

void pc_stream_init(pc_stream *s)
{
    aws_text_init(&s->text);
    s->first_seen = s->stopped = 0;
    s->stream_error = s->stop_reason = NULL;
    s->stream_error_retry = PROV_RETRY_YES;
    s->in_tokens = s->out_tokens = -1;
}

void pc_stream_free(pc_stream *s)
{
    aws_text_free(&s->text);
    free(s->stream_error);
    free(s->stop_reason);
    s->stream_error = s->stop_reason = NULL;
}

void pc_stream_reset(pc_stream *s)
{
    pc_stream_free(s);
    pc_stream_init(s);
}

int pc_stream_text(pc_stream *s, const char *text, size_t n, int *first_token)
{
    int rc = aws_text_append(&s->text, text, n);

    if (!s->first_seen) {
        s->first_seen = 1;
        *first_token = 1;
    }
    return rc;
}

void pc_stream_set_stop(pc_stream *s, const char *reason)
{
    free(s->stop_reason);
    s->stop_reason = strdup(reason);
}

int pc_stream_result(const pc_stream *s, const prov_call *call, prov_result *res)
{
    if (prov_result_set_output(res, s->text.buf.data ? s->text.buf.data : "",
                               s->text.buf.len) < 0)
        return AS_ENOMEM;
    res->output_truncated |= s->text.truncated;
    if (s->stop_reason)
        res->finish_reason = strdup(s->stop_reason);
    pc_fill_tokens(res, call, s->in_tokens, s->out_tokens);
    return PROV_STEP_DONE;
}

int pc_stream_finish(const pc_stream *s, const prov_call *call, prov_result *res,
                     const char *what, const char *marker)
{
    if (s->stream_error) {
        prov_result_fail(res, AS_EUPSTREAM, s->stream_error_retry, "%s: error in stream: %s",
                         what, s->stream_error);
        return PROV_STEP_DONE;
    }
    if (!s->stopped) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES,
                         "%s: stream ended without %s (%zu bytes of output)", what, marker,
                         s->text.buf.len);
        return PROV_STEP_DONE;
    }
    return pc_stream_result(s, call, res);
}

int pc_answer_json(json_t **root, const prov_response *resp, prov_result *res, const char *what)
{
    *root = NULL;
    if (resp->body_truncated) {
        prov_result_fail(res, AS_ETOOBIG, PROV_RETRY_NO, "%s: response over %zu bytes", what,
                         (size_t)PROV_BODY_MAX);
        return AS_ETOOBIG;
    }
    if (as_json_parse(root, resp->body, resp->body_len, "response") < 0) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "%s: response is not JSON: %s", what,
                         as_error_msg());
        return AS_EUPSTREAM;
    }
    return 0;
}

int pc_blocks_output(prov_result *res, const json_t *content, const char *type)
{
    json_t *blk;
    as_buf text;
    size_t i;
    int rc;

    as_buf_init(&text, PROV_BODY_MAX);
    json_array_foreach(content, i, blk) {
        json_t *t = json_object_get(blk, "text");
        const char *bt = json_string_value(json_object_get(blk, "type"));
        if (type && !(bt && strcmp(bt, type) == 0))
            continue;
        if (json_is_string(t) &&
            as_buf_append(&text, json_string_value(t), json_string_length(t)) < 0)
            break;      /* over the cap: the text so far */
    }
    rc = prov_result_set_output(res, text.data ? text.data : "", text.len);
    as_buf_free(&text);
    return rc < 0 ? AS_ENOMEM : 0;
}

int pc_base_url(char **out, const char *url, const char *what)
{
    size_t n;

    *out = NULL;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return as_error_set(AS_EINVAL, "%s: '%.200s' is not an http(s) URL", what, url);
    if ((*out = strdup(url)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    n = strlen(*out);
    while (n > 0 && (*out)[n - 1] == '/')
        (*out)[--n] = '\0';
    return 0;
}

int pc_take_vector(prov_result *res, const json_t *emb, size_t row, size_t nrows,
                   const char **why)
{
    size_t i, n = json_array_size(emb);

    if (!json_is_array(emb) || n == 0) {
        *why = "is not a non-empty array of numbers";
        return 1;
    }
    if (res->vectors == NULL) {
        if (n > PC_EMBED_DIM_MAX) {
            *why = "has over 65,536 numbers";
            return 1;
        }
        if ((res->vectors = malloc(nrows * n * sizeof(double))) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        res->dim = n;
    } else if (n != res->dim) {
        *why = "differs in length from the first";
        return 1;
    }
    for (i = 0; i < n; i++) {
        const json_t *x = json_array_get(emb, i);
        double d = json_number_value(x);
        if (!json_is_number(x) || !(d - d == 0)) {
            *why = "holds something that is not a finite number";
            return 1;
        }
        res->vectors[row * n + i] = d;
    }
    return 0;
}
