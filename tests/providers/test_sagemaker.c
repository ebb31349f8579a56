/* The sagemaker provider through the provider interface, without a network:
 * request building and signing, both answer shapes, the response stream
 * (event-stream frames holding arbitrary slices of TGI SSE / LMI JSON
 * lines, split at every byte), stream exceptions, HTTP errors, and the
 * asynchronous step machine driven with canned S3 and SageMaker answers. */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "evaluator/provider.h"
#include "tests/providers/evframe.h"
#include "tests/providers/provtest.h"
#include "tests/test.h"

/* A started sagemaker provider, or NULL. */
static prov *make(const char *settings_json)
{
    return pt_make("sagemaker", "m1", settings_json);
}

static prov_call call_for(const char *prompt, json_t *params)
{
    prov_call c;

    memset(&c, 0, sizeof(c));
    c.case_id = "c1";
    c.prompt = prompt;
    c.params = params;
    return c;
}

static void sagemaker__settings_validated(void)
{
    json_t *s;
    prov *p = NULL;

    s = json_pack("{s:s}", "endpoint", "bad_name!");
    T_ERR(prov_create(&p, "sagemaker", "m", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "endpoint", "e1", "format", "xml");
    T_ERR(prov_create(&p, "sagemaker", "m", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s,s:b}", "endpoint", "e1", "async", 1);
    T_ERR(prov_create(&p, "sagemaker", "m", s), AS_EINVAL);     /* async needs s3_input */
    T_CHECK(strstr(as_error_msg(), "s3_input") != NULL);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "endpoint", "e1", "custom_attributes", "a\r\nX-Evil: 1");
    T_ERR(prov_create(&p, "sagemaker", "m", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "endpoint", "e1", "api_key", "x");
    T_ERR(prov_create(&p, "sagemaker", "m", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "endpoint", "e1", "region", "us-east-1");
    T_OK(prov_create(&p, "sagemaker", "m", s));
    prov_destroy(p);
    json_decref(s);
}

/* Real time, TGI payload: inputs/parameters, return_full_text false,
 * details true, temperature 0 as greedy, SigV4 for "sagemaker". */
static void sagemaker__tgi_request_and_signature(void)
{
    prov *p = make("{\"endpoint\":\"llama-3-8b\",\"region\":\"eu-west-1\","
                   "\"endpoint_url\":\"http://127.0.0.1:9\"}");
    json_t *params = json_pack("{s:i,s:f,s:s}", "max_tokens", 64, "temperature", 0.0, "stop", "\n");
    prov_call c = call_for("Say hi", params);
    prov_request req;
    void *st = NULL;
    json_t *body;
    const char *a;

    T_CHECK(p != NULL);
    if (p == NULL)
        return;
    memset(&req, 0, sizeof(req));
    T_OK(p->vt->begin(p, &c, &st));
    T_OK(p->vt->build_request(p, &c, st, &req));
    T_OK(p->vt->sign(p, st, &req));
    T_EQ_STR(req.url, "http://127.0.0.1:9/endpoints/llama-3-8b/invocations");
    T_EQ_STR(req.method, "POST");
    T_OK(as_json_parse(&body, req.body, req.body_len, "body"));
    T_EQ_STR(json_string_value(json_object_get(body, "inputs")), "Say hi");
    {
        json_t *pa = json_object_get(body, "parameters");
        T_CHECK(json_is_false(json_object_get(pa, "return_full_text")));
        T_CHECK(json_is_true(json_object_get(pa, "details")));
        T_CHECK(json_is_false(json_object_get(pa, "do_sample")));
        T_CHECK(json_object_get(pa, "temperature") == NULL);
        T_EQ_INT(json_integer_value(json_object_get(pa, "max_new_tokens")), 64);
        T_EQ_STR(json_string_value(json_array_get(json_object_get(pa, "stop"), 0)), "\n");
    }
    json_decref(body);
    T_EQ_STR(pt_header(&req, "Host: "), "127.0.0.1:9");
    a = pt_header(&req, "Authorization: ");
    T_CHECK(a && strstr(a, "/eu-west-1/sagemaker/aws4_request") != NULL);
    T_CHECK(a && strstr(a, "SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token") != NULL);
    /* signing again (a retry) replaces, never duplicates, the signature */
    T_OK(p->vt->sign(p, st, &req));
    {
        size_t i, n = 0;
        for (i = 0; i < req.nheaders; i++)
            n += strncmp(req.headers[i], "Authorization:", 14) == 0;
        T_EQ_INT(n, 1);
    }
    prov_request_clear(&req);
    p->vt->state_free(st);
    json_decref(params);
    prov_destroy(p);
}

/* The TGI array shape and the LMI object shape. */
static void sagemaker__both_response_shapes(void)
{
    prov *p = make("{\"endpoint\":\"e1\",\"region\":\"us-east-1\",\"endpoint_url\":\"http://h\"}");
    prov_call c = call_for("Q", NULL);
    prov_result res;
    void *st = NULL;

    if (p == NULL) {
        T_CHECK(p != NULL);
        return;
    }
    T_OK(p->vt->begin(p, &c, &st));
    T_EQ_INT(pt_parse(p, &c, st, 200, NULL,
                      "[{\"generated_text\":\"Hello\",\"details\":{\"finish_reason\":\"eos_token\","
                      "\"generated_tokens\":3}}]", &res), PROV_STEP_DONE);
    T_EQ_INT(res.error, 0);
    T_EQ_STR(res.output, "Hello");
    T_EQ_INT(res.completion_tokens, 3);
    T_EQ_STR(res.finish_reason, "eos_token");
    T_EQ_INT(res.usage_estimated, 1);       /* prompt tokens are counted locally */
    prov_result_clear(&res);

    T_EQ_INT(pt_parse(p, &c, st, 200, NULL,
                      "{\"generated_text\":\"World\",\"details\":{\"finish_reason\":\"length\","
                      "\"generated_tokens\":7,\"inputs\":\"Q\"}}", &res), PROV_STEP_DONE);
    T_EQ_STR(res.output, "World");
    T_EQ_INT(res.completion_tokens, 7);
    prov_result_clear(&res);

    /* containers serving the OpenAI messages API */
    pt_parse(p, &c, st, 200, NULL,
             "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
             "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1}}", &res);
    T_EQ_STR(res.output, "Hi");
    T_EQ_INT(res.prompt_tokens, 9);
    T_EQ_INT(res.usage_estimated, 0);
    prov_result_clear(&res);

    T_EQ_INT(pt_parse(p, &c, st, 200, NULL, "{\"nothing\":1}", &res), PROV_STEP_DONE);
    T_EQ_INT(res.error, AS_EUPSTREAM);
    prov_result_clear(&res);

    /* 424 ModelError keeps the container's original status */
    pt_parse(p, &c, st, 424, "x-amzn-ErrorType: ModelError:http://internal.amazon.com/\r\n",
             "{\"OriginalStatusCode\":500,\"OriginalMessage\":\"CUDA OOM\",\"message\":\"Received server "
             "error (500) from primary\"}", &res);
    T_EQ_INT(res.error, AS_EUPSTREAM);
    T_CHECK(res.error_msg && strstr(res.error_msg, "original status 500") != NULL);
    T_CHECK(res.error_msg && strstr(res.error_msg, "ModelError") != NULL);
    T_EQ_INT(res.retry, PROV_RETRY_YES);
    prov_result_clear(&res);
    pt_parse(p, &c, st, 424, "", "{\"OriginalStatusCode\":400,\"message\":\"bad input\"}", &res);
    T_EQ_INT(res.retry, PROV_RETRY_NO);
    prov_result_clear(&res);
    pt_parse(p, &c, st, 429, "x-amzn-ErrorType: ModelNotReadyException\r\n", "{\"message\":\"not ready\"}", &res);
    T_EQ_INT(res.retry, PROV_RETRY_YES);
    T_CHECK(strstr(res.error_msg, "ModelNotReadyException") != NULL);
    prov_result_clear(&res);
    /* an S3 XML error keeps only its Code and Message */
    pt_parse(p, &c, st, 403, NULL,
             "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request "
             "signature we calculated does not match</Message><CanonicalRequest>x-amz-security-token:"
             "SECRET-TOKEN</CanonicalRequest></Error>", &res);
    T_CHECK(strstr(res.error_msg, "HTTP 403 SignatureDoesNotMatch: The request signature") != NULL);
    T_CHECK(strstr(res.error_msg, "SECRET-TOKEN") == NULL);
    T_EQ_INT(res.retry, PROV_RETRY_NO);
    prov_result_clear(&res);
    p->vt->state_free(st);
    prov_destroy(p);
}

/* Encode one event-stream message with string headers. */
static size_t frame(unsigned char *out, const char *mtype, const char *tname, const char *tval,
                    const char *payload, size_t plen)
{
    const char *h[] = {":message-type", mtype, tname, tval, NULL};

    return ev_frame(out, h, payload, plen);
}

/* The container output cut into PayloadParts of 'part' bytes. */
static size_t parts(unsigned char *out, const char *text, size_t part)
{
    size_t off = 0, i, n = strlen(text);

    for (i = 0; i < n; i += part)
        off += frame(out + off, "event", ":event-type", "PayloadPart", text + i,
                     n - i < part ? n - i : part);
    return off;
}

static const char tgi_sse[] =
    "data:{\"index\":0,\"token\":{\"id\":1,\"text\":\"Hel\",\"logprob\":-0.1,\"special\":false},"
    "\"generated_text\":null,\"details\":null}\n\n"
    "data:{\"index\":1,\"token\":{\"id\":2,\"text\":\"lo \\u00e9\",\"logprob\":-0.1,\"special\":false},"
    "\"generated_text\":null,\"details\":null}\n\n"
    "data:{\"index\":2,\"token\":{\"id\":3,\"text\":\"</s>\",\"logprob\":0,\"special\":true},"
    "\"generated_text\":\"Hello \\u00e9\",\"details\":{\"finish_reason\":\"eos_token\","
    "\"generated_tokens\":3,\"seed\":null}}\n\n";

static const char lmi_jsonl[] =
    "{\"token\":{\"id\":[5],\"text\":\"Bon\",\"log_prob\":-0.2}}\n"
    "{\"token\":{\"id\":[6],\"text\":\"jour\",\"log_prob\":-0.3}}\n"
    "{\"token\":{\"id\":[7],\"text\":\"!\",\"log_prob\":-0.1},\"generated_text\":\"Bonjour!\","
    "\"details\":{\"finish_reason\":\"length\",\"generated_tokens\":3,\"inputs\":\"x\"}}\n";

/* Feed 'stream' split at 'cut' and complete the call. */
static void run_stream(prov *p, const unsigned char *stream, size_t len, size_t cut,
                       prov_result *res, int *first_token_calls)
{
    prov_call c = call_for("Q", NULL);
    prov_request req;
    void *st = NULL;
    int r1, r2;

    memset(&req, 0, sizeof(req));
    p->vt->begin(p, &c, &st);
    p->vt->build_request(p, &c, st, &req);
    r1 = p->vt->on_data(p, st, (const char *)stream, cut);
    r2 = r1 < 0 ? r1 : p->vt->on_data(p, st, (const char *)stream + cut, len - cut);
    *first_token_calls = (r1 == PROV_DATA_FIRST_TOKEN) + (r1 >= 0 && r2 == PROV_DATA_FIRST_TOKEN);
    if (r1 < 0 || r2 < 0) {
        prov_result_init(res);
        prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_YES, "on_data: %s", as_error_msg());
    } else {
        pt_parse(p, &c, st, 200, "Content-Type: application/vnd.amazon.eventstream\r\n", NULL, res);
    }
    prov_request_clear(&req);
    p->vt->state_free(st);
}

static void sagemaker__stream_every_split(void)
{
    prov *tgi = make("{\"endpoint\":\"e1\",\"region\":\"us-east-1\",\"stream\":true,"
                     "\"endpoint_url\":\"http://h\"}");
    prov *lmi = make("{\"endpoint\":\"e1\",\"region\":\"us-east-1\",\"stream\":\"true\","
                     "\"format\":\"lmi\",\"endpoint_url\":\"http://h\"}");
    static unsigned char buf[1 << 16];
    size_t len, cut, part;
    prov_result res;
    int firsts;

    if (tgi == NULL || lmi == NULL) {
        T_CHECK(0);
        return;
    }
    {   /* the request goes to the streaming route with X-Amzn-SageMaker-Accept */
        prov_call c = call_for("Q", NULL);
        prov_request req;
        void *st = NULL;
        memset(&req, 0, sizeof(req));
        tgi->vt->begin(tgi, &c, &st);
        tgi->vt->build_request(tgi, &c, st, &req);
        T_EQ_STR(req.url, "http://h/endpoints/e1/invocations-response-stream");
        T_CHECK(pt_header(&req, "X-Amzn-SageMaker-Accept: ") != NULL);
        T_CHECK(strstr(req.body, "\"stream\": true") || strstr(req.body, "\"stream\":true"));
        T_EQ_INT(req.stream, 1);
        prov_request_clear(&req);
        tgi->vt->state_free(st);
    }
    for (part = 1; part <= 40; part += 13) {
        len = parts(buf, tgi_sse, part);
        for (cut = 0; cut <= len; cut += (part == 1 ? 97 : 1)) {
            run_stream(tgi, buf, len, cut, &res, &firsts);
            T_EQ_INT(res.error, 0);
            T_EQ_STR(res.output, "Hello \xc3\xa9");
            T_EQ_INT(res.completion_tokens, 3);
            T_EQ_INT(firsts, 1);
            prov_result_clear(&res);
        }
        len = parts(buf, lmi_jsonl, part);
        for (cut = 0; cut <= len; cut += 7) {
            run_stream(lmi, buf, len, cut, &res, &firsts);
            T_EQ_INT(res.error, 0);
            T_EQ_STR(res.output, "Bonjour!");
            T_EQ_STR(res.finish_reason, "length");
            prov_result_clear(&res);
        }
    }
    prov_destroy(tgi);
    prov_destroy(lmi);
}

static void sagemaker__stream_faults(void)
{
    prov *p = make("{\"endpoint\":\"e1\",\"region\":\"us-east-1\",\"stream\":true,"
                   "\"endpoint_url\":\"http://h\"}");
    static unsigned char buf[1 << 16];
    size_t len;
    prov_result res;
    int firsts;
    static const char half[] = "data:{\"token\":{\"text\":\"Hi\",\"special\":false},\"details\":null}\n";
    static const char err[] = "{\"Message\":\"model crashed\",\"ErrorCode\":\"StreamBroken\"}";

    if (p == NULL) {
        T_CHECK(0);
        return;
    }
    /* ModelStreamError mid-stream */
    len = parts(buf, half, 10);
    len += frame(buf + len, "exception", ":exception-type", "ModelStreamError", err, strlen(err));
    run_stream(p, buf, len, len / 2, &res, &firsts);
    T_EQ_INT(res.error, AS_EUPSTREAM);
    T_CHECK(res.error_msg && strstr(res.error_msg, "ModelStreamError StreamBroken: model crashed"));
    prov_result_clear(&res);
    /* InternalStreamFailure */
    len = frame(buf, "exception", ":exception-type", "InternalStreamFailure",
                "{\"message\":\"internal\"}", 22);
    run_stream(p, buf, len, 3, &res, &firsts);
    T_CHECK(res.error_msg && strstr(res.error_msg, "InternalStreamFailure"));
    prov_result_clear(&res);
    /* connection cut after a partial frame */
    len = parts(buf, tgi_sse, 50);
    run_stream(p, buf, len - 5, 10, &res, &firsts);
    T_EQ_INT(res.error, AS_EUPSTREAM);
    T_CHECK(res.error_msg && strstr(res.error_msg, "broken stream"));
    prov_result_clear(&res);
    /* whole frames but no final event */
    len = parts(buf, half, 8);
    run_stream(p, buf, len, 0, &res, &firsts);
    T_CHECK(res.error_msg && strstr(res.error_msg, "before the final event"));
    prov_result_clear(&res);
    /* a corrupted CRC aborts the transfer */
    len = parts(buf, tgi_sse, 64);
    buf[40] ^= 0xff;
    run_stream(p, buf, len, len, &res, &firsts);
    T_EQ_INT(res.error, AS_EUPSTREAM);
    T_CHECK(res.error_msg && strstr(res.error_msg, "CRC"));
    prov_result_clear(&res);
    prov_destroy(p);
}

/* The inference component and custom attributes go on the real-time and
 * the async invocation alike; the target variant on the real-time one. */
static void sagemaker__model_headers(void)
{
    const char *const modes[] = {
        "{\"endpoint\":\"e1\",\"region\":\"us-east-1\",\"inference_component\":\"ic-1\","
        "\"custom_attributes\":\"trace=1\",\"target_variant\":\"v2\"}",
        "{\"endpoint\":\"e1\",\"region\":\"us-east-1\",\"inference_component\":\"ic-1\","
        "\"custom_attributes\":\"trace=1\",\"async\":true,\"s3_input\":\"s3://in-bucket/pre/\"}"};
    size_t m;

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
    for (m = 0; m < 2; m++) {
        prov *p = make(modes[m]);
        prov_call c = call_for("Q", NULL);
        prov_request req;
        prov_result res;
        void *st = NULL;
        int step;

        if (p == NULL) {
            T_CHECK(0);
            continue;
        }
        memset(&req, 0, sizeof(req));
        T_OK(p->vt->begin(p, &c, &st));
        /* async: answer the describe and upload steps to reach the invocation */
        for (step = 0; m == 1 && step < 2; step++) {
            T_OK(p->vt->build_request(p, &c, st, &req));
            prov_request_clear(&req);
            T_EQ_INT(pt_parse(p, &c, st, 200, NULL,
                              step == 0 ? "{\"ProductionVariants\":[{\"CurrentInstanceCount\":1}]}"
                                        : "",
                              &res), PROV_STEP_NEXT);
            prov_result_clear(&res);
        }
        T_OK(p->vt->build_request(p, &c, st, &req));
        T_EQ_STR(pt_header(&req, "X-Amzn-SageMaker-Inference-Component: "), "ic-1");
        T_EQ_STR(pt_header(&req, "X-Amzn-SageMaker-Custom-Attributes: "), "trace=1");
        if (m == 0)
            T_EQ_STR(pt_header(&req, "X-Amzn-SageMaker-Target-Variant: "), "v2");
        else
            T_CHECK(pt_header(&req, "X-Amzn-SageMaker-InputLocation: ") != NULL);
        prov_request_clear(&req);
        p->vt->state_free(st);
        prov_destroy(p);
    }
    unsetenv("AWS_ENDPOINT_URL");
}

/* The async machine: describe (0 instances) -> PUT -> invoke -> poll 404 ->
 * failure 404 -> poll 200; then a failure object; then the deadline. */
static void sagemaker__async_steps(void)
{
    prov *p;
    prov_call c = call_for("Q", NULL);
    prov_request req;
    prov_result res;
    void *st = NULL;
    const char *loc = "X-Amzn-SageMaker-OutputLocation: s3://out-bucket/o/1.out\r\n"
                      "X-Amzn-SageMaker-FailureLocation: s3://out-bucket/f/1.out\r\n";

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
    p = make("{\"endpoint\":\"e1\",\"region\":\"us-east-1\",\"async\":true,"
             "\"s3_input\":\"s3://in-bucket/pre/\",\"async_poll\":0.05,\"async_timeout\":1}");
    unsetenv("AWS_ENDPOINT_URL");
    if (p == NULL) {
        T_CHECK(0);
        return;
    }
    memset(&req, 0, sizeof(req));
    T_OK(p->vt->begin(p, &c, &st));
    T_OK(p->vt->build_request(p, &c, st, &req));
    T_OK(p->vt->sign(p, st, &req));
    T_EQ_STR(req.url, "http://127.0.0.1:9/");
    T_EQ_STR(pt_header(&req, "X-Amz-Target: "), "SageMaker.DescribeEndpoint");
    prov_request_clear(&req);
    T_EQ_INT(pt_parse(p, &c, st, 200, NULL,
                      "{\"EndpointName\":\"e1\",\"ProductionVariants\":[{\"CurrentInstanceCount\":0}]}",
                      &res), PROV_STEP_NEXT);
    prov_result_clear(&res);

    T_OK(p->vt->build_request(p, &c, st, &req));
    T_OK(p->vt->sign(p, st, &req));
    T_EQ_STR(req.method, "PUT");
    T_CHECK(strncmp(req.url, "http://127.0.0.1:9/in-bucket/pre/assay-e1-", 42) == 0);
    T_CHECK(pt_header(&req, "x-amz-content-sha256: ") != NULL);
    T_CHECK(strstr(pt_header(&req, "Authorization: "), "/us-east-1/s3/aws4_request") != NULL);
    T_CHECK(strstr(req.body, "\"return_full_text\"") != NULL);
    prov_request_clear(&req);
    T_EQ_INT(pt_parse(p, &c, st, 200, NULL, "", &res), PROV_STEP_NEXT);
    prov_result_clear(&res);

    T_OK(p->vt->build_request(p, &c, st, &req));
    T_EQ_STR(req.url, "http://127.0.0.1:9/endpoints/e1/async-invocations");
    T_CHECK(strncmp(pt_header(&req, "X-Amzn-SageMaker-InputLocation: "), "s3://in-bucket/pre/assay-e1-", 28) == 0);
    T_CHECK(req.body == NULL);
    prov_request_clear(&req);
    T_EQ_INT(pt_parse(p, &c, st, 202, loc, "{\"InferenceId\":\"i1\"}", &res), PROV_STEP_NEXT);
    T_NEAR(res.next_delay_ms, 50, 1e-9);
    prov_result_clear(&res);

    T_OK(p->vt->build_request(p, &c, st, &req));
    T_EQ_STR(req.method, "GET");
    T_EQ_STR(req.url, "http://127.0.0.1:9/out-bucket/o/1.out");
    prov_request_clear(&req);
    T_EQ_INT(pt_parse(p, &c, st, 404, NULL, "<Error><Code>NoSuchKey</Code></Error>", &res), PROV_STEP_NEXT);
    prov_result_clear(&res);
    T_OK(p->vt->build_request(p, &c, st, &req));
    T_EQ_STR(req.url, "http://127.0.0.1:9/out-bucket/f/1.out");
    prov_request_clear(&req);
    T_EQ_INT(pt_parse(p, &c, st, 404, NULL, "", &res), PROV_STEP_NEXT);
    T_NEAR(res.next_delay_ms, 100, 1e-9);       /* the delay doubles */
    prov_result_clear(&res);
    T_OK(p->vt->build_request(p, &c, st, &req));
    prov_request_clear(&req);
    T_EQ_INT(pt_parse(p, &c, st, 200, NULL, "[{\"generated_text\":\"late answer\"}]", &res), PROV_STEP_DONE);
    T_EQ_INT(res.error, 0);
    T_EQ_STR(res.output, "late answer");
    T_CHECK(res.latency_ms >= 0);
    T_CHECK(res.cold_start_ms >= 0 && res.cold_start_ms <= res.latency_ms);
    prov_result_clear(&res);
    p->vt->state_free(st);

    /* second case: no describe step; the failure location appears */
    st = NULL;
    T_OK(p->vt->begin(p, &c, &st));
    T_OK(p->vt->build_request(p, &c, st, &req));
    T_EQ_STR(req.method, "PUT");
    prov_request_clear(&req);
    pt_parse(p, &c, st, 200, NULL, "", &res);
    prov_result_clear(&res);
    pt_parse(p, &c, st, 202, loc, "{}", &res);
    prov_result_clear(&res);
    pt_parse(p, &c, st, 404, NULL, "", &res);
    prov_result_clear(&res);
    T_EQ_INT(pt_parse(p, &c, st, 200, NULL, "ModelError: CUDA out of memory", &res), PROV_STEP_DONE);
    T_EQ_INT(res.error, AS_EUPSTREAM);
    T_CHECK(strstr(res.error_msg, "async inference failed: ModelError: CUDA out of memory") != NULL);
    T_EQ_INT(res.retry, PROV_RETRY_NO);
    prov_result_clear(&res);
    p->vt->state_free(st);
    prov_destroy(p);
}

int main(void)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_SESSION_TOKEN", "token", 1);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME");
    T_RUN(sagemaker__settings_validated);
    T_RUN(sagemaker__tgi_request_and_signature);
    T_RUN(sagemaker__both_response_shapes);
    T_RUN(sagemaker__stream_every_split);
    T_RUN(sagemaker__stream_faults);
    T_RUN(sagemaker__async_steps);
    T_RUN(sagemaker__model_headers);
    return t_done();
}
