/* The bedrock provider through the provider interface, without a network:
 * the Converse request (model id with ':' encoded in the path and double
 * encoded in the signature, system prompt, inferenceConfig), the answer,
 * ConverseStream events in order split at every byte, stream exceptions and
 * HTTP errors. */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "evaluator/provider.h"
#include "tests/providers/evframe.h"
#include "tests/providers/provtest.h"
#include "tests/test.h"

/* A started bedrock provider, or NULL. */
static prov *make(const char *settings_json)
{
    return pt_make("bedrock", "b1", settings_json);
}

static void bedrock__converse_request(void)
{
    prov *p = make("{\"model_id\":\"anthropic.claude-3-haiku-20240307-v1:0\",\"region\":\"us-west-2\"}");
    json_t *msgs = json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "system", "content", "Be brief.",
                             "role", "user", "content", "Hi");
    json_t *params = json_pack("{s:i,s:f,s:s}", "max_tokens", 50, "temperature", 0.5, "stop", "END");
    prov_call c;
    prov_request req;
    void *st = NULL;
    json_t *body;

    if (p == NULL) {
        T_CHECK(0);
        return;
    }
    memset(&c, 0, sizeof(c));
    memset(&req, 0, sizeof(req));
    c.prompt = "Be brief.\n\nHi";
    c.messages = msgs;
    c.params = params;
    T_OK(p->vt->begin(p, &c, &st));
    T_OK(p->vt->build_request(p, &c, st, &req));
    T_OK(p->vt->sign(p, st, &req));
    T_EQ_STR(req.url, "https://bedrock-runtime.us-west-2.amazonaws.com/model/"
                      "anthropic.claude-3-haiku-20240307-v1%3A0/converse");
    T_CHECK(strstr(pt_header(&req, "Authorization: "), "/us-west-2/bedrock/aws4_request") != NULL);
    T_EQ_STR(pt_header(&req, "Host: "), "bedrock-runtime.us-west-2.amazonaws.com");
    T_OK(as_json_parse(&body, req.body, req.body_len, "body"));
    T_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(body, "system"), 0),
                                               "text")), "Be brief.");
    T_EQ_INT(json_array_size(json_object_get(body, "messages")), 1);
    T_EQ_STR(json_string_value(json_object_get(
                 json_array_get(json_object_get(json_array_get(json_object_get(body, "messages"), 0),
                                                "content"), 0), "text")), "Hi");
    T_EQ_INT(json_integer_value(json_object_get(json_object_get(body, "inferenceConfig"), "maxTokens")), 50);
    T_EQ_STR(json_string_value(json_array_get(
                 json_object_get(json_object_get(body, "inferenceConfig"), "stopSequences"), 0)), "END");
    json_decref(body);
    prov_request_clear(&req);
    p->vt->state_free(st);
    json_decref(msgs);
    json_decref(params);
    prov_destroy(p);
}

static void bedrock__converse_answer_and_errors(void)
{
    prov *p = make("{\"model_id\":\"meta.llama3-8b-instruct-v1:0\",\"region\":\"us-east-1\"}");
    prov_call c;
    prov_result res;
    void *st = NULL;

    if (p == NULL) {
        T_CHECK(0);
        return;
    }
    memset(&c, 0, sizeof(c));
    c.prompt = "Q";
    p->vt->begin(p, &c, &st);
    pt_parse(p, &c, st, 200, NULL,
             "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"Par\"},"
             "{\"text\":\"is\"}]}},\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":12,"
             "\"outputTokens\":2,\"totalTokens\":14},\"metrics\":{\"latencyMs\":321}}", &res);
    T_EQ_INT(res.error, 0);
    T_EQ_STR(res.output, "Paris");
    T_EQ_STR(res.finish_reason, "end_turn");
    T_EQ_INT(res.prompt_tokens, 12);
    T_EQ_INT(res.completion_tokens, 2);
    T_EQ_INT(res.usage_estimated, 0);
    T_NEAR(res.server_latency_ms, 321, 0);     /* metrics.latencyMs */
    prov_result_clear(&res);
    /* an answer without metrics: the server latency is unknown */
    pt_parse(p, &c, st, 200, NULL,
             "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"x\"}]}},"
             "\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":1,\"outputTokens\":1}}", &res);
    T_EQ_INT(res.error, 0);
    T_NEAR(res.server_latency_ms, -1, 0);
    prov_result_clear(&res);
    pt_parse(p, &c, st, 429, "x-amzn-ErrorType: ThrottlingException:http://internal.amazon.com/coral/\r\n",
             "{\"message\":\"Too many requests, please wait before trying again.\"}", &res);
    T_EQ_INT(res.retry, PROV_RETRY_YES);
    T_CHECK(strstr(res.error_msg, "HTTP 429 ThrottlingException: Too many requests") != NULL);
    prov_result_clear(&res);
    pt_parse(p, &c, st, 400, "x-amzn-ErrorType: ValidationException\r\n",
             "{\"message\":\"The provided model identifier is invalid.\"}", &res);
    T_EQ_INT(res.retry, PROV_RETRY_NO);
    prov_result_clear(&res);
    p->vt->state_free(st);
    prov_destroy(p);
}

static size_t event(unsigned char *out, const char *type, const char *json)
{
    const char *h[] = {":event-type", type, ":content-type", "application/json",
                       ":message-type", "event", NULL};
    return ev_frame(out, h, json, strlen(json));
}

static size_t stream_ok(unsigned char *buf)
{
    size_t n = 0;

    n += event(buf + n, "messageStart", "{\"role\":\"assistant\"}");
    n += event(buf + n, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"Bon\"}}");
    n += event(buf + n, "contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"jour\"}}");
    n += event(buf + n, "contentBlockStop", "{\"contentBlockIndex\":0}");
    n += event(buf + n, "messageStop", "{\"stopReason\":\"max_tokens\"}");
    n += event(buf + n, "metadata", "{\"usage\":{\"inputTokens\":5,\"outputTokens\":2,"
                                    "\"totalTokens\":7},\"metrics\":{\"latencyMs\":99}}");
    return n;
}

static void run(prov *p, const unsigned char *buf, size_t len, size_t cut, prov_result *res,
                int *firsts)
{
    prov_call c;
    prov_request req;
    void *st = NULL;
    int r1, r2 = 0;

    memset(&c, 0, sizeof(c));
    memset(&req, 0, sizeof(req));
    c.prompt = "Q";
    p->vt->begin(p, &c, &st);
    p->vt->build_request(p, &c, st, &req);
    r1 = p->vt->on_data(p, st, (const char *)buf, cut);
    if (r1 >= 0)
        r2 = p->vt->on_data(p, st, (const char *)buf + cut, len - cut);
    *firsts = (r1 == PROV_DATA_FIRST_TOKEN) + (r2 == PROV_DATA_FIRST_TOKEN);
    if (r1 < 0 || r2 < 0) {
        prov_result_init(res);
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "on_data: %s", as_error_msg());
    } else {
        pt_parse(p, &c, st, 200, NULL, NULL, res);
    }
    T_CHECK(strstr(req.url, "/converse-stream") != NULL);
    prov_request_clear(&req);
    p->vt->state_free(st);
}

static void bedrock__converse_stream(void)
{
    prov *p = make("{\"model_id\":\"amazon.nova-lite-v1:0\",\"region\":\"us-east-1\",\"stream\":true}");
    static unsigned char buf[8192];
    size_t len, cut;
    prov_result res;
    int firsts;
    static const char *const exc[] = {":exception-type", "throttlingException", ":content-type",
                                      "application/json", ":message-type", "exception", NULL};
    static const char *const val[] = {":exception-type", "validationException",
                                      ":message-type", "exception", NULL};

    if (p == NULL) {
        T_CHECK(0);
        return;
    }
    len = stream_ok(buf);
    for (cut = 0; cut <= len; cut++) {
        run(p, buf, len, cut, &res, &firsts);
        T_EQ_INT(res.error, 0);
        T_EQ_STR(res.output, "Bonjour");
        T_EQ_STR(res.finish_reason, "max_tokens");
        T_EQ_INT(res.prompt_tokens, 5);
        T_EQ_INT(res.completion_tokens, 2);
        T_NEAR(res.server_latency_ms, 99, 0);  /* the metadata event's metrics */
        T_EQ_INT(firsts, 1);
        prov_result_clear(&res);
    }
    /* a throttling exception mid-stream is retried; validation is not */
    len = event(buf, "messageStart", "{\"role\":\"assistant\"}");
    len += ev_frame(buf + len, exc, "{\"message\":\"slow down\"}", 23);
    run(p, buf, len, 1, &res, &firsts);
    T_CHECK(res.error_msg && strstr(res.error_msg, "throttlingException: slow down"));
    T_EQ_INT(res.retry, PROV_RETRY_YES);
    prov_result_clear(&res);
    len = ev_frame(buf, val, "{\"message\":\"bad\"}", 17);
    run(p, buf, len, 0, &res, &firsts);
    T_EQ_INT(res.retry, PROV_RETRY_NO);
    prov_result_clear(&res);
    /* no messageStop: truncated */
    len = event(buf, "messageStart", "{\"role\":\"assistant\"}");
    len += event(buf + len, "contentBlockDelta", "{\"delta\":{\"text\":\"x\"}}");
    run(p, buf, len, 0, &res, &firsts);
    T_CHECK(res.error_msg && strstr(res.error_msg, "without messageStop"));
    prov_result_clear(&res);
    /* events out of the documented order */
    len = event(buf, "contentBlockDelta", "{\"delta\":{\"text\":\"x\"}}");
    run(p, buf, len, 0, &res, &firsts);
    T_CHECK(res.error_msg && strstr(res.error_msg, "contentBlockDelta out of order"));
    prov_result_clear(&res);
    len = stream_ok(buf);
    len += event(buf + len, "contentBlockDelta", "{\"delta\":{\"text\":\"late\"}}");
    run(p, buf, len, 3, &res, &firsts);
    T_CHECK(res.error_msg && strstr(res.error_msg, "out of order"));
    prov_result_clear(&res);
    prov_destroy(p);
}

int main(void)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME");
    T_RUN(bedrock__converse_request);
    T_RUN(bedrock__converse_answer_and_errors);
    T_RUN(bedrock__converse_stream);
    return t_done();
}
