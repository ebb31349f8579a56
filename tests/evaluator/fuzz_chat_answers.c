/* Fuzz target: what a server sends to the openai and ollama providers.
 * The first byte picks the provider and the mode: bit 2 set, ollama, else
 * openai; then even, the rest is a streamed body (SSE, NDJSON) fed in two
 * splits then parsed; 1 (mod 4), it is a plain response body (status 200,
 * then 500); 3 (mod 4), the answer to an embedding call of two inputs.
 * Nothing may crash, leak or read out of bounds, an output is never longer
 * than PROV_OUTPUT_MAX, and an embedding answer that is taken has two
 * vectors of one length, every number finite. */
#include "evaluator/provider.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_vectors(const prov_result *res)
{
    size_t i;

    if (res->error) {
        if (res->vectors || res->nvectors)
            abort();
        return;
    }
    if (res->nvectors != 2 || res->dim == 0 || res->dim > 65536 || res->vectors == NULL)
        abort();
    for (i = 0; i < 2 * res->dim; i++)
        if (!(res->vectors[i] - res->vectors[i] == 0))
            abort();
}

static void run(const char *provider, const uint8_t *data, size_t size, int stream, int embed)
{
    static const char *const inputs[] = {"an output", "the reference"};
    json_t *settings = json_pack("{s:s,s:s,s:s}", "base_url", "http://127.0.0.1:9/v1", "stream",
                                 stream ? "true" : "false", "model_id", "m");
    prov *p = NULL;
    prov_call call;
    prov_request req;
    prov_response resp;
    prov_result res;
    void *st = NULL;
    char *body = malloc(size + 1);

    memset(&call, 0, sizeof(call));
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    call.case_id = "c";
    call.prompt = "hello there";
    if (embed) {
        call.embed_inputs = inputs;
        call.nembed = 2;
    }
    if (body == NULL || prov_create(&p, provider, "m", settings) < 0 ||
        p->vt->begin(p, &call, &st) < 0 || p->vt->build_request(p, &call, st, &req) < 0)
        goto out;
    memcpy(body, data, size);
    body[size] = '\0';
    resp.headers = "";
    resp.status = 200;
    if (stream) {
        size_t cut = size / 2;
        if (p->vt->on_data(p, st, body, cut) >= 0)
            p->vt->on_data(p, st, body + cut, size - cut);
        resp.body = "";
    } else {
        resp.body = body;
        resp.body_len = size;
    }
    prov_result_init(&res);
    p->vt->parse_response(p, &call, st, &resp, &res);
    if (res.output && res.output_len > PROV_OUTPUT_MAX)
        abort();
    if (embed)
        check_vectors(&res);
    prov_result_clear(&res);
    if (!stream) {
        resp.status = 500;
        p->vt->parse_response(p, &call, st, &resp, &res);
        prov_result_clear(&res);
    }
out:
    prov_request_clear(&req);
    if (p && st)
        p->vt->state_free(st);
    prov_destroy(p);
    json_decref(settings);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    run(data[0] & 4 ? "ollama" : "openai", data + 1, size - 1, (data[0] & 1) == 0,
        (data[0] & 3) == 3);
    return 0;
}
