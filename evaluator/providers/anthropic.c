/* The anthropic provider: the Anthropic Messages API, plain or streamed,
 * as a candidate model or as the LLM judge (reference/PROVIDERS.md A3).
 * POST {base_url}/v1/messages with x-api-key and anthropic-version; system
 * messages go to the top-level "system"; max_tokens is always sent (the API
 * requires it). Streams are SSE with event types message_start,
 * content_block_start/delta/stop, ping, message_delta (cumulative
 * output_tokens) and message_stop, and an "error" event mid-stream
 * (overloaded_error). HTTP 429 and 529 are retried, honouring retry-after
 * (the scheduler reads the header). */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/json.h"
#include "evaluator/providers/aws_prov.h"
#include "evaluator/providers/prov_common.h"

#define AN_DEFAULT_URL "https://api.anthropic.com"
#define AN_VERSION "2023-06-01"

typedef struct an_prov {
    prov base;
    char *model_name;
    char *model_id;
    char *base_url;             /* without a trailing '/' */
    char *api_key_env;
    char *version;
    int64_t max_tokens;
    int stream;
    char *api_key;              /* read in start, memory only */
} an_prov;

typedef struct an_state {
    prov_sse sse;
    pc_stream stream;           /* stopped: message_stop seen */
} an_state;

static const char *const an_keys[] = {"model_id", "base_url", "api_key_env", "stream",
                                      "max_tokens", "anthropic_version", NULL};

static void an_destroy(prov *p)
{
    an_prov *a = (an_prov *)p;

    if (a == NULL)
        return;
    free(a->model_name);
    free(a->model_id);
    free(a->base_url);
    free(a->api_key_env);
    free(a->version);
    if (a->api_key) {
        memset(a->api_key, 0, strlen(a->api_key));
        free(a->api_key);
    }
    free(a);
}

static int an_create(prov **out, const char *model_name, const json_t *settings)
{
    const char *id, *url, *key_env, *version;
    double max_tokens = 1024;
    an_prov *a;
    size_t n;
    int rc;

    *out = NULL;
    if ((rc = aws_settings_check(settings, an_keys, "anthropic")) < 0)
        return rc;
    if (prov_setting_str(settings, "model_id", NULL, &id) < 0 ||
        prov_setting_str(settings, "base_url", NULL, &url) < 0 ||
        prov_setting_str(settings, "api_key_env", "ANTHROPIC_API_KEY", &key_env) < 0 ||
        prov_setting_str(settings, "anthropic_version", AN_VERSION, &version) < 0 ||
        aws_setting_num(settings, "max_tokens", &max_tokens) < 0)
        return AS_EINVAL;
    if (id == NULL || *id == '\0')
        return as_error_set(AS_EINVAL, "setting model_id: required (e.g. claude-3-5-haiku-latest)");
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return as_error_set(AS_EINVAL, "setting base_url: '%.200s' is not an http(s) URL", url);
    if (prov_header_value_check(version, "setting anthropic_version") < 0)
        return AS_EINVAL;
    if (!(max_tokens >= 1 && max_tokens <= 1000000))
        return as_error_set(AS_EINVAL, "setting max_tokens: must be 1 to 1000000");
    if ((a = calloc(1, sizeof(*a))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (aws_setting_bool(settings, "stream", &a->stream) < 0) {
        free(a);
        return AS_EINVAL;
    }
    a->max_tokens = (int64_t)max_tokens;
    a->model_name = strdup(model_name);
    a->model_id = strdup(id);
    a->base_url = url ? strdup(url) : NULL;      /* NULL: ANTHROPIC_BASE_URL or the API */
    a->api_key_env = strdup(key_env);
    a->version = strdup(version);
    if (!a->model_name || !a->model_id || (url && !a->base_url) || !a->api_key_env ||
        !a->version) {
        an_destroy(&a->base);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    if (a->base_url) {
        n = strlen(a->base_url);
        while (n > 0 && a->base_url[n - 1] == '/')
            a->base_url[--n] = '\0';
    }
    *out = &a->base;
    return 0;
}

static int an_start(prov *p, const prov_run_info *info)
{
    an_prov *a = (an_prov *)p;
    const char *v;
    size_t n;

    (void)info;
    if (a->base_url == NULL) {
        v = getenv("ANTHROPIC_BASE_URL");
        if (v && *v && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            return as_error_set(AS_EINVAL, "ANTHROPIC_BASE_URL is not an http(s) URL");
        if ((a->base_url = strdup(v && *v ? v : AN_DEFAULT_URL)) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        n = strlen(a->base_url);
        while (n > 0 && a->base_url[n - 1] == '/')
            a->base_url[--n] = '\0';
    }
    if (a->api_key)
        return 0;
    v = getenv(a->api_key_env);
    if (v == NULL || *v == '\0')
        return as_error_set(AS_EAUTH, "model %s: environment variable %s is not set",
                            a->model_name, a->api_key_env);
    if (prov_header_value_check(v, a->api_key_env) < 0)
        return as_error_wrap(AS_EAUTH, "model %s", a->model_name);
    if ((a->api_key = strdup(v)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

static void state_reset(an_state *st)
{
    prov_sse_free(&st->sse);
    prov_sse_init(&st->sse, PROV_BODY_MAX);
    pc_stream_reset(&st->stream);
}

static int an_begin(prov *p, const prov_call *call, void **state)
{
    an_state *st;

    (void)p;
    (void)call;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    prov_sse_init(&st->sse, PROV_BODY_MAX);
    pc_stream_init(&st->stream);
    *state = st;
    return 0;
}

static void an_state_free(void *state)
{
    an_state *st = state;

    if (st == NULL)
        return;
    prov_sse_free(&st->sse);
    pc_stream_free(&st->stream);
    free(st);
}

/* The text of a message content (string or blocks), for the system prompt. */
static int append_content_text(as_buf *b, const json_t *content)
{
    size_t i;
    json_t *blk;
    int rc = 0;

    if (json_is_string(content)) {
        if (b->len > 0)
            rc = as_buf_puts(b, "\n\n");
        return rc ? rc : as_buf_append(b, json_string_value(content), json_string_length(content));
    }
    json_array_foreach(content, i, blk) {
        json_t *t = json_object_get(blk, "text");
        if (!json_is_string(t))
            continue;
        if (b->len > 0 && (rc = as_buf_puts(b, "\n\n")) < 0)
            return rc;
        if ((rc = as_buf_append(b, json_string_value(t), json_string_length(t))) < 0)
            return rc;
    }
    return 0;
}

static char *messages_body(const an_prov *a, const prov_call *call)
{
    json_t *body = json_object(), *msgs = json_array(), *m, *v;
    const json_t *params = call->params;
    as_buf sys;
    size_t i;
    char *text = NULL;

    as_buf_init(&sys, PROV_BODY_MAX);
    if (!body || !msgs)
        goto out;
    if (call->messages) {
        json_array_foreach(call->messages, i, m) {
            const char *role = json_string_value(json_object_get(m, "role"));
            json_t *content = json_object_get(m, "content");
            if (role && strcmp(role, "system") == 0) {
                if (append_content_text(&sys, content) < 0)
                    goto out;
            } else {
                json_t *c = content ? json_incref(content) : json_string("");
                json_array_append_new(msgs, json_pack("{s:s,s:o}", "role",
                                                      role && strcmp(role, "assistant") == 0
                                                          ? "assistant" : "user",
                                                      "content", c));
            }
        }
    } else {
        json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "user", "content",
                                              call->prompt));
    }
    json_object_set_new(body, "model", json_string(a->model_id));
    v = json_object_get(params, "max_tokens");
    json_object_set_new(body, "max_tokens", json_integer(json_is_integer(v)
                                                             ? json_integer_value(v)
                                                             : a->max_tokens));
    json_object_set(body, "messages", msgs);
    if (sys.len > 0)
        json_object_set_new(body, "system", json_stringn(sys.data, sys.len));
    if (json_is_number(v = json_object_get(params, "temperature")))
        json_object_set(body, "temperature", v);
    if (json_is_number(v = json_object_get(params, "top_p")))
        json_object_set(body, "top_p", v);
    if (json_is_integer(v = json_object_get(params, "top_k")))
        json_object_set(body, "top_k", v);
    v = json_object_get(params, "stop");
    if (json_is_string(v))
        json_object_set_new(body, "stop_sequences", json_pack("[O]", v));
    else if (json_is_array(v))
        json_object_set(body, "stop_sequences", v);
    if (a->stream)
        json_object_set_new(body, "stream", json_true());
    text = as_json_dump(body);
out:
    as_buf_free(&sys);
    json_decref(body);
    json_decref(msgs);
    return text;
}

static int an_build_request(prov *p, const prov_call *call, void *state, prov_request *req)
{
    an_prov *a = (an_prov *)p;
    char *body, *url = NULL;
    int rc;

    state_reset(state);
    if ((body = messages_body(a, call)) == NULL ||
        asprintf(&url, "%s/v1/messages", a->base_url) < 0) {
        free(body);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    memcpy(req->method, "POST", 5);
    req->url = url;
    prov_request_take_body(req, body, strlen(body));
    req->stream = a->stream;
    rc = prov_request_add_header(req, "Content-Type: application/json");
    if (rc == 0)
        rc = prov_request_add_header(req, "anthropic-version: %s", a->version);
    if (rc == 0 && a->api_key)
        rc = prov_request_add_header(req, "x-api-key: %s", a->api_key);
    if (rc == 0 && a->stream)
        rc = prov_request_add_header(req, "Accept: text/event-stream");
    return rc;
}

static void take_usage(const json_t *usage, int64_t *in, int64_t *out)
{
    json_t *i = json_object_get(usage, "input_tokens"), *o = json_object_get(usage, "output_tokens");

    if (json_is_integer(i))
        *in = json_integer_value(i);
    if (json_is_integer(o))
        *out = json_integer_value(o);    /* cumulative: the latest value is the total */
}

static int retry_for(const char *type)
{
    if (type && (strcmp(type, "overloaded_error") == 0 || strcmp(type, "api_error") == 0 ||
                 strcmp(type, "rate_limit_error") == 0))
        return PROV_RETRY_YES;
    return PROV_RETRY_NO;
}

static int on_event(void *arg, const char *event, const char *data, size_t len)
{
    void **a = arg;
    an_state *st = a[0];
    int *first = a[1];
    json_t *root, *v;
    const char *type;
    int rc = 0;

    if (as_json_parse(&root, data, len, "stream event") < 0) {
        free(st->stream.stream_error);
        st->stream.stream_error = strdup("a stream event is not JSON");
        return 0;
    }
    type = json_string_value(json_object_get(root, "type"));
    if (type == NULL || *type == '\0')
        type = event;
    if (strcmp(type, "message_start") == 0) {
        take_usage(json_object_get(json_object_get(root, "message"), "usage"),
                   &st->stream.in_tokens, &st->stream.out_tokens);
    } else if (strcmp(type, "content_block_delta") == 0) {
        v = json_object_get(root, "delta");
        if (json_is_string(json_object_get(v, "text")) &&
            json_string_length(json_object_get(v, "text")) > 0) {
            json_t *t = json_object_get(v, "text");
            rc = pc_stream_text(&st->stream, json_string_value(t), json_string_length(t), first);
        }
    } else if (strcmp(type, "message_delta") == 0) {
        v = json_object_get(json_object_get(root, "delta"), "stop_reason");
        if (json_is_string(v))
            pc_stream_set_stop(&st->stream, json_string_value(v));
        take_usage(json_object_get(root, "usage"), &st->stream.in_tokens,
                   &st->stream.out_tokens);
    } else if (strcmp(type, "message_stop") == 0) {
        st->stream.stopped = 1;
    } else if (strcmp(type, "error") == 0) {
        json_t *e = json_object_get(root, "error");
        const char *et = json_string_value(json_object_get(e, "type"));
        const char *em = json_string_value(json_object_get(e, "message"));
        free(st->stream.stream_error);
        if (asprintf(&st->stream.stream_error, "%s: %.300s", et ? et : "error",
                     em ? em : "no message") < 0)
            st->stream.stream_error = NULL;
        st->stream.stream_error_retry = retry_for(et);
    }
    /* ping, content_block_start/stop and unknown events need nothing */
    json_decref(root);
    return rc;
}

static int an_on_data(prov *p, void *state, const char *data, size_t len)
{
    an_state *st = state;
    int first = 0, rc;
    void *a[2] = {st, &first};

    (void)p;
    if ((rc = prov_sse_feed(&st->sse, data, len, on_event, a)) < 0)
        return rc;
    return first ? PROV_DATA_FIRST_TOKEN : PROV_DATA_MORE;
}

static int parse_error(const prov_response *resp, prov_result *res)
{
    json_t *root = NULL, *e;
    const char *type = NULL, *msg = NULL;
    int retry;

    if (resp->body_len > 0 && as_json_parse(&root, resp->body, resp->body_len, "error") == 0) {
        e = json_object_get(root, "error");
        type = json_string_value(json_object_get(e, "type"));
        msg = json_string_value(json_object_get(e, "message"));
    }
    /* 529 overloaded, 429 rate limited and 5xx come back; 4xx do not */
    retry = (resp->status == 429 || resp->status >= 500) ? PROV_RETRY_YES : PROV_RETRY_NO;
    prov_result_fail(res, AS_EUPSTREAM, retry, "anthropic: HTTP %ld %s: %.300s", resp->status,
                     type ? type : "error", msg ? msg : (root ? "no message" : "non-JSON body"));
    json_decref(root);
    return PROV_STEP_DONE;
}

static int parse_plain(const prov_call *call, const prov_response *resp, prov_result *res)
{
    json_t *root, *content;
    int64_t in = -1, out = -1;
    const char *r;

    if (pc_answer_json(&root, resp, res, "anthropic") < 0)
        return PROV_STEP_DONE;
    content = json_object_get(root, "content");
    if (!json_is_array(content)) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO, "anthropic: response has no content");
        json_decref(root);
        return PROV_STEP_DONE;
    }
    if (pc_blocks_output(res, content, "text") < 0) {
        json_decref(root);
        return AS_ENOMEM;
    }
    r = json_string_value(json_object_get(root, "stop_reason"));
    if (r)
        res->finish_reason = strdup(r);
    take_usage(json_object_get(root, "usage"), &in, &out);
    pc_fill_tokens(res, call, in, out);
    json_decref(root);
    return PROV_STEP_DONE;
}

static int an_parse_response(prov *p, const prov_call *call, void *state,
                             const prov_response *resp, prov_result *res)
{
    an_prov *a = (an_prov *)p;
    an_state *st = state;
    int first = 0;
    void *arg[2] = {st, &first};

    if (resp->status < 200 || resp->status >= 300)
        return parse_error(resp, res);
    if (!a->stream)
        return parse_plain(call, resp, res);
    if (prov_sse_finish(&st->sse, on_event, arg) < 0)
        return AS_ENOMEM;
    return pc_stream_finish(&st->stream, call, res, "anthropic", "message_stop");
}

const prov_vtable prov_anthropic = {
    .name = "anthropic",
    .summary = "Anthropic Messages API (also as a judge): --model-id ID [--stream] "
               "[--base-url URL] [--api-key-env VAR (default ANTHROPIC_API_KEY)] [--max-tokens N]",
    .settings_keys = an_keys,
    .create = an_create,
    .start = an_start,
    .destroy = an_destroy,
    .begin = an_begin,
    .build_request = an_build_request,
    .on_data = an_on_data,
    .parse_response = an_parse_response,
    .state_free = an_state_free,
};
