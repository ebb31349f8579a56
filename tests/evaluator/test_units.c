/* Evaluator units: cost arithmetic, retry backoff, SSE framing, label
 * normalization, the openai provider's request and response handling, the
 * scheduler serving other lanes while a direct provider answers. */
#include "evaluator/cost.h"
#include "evaluator/eval.h"
#include "evaluator/provider.h"
#include "evaluator/scheduler.h"
#include "evaluator/score.h"
#include "common/json.h"
#include "tests/test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void cost__tokens_times_price_per_million(void)
{
    eval_model m;

    eval_model_init(&m);
    m.price_in = 0.15;      /* gpt-4o-mini: $0.15 / 1M in, $0.60 / 1M out */
    m.price_out = 0.60;
    T_NEAR(eval_token_cost(&m, 1000000, 0), 0.15, 1e-12);
    T_NEAR(eval_token_cost(&m, 1200, 300), (1200 * 0.15 + 300 * 0.60) / 1e6, 1e-15);
    T_NEAR(eval_token_cost(&m, -1, -1), 0, 0);
    eval_model_clear(&m);
}

static void cost__hour_priced_attribution(void)
{
    /* ml.g5.2xlarge at $1.515/h busy for 90 s */
    double run = eval_hour_cost(1.515, 1, 90000);

    T_NEAR(run, 1.515 * 90 / 3600, 1e-12);
    /* three items of 100, 200, 700 ms share it in proportion */
    T_NEAR(eval_hour_share(run, 100, 1000), run * 0.1, 1e-12);
    T_NEAR(eval_hour_share(run, 700, 1000), run * 0.7, 1e-12);
    T_NEAR(eval_hour_share(run, 100, 100) + 0, run, 1e-12);
    T_NEAR(eval_hour_share(run, 100, 0), 0, 0);
    T_NEAR(eval_hour_cost(2.0, 1, 0), 0, 0);
}

static void cost__hour_priced_instances(void)
{
    eval_model m;

    /* ml.g5.12xlarge at $7.09/h x 3 instances busy for 20 minutes:
     * every instance is billed for the whole busy time */
    T_NEAR(eval_hour_cost(7.09, 3, 20 * 60000.0), 7.09 * 3 / 3, 1e-12);
    T_NEAR(eval_hour_cost(7.09, 3, 90000), 3 * eval_hour_cost(7.09, 1, 90000), 1e-12);
    T_NEAR(eval_hour_cost(7.09, 0, 90000), eval_hour_cost(7.09, 1, 90000), 0);  /* < 1 is 1 */
    T_NEAR(eval_hour_cost(7.09, 3, -5), 0, 0);
    /* the model setting: default 1, validated 1..100000 */
    eval_model_init(&m);
    T_EQ_INT(m.instance_count, 1);
    snprintf(m.name, sizeof(m.name), "ep");
    snprintf(m.provider, sizeof(m.provider), "baseline");
    m.settings = json_pack("{s:s}", "strategy", "majority");
    T_OK(eval_model_validate(&m));
    m.instance_count = 0;
    T_ERR(eval_model_validate(&m), AS_EINVAL);
    m.instance_count = 100001;
    T_ERR(eval_model_validate(&m), AS_EINVAL);
    eval_model_clear(&m);
}

/* A direct provider standing for a slow local engine: lane "a" waits (up
 * to 3 s) inside invoke until lane "b" has been answered, which happens
 * only if the scheduler keeps running while a's batch is answered. */
typedef struct slow_prov {
    prov base;
    int wait_for_other;
    atomic_int *other_done;
} slow_prov;

static int slow_invoke(prov *p, const prov_call *calls, size_t n, prov_result *res)
{
    slow_prov *sp = (slow_prov *)p;
    struct timespec ms = {0, 1000000};
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        const char *out = "answered";
        if (sp->wait_for_other) {
            for (k = 0; k < 3000 && !atomic_load(sp->other_done); k++)
                nanosleep(&ms, NULL);
            out = atomic_load(sp->other_done) ? "overlapped" : "blocked";
        }
        if (prov_result_set_output(&res[i], out, strlen(out)) < 0)
            return AS_ENOMEM;
        res[i].latency_ms = 1;
        (void)calls;
    }
    return 0;
}

static const prov_vtable slow_vt = {.name = "slow", .summary = "test", .invoke = slow_invoke};

typedef struct slow_lane {
    sched_job job;
    int handed;             /* the one job was given out */
    char out[32];
    atomic_int *done_flag;  /* set when its answer arrives, or NULL */
} slow_lane;

static int slow_next(void *arg, sched_job **out)
{
    slow_lane *l = arg;

    if (l->handed)
        return SCHED_END;
    l->handed = 1;
    *out = &l->job;
    return SCHED_JOB;
}

static int slow_done(void *arg, sched_job *job, prov_result *res, int attempts)
{
    slow_lane *l = arg;

    (void)job;
    (void)attempts;
    snprintf(l->out, sizeof(l->out), "%s", res->output ? res->output : "error");
    if (l->done_flag)
        atomic_store(l->done_flag, 1);
    return 0;
}

static void sched__direct_batch_does_not_hold_the_loop(void)
{
    static const sched_lane_ops ops = {slow_next, NULL, slow_done, NULL};
    atomic_int b_done = 0;
    slow_prov pa = {{&slow_vt}, 1, &b_done}, pb = {{&slow_vt}, 0, NULL};
    slow_lane la, lb;
    sched_limits lim = {1, 0, 10, 0, 0};
    sched *s = NULL;
    atomic_int cancel = 0;

    memset(&la, 0, sizeof(la));
    memset(&lb, 0, sizeof(lb));
    la.job.call.case_id = "a";
    la.job.call.prompt = "a";
    lb.job.call.case_id = "b";
    lb.job.call.prompt = "b";
    lb.done_flag = &b_done;
    T_OK(sched_new(&s));
    T_OK(sched_add_lane(s, &pa.base, &lim, &ops, &la));
    T_OK(sched_add_lane(s, &pb.base, &lim, &ops, &lb));
    T_OK(sched_run(s, &cancel));
    sched_free(s);
    T_EQ_STR(lb.out, "answered");
    T_EQ_STR(la.out, "overlapped");     /* b was answered while a's batch ran */
}

/* Runs first: nothing may create a libcurl handle before eval_global_init
 * (main calls it before any thread starts). */
static void global__scheduler_waits_for_init(void)
{
    sched *s = NULL;

    T_ERR(sched_new(&s), AS_EINVAL);
    T_OK(s == NULL ? 0 : -1);
    T_ERR(eval_global_check(), AS_EINVAL);
    T_OK(eval_global_init());
    T_OK(eval_global_init());           /* a second call changes nothing */
    T_OK(eval_global_check());
    T_OK(sched_new(&s));
    sched_free(s);
}

static void backoff__exponential_capped_with_jitter(void)
{
    T_NEAR(sched_backoff_s(0, -1, 0), 0.5, 1e-12);
    T_NEAR(sched_backoff_s(1, -1, 0), 1.0, 1e-12);
    T_NEAR(sched_backoff_s(3, -1, 0), 4.0, 1e-12);
    T_NEAR(sched_backoff_s(10, -1, 0), 8.0, 1e-12);
    T_NEAR(sched_backoff_s(0, -1, 0.999999), 0.5 * 0.75, 1e-6);
    /* the server's ask wins when 0 < delay <= 60 */
    T_NEAR(sched_backoff_s(0, 2.5, 0.3), 2.5, 0);
    T_NEAR(sched_backoff_s(1, 120, 0), 1.0, 1e-12);
    T_NEAR(sched_backoff_s(1, 0, 0), 1.0, 1e-12);
}

typedef struct ev {
    char events[8][64];
    char data[8][256];
    int n;
} ev;

static int sse_cb(void *arg, const char *event, const char *data, size_t len)
{
    ev *e = arg;

    if (e->n < 8) {
        snprintf(e->events[e->n], sizeof(e->events[0]), "%s", event);
        snprintf(e->data[e->n], sizeof(e->data[0]), "%.*s", (int)len, data);
        e->n++;
    }
    return 0;
}

static void sse__any_split(void)
{
    const char *stream = ": keep-alive\r\ndata: {\"a\":1}\r\n\r\nevent: message_stop\ndata:{\"b\":2}\n"
                         "data: line2\n\ndata: [DONE]\n\n";
    size_t len = strlen(stream), cut;

    for (cut = 0; cut <= len; cut++) {
        prov_sse s;
        ev e;
        memset(&e, 0, sizeof(e));
        prov_sse_init(&s, 1024);
        T_OK(prov_sse_feed(&s, stream, cut, sse_cb, &e));
        T_OK(prov_sse_feed(&s, stream + cut, len - cut, sse_cb, &e));
        T_OK(prov_sse_finish(&s, sse_cb, &e));
        T_EQ_INT(e.n, 3);
        T_EQ_STR(e.data[0], "{\"a\":1}");
        T_EQ_STR(e.events[1], "message_stop");
        T_EQ_STR(e.data[1], "{\"b\":2}\nline2");
        T_EQ_STR(e.data[2], "[DONE]");
        prov_sse_free(&s);
    }
}

static void sse__line_cap(void)
{
    prov_sse s;
    ev e;
    char big[300];

    memset(&e, 0, sizeof(e));
    memset(big, 'x', sizeof(big));
    prov_sse_init(&s, 100);
    T_ERR(prov_sse_feed(&s, big, sizeof(big), sse_cb, &e), AS_ETOOBIG);
    prov_sse_free(&s);
}

static void labels__normalized_to_the_set(void)
{
    json_t *labels = json_pack("[s,s,s]", "positive", "negative", "very positive");
    char *l = NULL;

    T_OK(eval_label_normalize(&l, labels, "Positive."));
    T_EQ_STR(l, "positive");
    free(l);
    T_OK(eval_label_normalize(&l, labels, "  **NEGATIVE**\n"));
    T_EQ_STR(l, "negative");
    free(l);
    T_OK(eval_label_normalize(&l, labels, "The sentiment is negative, clearly."));
    T_EQ_STR(l, "negative");
    free(l);
    T_OK(eval_label_normalize(&l, labels, "very positive"));
    T_EQ_STR(l, "very positive");
    free(l);
    T_OK(eval_label_normalize(&l, labels, "negative\nbecause it is not positive"));
    T_EQ_STR(l, "negative");
    free(l);
    /* outside the set, or naming two labels: none */
    T_OK(eval_label_normalize(&l, labels, "neutral"));
    T_CHECK(l == NULL);
    T_OK(eval_label_normalize(&l, labels, "positive or negative"));
    T_CHECK(l == NULL);
    T_OK(eval_label_normalize(&l, labels, "nonnegative"));
    T_CHECK(l == NULL);
    json_decref(labels);
}

static void openai__request_and_response(void)
{
    json_t *settings = json_pack("{s:s,s:s,s:s}", "base_url", "http://127.0.0.1:9/v1/",
                                 "model_id", "llama", "stream", "true");
    json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", "hi");
    json_t *params = json_pack("{s:f,s:i}", "temperature", 0.0, "max_tokens", 5);
    prov *p = NULL;
    prov_call call;
    prov_request req;
    prov_response resp;
    prov_result res;
    void *st = NULL;
    json_t *body = NULL;
    const char *chunks = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
                         "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
                         "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n"
                         "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\n"
                         "data: [DONE]\n\n";

    memset(&call, 0, sizeof(call));
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    call.case_id = "c1";
    call.messages = msgs;
    call.prompt = "hi";
    call.params = params;
    T_OK(prov_create(&p, "openai", "m", settings));
    T_OK(p->vt->begin(p, &call, &st));
    T_OK(p->vt->build_request(p, &call, st, &req));
    T_EQ_STR(req.url, "http://127.0.0.1:9/v1/chat/completions");
    T_OK(as_json_parse(&body, req.body, req.body_len, "body"));
    T_EQ_STR(json_string_value(json_object_get(body, "model")), "llama");
    T_CHECK(json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage")));
    T_EQ_INT(json_integer_value(json_object_get(body, "max_tokens")), 5);
    json_decref(body);
    T_EQ_INT(p->vt->on_data(p, st, chunks, 60), PROV_DATA_MORE);
    T_EQ_INT(p->vt->on_data(p, st, chunks + 60, strlen(chunks) - 60), PROV_DATA_FIRST_TOKEN);
    resp.status = 200;
    resp.headers = "";
    resp.body = "";
    prov_result_init(&res);
    T_EQ_INT(p->vt->parse_response(p, &call, st, &resp, &res), PROV_STEP_DONE);
    T_EQ_INT(res.error, 0);
    T_EQ_STR(res.output, "Hello");
    T_EQ_INT(res.prompt_tokens, 7);
    T_EQ_INT(res.completion_tokens, 2);
    T_EQ_INT(res.usage_estimated, 0);
    prov_result_clear(&res);
    /* an error body: TGI's shape, quota never retried */
    prov_request_clear(&req);
    T_OK(p->vt->build_request(p, &call, st, &req));
    resp.status = 429;
    resp.body = "{\"error\":{\"message\":\"quota\",\"code\":\"insufficient_quota\"}}";
    resp.body_len = strlen(resp.body);
    T_OK(p->vt->parse_response(p, &call, st, &resp, &res));
    T_EQ_INT(res.error, AS_EUPSTREAM);
    T_EQ_INT(res.retry, PROV_RETRY_NO);
    prov_result_clear(&res);
    resp.status = 422;
    resp.body = "{\"error\":\"Input validation error\",\"error_type\":\"validation\"}";
    resp.body_len = strlen(resp.body);
    T_OK(p->vt->parse_response(p, &call, st, &resp, &res));
    T_CHECK(strstr(res.error_msg, "Input validation error") != NULL);
    T_EQ_INT(res.retry, PROV_RETRY_DEFAULT);
    prov_result_clear(&res);
    /* a stream cut before [DONE] is a retryable failure */
    prov_request_clear(&req);
    T_OK(p->vt->build_request(p, &call, st, &req));
    T_OK(p->vt->on_data(p, st, chunks, 120));
    resp.status = 200;
    resp.body = "";
    resp.body_len = 0;
    T_OK(p->vt->parse_response(p, &call, st, &resp, &res));
    T_EQ_INT(res.error, AS_EUPSTREAM);
    T_EQ_INT(res.retry, PROV_RETRY_YES);
    prov_result_clear(&res);
    prov_request_clear(&req);
    p->vt->state_free(st);
    prov_destroy(p);
    json_decref(settings);
    json_decref(msgs);
    json_decref(params);
}

/* An embedding call: POST /embeddings with the inputs, never streamed;
 * vectors taken by their index; a malformed answer is an error, never a
 * vector. */
static void openai__embeddings(void)
{
    static const char *const inputs[] = {"an output", "the reference"};
    json_t *settings = json_pack("{s:s,s:s,s:s}", "base_url", "http://127.0.0.1:9/v1",
                                 "model_id", "emb", "stream", "true");
    prov *p = NULL;
    prov_call call;
    prov_request req;
    prov_response resp;
    prov_result res;
    void *st = NULL;
    json_t *body = NULL;

    memset(&call, 0, sizeof(call));
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    call.case_id = "c1";
    call.prompt = "an output\nthe reference";
    call.embed_inputs = inputs;
    call.nembed = 2;
    T_OK(prov_create(&p, "openai", "m", settings));
    T_CHECK(p->vt->embeds);
    T_OK(p->vt->begin(p, &call, &st));
    T_OK(p->vt->build_request(p, &call, st, &req));
    T_EQ_STR(req.url, "http://127.0.0.1:9/v1/embeddings");
    T_EQ_INT(req.stream, 0);
    T_OK(as_json_parse(&body, req.body, req.body_len, "body"));
    T_EQ_STR(json_string_value(json_object_get(body, "model")), "emb");
    T_EQ_STR(json_string_value(json_object_get(body, "encoding_format")), "float");
    T_EQ_STR(json_string_value(json_array_get(json_object_get(body, "input"), 1)), "the reference");
    T_CHECK(json_object_get(body, "stream") == NULL && json_object_get(body, "messages") == NULL);
    json_decref(body);
    resp.status = 200;
    resp.headers = "";
    resp.body = "{\"data\":[{\"index\":1,\"embedding\":[3,4]},{\"index\":0,\"embedding\":[1,0.5]}],"
                "\"usage\":{\"prompt_tokens\":6,\"total_tokens\":6}}";
    resp.body_len = strlen(resp.body);
    prov_result_init(&res);
    T_EQ_INT(p->vt->parse_response(p, &call, st, &resp, &res), PROV_STEP_DONE);
    T_EQ_INT(res.error, 0);
    T_EQ_INT(res.nvectors, 2);
    T_EQ_INT(res.dim, 2);
    T_CHECK(res.vectors[0] == 1 && res.vectors[1] == 0.5 && res.vectors[2] == 3 && res.vectors[3] == 4);
    T_EQ_INT(res.prompt_tokens, 6);
    T_EQ_INT(res.completion_tokens, 0);
    T_EQ_INT(res.usage_estimated, 0);
    prov_result_clear(&res);
    /* no usage: counted locally and flagged */
    resp.body = "{\"data\":[{\"embedding\":[1]},{\"embedding\":[2]}]}";
    resp.body_len = strlen(resp.body);
    T_OK(p->vt->parse_response(p, &call, st, &resp, &res));
    T_EQ_INT(res.error, 0);
    T_CHECK(res.prompt_tokens > 0 && res.usage_estimated == 1);
    prov_result_clear(&res);
    /* vectors of two lengths, a missing vector, a repeated index, base64 */
    {
        static const char *const bad[] = {
            "{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":1,\"embedding\":[1]}]}",
            "{\"data\":[{\"index\":0,\"embedding\":[1,2]}]}",
            "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,\"embedding\":[1]}]}",
            "{\"data\":[{\"index\":0,\"embedding\":\"AACAPw==\"},{\"index\":1,\"embedding\":[1]}]}",
            "{\"data\":[{\"index\":0,\"embedding\":[]},{\"index\":1,\"embedding\":[]}]}",
            "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":2,\"embedding\":[1]}]}",
        };
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            resp.body = bad[i];
            resp.body_len = strlen(bad[i]);
            T_OK(p->vt->parse_response(p, &call, st, &resp, &res));
            T_EQ_INT(res.error, AS_EUPSTREAM);
            T_EQ_INT(res.retry, PROV_RETRY_NO);
            T_CHECK(res.vectors == NULL && res.nvectors == 0);
            T_CHECK(strstr(res.error_msg, "embeddings response") != NULL);
            prov_result_clear(&res);
        }
    }
    prov_request_clear(&req);
    p->vt->state_free(st);
    prov_destroy(p);
    json_decref(settings);
}

static void openai__settings_validated(void)
{
    prov *p = NULL;
    json_t *s = json_pack("{s:s}", "model_id", "x");

    T_ERR(prov_create(&p, "openai", "m", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "base_url", "ftp://x", "model_id", "x");
    T_ERR(prov_create(&p, "openai", "m", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "base_url", "http://x/v1", "api", "embeddings");
    T_ERR(prov_create(&p, "openai", "m", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "base_url", "http://x/v1", "colour", "blue");
    T_ERR(prov_create(&p, "openai", "m", s), AS_EINVAL);
    json_decref(s);
    T_ERR(prov_create(&p, "nosuch", "m", NULL), AS_ENOTFOUND);
    T_CHECK(p == NULL);
}

static void openai__missing_key_variable_stops_start(void)
{
    prov *p = NULL;
    json_t *s = json_pack("{s:s,s:s}", "base_url", "http://x/v1", "api_key_env",
                          "ASSAY_TEST_SURELY_UNSET_KEY");

    unsetenv("ASSAY_TEST_SURELY_UNSET_KEY");
    T_OK(prov_create(&p, "openai", "m", s));
    T_ERR(p->vt->start(p, NULL), AS_EAUTH);
    T_CHECK(strstr(as_error_msg(), "ASSAY_TEST_SURELY_UNSET_KEY") != NULL);
    prov_destroy(p);
    json_decref(s);
}

static void baseline__lead_and_copy(void)
{
    json_t *s = json_pack("{s:s,s:s}", "strategy", "lead-2", "var", "article");
    json_t *vars = json_pack("{s:s}", "article", "First one. Second one! Third one? Fourth.");
    prov *p = NULL;
    prov_call call;
    prov_result res;

    memset(&call, 0, sizeof(call));
    call.case_id = "c";
    call.prompt = "";
    call.vars = vars;
    T_OK(prov_create(&p, "baseline", "b", s));
    prov_result_init(&res);
    T_OK(p->vt->invoke(p, &call, 1, &res));
    T_EQ_STR(res.output, "First one. Second one!");
    prov_result_clear(&res);
    prov_destroy(p);
    json_decref(s);
    s = json_pack("{s:s}", "strategy", "lead-x");
    T_ERR(prov_create(&p, "baseline", "b", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s}", "strategy", "copy");
    T_ERR(prov_create(&p, "baseline", "b", s), AS_EINVAL);
    json_decref(s);
    json_decref(vars);
}

int main(void)
{
    T_RUN(global__scheduler_waits_for_init);
    T_RUN(cost__tokens_times_price_per_million);
    T_RUN(cost__hour_priced_attribution);
    T_RUN(cost__hour_priced_instances);
    T_RUN(backoff__exponential_capped_with_jitter);
    T_RUN(sched__direct_batch_does_not_hold_the_loop);
    T_RUN(sse__any_split);
    T_RUN(sse__line_cap);
    T_RUN(openai__embeddings);
    T_RUN(labels__normalized_to_the_set);
    T_RUN(openai__request_and_response);
    T_RUN(openai__settings_validated);
    T_RUN(openai__missing_key_variable_stops_start);
    T_RUN(baseline__lead_and_copy);
    eval_global_shutdown();
    return t_done();
}
