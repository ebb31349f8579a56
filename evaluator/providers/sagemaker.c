/* The sagemaker provider: Amazon SageMaker Runtime endpoints serving a
 * Hugging Face TGI or a DJL LMI container (or the OpenAI messages API of
 * newer containers), reference/PROVIDERS.md A2.
 *
 *  - real time: POST /endpoints/{name}/invocations with
 *    {"inputs","parameters":{...,"return_full_text":false,"details":true}};
 *    the answer is a JSON array (TGI) or object (LMI);
 *  - streamed: POST .../invocations-response-stream; the body is an AWS
 *    event stream whose PayloadPart events carry arbitrary slices of the
 *    container's output, reassembled here into lines (TGI "data:{...}" SSE,
 *    LMI JSON lines); ModelStreamError / InternalStreamFailure mid-stream;
 *  - asynchronous: sagemaker_async.c.
 * Requests are signed with SigV4 (signing name "sagemaker") in 'sign'. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"
#include "evaluator/providers/sagemaker_internal.h"

static const char *const sm_keys[] = {
    "endpoint", "region", "format", "stream", "async", "s3_input", "endpoint_url",
    "target_variant", "inference_component", "custom_attributes", "async_timeout",
    "async_poll", NULL};

static void sm_destroy(prov *p)
{
    sm_prov *s = (sm_prov *)p;

    if (s == NULL)
        return;
    free(s->model_name);
    free(s->endpoint);
    free(s->region_setting);
    free(s->endpoint_url);
    free(s->s3_bucket);
    free(s->s3_prefix);
    free(s->target_variant);
    free(s->inference_component);
    free(s->custom_attributes);
    free(s->region);
    free(s->runtime_url);
    free(s->s3_url);
    free(s->control_url);
    aws_creds_free(&s->creds);
    free(s);
}

/* SageMaker endpoint names: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ */
static int endpoint_name_ok(const char *n)
{
    size_t i, len = strlen(n);

    if (len == 0 || len > 63 || n[0] == '-' || n[len - 1] == '-')
        return 0;
    for (i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return 0;
    }
    return 1;
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d;

    if (s == NULL || *s == '\0')
        return NULL;
    if ((d = strdup(s)) == NULL)
        *oom = 1;
    return d;
}

/* s3://bucket/prefix into bucket and prefix (no leading/trailing '/'). */
static int parse_s3_input(sm_prov *s, const char *uri)
{
    const char *b, *slash;
    size_t n;

    if (strncmp(uri, "s3://", 5) != 0 || uri[5] == '\0' || uri[5] == '/')
        return as_error_set(AS_EINVAL, "setting s3_input: '%.200s' is not s3://bucket/prefix", uri);
    b = uri + 5;
    slash = strchr(b, '/');
    n = slash ? (size_t)(slash - b) : strlen(b);
    if (n < 3 || n > 63)
        return as_error_set(AS_EINVAL, "setting s3_input: bucket name must be 3-63 characters");
    s->s3_bucket = strndup(b, n);
    b = slash ? slash + 1 : "";
    n = strlen(b);
    while (n > 0 && b[n - 1] == '/')
        n--;
    s->s3_prefix = strndup(b, n);
    if (s->s3_bucket == NULL || s->s3_prefix == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

static int sm_create(prov **out, const char *model_name, const json_t *settings)
{
    const char *endpoint, *region, *format, *s3_input, *url, *variant, *component, *attrs;
    double timeout = 900, poll = 1;
    sm_prov *s;
    int oom = 0, rc;

    *out = NULL;
    if ((rc = aws_settings_check(settings, sm_keys, "sagemaker")) < 0)
        return rc;
    if (prov_setting_str(settings, "endpoint", NULL, &endpoint) < 0 ||
        prov_setting_str(settings, "region", NULL, &region) < 0 ||
        prov_setting_str(settings, "format", "tgi", &format) < 0 ||
        prov_setting_str(settings, "s3_input", NULL, &s3_input) < 0 ||
        prov_setting_str(settings, "endpoint_url", NULL, &url) < 0 ||
        prov_setting_str(settings, "target_variant", NULL, &variant) < 0 ||
        prov_setting_str(settings, "inference_component", NULL, &component) < 0 ||
        prov_setting_str(settings, "custom_attributes", NULL, &attrs) < 0 ||
        aws_setting_num(settings, "async_timeout", &timeout) < 0 ||
        aws_setting_num(settings, "async_poll", &poll) < 0)
        return AS_EINVAL;
    if (endpoint == NULL)
        return as_error_set(AS_EINVAL, "setting endpoint: required (the SageMaker endpoint name)");
    if (!endpoint_name_ok(endpoint))
        return as_error_set(AS_EINVAL, "setting endpoint: '%.80s' is not a SageMaker endpoint name",
                            endpoint);
    if (strcmp(format, "tgi") != 0 && strcmp(format, "lmi") != 0 && strcmp(format, "openai") != 0)
        return as_error_set(AS_EINVAL, "setting format: '%.40s' is not tgi, lmi or openai", format);
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return as_error_set(AS_EINVAL, "setting endpoint_url: '%.200s' is not an http(s) URL", url);
    if (prov_header_value_check(variant, "setting target_variant") < 0 ||
        prov_header_value_check(component, "setting inference_component") < 0 ||
        prov_header_value_check(attrs, "setting custom_attributes") < 0)
        return AS_EINVAL;
    if (!(timeout >= 1 && timeout <= 86400))
        return as_error_set(AS_EINVAL, "setting async_timeout: must be 1 to 86400 seconds");
    if (!(poll >= 0.01 && poll <= 600))
        return as_error_set(AS_EINVAL, "setting async_poll: must be 0.01 to 600 seconds");
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    s->format = strcmp(format, "lmi") == 0 ? SM_LMI : strcmp(format, "openai") == 0 ? SM_OPENAI
                                                                                     : SM_TGI;
    s->async_timeout_s = timeout;
    s->async_poll_s = poll;
    if (aws_setting_bool(settings, "stream", &s->stream) < 0 ||
        aws_setting_bool(settings, "async", &s->async) < 0) {
        sm_destroy(&s->base);
        return AS_EINVAL;
    }
    if (s->async && s->stream) {
        sm_destroy(&s->base);
        return as_error_set(AS_EINVAL, "settings stream and async: an asynchronous endpoint "
                                       "does not stream");
    }
    if (s->async && s3_input == NULL) {
        sm_destroy(&s->base);
        return as_error_set(AS_EINVAL, "setting s3_input: required with async "
                                       "(s3://bucket/prefix for the request payloads)");
    }
    if (!s->async && s3_input) {
        sm_destroy(&s->base);
        return as_error_set(AS_EINVAL, "setting s3_input: only used with async");
    }
    if (s3_input && (rc = parse_s3_input(s, s3_input)) < 0) {
        sm_destroy(&s->base);
        return rc;
    }
    s->model_name = strdup(model_name);
    s->endpoint = strdup(endpoint);
    s->region_setting = dup_or_null(region, &oom);
    s->endpoint_url = dup_or_null(url, &oom);
    s->target_variant = dup_or_null(variant, &oom);
    s->inference_component = dup_or_null(component, &oom);
    s->custom_attributes = dup_or_null(attrs, &oom);
    if (oom || s->model_name == NULL || s->endpoint == NULL) {
        sm_destroy(&s->base);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    *out = &s->base;
    return 0;
}

static int sm_start(prov *p, const prov_run_info *info)
{
    sm_prov *s = (sm_prov *)p;
    int custom, rc;

    (void)info;
    if (s->started)
        return 0;
    if ((s->region = aws_region(s->region_setting)) == NULL)
        return as_error_wrap(AS_EINVAL, "model %s", s->model_name);
    if ((s->runtime_url = aws_endpoint(AWS_SAGEMAKER_RUNTIME, s->region, s->endpoint_url,
                                       &custom)) == NULL)
        return as_error_wrap(AS_EINVAL, "model %s", s->model_name);
    if (s->async) {
        if ((s->s3_url = aws_endpoint(AWS_S3, s->region, NULL, &s->s3_custom)) == NULL ||
            (s->control_url = aws_endpoint(AWS_SAGEMAKER, s->region, NULL, &custom)) == NULL)
            return as_error_wrap(AS_EINVAL, "model %s", s->model_name);
    }
    if ((rc = aws_creds_from_env(&s->creds)) < 0)
        return as_error_wrap(rc, "model %s", s->model_name);
    s->started = 1;
    return 0;
}

static void stream_reset(sm_state *st)
{
    aws_evstream_free(&st->ev);
    aws_evstream_init(&st->ev, PROV_BODY_MAX);
    aws_lines_free(&st->lines);
    aws_lines_init(&st->lines, PROV_BODY_MAX);
    pc_stream_reset(&st->stream);
    st->terminator_free = 0;
}

static int sm_begin(prov *p, const prov_call *call, void **state)
{
    sm_prov *s = (sm_prov *)p;
    sm_state *st;

    (void)call;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    aws_evstream_init(&st->ev, PROV_BODY_MAX);
    aws_lines_init(&st->lines, PROV_BODY_MAX);
    pc_stream_init(&st->stream);
    st->t_start = as_clock_ms();
    st->step = SM_STEP_INVOKE;
    st->svc = AWS_SAGEMAKER_RUNTIME;
    if (s->async) {
        st->step = SM_STEP_PUT;
        if (!s->capacity_checked) {     /* the run's first case asks once */
            s->capacity_checked = 1;
            st->step = SM_STEP_DESCRIBE;
        }
    }
    *state = st;
    return 0;
}

static void sm_state_free(void *state)
{
    sm_state *st = state;

    if (st == NULL)
        return;
    aws_evstream_free(&st->ev);
    aws_lines_free(&st->lines);
    pc_stream_free(&st->stream);
    free(st->payload);
    free(st->input_key);
    free(st->output_loc);
    free(st->failure_loc);
    free(st);
}

/* --- payloads --- */

/* Copy the generation params into the container's "parameters". */
static json_t *tgi_parameters(const sm_prov *s, const json_t *params)
{
    json_t *out = json_object(), *v;
    const char *stop_key = s->format == SM_LMI ? "stop_sequences" : "stop";

    if (out == NULL)
        return NULL;
    v = json_object_get(params, "max_tokens");
    if (v == NULL)
        v = json_object_get(params, "max_new_tokens");
    if (json_is_integer(v))
        json_object_set(out, "max_new_tokens", v);
    v = json_object_get(params, "temperature");
    if (json_is_number(v)) {
        /* TGI rejects temperature 0: greedy decoding is do_sample false */
        if (json_number_value(v) > 0) {
            json_object_set(out, "temperature", v);
            json_object_set_new(out, "do_sample", json_true());
        } else {
            json_object_set_new(out, "do_sample", json_false());
        }
    }
    v = json_object_get(params, "top_p");
    if (json_is_number(v) && json_number_value(v) > 0 && json_number_value(v) < 1)
        json_object_set(out, "top_p", v);    /* TGI wants 0 < top_p < 1 */
    v = json_object_get(params, "top_k");
    if (json_is_integer(v) && json_integer_value(v) > 0)
        json_object_set(out, "top_k", v);
    v = json_object_get(params, "seed");
    if (json_is_integer(v))
        json_object_set(out, "seed", v);
    v = json_object_get(params, "repetition_penalty");
    if (json_is_number(v))
        json_object_set(out, "repetition_penalty", v);
    v = json_object_get(params, "stop");
    if (json_is_string(v))
        json_object_set_new(out, stop_key, json_pack("[O]", v));
    else if (json_is_array(v))
        json_object_set(out, stop_key, v);
    /* never echo the prompt (TGI fills a server default when absent) and
     * ask for token counts */
    json_object_set_new(out, "return_full_text", json_false());
    json_object_set_new(out, "details", json_true());
    return out;
}

char *sm_payload(const sm_prov *s, const prov_call *call, int stream, size_t *len)
{
    json_t *body = json_object(), *v;
    const char *key;
    char *text;

    if (body == NULL)
        return NULL;
    if (s->format == SM_OPENAI) {
        if (call->params)
            json_object_foreach((json_t *)call->params, key, v)
                json_object_set(body, key, v);
        if (call->messages)
            json_object_set(body, "messages", (json_t *)call->messages);
        else
            json_object_set_new(body, "messages", json_pack("[{s:s,s:s}]", "role", "user",
                                                            "content", call->prompt));
        json_object_del(body, "stream_options");
        if (stream) {
            json_object_set_new(body, "stream", json_true());
            json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
        } else {
            json_object_del(body, "stream");
        }
    } else {
        json_object_set_new(body, "inputs", json_string(call->prompt));
        json_object_set_new(body, "parameters", tgi_parameters(s, call->params));
        json_object_set_new(body, "stream", json_boolean(stream));
    }
    text = as_json_dump(body);
    json_decref(body);
    if (text)
        *len = strlen(text);
    return text;
}

/* --- requests --- */

int sm_add_model_headers(const sm_prov *s, prov_request *req)
{
    int rc = 0;

    if (s->inference_component)
        rc = prov_request_add_header(req, "X-Amzn-SageMaker-Inference-Component: %s",
                                     s->inference_component);
    if (rc == 0 && s->custom_attributes)
        rc = prov_request_add_header(req, "X-Amzn-SageMaker-Custom-Attributes: %s",
                                     s->custom_attributes);
    return rc;
}

static int add_common_headers(const sm_prov *s, prov_request *req, int accept_header_stream)
{
    int rc = prov_request_add_header(req, "Content-Type: application/json");

    if (rc == 0 && accept_header_stream)
        rc = prov_request_add_header(req, "X-Amzn-SageMaker-Accept: application/json");
    else if (rc == 0)
        rc = prov_request_add_header(req, "Accept: application/json");
    if (rc == 0 && s->target_variant)
        rc = prov_request_add_header(req, "X-Amzn-SageMaker-Target-Variant: %s", s->target_variant);
    return rc == 0 ? sm_add_model_headers(s, req) : rc;
}

static int sm_build_request(prov *p, const prov_call *call, void *state, prov_request *req)
{
    sm_prov *s = (sm_prov *)p;
    sm_state *st = state;
    as_buf url;
    char *body;
    size_t len = 0;
    int rc;

    if (s->async)
        return sm_async_build(s, call, st, req);
    stream_reset(st);      /* a retry starts the stream over */
    st->svc = AWS_SAGEMAKER_RUNTIME;
    if ((body = sm_payload(s, call, s->stream, &len)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    as_buf_init(&url, 8192);
    rc = as_buf_printf(&url, "%s/endpoints/", s->runtime_url);
    if (rc == 0)
        rc = aws_uri_encode(&url, s->endpoint, strlen(s->endpoint), 0);
    if (rc == 0)
        rc = as_buf_puts(&url, s->stream ? "/invocations-response-stream" : "/invocations");
    if (rc < 0) {
        free(body);
        as_buf_free(&url);
        return rc;
    }
    memcpy(req->method, "POST", 5);
    req->url = as_buf_detach(&url);
    prov_request_take_body(req, body, len);
    req->stream = s->stream;
    return add_common_headers(s, req, s->stream);
}

static int sm_sign(prov *p, void *state, prov_request *req)
{
    sm_prov *s = (sm_prov *)p;
    sm_state *st = state;

    return aws_prov_sign(req, &s->creds, s->region, st->svc, (long long)time(NULL));
}

/* --- responses --- */

/* details {finish_reason, generated_tokens} of TGI and LMI. */
static void take_details(const json_t *details, int64_t *out, char **finish)
{
    json_t *gt = json_object_get(details, "generated_tokens");
    json_t *fr = json_object_get(details, "finish_reason");

    if (json_is_integer(gt))
        *out = json_integer_value(gt);
    if (json_is_string(fr) && finish) {
        free(*finish);
        *finish = strdup(json_string_value(fr));
    }
}

/* An error object or string inside a 200 answer, or NULL. */
static const char *inline_error(const json_t *root)
{
    json_t *e = json_object_get(root, "error");

    if (json_is_string(e))
        return json_string_value(e);
    if (json_is_object(e)) {
        const char *m = json_string_value(json_object_get(e, "message"));
        return m ? m : "error";
    }
    return NULL;
}

int sm_parse_body(const sm_prov *s, const prov_call *call, const char *body, size_t len,
                  prov_result *res)
{
    json_t *root, *obj, *text, *details;
    int64_t in = -1, out = -1;
    const char *err;
    char *finish = NULL;

    if (as_json_parse(&root, body, len, "response") < 0) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "sagemaker: response is not JSON: %s",
                         as_error_msg());
        return PROV_STEP_DONE;
    }
    obj = json_is_array(root) ? json_array_get(root, 0) : root;   /* TGI wraps in an array */
    if (!json_is_object(obj)) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO,
                         "sagemaker: response is neither an object nor [object]");
        json_decref(root);
        return PROV_STEP_DONE;
    }
    if ((err = inline_error(obj)) != NULL) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "sagemaker: model error: %.300s", err);
        json_decref(root);
        return PROV_STEP_DONE;
    }
    text = json_object_get(obj, "generated_text");
    if (text == NULL && json_is_array(json_object_get(obj, "choices"))) {
        json_t *c0 = json_array_get(json_object_get(obj, "choices"), 0), *u;
        text = json_object_get(json_object_get(c0, "message"), "content");
        if (json_is_string(json_object_get(c0, "finish_reason")))
            finish = strdup(json_string_value(json_object_get(c0, "finish_reason")));
        u = json_object_get(obj, "usage");
        if (json_is_integer(json_object_get(u, "prompt_tokens")))
            in = json_integer_value(json_object_get(u, "prompt_tokens"));
        if (json_is_integer(json_object_get(u, "completion_tokens")))
            out = json_integer_value(json_object_get(u, "completion_tokens"));
    }
    if (!json_is_string(text)) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO,
                         "sagemaker: response has no generated_text (format %s?)",
                         s->format == SM_LMI ? "lmi" : s->format == SM_OPENAI ? "openai" : "tgi");
        free(finish);
        json_decref(root);
        return PROV_STEP_DONE;
    }
    details = json_object_get(obj, "details");
    if (json_is_object(details))
        take_details(details, &out, &finish);
    if (finish && strcmp(finish, "error") == 0) {   /* LMI reports failures this way */
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES,
                         "sagemaker: generation failed (finish_reason error)");
        free(finish);
        json_decref(root);
        return PROV_STEP_DONE;
    }
    if (prov_result_set_output(res, json_string_value(text), json_string_length(text)) < 0) {
        free(finish);
        json_decref(root);
        return AS_ENOMEM;
    }
    res->finish_reason = finish;
    pc_fill_tokens(res, call, in, out);
    json_decref(root);
    return PROV_STEP_DONE;
}

/* One line of the container's streamed output. */
static int on_line(void *ctx, const char *line, size_t len)
{
    void **a = ctx;
    sm_state *st = a[0];
    int *first = a[1];
    json_t *root, *tok, *v;
    const char *err;
    size_t before = st->stream.text.buf.len;
    int rc = 0;

    if (len == 0 || line[0] == ':')
        return 0;       /* blank separator or SSE comment */
    if (len >= 5 && memcmp(line, "data:", 5) == 0) {
        line += 5;
        len -= 5;
        if (len > 0 && line[0] == ' ') {
            line++;
            len--;
        }
    } else if ((len >= 6 && memcmp(line, "event:", 6) == 0) ||
               (len >= 3 && memcmp(line, "id:", 3) == 0) ||
               (len >= 6 && memcmp(line, "retry:", 6) == 0)) {
        return 0;
    }
    if (len == 6 && memcmp(line, "[DONE]", 6) == 0) {
        st->stream.stopped = 1;
        return 0;
    }
    if (as_json_parse(&root, line, len, "stream line") < 0) {
        if (st->stream.stream_error == NULL)   /* the first error is the cause */
            st->stream.stream_error = strdup("a streamed line is not JSON");
        return 0;
    }
    if ((err = inline_error(root)) != NULL) {
        if (st->stream.stream_error == NULL)
            st->stream.stream_error = strdup(err);
        json_decref(root);
        return 0;
    }
    tok = json_object_get(root, "token");
    if (json_is_object(tok)) {                       /* TGI and LMI rolling batch */
        json_t *t = json_object_get(tok, "text");
        if (json_is_string(t) && !json_is_true(json_object_get(tok, "special")))
            rc = aws_text_append(&st->stream.text, json_string_value(t), json_string_length(t));
    } else if (json_is_array(v = json_object_get(root, "outputs"))) {   /* LMI dynamic */
        size_t i;
        json_t *o;
        st->terminator_free = 1;
        json_array_foreach(v, i, o)
            if (json_is_string(o) && rc == 0)
                rc = aws_text_append(&st->stream.text, json_string_value(o),
                                     json_string_length(o));
    } else if (json_is_array(v = json_object_get(root, "choices"))) {   /* OpenAI chunks */
        json_t *c0 = json_array_get(v, 0), *u = json_object_get(root, "usage");
        json_t *content = json_object_get(json_object_get(c0, "delta"), "content");
        if (json_is_string(content))
            rc = aws_text_append(&st->stream.text, json_string_value(content),
                                 json_string_length(content));
        if (json_is_string(json_object_get(c0, "finish_reason")))
            pc_stream_set_stop(&st->stream,
                               json_string_value(json_object_get(c0, "finish_reason")));
        if (json_is_integer(json_object_get(u, "prompt_tokens")))
            st->stream.in_tokens = json_integer_value(json_object_get(u, "prompt_tokens"));
        if (json_is_integer(json_object_get(u, "completion_tokens")))
            st->stream.out_tokens = json_integer_value(json_object_get(u, "completion_tokens"));
    }
    v = json_object_get(root, "details");
    if (json_is_object(v)) {
        take_details(v, &st->stream.out_tokens, &st->stream.stop_reason);
        st->stream.stopped = 1;
    }
    v = json_object_get(root, "generated_text");
    if (json_is_string(v))
        st->stream.stopped = 1;    /* the last event carries the whole text */
    if (st->stream.stop_reason && strcmp(st->stream.stop_reason, "error") == 0) {
        free(st->stream.stream_error);
        st->stream.stream_error = strdup("generation failed (finish_reason error)");
    }
    json_decref(root);
    if (rc < 0)
        return rc;
    if (!st->stream.first_seen && st->stream.text.buf.len > before) {
        st->stream.first_seen = 1;
        *first = 1;
    }
    return 0;
}

/* One event-stream message of InvokeEndpointWithResponseStream. */
static int on_message(void *ctx, const aws_ev_message *m)
{
    void **a = ctx;
    sm_state *st = a[0];
    const char *v;
    size_t n;

    if (aws_ev_header_is(m, ":message-type", "event")) {
        if (aws_ev_header_is(m, ":event-type", "PayloadPart"))
            return aws_lines_feed(&st->lines, (const char *)m->payload, m->payload_len, on_line,
                                  ctx);
        return 0;   /* unknown events are ignored, as the SDKs do */
    }
    if (aws_ev_header_is(m, ":message-type", "exception")) {
        json_t *root = NULL;
        const char *msg = NULL, *code = NULL;
        char type[64] = "exception";
        if (aws_ev_header_str(m, ":exception-type", &v, &n) == 0)
            snprintf(type, sizeof(type), "%.*s", (int)n, v);
        if (as_json_parse(&root, (const char *)m->payload, m->payload_len, "exception") == 0) {
            msg = json_string_value(json_object_get(root, "Message"));
            if (msg == NULL)
                msg = json_string_value(json_object_get(root, "message"));
            code = json_string_value(json_object_get(root, "ErrorCode"));
        }
        free(st->stream.stream_error);
        if (asprintf(&st->stream.stream_error, "%s%s%s: %.300s", type, code ? " " : "",
                     code ? code : "", msg ? msg : "no message") < 0)
            st->stream.stream_error = NULL;
        json_decref(root);
        return 0;
    }
    aws_ev_take_error(m, &st->stream.stream_error);
    return 0;
}

static int sm_on_data(prov *p, void *state, const char *data, size_t len)
{
    sm_state *st = state;
    int first = 0, rc;
    void *a[2] = {st, &first};

    (void)p;
    if ((rc = aws_evstream_feed(&st->ev, data, len, on_message, a)) < 0)
        return rc;
    return first ? PROV_DATA_FIRST_TOKEN : PROV_DATA_MORE;
}

static int parse_stream(const prov_call *call, sm_state *st, prov_result *res)
{
    int first = 0;
    void *a[2] = {st, &first};
    int rc;

    if (aws_evstream_finish(&st->ev) < 0) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "sagemaker: broken stream: %s",
                         as_error_msg());
        return PROV_STEP_DONE;
    }
    /* a line left unterminated by a failed stream is not a second error */
    if (st->stream.stream_error == NULL && (rc = aws_lines_finish(&st->lines, on_line, a)) < 0)
        return rc;
    if (st->stream.stream_error) {
        prov_result_fail(res, AS_EUPSTREAM, st->stream.stream_error_retry,
                         "sagemaker: error in stream: %.300s", st->stream.stream_error);
        return PROV_STEP_DONE;
    }
    if (!st->stream.stopped && !(st->terminator_free && st->stream.text.buf.len > 0)) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES,
                         "sagemaker: stream ended before the final event (%zu bytes of output)",
                         st->stream.text.buf.len);
        return PROV_STEP_DONE;
    }
    return pc_stream_result(&st->stream, call, res);
}

static int sm_parse_response(prov *p, const prov_call *call, void *state,
                             const prov_response *resp, prov_result *res)
{
    sm_prov *s = (sm_prov *)p;
    sm_state *st = state;

    if (s->async)
        return sm_async_parse(s, call, st, resp, res);
    if (resp->status < 200 || resp->status >= 300) {
        aws_prov_http_error(res, "sagemaker", resp);
        return PROV_STEP_DONE;
    }
    if (s->stream)
        return parse_stream(call, st, res);
    if (resp->body_truncated) {
        prov_result_fail(res, AS_ETOOBIG, PROV_RETRY_NO, "sagemaker: response over %zu bytes",
                         (size_t)PROV_BODY_MAX);
        return PROV_STEP_DONE;
    }
    return sm_parse_body(s, call, resp->body, resp->body_len, res);
}

const prov_vtable prov_sagemaker = {
    .name = "sagemaker",
    .summary = "Amazon SageMaker endpoint (TGI/LMI containers): --endpoint NAME [--region R] "
               "[--format tgi|lmi|openai] [--stream] [--async --s3-input s3://bucket/prefix] "
               "[--endpoint-url URL] [--async-timeout S] [--async-poll S]",
    .settings_keys = sm_keys,
    .create = sm_create,
    .start = sm_start,
    .destroy = sm_destroy,
    .begin = sm_begin,
    .build_request = sm_build_request,
    .sign = sm_sign,
    .on_data = sm_on_data,
    .parse_response = sm_parse_response,
    .state_free = sm_state_free,
};
