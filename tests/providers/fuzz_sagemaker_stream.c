/* Fuzz target for the sagemaker provider's streamed answers: the input is
 * the container's output (byte 0 picks the format and the slice size); it
 * is cut into valid PayloadPart event-stream frames and fed through the
 * provider's on_data and parse_response, so the line reassembly and the
 * TGI / LMI / OpenAI line parsing see arbitrary text. Nothing may crash or
 * leak, and an answer must be NUL-terminated UTF-8-capped output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "evaluator/provider.h"
#include "tests/providers/evframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static prov *providers[3];

static prov *make(const char *format)
{
    json_t *s = json_pack("{s:s,s:s,s:s,s:s,s:s}", "endpoint", "fz", "region", "us-east-1",
                          "endpoint_url", "http://127.0.0.1:9", "stream", "true", "format", format);
    prov *p = NULL;

    if (prov_create(&p, "sagemaker", "fz", s) < 0 || p->vt->start(p, NULL) < 0)
        abort();
    json_decref(s);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const hdrs[] = {":event-type", "PayloadPart", ":message-type", "event", NULL};
    static unsigned char frame[4096];
    prov_call call;
    prov_request req;
    prov_response resp;
    prov_result res;
    prov *p;
    void *st = NULL;
    size_t off, step;

    if (providers[0] == NULL) {
        setenv("AWS_ACCESS_KEY_ID", "AKIDFUZZ", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "fuzz", 1);
        providers[0] = make("tgi");
        providers[1] = make("lmi");
        providers[2] = make("openai");
    }
    if (size == 0 || size > 65536)
        return 0;
    p = providers[data[0] % 3];
    step = (size_t)(data[0] >> 2) % 61 + 1;
    data++;
    size--;
    memset(&call, 0, sizeof(call));
    memset(&req, 0, sizeof(req));
    call.case_id = "c";
    call.prompt = "fuzz";
    if (p->vt->begin(p, &call, &st) < 0 || p->vt->build_request(p, &call, st, &req) < 0)
        abort();
    for (off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        size_t len = ev_frame(frame, hdrs, (const char *)data + off, n);
        if (p->vt->on_data(p, st, (const char *)frame, len) < 0)
            break;
    }
    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.headers = "";
    resp.body = "";
    resp.stream_complete = 1;
    prov_result_init(&res);
    if (p->vt->parse_response(p, &call, st, &resp, &res) < 0)
        abort();
    if (res.error == 0 && (res.output == NULL || strlen(res.output) > res.output_len))
        abort();
    prov_result_clear(&res);
    prov_request_clear(&req);
    p->vt->state_free(st);
    return 0;
}
