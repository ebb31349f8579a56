/* The anthropic provider through the provider interface, without a
 * network: the Messages request (system, max_tokens always, headers), the
 * answer, the SSE stream split at every byte with cumulative usage,
 * overloaded_error mid-stream, and HTTP 529/429/400. */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "evaluator/provider.h"
#include "tests/providers/provtest.h"
#include "tests/test.h"

/* A started anthropic provider, or NULL. */
static prov *make(const char *settings_json)
{
    return pt_make("anthropic", "a1", settings_json);
}

/* A complete response with no headers to parse_response. */
static int parse(prov *p, prov_call *c, void *st, long status, const char *body, prov_result *res)
{
    return pt_parse(p, c, st, status, NULL, body, res);
}

static void anthropic__request(void)
{
    prov *p;
    json_t *msgs = json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "system", "content", "Judge fairly.",
                             "role", "user", "content", "Rate this.");
    json_t *params = json_pack("{s:f}", "temperature", 0.0);
    prov_call c;
    prov_request req;
    void *st = NULL;
    json_t *body;

    unsetenv("ANTHROPIC_API_KEY");
    T_CHECK(make("{\"model_id\":\"claude-3-5-haiku-latest\"}") == NULL);   /* no key */
    T_CHECK(strstr(as_error_msg(), "ANTHROPIC_API_KEY") != NULL);
    setenv("ANTHROPIC_API_KEY", "sk-test-123", 1);
    setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:7/", 1);
    p = make("{\"model_id\":\"claude-3-5-haiku-latest\"}");
    if (p == NULL) {
        T_CHECK(0);
        return;
    }
    memset(&c, 0, sizeof(c));
    memset(&req, 0, sizeof(req));
    c.prompt = "Judge fairly.\n\nRate this.";
    c.messages = msgs;
    c.params = params;
    T_OK(p->vt->begin(p, &c, &st));
    T_OK(p->vt->build_request(p, &c, st, &req));
    T_EQ_STR(req.url, "http://127.0.0.1:7/v1/messages");
    T_EQ_STR(pt_header(&req, "x-api-key: "), "sk-test-123");
    T_EQ_STR(pt_header(&req, "anthropic-version: "), "2023-06-01");
    T_OK(as_json_parse(&body, req.body, req.body_len, "body"));
    T_EQ_STR(json_string_value(json_object_get(body, "system")), "Judge fairly.");
    T_EQ_INT(json_integer_value(json_object_get(body, "max_tokens")), 1024);
    T_EQ_INT(json_array_size(json_object_get(body, "messages")), 1);
    T_CHECK(json_object_get(body, "stream") == NULL);
    json_decref(body);
    prov_request_clear(&req);
    {
        prov_result res;
        parse(p, &c, st, 200,
              "{\"content\":[{\"type\":\"text\",\"text\":\"Score: 8\"}],\"stop_reason\":"
              "\"end_turn\",\"usage\":{\"input_tokens\":20,\"output_tokens\":4}}", &res);
        T_EQ_STR(res.output, "Score: 8");
        T_EQ_INT(res.prompt_tokens, 20);
        T_EQ_INT(res.completion_tokens, 4);
        T_EQ_STR(res.finish_reason, "end_turn");
        prov_result_clear(&res);
        parse(p, &c, st, 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                              "\"message\":\"Overloaded\"}}", &res);
        T_EQ_INT(res.retry, PROV_RETRY_YES);
        T_CHECK(strstr(res.error_msg, "HTTP 529 overloaded_error: Overloaded") != NULL);
        prov_result_clear(&res);
        parse(p, &c, st, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
                              "\"message\":\"slow\"}}", &res);
        T_EQ_INT(res.retry, PROV_RETRY_YES);
        prov_result_clear(&res);
        parse(p, &c, st, 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                              "\"message\":\"max_tokens: too big\"}}", &res);
        T_EQ_INT(res.retry, PROV_RETRY_NO);
        T_CHECK(strstr(res.error_msg, "sk-test") == NULL);
        prov_result_clear(&res);
    }
    p->vt->state_free(st);
    json_decref(msgs);
    json_decref(params);
    prov_destroy(p);
    unsetenv("ANTHROPIC_BASE_URL");
}

static const char sse_ok[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
    "\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Hello\"}}\n\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" there\"}}\r\n\r\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

static void run(prov *p, const char *s, size_t len, size_t cut, prov_result *res, int *firsts)
{
    prov_call c;
    prov_request req;
    void *st = NULL;
    int r1, r2;

    memset(&c, 0, sizeof(c));
    memset(&req, 0, sizeof(req));
    c.prompt = "Q";
    p->vt->begin(p, &c, &st);
    p->vt->build_request(p, &c, st, &req);
    T_CHECK(strstr(req.body, "\"stream\"") != NULL);
    r1 = p->vt->on_data(p, st, s, cut);
    r2 = p->vt->on_data(p, st, s + cut, len - cut);
    *firsts = (r1 == PROV_DATA_FIRST_TOKEN) + (r2 == PROV_DATA_FIRST_TOKEN);
    parse(p, &c, st, 200, NULL, res);
    prov_request_clear(&req);
    p->vt->state_free(st);
}

static void anthropic__stream(void)
{
    prov *p;
    prov_result res;
    size_t cut, len = strlen(sse_ok);
    int firsts;
    static const char overloaded[] =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
        "{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
        "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", "
        "\"message\": \"Overloaded\"}}\n\n";

    setenv("ANTHROPIC_API_KEY", "sk-test-123", 1);
    p = make("{\"model_id\":\"claude\",\"stream\":true,\"base_url\":\"http://127.0.0.1:7\"}");
    if (p == NULL) {
        T_CHECK(0);
        return;
    }
    for (cut = 0; cut <= len; cut++) {
        run(p, sse_ok, len, cut, &res, &firsts);
        T_EQ_INT(res.error, 0);
        T_EQ_STR(res.output, "Hello there");
        T_EQ_INT(res.prompt_tokens, 25);
        T_EQ_INT(res.completion_tokens, 7);     /* cumulative, not summed */
        T_EQ_STR(res.finish_reason, "end_turn");
        T_EQ_INT(firsts, 1);
        prov_result_clear(&res);
    }
    run(p, overloaded, strlen(overloaded), 10, &res, &firsts);
    T_EQ_INT(res.error, AS_EUPSTREAM);
    T_EQ_INT(res.retry, PROV_RETRY_YES);
    T_CHECK(strstr(res.error_msg, "overloaded_error: Overloaded") != NULL);
    prov_result_clear(&res);
    run(p, sse_ok, len - 40, 0, &res, &firsts);    /* cut before message_stop */
    T_CHECK(res.error_msg && strstr(res.error_msg, "without message_stop"));
    prov_result_clear(&res);
    prov_destroy(p);
}

int main(void)
{
    T_RUN(anthropic__request);
    T_RUN(anthropic__stream);
    return t_done();
}
