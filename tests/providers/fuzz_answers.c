/* Fuzz target for what the bedrock, anthropic and sagemaker providers read
 * from their servers (sagemaker's streams have fuzz_sagemaker_stream.c).
 * Byte 0 picks the provider and whether it streams, byte 1 the HTTP status
 * and the slice size; the rest is the answer:
 * - a whole body (Converse, Messages, a TGI, LMI or OpenAI answer, or an
 *   error body) for parse_response;
 * - anthropic's SSE stream, fed to on_data in slices;
 * - bedrock's ConverseStream: each line is one event whose first byte picks
 *   the event or exception type and whose rest is the JSON payload, framed
 *   as valid event-stream messages and fed in slices; or, for one status
 *   choice, the raw bytes themselves as the stream;
 * - sagemaker's asynchronous flow: the first line is the output location
 *   the invocation answers with, the rest the DescribeEndpoint answer, then
 *   the failure object at the status (or, for the raw choice, the output
 *   object).
 * Nothing may crash or leak, an answer without an error must be
 * NUL-terminated output no longer than its length, and an error's message
 * one line of UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/utf8.h"
#include "evaluator/provider.h"
#include "tests/providers/evframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* bedrock, bedrock streaming, anthropic, anthropic streaming, sagemaker
 * with the tgi, lmi and openai formats, sagemaker asynchronous */
static prov *providers[8];

static prov *make(const char *kind, const char *settings_json)
{
    json_t *s;
    prov *p = NULL;

    if (as_json_parse(&s, settings_json, strlen(settings_json), "settings") < 0 ||
        prov_create(&p, kind, "fz", s) < 0 || p->vt->start(p, NULL) < 0)
        abort();
    json_decref(s);
    return p;
}

static void init(void)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDFUZZ", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "fuzz", 1);
    setenv("ANTHROPIC_API_KEY", "sk-fuzz", 1);
    providers[0] = make("bedrock", "{\"model_id\":\"m:0\",\"region\":\"us-east-1\"}");
    providers[1] = make("bedrock", "{\"model_id\":\"m:0\",\"region\":\"us-east-1\",\"stream\":true}");
    providers[2] = make("anthropic", "{\"model_id\":\"c\",\"base_url\":\"http://127.0.0.1:9\"}");
    providers[3] = make("anthropic", "{\"model_id\":\"c\",\"stream\":true,"
                                     "\"base_url\":\"http://127.0.0.1:9\"}");
    providers[4] = make("sagemaker", "{\"endpoint\":\"e\",\"region\":\"us-east-1\",\"format\":\"tgi\"}");
    providers[5] = make("sagemaker", "{\"endpoint\":\"e\",\"region\":\"us-east-1\",\"format\":\"lmi\"}");
    providers[6] = make("sagemaker", "{\"endpoint\":\"e\",\"region\":\"us-east-1\","
                                     "\"format\":\"openai\"}");
    providers[7] = make("sagemaker", "{\"endpoint\":\"e\",\"region\":\"us-east-1\","
                                     "\"async\":true,\"s3_input\":\"s3://in-bucket/p\","
                                     "\"async_poll\":0.01,\"async_timeout\":3600}");
}

static void check_result(const prov_result *res)
{
    if (res->error == 0 && (res->output == NULL || strlen(res->output) > res->output_len))
        abort();
    if (res->error != 0 && res->error_msg &&
        (!as_utf8_valid(res->error_msg, strlen(res->error_msg), NULL) ||
         strpbrk(res->error_msg, "\r\n")))
        abort();
}

/* One step of the asynchronous flow: build its request, parse 'status',
 * 'headers' and the NUL-terminated 'body'. Returns the parse's step. */
static int async_step(prov *p, prov_call *call, void *st, long status, const char *headers,
                      const char *body, size_t body_len)
{
    prov_request req;
    prov_response resp;
    prov_result res;
    int step;

    memset(&req, 0, sizeof(req));
    if (p->vt->build_request(p, call, st, &req) < 0) {
        prov_request_clear(&req);
        return -1;  /* an unusable location: refused before any request */
    }
    memset(&resp, 0, sizeof(resp));
    resp.status = status;
    resp.headers = headers;
    resp.body = body;
    resp.body_len = body_len;
    resp.stream_complete = 1;
    prov_result_init(&res);
    step = p->vt->parse_response(p, call, st, &resp, &res);
    if (step < 0)
        abort();
    if (step == PROV_STEP_DONE)
        check_result(&res);
    prov_result_clear(&res);
    prov_request_clear(&req);
    return step;
}

static void fuzz_async(const uint8_t *data, size_t size, long status, int output)
{
    static const char out_name[] = "X-Amzn-SageMaker-OutputLocation: ";
    static const char fail_line[] = "\r\nX-Amzn-SageMaker-FailureLocation: s3://b/f\r\n";
    prov *p = providers[7];
    prov_call call;
    void *st = NULL;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t loc_len = nl ? (size_t)(nl - data) : size;
    size_t rest = nl ? size - loc_len - 1 : 0;
    char *headers, *body;

    headers = malloc(sizeof(out_name) + loc_len + sizeof(fail_line));
    body = malloc(rest + 1);
    if (headers == NULL || body == NULL)
        abort();
    memcpy(headers, out_name, sizeof(out_name) - 1);
    memcpy(headers + sizeof(out_name) - 1, data, loc_len);
    memcpy(headers + sizeof(out_name) - 1 + loc_len, fail_line, sizeof(fail_line));
    memcpy(body, data + size - rest, rest);
    body[rest] = '\0';
    memset(&call, 0, sizeof(call));
    call.case_id = "c";
    call.prompt = "fuzz";
    if (p->vt->begin(p, &call, &st) < 0)
        abort();
    if (async_step(p, &call, st, 200, "", body, rest) == PROV_STEP_NEXT &&      /* describe */
        async_step(p, &call, st, 200, "", "", 0) == PROV_STEP_NEXT &&           /* upload */
        async_step(p, &call, st, 202, headers, "", 0) == PROV_STEP_NEXT) {      /* invoke */
        /* the output is missing; the failure object answers 'status' (the
         * body: a failure), or is missing too and the output is the body */
        if (async_step(p, &call, st, 404, "", "", 0) == PROV_STEP_NEXT &&
            async_step(p, &call, st, output ? 404 : status, "", body, rest) == PROV_STEP_NEXT)
            async_step(p, &call, st, 200, "", body, rest);
    }
    p->vt->state_free(st);
    free(headers);
    free(body);
}

/* Feed bedrock events, one per line of data, in slices of 'step' bytes.
 * Returns what the last on_data returned. */
static int feed_events(prov *p, void *st, const uint8_t *data, size_t size, size_t step)
{
    static const char *const types[] = {
        "messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop",
        "messageStop", "metadata", "throttlingException", "validationException",
        "modelStreamErrorException", "internalServerException"};
    static unsigned char frame[70000];
    size_t off = 0, i;

    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t end = nl ? (size_t)(nl - data) : size, len;
        size_t ti = (size_t)data[off] % (sizeof(types) / sizeof(types[0]));
        int exc = ti >= 6;
        const char *h[] = {exc ? ":exception-type" : ":event-type", types[ti],
                           ":content-type", "application/json",
                           ":message-type", exc ? "exception" : "event", NULL};

        len = ev_frame(frame, h, (const char *)data + off + (end > off), end > off ? end - off - 1 : 0);
        for (i = 0; i < len; i += step) {
            int r = p->vt->on_data(p, st, (const char *)frame + i, len - i < step ? len - i : step);
            if (r < 0)
                return r;
        }
        off = end + 1;
    }
    return 0;
}

static int feed_raw(prov *p, void *st, const uint8_t *data, size_t size, size_t step)
{
    size_t off;

    for (off = 0; off < size; off += step) {
        int r = p->vt->on_data(p, st, (const char *)data + off, size - off < step ? size - off : step);
        if (r < 0)
            return r;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 424, 400, 429, 500, 529, 200, 503};
    prov_call call;
    prov_request req;
    prov_response resp;
    prov_result res;
    char *body = NULL;
    prov *p;
    void *st = NULL;
    size_t step;
    long status;
    int which, raw, fed = 0;

    if (providers[0] == NULL)
        init();
    if (size < 2 || size > 65536)
        return 0;
    which = data[0] % 8;
    status = statuses[data[1] & 7];
    raw = (data[1] & 7) == 6;
    step = (size_t)(data[1] >> 3) * 3 + 1;
    data += 2;
    size -= 2;
    if (which == 7) {
        fuzz_async(data, size, status, raw);
        return 0;
    }
    p = providers[which];
    memset(&call, 0, sizeof(call));
    memset(&req, 0, sizeof(req));
    call.case_id = "c";
    call.prompt = "fuzz";
    if (p->vt->begin(p, &call, &st) < 0 || p->vt->build_request(p, &call, st, &req) < 0)
        abort();
    memset(&resp, 0, sizeof(resp));
    resp.status = status;
    resp.headers = status == 200 ? "" : "x-amzn-ErrorType: ThrottlingException:http://x/\r\n";
    resp.body = "";
    resp.stream_complete = 1;
    if ((which == 1 || which == 3) && status == 200) {
        if (which == 1 && !raw)
            fed = feed_events(p, st, data, size, step);
        else
            fed = feed_raw(p, st, data, size, step);
    } else {
        body = malloc(size + 1);
        if (body == NULL)
            abort();
        memcpy(body, data, size);
        body[size] = '\0';
        resp.body = body;
        resp.body_len = size;
    }
    prov_result_init(&res);
    if (fed >= 0) {
        if (p->vt->parse_response(p, &call, st, &resp, &res) < 0)
            abort();
        check_result(&res);
    }
    prov_result_clear(&res);
    prov_request_clear(&req);
    p->vt->state_free(st);
    free(body);
    return 0;
}
