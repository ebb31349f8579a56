/* The ollama provider: Ollama's native API (reference/PROVIDERS.md,
 * addenda), for the figures its OpenAI-compatible endpoint leaves out:
 * exact prompt and output token counts (prompt_eval_count, eval_count) and
 * the server's own time for the call (total_duration, kept as
 * server_latency_ms). POST /api/chat, plain or streamed as NDJSON (one
 * JSON object a line, the last with "done": true); POST /api/embed for the
 * cosine_embedding metric. Generation params go into "options", max_tokens
 * as num_predict. */
#include "evaluator/provider.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "evaluator/providers/prov_common.h"

#include <stdlib.h>
#include <string.h>

/* A line of a streamed answer is one small JSON object; a longer one is
 * not Ollama's. */
#define OLLAMA_LINE_MAX ((size_t)1 << 20)

typedef struct ollama_prov {
    prov base;
    char *model_name;
    char *base_url;         /* without a trailing '/' */
    char *model_id;
    int stream;
} ollama_prov;

typedef struct ollama_state {
    as_buf line;            /* a streamed line not yet ended */
    pc_stream stream;       /* stopped: saw "done": true */
    int bad_line;           /* a line that was not JSON, or over OLLAMA_LINE_MAX */
    double server_ms;       /* total_duration in ms, or -1 */
} ollama_state;

static const char *const ollama_keys[] = {"base_url", "model_id", "stream", NULL};

static void ollama_destroy(prov *p)
{
    ollama_prov *o = (ollama_prov *)p;

    if (o == NULL)
        return;
    free(o->model_name);
    free(o->base_url);
    free(o->model_id);
    free(o);
}

static int ollama_create(prov **out, const char *model_name, const json_t *settings)
{
    ollama_prov *o;
    const char *base_url, *model_id;
    int rc;

    *out = NULL;
    if (aws_settings_check(settings, ollama_keys, "ollama") < 0 ||
        prov_setting_str(settings, "base_url", "http://127.0.0.1:11434", &base_url) < 0 ||
        prov_setting_str(settings, "model_id", NULL, &model_id) < 0)
        return AS_EINVAL;
    if (model_id == NULL || model_id[0] == '\0')
        return as_error_set(AS_EINVAL, "setting model_id: required (the Ollama model, e.g. llama3.2)");
    if ((o = calloc(1, sizeof(*o))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = pc_base_url(&o->base_url, base_url, "setting base_url")) < 0 ||
        (rc = aws_setting_bool(settings, "stream", &o->stream)) < 0) {
        ollama_destroy(&o->base);
        return rc;
    }
    o->model_name = strdup(model_name);
    o->model_id = strdup(model_id);
    if (!o->model_name || !o->model_id) {
        ollama_destroy(&o->base);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    *out = &o->base;
    return 0;
}

static void state_reset(ollama_state *st)
{
    as_buf_reset(&st->line);
    pc_stream_reset(&st->stream);
    st->bad_line = 0;
    st->server_ms = -1;
}

static int ollama_begin(prov *p, const prov_call *call, void **state)
{
    ollama_state *st;

    (void)p;
    (void)call;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    as_buf_init(&st->line, OLLAMA_LINE_MAX);
    pc_stream_init(&st->stream);
    st->server_ms = -1;
    *state = st;
    return 0;
}

static void ollama_state_free(void *state)
{
    ollama_state *st = state;

    if (st == NULL)
        return;
    as_buf_free(&st->line);
    pc_stream_free(&st->stream);
    free(st);
}

/* The call's params as Ollama options: max_tokens (or
 * max_completion_tokens) becomes num_predict, the rest is passed as is. */
static json_t *options_of(const json_t *params)
{
    json_t *opts = json_object(), *v;
    const char *key;

    if (opts == NULL || params == NULL)
        return opts;
    json_object_foreach((json_t *)params, key, v) {
        if (strcmp(key, "max_tokens") == 0 || strcmp(key, "max_completion_tokens") == 0)
            json_object_set(opts, "num_predict", v);
        else
            json_object_set(opts, key, v);
    }
    return opts;
}

static int ollama_build_request(prov *p, const prov_call *call, void *state, prov_request *req)
{
    ollama_prov *o = (ollama_prov *)p;
    json_t *body = json_object();
    char *text, *url = NULL;
    size_t i;
    int rc;

    if (state)
        state_reset(state);     /* a retry starts the stream over */
    if (body == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    json_object_set_new(body, "model", json_string(o->model_id));
    if (call->embed_inputs) {
        json_t *in = json_array();
        for (i = 0; i < call->nembed; i++)
            json_array_append_new(in, json_string(call->embed_inputs[i]));
        json_object_set_new(body, "input", in);
    } else {
        if (call->messages)
            json_object_set(body, "messages", (json_t *)call->messages);
        else
            json_object_set_new(body, "messages", json_pack("[{s:s,s:s}]", "role", "user",
                                                            "content", call->prompt));
        json_object_set_new(body, "options", options_of(call->params));
        json_object_set_new(body, "stream", json_boolean(o->stream));
    }
    text = as_json_dump(body);
    json_decref(body);
    if (text == NULL || asprintf(&url, "%s/api/%s", o->base_url,
                                 call->embed_inputs ? "embed" : "chat") < 0) {
        free(text);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    memcpy(req->method, "POST", 5);
    req->url = url;
    prov_request_take_body(req, text, strlen(text));
    req->stream = o->stream && call->embed_inputs == NULL;
    if ((rc = prov_request_add_header(req, "Content-Type: application/json")) < 0)
        return rc;
    return 0;
}

/* The message of an error object: {"error": "..."} (Ollama) or
 * {"error": {"message": "..."}}; NULL when 'root' is no error. */
static const char *error_of(const json_t *root)
{
    const json_t *e = json_object_get(root, "error");

    if (json_is_string(e))
        return json_string_value(e);
    if (json_is_object(e)) {
        const char *m = json_string_value(json_object_get(e, "message"));
        return m ? m : "error";
    }
    return e ? "error" : NULL;
}

/* The figures of a final object: token counts, stop reason, server time. */
static void take_final(ollama_state *st, const json_t *root)
{
    const json_t *pe = json_object_get(root, "prompt_eval_count");
    const json_t *ec = json_object_get(root, "eval_count");
    const json_t *td = json_object_get(root, "total_duration");
    const json_t *dr = json_object_get(root, "done_reason");

    if (json_is_integer(pe) && json_integer_value(pe) >= 0)
        st->stream.in_tokens = json_integer_value(pe);
    if (json_is_integer(ec) && json_integer_value(ec) >= 0)
        st->stream.out_tokens = json_integer_value(ec);
    if (json_is_number(td) && json_number_value(td) >= 0)
        st->server_ms = json_number_value(td) / 1e6;
    if (json_is_string(dr))
        pc_stream_set_stop(&st->stream, json_string_value(dr));
}

/* One object of an answer: a line of a stream, or a whole plain answer. */
static int take_object(ollama_state *st, const json_t *root, int *first)
{
    const json_t *content = json_object_get(json_object_get(root, "message"), "content");
    const char *err = error_of(root);
    int rc = 0;

    if (err != NULL) {
        free(st->stream.stream_error);
        st->stream.stream_error = strdup(err);
        return 0;
    }
    if (json_is_string(content) && json_string_length(content) > 0)
        rc = pc_stream_text(&st->stream, json_string_value(content), json_string_length(content),
                            first);
    if (json_is_true(json_object_get(root, "done"))) {
        st->stream.stopped = 1;
        take_final(st, root);
    }
    return rc;
}

/* One line of a streamed answer. */
static int take_line(ollama_state *st, const char *data, size_t len, int *first)
{
    json_t *root;
    int rc;

    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == ' '))
        len--;
    if (len == 0)
        return 0;
    if (as_json_parse(&root, data, len, "stream line") < 0) {
        st->bad_line = 1;
        return 0;
    }
    rc = take_object(st, root, first);
    json_decref(root);
    return rc;
}

static int ollama_on_data(prov *p, void *state, const char *data, size_t len)
{
    ollama_state *st = state;
    int first = 0, rc;

    (void)p;
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        if (!st->bad_line && as_buf_append(&st->line, data, n) < 0) {
            st->bad_line = 1;   /* over the cap: not an Ollama answer */
            as_buf_reset(&st->line);
        }
        if (nl == NULL)
            break;
        if (!st->bad_line &&
            (rc = take_line(st, st->line.data ? st->line.data : "", st->line.len, &first)) < 0)
            return rc;
        as_buf_reset(&st->line);
        data += n + 1;
        len -= n + 1;
    }
    return first ? PROV_DATA_FIRST_TOKEN : PROV_DATA_MORE;
}

/* {"embeddings": [[numbers]...], "prompt_eval_count"}: one vector per
 * input, in their order, all of one length. */
static int parse_embed(const prov_call *call, const json_t *root, prov_result *res)
{
    const json_t *embs = json_object_get(root, "embeddings"), *pe;
    const char *why = NULL;
    size_t i;
    int rc = 0;

    if (!json_is_array(embs) || json_array_size(embs) != call->nembed) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO,
                         "ollama: embed response has %zu vectors in 'embeddings' for %zu inputs",
                         json_array_size(embs), call->nembed);
        return PROV_STEP_DONE;
    }
    for (i = 0; i < call->nembed && rc == 0; i++)
        rc = pc_take_vector(res, json_array_get(embs, i), i, call->nembed, &why);
    if (rc < 0)
        return rc;
    if (why) {
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO, "ollama: embed response: "
                         "embeddings[%zu] %s", i - 1, why);
        return PROV_STEP_DONE;
    }
    res->nvectors = call->nembed;
    pe = json_object_get(root, "prompt_eval_count");
    pc_fill_tokens(res, call, json_is_integer(pe) ? json_integer_value(pe) : -1, 0);
    return PROV_STEP_DONE;
}

static int ollama_parse_response(prov *p, const prov_call *call, void *state,
                                 const prov_response *resp, prov_result *res)
{
    ollama_prov *o = (ollama_prov *)p;
    ollama_state *st = state;
    json_t *root = NULL;
    const char *err;
    int first = 0, rc;

    if (resp->status < 200 || resp->status >= 300) {
        if (resp->body_len > 0 && as_json_parse(&root, resp->body, resp->body_len, "error") == 0 &&
            (err = error_of(root)) != NULL)
            prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_DEFAULT, "HTTP %ld: %.300s",
                             resp->status, err);
        else
            prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_DEFAULT, "HTTP %ld: %.120s",
                             resp->status, resp->body_len ? resp->body : "(empty body)");
        json_decref(root);
        return PROV_STEP_DONE;
    }
    if (o->stream && call->embed_inputs == NULL) {
        if (!st->bad_line && st->line.len > 0 &&
            (rc = take_line(st, st->line.data, st->line.len, &first)) < 0)
            return rc;
        if (st->bad_line) {
            prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "ollama: a stream line is not JSON");
            return PROV_STEP_DONE;
        }
    } else {
        if (pc_answer_json(&root, resp, res, "ollama") < 0)
            return PROV_STEP_DONE;
        if ((err = error_of(root)) != NULL) {
            prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "ollama: error: %.300s", err);
            json_decref(root);
            return PROV_STEP_DONE;
        }
        if (call->embed_inputs) {
            rc = parse_embed(call, root, res);
            json_decref(root);
            return rc;
        }
        if (!json_is_string(json_object_get(json_object_get(root, "message"), "content"))) {
            prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES,
                             "ollama: response has no message.content");
            json_decref(root);
            return PROV_STEP_DONE;
        }
        rc = take_object(st, root, &first);
        json_decref(root);
        if (rc < 0)
            return rc;
        st->stream.stopped = 1;     /* a whole answer, "done" or not */
    }
    if ((rc = pc_stream_finish(&st->stream, call, res, "ollama", "\"done\": true")) < 0)
        return rc;
    if (res->error == 0)
        res->server_latency_ms = st->server_ms;
    return rc;
}

const prov_vtable prov_ollama = {
    .name = "ollama",
    .summary = "Ollama's native API, with exact token counts and server timings: "
               "--model-id NAME [--base-url http://127.0.0.1:11434] [--stream]",
    .settings_keys = ollama_keys,
    .embeds = 1,
    .create = ollama_create,
    .destroy = ollama_destroy,
    .begin = ollama_begin,
    .build_request = ollama_build_request,
    .on_data = ollama_on_data,
    .parse_response = ollama_parse_response,
    .state_free = ollama_state_free,
};
