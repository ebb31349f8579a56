/* The local provider through its vtable, as the run scheduler drives it:
 * settings are checked at create, the model opens at start, and invoke
 * answers with the output, exact token counts and timings. The model is a
 * tiny Llama written by tinymodel.py (byte-level tokenizer: one id per
 * byte), whose greedy output the test compares with the Python reference
 * (tests/engine/test_local.py passes it in). */
#include "../test.h"

#include "common/json.h"
#include "evaluator/provider.h"

#include <stdlib.h>

static const char *model_dir;
static const char *expected_hex;   /* the reference output text, hex-encoded */
static long expected_count;        /* the reference's number of generated ids */

static prov *make(const char *settings_json)
{
    json_t *settings = NULL;
    prov *p = NULL;

    if (as_json_parse(&settings, settings_json, strlen(settings_json), "settings") < 0)
        return NULL;
    if (prov_create(&p, "local", "tiny", settings) < 0)
        p = NULL;
    json_decref(settings);
    return p;
}

static void local__rejects_bad_settings(void)
{
    json_t *s = json_pack("{s:s}", "path", "/nonexistent/model");
    prov *p = NULL;

    T_ERR(prov_create(&p, "local", "x", s), AS_ENOTFOUND);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "path", model_dir, "device", "tpu");
    T_ERR(prov_create(&p, "local", "x", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "path", model_dir, "max_new_tokens", "0");
    T_ERR(prov_create(&p, "local", "x", s), AS_EINVAL);
    json_decref(s);
    s = json_pack("{s:s,s:s}", "path", model_dir, "colour", "blue");
    T_ERR(prov_create(&p, "local", "x", s), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "colour") != NULL);
    json_decref(s);
    s = json_object();
    T_ERR(prov_create(&p, "local", "x", s), AS_EINVAL);
    json_decref(s);
}

static void local__generates_with_exact_counts(void)
{
    char settings[512], got[512] = "";
    prov *p;
    prov_call calls[2];
    prov_result res[2];
    json_t *params = json_pack("{s:i}", "max_tokens", 8), *long_params = json_object();
    size_t i, len = 0;
    char *long_prompt = malloc(200);

    snprintf(settings, sizeof settings,
             "{\"path\":\"%s\",\"device\":\"gpu\",\"max_new_tokens\":\"8\",\"threads\":\"2\",\"context\":\"64\"}",
             model_dir);
    if ((p = make(settings)) == NULL || long_prompt == NULL) {
        T_CHECK(p != NULL);
        free(long_prompt);
        json_decref(params);
        json_decref(long_params);
        return;
    }
    memset(long_prompt, 'a', 199);
    long_prompt[199] = '\0';
    T_OK(p->vt->start(p, NULL));
    memset(calls, 0, sizeof calls);
    calls[0].case_id = "c1";
    calls[0].prompt = "Hello";
    calls[0].params = params;
    calls[1].case_id = "c2";
    calls[1].prompt = long_prompt;       /* 199 tokens: over the 64-position context */
    calls[1].params = long_params;
    prov_result_init(&res[0]);
    prov_result_init(&res[1]);
    T_OK(p->vt->invoke(p, calls, 2, res));
    T_EQ_INT(res[0].error, 0);
    T_EQ_INT(res[0].prompt_tokens, 5);
    T_CHECK(res[0].completion_tokens >= 1 && res[0].completion_tokens <= 8);
    T_CHECK(res[0].ttft_ms > 0 && res[0].latency_ms >= res[0].ttft_ms);
    T_CHECK(res[0].busy_ms > 0);
    T_CHECK(res[0].finish_reason != NULL);
    T_EQ_INT(res[0].usage_estimated, 0);
    /* The Python reference's greedy ids, decoded by Python (one byte per
     * id; invalid UTF-8 replaced by U+FFFD), and their number. */
    T_EQ_INT(res[0].completion_tokens, expected_count);
    for (i = 0; res[0].output && i < res[0].output_len && len + 3 < sizeof got; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%02x", (unsigned char)res[0].output[i]);
    T_EQ_STR(got, expected_hex);
    T_EQ_INT(res[1].error, AS_ETOOBIG);
    T_CHECK(res[1].error_msg != NULL && strstr(res[1].error_msg, "199 tokens") != NULL);
    prov_result_clear(&res[0]);
    prov_result_clear(&res[1]);
    prov_destroy(p);
    json_decref(params);
    json_decref(long_params);
    free(long_prompt);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_local_provider MODEL_DIR EXPECTED_HEX EXPECTED_COUNT\n");
        return 2;
    }
    model_dir = argv[1];
    expected_hex = argv[2];
    expected_count = strtol(argv[3], NULL, 10);
    T_RUN(local__rejects_bad_settings);
    T_RUN(local__generates_with_exact_counts);
    return t_done();
}
