/* The bedrock provider: Amazon Bedrock Runtime Converse and ConverseStream
 * (reference/PROVIDERS.md A2b). POST /model/{modelId}/converse[-stream]
 * with the model id percent-encoded in the path (':' as %3A, which SigV4
 * signs as %253A), system prompts as "system", generation params as
 * "inferenceConfig"; the answer's usage, stop reason and metrics.latencyMs
 * (the server-side latency, kept apart from the latency assay measures); the stream's
 * events (messageStart, contentBlockDelta, messageStop, metadata) in order
 * and its exceptions. Signed with SigV4, signing name "bedrock". */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/json.h"
#include "evaluator/providers/aws_evstream.h"
#include "evaluator/providers/aws_prov.h"
#include "evaluator/providers/prov_common.h"

typedef struct br_prov {
    prov base;
    char *model_name;
    char *model_id;
    char *region_setting;
    char *endpoint_url;
    int stream;
    char *region;
    char *base_url;
    aws_creds creds;
    int started;
} br_prov;

typedef struct br_state {
    aws_evstream ev;
    pc_stream stream;           /* stopped: messageStop seen */
    int started;                /* messageStart seen */
    double server_latency_ms;   /* metadata.metrics.latencyMs, or -1 */
} br_state;

static const char *const br_keys[] = {"model_id", "region", "stream", "endpoint_url", NULL};

static void br_destroy(prov *p)
{
    br_prov *b = (br_prov *)p;

    if (b == NULL)
        return;
    free(b->model_name);
    free(b->model_id);
    free(b->region_setting);
    free(b->endpoint_url);
    free(b->region);
    free(b->base_url);
    aws_creds_free(&b->creds);
    free(b);
}

static int br_create(prov **out, const char *model_name, const json_t *settings)
{
    const char *id, *region, *url;
    br_prov *b;
    int rc;

    *out = NULL;
    if ((rc = aws_settings_check(settings, br_keys, "bedrock")) < 0)
        return rc;
    if (prov_setting_str(settings, "model_id", NULL, &id) < 0 ||
        prov_setting_str(settings, "region", NULL, &region) < 0 ||
        prov_setting_str(settings, "endpoint_url", NULL, &url) < 0)
        return AS_EINVAL;
    if (id == NULL || *id == '\0' || strlen(id) > 2048)
        return as_error_set(AS_EINVAL, "setting model_id: required (e.g. "
                                       "anthropic.claude-3-haiku-20240307-v1:0)");
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return as_error_set(AS_EINVAL, "setting endpoint_url: '%.200s' is not an http(s) URL", url);
    if ((b = calloc(1, sizeof(*b))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (aws_setting_bool(settings, "stream", &b->stream) < 0) {
        free(b);
        return AS_EINVAL;
    }
    b->model_name = strdup(model_name);
    b->model_id = strdup(id);
    b->region_setting = region && *region ? strdup(region) : NULL;
    b->endpoint_url = url && *url ? strdup(url) : NULL;
    if (!b->model_name || !b->model_id || (region && *region && !b->region_setting) ||
        (url && *url && !b->endpoint_url)) {
        br_destroy(&b->base);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    *out = &b->base;
    return 0;
}

static int br_start(prov *p, const prov_run_info *info)
{
    br_prov *b = (br_prov *)p;
    int custom, rc;

    (void)info;
    if (b->started)
        return 0;
    if ((b->region = aws_region(b->region_setting)) == NULL ||
        (b->base_url = aws_endpoint(AWS_BEDROCK_RUNTIME, b->region, b->endpoint_url, &custom)) ==
            NULL)
        return as_error_wrap(AS_EINVAL, "model %s", b->model_name);
    if ((rc = aws_creds_from_env(&b->creds)) < 0)
        return as_error_wrap(rc, "model %s", b->model_name);
    b->started = 1;
    return 0;
}

static void state_reset(br_state *st)
{
    aws_evstream_free(&st->ev);
    aws_evstream_init(&st->ev, PROV_BODY_MAX);
    pc_stream_reset(&st->stream);
    st->started = 0;
    st->server_latency_ms = -1;
}

static int br_begin(prov *p, const prov_call *call, void **state)
{
    br_state *st;

    (void)p;
    (void)call;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    aws_evstream_init(&st->ev, PROV_BODY_MAX);
    pc_stream_init(&st->stream);
    st->server_latency_ms = -1;
    *state = st;
    return 0;
}

static void br_state_free(void *state)
{
    br_state *st = state;

    if (st == NULL)
        return;
    aws_evstream_free(&st->ev);
    pc_stream_free(&st->stream);
    free(st);
}

/* A message's content (a string or [{type:"text",text}]) as Converse
 * content blocks [{text}]. */
static json_t *content_blocks(const json_t *content)
{
    json_t *out = json_array(), *b;
    size_t i;

    if (out == NULL)
        return NULL;
    if (json_is_string(content)) {
        json_array_append_new(out, json_pack("{s:O}", "text", content));
        return out;
    }
    json_array_foreach(content, i, b) {
        json_t *t = json_object_get(b, "text");
        if (json_is_string(t))
            json_array_append_new(out, json_pack("{s:O}", "text", t));
    }
    return out;
}

/* The Converse request body for 'call'. */
static char *converse_body(const prov_call *call)
{
    json_t *body = json_object(), *msgs = json_array(), *sys = json_array(), *cfg = json_object();
    json_t *m, *v;
    const json_t *params = call->params;
    size_t i;
    char *text = NULL;

    if (!body || !msgs || !sys || !cfg)
        goto out;
    if (call->messages) {
        json_array_foreach(call->messages, i, m) {
            const char *role = json_string_value(json_object_get(m, "role"));
            json_t *blocks = content_blocks(json_object_get(m, "content"));
            if (blocks == NULL)
                goto out;
            if (role && strcmp(role, "system") == 0) {
                size_t k;
                json_t *blk;
                json_array_foreach(blocks, k, blk)
                    json_array_append(sys, blk);
                json_decref(blocks);
            } else {
                json_array_append_new(msgs, json_pack("{s:s,s:o}", "role",
                                                      role && strcmp(role, "assistant") == 0
                                                          ? "assistant" : "user",
                                                      "content", blocks));
            }
        }
    } else {
        json_array_append_new(msgs, json_pack("{s:s,s:[{s:s}]}", "role", "user", "content",
                                              "text", call->prompt));
    }
    json_object_set(body, "messages", msgs);
    if (json_array_size(sys) > 0)
        json_object_set(body, "system", sys);
    v = json_object_get(params, "max_tokens");
    if (json_is_integer(v))
        json_object_set(cfg, "maxTokens", v);
    v = json_object_get(params, "temperature");
    if (json_is_number(v))
        json_object_set(cfg, "temperature", v);
    v = json_object_get(params, "top_p");
    if (json_is_number(v))
        json_object_set(cfg, "topP", v);
    v = json_object_get(params, "stop");
    if (json_is_string(v))
        json_object_set_new(cfg, "stopSequences", json_pack("[O]", v));
    else if (json_is_array(v))
        json_object_set(cfg, "stopSequences", v);
    if (json_object_size(cfg) > 0)
        json_object_set(body, "inferenceConfig", cfg);
    text = as_json_dump(body);
out:
    json_decref(body);
    json_decref(msgs);
    json_decref(sys);
    json_decref(cfg);
    return text;
}

static int br_build_request(prov *p, const prov_call *call, void *state, prov_request *req)
{
    br_prov *b = (br_prov *)p;
    as_buf url;
    char *body;
    int rc;

    state_reset(state);
    if ((body = converse_body(call)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    as_buf_init(&url, 16384);
    rc = as_buf_printf(&url, "%s/model/", b->base_url);
    if (rc == 0)    /* ':' and '/' of ids and ARNs percent-encoded */
        rc = aws_uri_encode(&url, b->model_id, strlen(b->model_id), 0);
    if (rc == 0)
        rc = as_buf_puts(&url, b->stream ? "/converse-stream" : "/converse");
    if (rc < 0) {
        free(body);
        as_buf_free(&url);
        return rc;
    }
    memcpy(req->method, "POST", 5);
    req->url = as_buf_detach(&url);
    prov_request_take_body(req, body, strlen(body));
    req->stream = b->stream;
    rc = prov_request_add_header(req, "Content-Type: application/json");
    if (rc == 0)
        rc = prov_request_add_header(req, "Accept: %s", b->stream
                                                          ? "application/vnd.amazon.eventstream"
                                                          : "application/json");
    return rc;
}

static int br_sign(prov *p, void *state, prov_request *req)
{
    br_prov *b = (br_prov *)p;

    (void)state;
    return aws_prov_sign(req, &b->creds, b->region, AWS_BEDROCK_RUNTIME, (long long)time(NULL));
}

static void take_usage(const json_t *usage, int64_t *in, int64_t *out)
{
    json_t *i = json_object_get(usage, "inputTokens"), *o = json_object_get(usage, "outputTokens");

    if (json_is_integer(i))
        *in = json_integer_value(i);
    if (json_is_integer(o))
        *out = json_integer_value(o);
}

/* metrics.latencyMs: the latency Bedrock measured itself, or -1. */
static double take_latency(const json_t *metrics)
{
    json_t *l = json_object_get(metrics, "latencyMs");

    return json_is_number(l) && json_number_value(l) >= 0 ? json_number_value(l) : -1;
}

/* Stream exceptions that a later attempt may not meet again. */
static int exception_retry(const char *type, size_t n)
{
    static const char *const transient[] = {"throttlingException", "serviceUnavailableException",
                                            "internalServerException",
                                            "modelStreamErrorException", NULL};
    size_t i;

    for (i = 0; transient[i]; i++)
        if (strlen(transient[i]) == n && memcmp(transient[i], type, n) == 0)
            return PROV_RETRY_YES;
    return PROV_RETRY_NO;
}

static int on_event(void *ctx, const aws_ev_message *m)
{
    void **a = ctx;
    br_state *st = a[0];
    int *first = a[1];
    json_t *root = NULL;
    const char *type;
    size_t tn;
    int rc = 0;

    if (aws_ev_header_is(m, ":message-type", "exception")) {
        const char *msg = NULL;
        if (aws_ev_header_str(m, ":exception-type", &type, &tn) < 0) {
            type = "exception";
            tn = 9;
        }
        if (as_json_parse(&root, (const char *)m->payload, m->payload_len, "exception") == 0)
            msg = json_string_value(json_object_get(root, "message"));
        free(st->stream.stream_error);
        if (asprintf(&st->stream.stream_error, "%.*s: %.300s", (int)tn, type, msg ? msg : "no message") < 0)
            st->stream.stream_error = NULL;
        st->stream.stream_error_retry = exception_retry(type, tn);
        json_decref(root);
        return 0;
    }
    if (!aws_ev_header_is(m, ":message-type", "event")) {
        aws_ev_take_error(m, &st->stream.stream_error);
        return 0;
    }
    if (aws_ev_header_str(m, ":event-type", &type, &tn) < 0)
        return 0;
    if (as_json_parse(&root, (const char *)m->payload, m->payload_len, "event") < 0)
        return as_error_set(AS_EUPSTREAM, "bedrock: event %.*s is not JSON", (int)tn, type);
    /* the documented order: messageStart, content blocks, messageStop, metadata */
    if ((!st->started && !(tn == 12 && memcmp(type, "messageStart", tn) == 0)) ||
        (st->stream.stopped && !(tn == 8 && memcmp(type, "metadata", tn) == 0))) {
        json_decref(root);
        if (st->stream.stream_error == NULL &&
            asprintf(&st->stream.stream_error, "event %.*s out of order", (int)tn, type) < 0)
            st->stream.stream_error = NULL;
        return 0;
    }
    if (tn == 12 && memcmp(type, "messageStart", tn) == 0) {
        st->started = 1;
    } else if (tn == 17 && memcmp(type, "contentBlockDelta", tn) == 0) {
        json_t *t = json_object_get(json_object_get(root, "delta"), "text");
        if (json_is_string(t) && json_string_length(t) > 0) {
            rc = pc_stream_text(&st->stream, json_string_value(t), json_string_length(t), first);
        }
    } else if (tn == 11 && memcmp(type, "messageStop", tn) == 0) {
        json_t *r = json_object_get(root, "stopReason");
        st->stream.stopped = 1;
        if (json_is_string(r))
            pc_stream_set_stop(&st->stream, json_string_value(r));
    } else if (tn == 8 && memcmp(type, "metadata", tn) == 0) {
        take_usage(json_object_get(root, "usage"), &st->stream.in_tokens,
                   &st->stream.out_tokens);
        st->server_latency_ms = take_latency(json_object_get(root, "metrics"));
    }
    json_decref(root);
    return rc;
}

static int br_on_data(prov *p, void *state, const char *data, size_t len)
{
    br_state *st = state;
    int first = 0, rc;
    void *a[2] = {st, &first};

    (void)p;
    if ((rc = aws_evstream_feed(&st->ev, data, len, on_event, a)) < 0)
        return rc;
    return first ? PROV_DATA_FIRST_TOKEN : PROV_DATA_MORE;
}

static int parse_plain(const prov_call *call, const prov_response *resp, prov_result *res)
{
    json_t *root, *content;
    int64_t in = -1, out = -1;
    const char *r;

    if (pc_answer_json(&root, resp, res, "bedrock") < 0)
        return PROV_STEP_DONE;
    content = json_object_get(json_object_get(json_object_get(root, "output"), "message"),
                              "content");
    if (!json_is_array(content)) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO,
                         "bedrock: response has no output.message.content");
        json_decref(root);
        return PROV_STEP_DONE;
    }
    if (pc_blocks_output(res, content, NULL) < 0) {
        json_decref(root);
        return AS_ENOMEM;
    }
    r = json_string_value(json_object_get(root, "stopReason"));
    if (r)
        res->finish_reason = strdup(r);
    take_usage(json_object_get(root, "usage"), &in, &out);
    pc_fill_tokens(res, call, in, out);
    res->server_latency_ms = take_latency(json_object_get(root, "metrics"));
    json_decref(root);
    return PROV_STEP_DONE;
}

static int br_parse_response(prov *p, const prov_call *call, void *state,
                             const prov_response *resp, prov_result *res)
{
    br_prov *b = (br_prov *)p;
    br_state *st = state;
    int rc;

    if (resp->status < 200 || resp->status >= 300) {
        aws_prov_http_error(res, "bedrock", resp);
        return PROV_STEP_DONE;
    }
    if (!b->stream)
        return parse_plain(call, resp, res);
    if (aws_evstream_finish(&st->ev) < 0) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "bedrock: broken stream: %s",
                         as_error_msg());
        return PROV_STEP_DONE;
    }
    rc = pc_stream_finish(&st->stream, call, res, "bedrock", "messageStop");
    if (rc == PROV_STEP_DONE && res->error == 0)    /* only a complete answer has one */
        res->server_latency_ms = st->server_latency_ms;
    return rc;
}

const prov_vtable prov_bedrock = {
    .name = "bedrock",
    .summary = "Amazon Bedrock Converse/ConverseStream: --model-id ID [--region R] [--stream] "
               "[--endpoint-url URL]",
    .settings_keys = br_keys,
    .create = br_create,
    .start = br_start,
    .destroy = br_destroy,
    .begin = br_begin,
    .build_request = br_build_request,
    .sign = br_sign,
    .on_data = br_on_data,
    .parse_response = br_parse_response,
    .state_free = br_state_free,
};
