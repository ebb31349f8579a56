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
 *   choice, the raw bytes themselves as the stream.
 * Nothing may crash or leak, and an answer without an error must be
 * NUL-terminated output no longer than its length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "evaluator/provider.h"
#include "tests/providers/evframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* bedrock, bedrock streaming, anthropic, anthropic streaming, sagemaker
 * with the tgi, lmi and openai formats */
static prov *providers[7];

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
    which = data[0] % 7;
    status = statuses[data[1] & 7];
    raw = (data[1] & 7) == 6;
    step = (size_t)(data[1] >> 3) * 3 + 1;
    data += 2;
    size -= 2;
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
        if (res.error == 0 && (res.output == NULL || strlen(res.output) > res.output_len))
            abort();
    }
    prov_result_clear(&res);
    prov_request_clear(&req);
    p->vt->state_free(st);
    free(body);
    return 0;
}
