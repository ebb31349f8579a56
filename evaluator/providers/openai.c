/* The openai provider: any OpenAI-compatible server (vLLM, TGI, llama.cpp
 * server, Ollama, OpenAI). Chat and completions, plain or streamed over
 * SSE with stream_options.include_usage; usage from whichever chunk carries
 * it, else counted locally and flagged as estimated; the error bodies of
 * OpenAI, vLLM (both shapes) and TGI (reference/PROVIDERS.md A1). Also
 * embeddings (POST /embeddings), for the cosine_embedding metric. */
#include "evaluator/provider.h"
#include "common/error.h"
#include "common/json.h"
#include "evaluator/providers/prov_common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct openai_prov {
    prov base;
    char *model_name;
    char *base_url;         /* without a trailing '/' */
    char *model_id;
    int chat;               /* 1: /chat/completions, 0: /completions */
    int stream;
    char *api_key_env;      /* the variable's name, or NULL */
    char *api_key;          /* read in start, memory only */
} openai_prov;

typedef struct openai_state {
    prov_sse sse;
    pc_stream stream;       /* stopped: saw [DONE]; stream_error: an error object mid-stream */
    int bad_chunk;          /* a data line that was not JSON */
} openai_state;

static const char *const openai_keys[] = {
    "base_url", "model_id", "api", "stream", "api_key_env", NULL
};

static void openai_destroy(prov *p)
{
    openai_prov *o = (openai_prov *)p;

    if (o == NULL)
        return;
    free(o->model_name);
    free(o->base_url);
    free(o->model_id);
    free(o->api_key_env);
    if (o->api_key) {
        memset(o->api_key, 0, strlen(o->api_key));
        free(o->api_key);
    }
    free(o);
}

static int openai_create(prov **out, const char *model_name, const json_t *settings)
{
    openai_prov *o;
    const char *base_url, *model_id, *api, *key_env;
    int rc;

    *out = NULL;
    if (aws_settings_check(settings, openai_keys, "openai") < 0 ||
        prov_setting_str(settings, "base_url", NULL, &base_url) < 0 ||
        prov_setting_str(settings, "model_id", "default", &model_id) < 0 ||
        prov_setting_str(settings, "api", "chat", &api) < 0 ||
        prov_setting_str(settings, "api_key_env", NULL, &key_env) < 0)
        return AS_EINVAL;
    if (base_url == NULL)
        return as_error_set(AS_EINVAL, "setting base_url: required (e.g. http://127.0.0.1:8000/v1)");
    if (strcmp(api, "chat") != 0 && strcmp(api, "completions") != 0)
        return as_error_set(AS_EINVAL, "setting api: '%s' is not chat or completions", api);
    if ((o = calloc(1, sizeof(*o))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    o->chat = strcmp(api, "chat") == 0;
    if ((rc = pc_base_url(&o->base_url, base_url, "setting base_url")) < 0 ||
        (rc = aws_setting_bool(settings, "stream", &o->stream)) < 0) {
        openai_destroy(&o->base);
        return rc;
    }
    o->model_name = strdup(model_name);
    o->model_id = strdup(model_id);
    o->api_key_env = key_env ? strdup(key_env) : NULL;
    if (!o->model_name || !o->model_id || (key_env && !o->api_key_env)) {
        openai_destroy(&o->base);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    *out = &o->base;
    return 0;
}

static int openai_start(prov *p, const prov_run_info *info)
{
    openai_prov *o = (openai_prov *)p;
    const char *v;

    (void)info;
    if (o->api_key_env == NULL || o->api_key)
        return 0;
    v = getenv(o->api_key_env);
    if (v == NULL || v[0] == '\0')
        return as_error_set(AS_EAUTH, "model %s: environment variable %s is not set",
                            o->model_name, o->api_key_env);
    if (prov_header_value_check(v, o->api_key_env) < 0)
        return as_error_wrap(AS_EAUTH, "model %s", o->model_name);
    if ((o->api_key = strdup(v)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    return 0;
}

static void state_reset(openai_state *st)
{
    prov_sse_free(&st->sse);
    prov_sse_init(&st->sse, PROV_BODY_MAX);
    pc_stream_reset(&st->stream);
    st->bad_chunk = 0;
}

static int openai_begin(prov *p, const prov_call *call, void **state)
{
    openai_state *st;

    (void)p;
    (void)call;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    prov_sse_init(&st->sse, PROV_BODY_MAX);
    pc_stream_init(&st->stream);
    *state = st;
    return 0;
}

static void openai_state_free(void *state)
{
    openai_state *st = state;

    if (st == NULL)
        return;
    prov_sse_free(&st->sse);
    pc_stream_free(&st->stream);
    free(st);
}

/* POST /embeddings {model, input: [texts], encoding_format: "float"}:
 * never streamed, whatever the model's stream setting. */
static int build_embeddings(openai_prov *o, const prov_call *call, prov_request *req)
{
    json_t *body = json_object(), *in = json_array();
    char *text, *url = NULL;
    size_t i;
    int rc;

    if (body == NULL || in == NULL) {
        json_decref(body);
        json_decref(in);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    for (i = 0; i < call->nembed; i++)
        json_array_append_new(in, json_string(call->embed_inputs[i]));
    json_object_set_new(body, "model", json_string(o->model_id));
    json_object_set_new(body, "input", in);
    json_object_set_new(body, "encoding_format", json_string("float"));
    text = as_json_dump(body);
    json_decref(body);
    if (text == NULL || asprintf(&url, "%s/embeddings", o->base_url) < 0) {
        free(text);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    memcpy(req->method, "POST", 5);
    req->url = url;
    prov_request_take_body(req, text, strlen(text));
    req->stream = 0;
    if ((rc = prov_request_add_header(req, "Content-Type: application/json")) < 0)
        return rc;
    if (o->api_key && (rc = prov_request_add_header(req, "Authorization: Bearer %s", o->api_key)) < 0)
        return rc;
    return 0;
}

static int openai_build_request(prov *p, const prov_call *call, void *state, prov_request *req)
{
    openai_prov *o = (openai_prov *)p;
    json_t *body = json_object(), *v;
    const char *key;
    char *text, *url = NULL;
    int rc = 0;

    if (state)
        state_reset(state);     /* a retry starts the stream over */
    if (body == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if (call->embed_inputs) {
        json_decref(body);
        return build_embeddings(o, call, req);
    }
    if (call->params)
        json_object_foreach((json_t *)call->params, key, v)
            json_object_set(body, key, v);
    json_object_set_new(body, "model", json_string(o->model_id));
    if (o->chat) {
        if (call->messages) {
            json_object_set(body, "messages", (json_t *)call->messages);
        } else {
            json_t *m = json_pack("[{s:s,s:s}]", "role", "user", "content", call->prompt);
            json_object_set_new(body, "messages", m);
        }
        json_object_del(body, "prompt");
    } else {
        json_object_set_new(body, "prompt", json_string(call->prompt));
        json_object_del(body, "messages");
    }
    json_object_set_new(body, "stream", json_boolean(o->stream));
    if (o->stream)
        json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    else
        json_object_del(body, "stream_options");   /* vLLM rejects it without stream */
    text = as_json_dump(body);
    json_decref(body);
    if (text == NULL || asprintf(&url, "%s/%s", o->base_url,
                                 o->chat ? "chat/completions" : "completions") < 0) {
        free(text);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    memcpy(req->method, "POST", 5);
    req->url = url;
    prov_request_take_body(req, text, strlen(text));
    req->stream = o->stream;
    if ((rc = prov_request_add_header(req, "Content-Type: application/json")) < 0)
        return rc;
    if (o->stream && (rc = prov_request_add_header(req, "Accept: text/event-stream")) < 0)
        return rc;
    if (o->api_key && (rc = prov_request_add_header(req, "Authorization: Bearer %s", o->api_key)) < 0)
        return rc;
    return 0;
}

static void take_usage(const json_t *usage, int64_t *in, int64_t *out)
{
    json_t *pt = json_object_get(usage, "prompt_tokens");
    json_t *ct = json_object_get(usage, "completion_tokens");

    if (json_is_integer(pt))
        *in = json_integer_value(pt);
    if (json_is_integer(ct))
        *out = json_integer_value(ct);
}

/* The message of an error body in any of the known shapes, or NULL;
 * *quota is set when it is an insufficient_quota error. */
static const char *error_message(const json_t *root, int *quota)
{
    json_t *e = json_object_get(root, "error");
    const char *msg = NULL, *code = NULL, *type = NULL;

    if (json_is_object(e)) {                       /* OpenAI, vLLM */
        msg = json_string_value(json_object_get(e, "message"));
        code = json_string_value(json_object_get(e, "code"));
        type = json_string_value(json_object_get(e, "type"));
    } else if (json_is_string(e)) {                /* TGI */
        msg = json_string_value(e);
        type = json_string_value(json_object_get(root, "error_type"));
    } else if (json_is_string(json_object_get(root, "object")) &&
               strcmp(json_string_value(json_object_get(root, "object")), "error") == 0) {
        msg = json_string_value(json_object_get(root, "message"));   /* older vLLM */
        type = json_string_value(json_object_get(root, "type"));
    }
    if ((code && strcmp(code, "insufficient_quota") == 0) ||
        (type && strcmp(type, "insufficient_quota") == 0))
        *quota = 1;
    return msg ? msg : type;
}

static int chunk_cb(void *arg, const char *event, const char *data, size_t len)
{
    void **a = arg;
    openai_prov *o = a[0];
    openai_state *st = a[1];
    int *first = a[2];
    json_t *root, *choices, *usage, *c0, *content = NULL, *fr;
    int quota = 0;

    (void)event;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        st->stream.stopped = 1;
        return 0;
    }
    if (as_json_parse(&root, data, len, "stream chunk") < 0) {
        st->bad_chunk = 1;
        return 0;
    }
    if (json_object_get(root, "error")) {
        const char *msg = error_message(root, &quota);
        free(st->stream.stream_error);
        st->stream.stream_error = strdup(msg ? msg : "error in stream");
        json_decref(root);
        return 0;
    }
    usage = json_object_get(root, "usage");
    if (json_is_object(usage))
        take_usage(usage, &st->stream.in_tokens, &st->stream.out_tokens);
    choices = json_object_get(root, "choices");
    c0 = json_is_array(choices) ? json_array_get(choices, 0) : NULL;
    if (c0) {
        if (o->chat)
            content = json_object_get(json_object_get(c0, "delta"), "content");
        else
            content = json_object_get(c0, "text");
        if (json_is_string(content) && json_string_length(content) > 0) {
            if (pc_stream_text(&st->stream, json_string_value(content),
                               json_string_length(content), first) < 0) {
                json_decref(root);
                return AS_ENOMEM;
            }
        }
        fr = json_object_get(c0, "finish_reason");
        if (json_is_string(fr))
            pc_stream_set_stop(&st->stream, json_string_value(fr));
    }
    json_decref(root);
    return 0;
}

static int openai_on_data(prov *p, void *state, const char *data, size_t len)
{
    int first = 0, rc;
    void *arg[3] = {p, state, &first};

    if ((rc = prov_sse_feed(&((openai_state *)state)->sse, data, len, chunk_cb, arg)) < 0)
        return rc;
    return first ? PROV_DATA_FIRST_TOKEN : PROV_DATA_MORE;
}

static int parse_error(const prov_response *resp, prov_result *res)
{
    json_t *root = NULL;
    const char *msg = NULL;
    int quota = 0, retry = PROV_RETRY_DEFAULT;

    if (resp->body_len > 0 && as_json_parse(&root, resp->body, resp->body_len, "error body") == 0)
        msg = error_message(root, &quota);
    if (quota)
        retry = PROV_RETRY_NO;
    if (msg)
        prov_result_fail(res, AS_EUPSTREAM, retry, "HTTP %ld: %.300s", resp->status, msg);
    else
        prov_result_fail(res, AS_EUPSTREAM, retry, "HTTP %ld: %.120s", resp->status,
                         resp->body_len ? resp->body : "(empty body)");
    json_decref(root);
    return PROV_STEP_DONE;
}

/* The JSON of a 2xx body into *root (caller frees); NULL with res failed
 * when it is cut, not JSON, or an error object. */
static void open_body(const prov_response *resp, prov_result *res, json_t **root)
{
    int quota = 0;

    *root = NULL;
    if (resp->body_truncated) {
        prov_result_fail(res, AS_ETOOBIG, PROV_RETRY_NO, "response body over %zu bytes",
                         (size_t)PROV_BODY_MAX);
        return;
    }
    if (as_json_parse(root, resp->body, resp->body_len, "response") < 0) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "response is not JSON: %s",
                         as_error_msg());
        *root = NULL;
        return;
    }
    if (json_object_get(*root, "error")) {
        const char *msg = error_message(*root, &quota);
        prov_result_fail(res, AS_EUPSTREAM, quota ? PROV_RETRY_NO : PROV_RETRY_YES,
                         "error: %.300s", msg ? msg : "unknown");
        json_decref(*root);
        *root = NULL;
    }
}

static int parse_plain(openai_prov *o, const prov_call *call, const prov_response *resp,
                       prov_result *res)
{
    json_t *root, *c0, *content, *usage, *fr;
    int64_t in = -1, out = -1;

    open_body(resp, res, &root);
    if (root == NULL)
        return PROV_STEP_DONE;
    c0 = json_array_get(json_object_get(root, "choices"), 0);
    content = o->chat ? json_object_get(json_object_get(c0, "message"), "content")
                      : json_object_get(c0, "text");
    if (c0 == NULL || !(json_is_string(content) || json_is_null(content))) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES,
                         "response has no choices[0].%s", o->chat ? "message.content" : "text");
        json_decref(root);
        return PROV_STEP_DONE;
    }
    if (prov_result_set_output(res, json_is_string(content) ? json_string_value(content) : "",
                               json_is_string(content) ? json_string_length(content) : 0) < 0) {
        json_decref(root);
        return AS_ENOMEM;
    }
    fr = json_object_get(c0, "finish_reason");
    if (json_is_string(fr))
        res->finish_reason = strdup(json_string_value(fr));
    usage = json_object_get(root, "usage");
    if (json_is_object(usage))
        take_usage(usage, &in, &out);
    pc_fill_tokens(res, call, in, out);
    json_decref(root);
    return PROV_STEP_DONE;
}

static int parse_stream(const prov_call *call, openai_state *st, prov_result *res)
{
    if (st->stream.stream_error) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "error in stream: %.300s",
                         st->stream.stream_error);
        return PROV_STEP_DONE;
    }
    if (!st->stream.stopped) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES,
                         "stream ended without [DONE] (truncated after %zu bytes of output)",
                         st->stream.text.buf.len);
        return PROV_STEP_DONE;
    }
    if (st->bad_chunk) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "stream chunk is not JSON");
        return PROV_STEP_DONE;
    }
    return pc_stream_result(&st->stream, call, res);
}

/* {data: [{index, embedding: [numbers]}...], usage: {prompt_tokens}}: one
 * vector per input, each index once, all of one length. */
static int parse_embeddings(const prov_call *call, const prov_response *resp, prov_result *res)
{
    json_t *root, *data, *d;
    unsigned char *seen = NULL;
    int64_t in = -1, out = -1;
    const char *why = NULL;
    size_t i, idx = 0;
    int rc = 0;

    open_body(resp, res, &root);
    if (root == NULL)
        return PROV_STEP_DONE;
    data = json_object_get(root, "data");
    if (!json_is_array(data) || json_array_size(data) != call->nembed) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO,
                         "embeddings response has %zu vectors in 'data' for %zu inputs",
                         json_array_size(data), call->nembed);
        json_decref(root);
        return PROV_STEP_DONE;
    }
    if ((seen = calloc(call->nembed, 1)) == NULL) {
        json_decref(root);
        return AS_ENOMEM;
    }
    json_array_foreach(data, i, d) {
        json_t *ix = json_object_get(d, "index");
        if (ix == NULL) {
            idx = i;
        } else if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
                   (uint64_t)json_integer_value(ix) >= call->nembed) {
            why = "has no valid index";
            break;
        } else {
            idx = (size_t)json_integer_value(ix);
        }
        if (seen[idx]) {
            why = "repeats an index";
            break;
        }
        seen[idx] = 1;
        if ((rc = pc_take_vector(res, json_object_get(d, "embedding"), idx, call->nembed, &why)) != 0)
            break;
    }
    free(seen);
    if (rc < 0) {
        json_decref(root);
        return rc;
    }
    if (why) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO, "embeddings response: data[%zu] %s",
                         i, why);
        json_decref(root);
        return PROV_STEP_DONE;
    }
    res->nvectors = call->nembed;
    if (json_is_object(json_object_get(root, "usage")))
        take_usage(json_object_get(root, "usage"), &in, &out);
    pc_fill_tokens(res, call, in, 0);
    json_decref(root);
    return PROV_STEP_DONE;
}

static int openai_parse_response(prov *p, const prov_call *call, void *state,
                                 const prov_response *resp, prov_result *res)
{
    openai_prov *o = (openai_prov *)p;
    openai_state *st = state;

    if (resp->status < 200 || resp->status >= 300)
        return parse_error(resp, res);
    if (call->embed_inputs)
        return parse_embeddings(call, resp, res);
    if (o->stream) {
        int first = 0;
        void *arg[3] = {p, st, &first};
        if (prov_sse_finish(&st->sse, chunk_cb, arg) < 0)
            return AS_ENOMEM;
        return parse_stream(call, st, res);
    }
    return parse_plain(o, call, resp, res);
}

const prov_vtable prov_openai = {
    .name = "openai",
    .summary = "any OpenAI-compatible server (vLLM, TGI, llama.cpp, Ollama, OpenAI): "
               "--base-url URL --model-id ID [--api chat|completions] [--stream] [--api-key-env VAR]",
    .settings_keys = openai_keys,
    .embeds = 1,
    .create = openai_create,
    .start = openai_start,
    .destroy = openai_destroy,
    .begin = openai_begin,
    .build_request = openai_build_request,
    .on_data = openai_on_data,
    .parse_response = openai_parse_response,
    .state_free = openai_state_free,
};
