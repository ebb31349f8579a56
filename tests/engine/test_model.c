/* safetensors parsing, model binding and generation: every lie a file can
 * tell is an error with a message, never a crash; stop ids and stop strings
 * end a generation where they should. Model-level cases write a tiny model
 * folder (1 layer, hidden 4, every weight 0.25: all logits equal, so
 * sampling draws uniformly) into a temporary directory. */
#include "../test.h"

#include "common/fs.h"
#include "evaluator/engine/forward.h"
#include "evaluator/engine/generate.h"
#include "evaluator/engine/safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* A file image: 8-byte size, 'header', then 'data_len' zero bytes. */
static uint8_t *image(const char *header, size_t data_len, size_t *size)
{
    size_t h = strlen(header);
    uint8_t *buf = calloc(1, 8 + h + data_len);
    int i;

    for (i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    *size = 8 + h + data_len;
    return buf;
}

static int parse_header(const char *header, size_t data_len)
{
    eng_st_table t;
    size_t size;
    uint8_t *buf = image(header, data_len, &size);
    int rc = eng_st_parse(&t, buf, size, "test.safetensors");

    eng_st_table_clear(&t);
    free(buf);
    return rc;
}

static void st__parses_a_valid_header(void)
{
    eng_st_table t;
    size_t size;
    uint8_t *buf = image("{\"b\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[16,28]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                         "\"__metadata__\":{\"format\":\"pt\"}}    ", 28, &size);

    T_OK(eng_st_parse(&t, buf, size, "x"));
    T_EQ_INT(t.n, 2);
    T_EQ_STR(t.t[0].name, "a");
    T_EQ_INT(t.t[0].dtype, ENG_DT_F32);
    T_EQ_INT(t.t[1].shape[1], 3);
    T_EQ_INT(t.t[1].numel, 6);
    T_EQ_INT(t.t[1].nbytes, 12);
    T_CHECK((const uint8_t *)t.t[1].data == buf + size - 12);
    eng_st_table_clear(&t);
    free(buf);
}

static void st__rejects_bad_headers(void)
{
    uint8_t buf[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    eng_st_table t;

    T_ERR(eng_st_parse(&t, buf, 5, "x"), AS_EINVAL);                    /* too short */
    T_ERR(eng_st_parse(&t, buf, sizeof buf, "x"), AS_ETOOBIG);          /* huge size */
    buf[0] = 9;
    memset(buf + 1, 0, 7);
    T_ERR(eng_st_parse(&t, buf, 12, "x"), AS_EINVAL);                   /* past the end */
    T_ERR(parse_header("[1,2]", 0), AS_EINVAL);                           /* not '{' */
    T_ERR(parse_header("{\"a\":", 0), AS_EINVAL);                         /* bad JSON */
    T_ERR(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
          AS_EINVAL);                                                     /* duplicate */
    T_ERR(parse_header("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
          AS_EINVAL);                                                     /* dtype */
    T_ERR(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4),
          AS_EINVAL);                                                     /* shape x size */
    T_ERR(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4),
          AS_EINVAL);                                                     /* past buffer */
    T_ERR(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,0]}}", 8),
          AS_EINVAL);                                                     /* reversed */
    T_ERR(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
          AS_EINVAL);                                                     /* overlap */
    T_ERR(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4),
          AS_EINVAL);
    T_ERR(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                       "\"data_offsets\":[0,4]}}", 4), AS_EINVAL);        /* overflow */
    T_ERR(parse_header("{\"__metadata__\":{\"k\":1}}", 0), AS_EINVAL);
    T_ERR(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "'a'") != NULL);
}

/* --- model folders --- */

static char tmpdir[64];

/* A tiny Llama: H 4, 1 layer, heads 2 / kv 1, head_dim 2, FFN 4, vocab 8. */
static const char *config_json =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":4,\"intermediate_size\":4,"
    "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"num_key_value_heads\":1,"
    "\"vocab_size\":8,\"max_position_embeddings\":16,\"rms_norm_eps\":1e-5,"
    "\"tie_word_embeddings\":true,\"eos_token_id\":2}";

static const struct { const char *name; int rows, cols; } tensors[] = {
    {"model.embed_tokens.weight", 8, 4},
    {"model.layers.0.input_layernorm.weight", 4, 0},
    {"model.layers.0.post_attention_layernorm.weight", 4, 0},
    {"model.layers.0.self_attn.q_proj.weight", 4, 4},
    {"model.layers.0.self_attn.k_proj.weight", 2, 4},
    {"model.layers.0.self_attn.v_proj.weight", 2, 4},
    {"model.layers.0.self_attn.o_proj.weight", 4, 4},
    {"model.layers.0.mlp.gate_proj.weight", 4, 4},
    {"model.layers.0.mlp.up_proj.weight", 4, 4},
    {"model.layers.0.mlp.down_proj.weight", 4, 4},
    {"model.norm.weight", 4, 0},
};
#define NT (sizeof tensors / sizeof tensors[0])

/* Write the folder; 'skip' leaves tensor i out, 'extra' adds one, 'dtype'
 * replaces F32 for every tensor, 'bad_rows' gives tensor 3 a wrong shape. */
static void write_model(const char *config, int skip, int extra, const char *dtype, int bad_rows)
{
    char header[4096], path[128];
    size_t len = 0, off = 0, i, esize = strcmp(dtype, "F32") == 0 ? 4 : strcmp(dtype, "I8") == 0 ? 1 : 2;
    uint8_t *file;
    size_t size;

    len += (size_t)snprintf(header + len, sizeof header - len, "{");
    for (i = 0; i < NT + (size_t)extra; i++) {
        const char *name = i < NT ? tensors[i].name : "model.layers.0.mystery.weight";
        int rows = i < NT ? tensors[i].rows : 2, cols = i < NT ? tensors[i].cols : 0;
        size_t n;

        if ((int)i == skip)
            continue;
        if (bad_rows && i == 3)
            rows = 3;
        n = (size_t)rows * (size_t)(cols ? cols : 1) * esize;
        if (cols)
            len += (size_t)snprintf(header + len, sizeof header - len,
                                    "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                                    len > 1 ? "," : "", name, dtype, rows, cols, off, off + n);
        else
            len += (size_t)snprintf(header + len, sizeof header - len,
                                    "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                                    len > 1 ? "," : "", name, dtype, rows, off, off + n);
        off += n;
    }
    snprintf(header + len, sizeof header - len, "}");
    file = image(header, off, &size);
    for (i = 8 + strlen(header); i + 4 <= size && esize == 4; i += 4) {
        float v = 0.25f;

        memcpy(file + i, &v, 4);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    T_OK(as_file_write_atomic(path, file, size));
    free(file);
    snprintf(path, sizeof path, "%s/config.json", tmpdir);
    T_OK(as_file_write_atomic(path, config, strlen(config)));
}

static int open_model(void)
{
    eng_model *m = NULL;
    int rc = eng_model_open(&m, tmpdir, 1, ENG_DT_COUNT);

    eng_model_free(m);
    return rc;
}

static void model__opens_and_runs(void)
{
    eng_model *m = NULL;
    eng_state *s = NULL;
    const float *logits = NULL;

    write_model(config_json, -1, 0, "F32", 0);
    T_OK(eng_model_open(&m, tmpdir, 1, ENG_DT_COUNT));
    if (m == NULL)
        return;
    T_OK(eng_state_new(&s, m, 0));
    T_OK(eng_forward(s, 3, &logits));
    T_CHECK(logits != NULL && isfinite(logits[0]));
    T_ERR(eng_forward(s, 8, &logits), AS_EINVAL);
    T_ERR(eng_forward(s, -1, &logits), AS_EINVAL);
    eng_state_free(s);
    T_ERR(eng_state_new(&s, m, 17), AS_EINVAL);
    eng_model_free(m);
}

static void model__reports_missing_extra_and_bad_tensors(void)
{
    write_model(config_json, 4, 0, "F32", 0);
    T_ERR(open_model(), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "k_proj.weight' is missing") != NULL);
    write_model(config_json, -1, 1, "F32", 0);
    T_ERR(open_model(), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "mystery") != NULL);
    write_model(config_json, -1, 0, "F32", 1);
    T_ERR(open_model(), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "shape [3,4]") != NULL);
    write_model(config_json, -1, 0, "I8", 0);
    T_ERR(open_model(), AS_EUNSUPPORTED);
    T_CHECK(strstr(as_error_msg(), "I8") != NULL);
    write_model(config_json, -1, 0, "BF16", 0);
    T_OK(open_model());
}

static void model__refuses_unsupported_configs(void)
{
    write_model("{\"architectures\":[\"GPT2LMHeadModel\"],\"hidden_size\":4}", -1, 0, "F32", 0);
    T_ERR(open_model(), AS_EUNSUPPORTED);
    T_CHECK(strstr(as_error_msg(), "GPT2LMHeadModel") != NULL);
}

static void model__refuses_truncated_files(void)
{
    char path[128];
    char *data = NULL;
    size_t len = 0;

    write_model(config_json, -1, 0, "F32", 0);
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    T_OK(as_file_read(&data, &len, path, 1 << 20));
    if (data == NULL)
        return;
    T_OK(as_file_write_atomic(path, data, len - 4));
    T_ERR(open_model(), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "outside") != NULL);
    T_OK(as_file_write_atomic(path, data, 6));
    T_ERR(open_model(), AS_EINVAL);
    free(data);
    unlink(path);
    T_ERR(open_model(), AS_ENOTFOUND);
}

/* An index whose shard names leave the folder or name the folder itself. */
static void model__refuses_bad_shard_index(void)
{
    static const char *const bad[] = {
        "{\"weight_map\":{\"model.embed_tokens.weight\":\"../model.safetensors\"}}",
        "{\"weight_map\":{\"model.embed_tokens.weight\":\"..\"}}"};
    static const char dot[] = "{\"weight_map\":{\"model.embed_tokens.weight\":\".\"}}";
    char path[128], single[128];
    size_t i;

    write_model(config_json, -1, 0, "F32", 0);
    snprintf(single, sizeof single, "%s/model.safetensors", tmpdir);
    unlink(single);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", tmpdir);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        T_OK(as_file_write_atomic(path, bad[i], strlen(bad[i])));
        T_ERR(open_model(), AS_EINVAL);
        /* the message names the tensor (it once quoted freed memory) */
        T_CHECK(strstr(as_error_msg(), "tensor 'model.embed_tokens.weight': shard must be a file "
                                       "name in the folder") != NULL);
    }
    T_OK(as_file_write_atomic(path, dot, strlen(dot)));
    T_ERR(open_model(), AS_EINVAL);
    T_CHECK(strstr(as_error_msg(), "/.: not a regular file") != NULL);
    unlink(path);
}

static void model__prompt_longer_than_context(void)
{
    eng_model *m = NULL;
    eng_state *s = NULL;
    eng_gen_params p = {0};
    eng_gen_result res;
    int32_t prompt[16] = {0};
    double lp;
    int greedy;

    write_model(config_json, -1, 0, "F32", 0);
    T_OK(eng_model_open(&m, tmpdir, 1, ENG_DT_COUNT));
    if (m == NULL)
        return;
    T_OK(eng_state_new(&s, m, 8));
    p.max_new_tokens = 4;
    p.sampling.greedy = 1;
    T_ERR(eng_generate(s, prompt, 8, &p, &res), AS_ETOOBIG);
    T_CHECK(strstr(as_error_msg(), "8 tokens") != NULL);
    T_OK(eng_generate(s, prompt, 7, &p, &res));
    T_EQ_INT(res.n_ids, 1);                     /* the context ends the generation */
    T_EQ_STR(res.finish, "length");
    eng_gen_result_clear(&res);
    T_ERR(eng_loglik(s, prompt, 5, prompt, 5, &lp, &greedy), AS_ETOOBIG);
    eng_state_free(s);
    eng_model_free(m);
}

/* Token id -> one letter, standing in for a tokenizer's streaming decode. */
static int letters(void *ud, int32_t token, const char **text, size_t *len)
{
    static const char abc[] = "abcdefgh";

    (void)ud;
    *text = abc + token;
    *len = 1;
    return 0;
}

static void generate__stops_on_ids_and_strings(void)
{
    eng_model *m = NULL;
    eng_state *s = NULL;
    eng_gen_params p = {0};
    eng_gen_result full, res;
    int32_t prompt[2] = {1, 2};
    char stop[3] = {0};
    size_t i, first;

    write_model(config_json, -1, 0, "F32", 0);
    T_OK(eng_model_open(&m, tmpdir, 1, ENG_DT_COUNT));
    if (m == NULL)
        return;
    T_OK(eng_state_new(&s, m, 0));
    p.max_new_tokens = 12;
    p.sampling.temperature = 1.0f;
    p.sampling.top_p = 1.0f;
    p.sampling.seed = 7;
    p.detok = letters;
    T_OK(eng_generate(s, prompt, 2, &p, &full));
    T_EQ_INT(full.n_ids, 12);
    T_EQ_INT(full.text_len, 12);
    T_EQ_STR(full.finish, "length");
    T_EQ_INT(full.prompt_tokens, 2);
    T_CHECK(full.ttft_ms >= full.prefill_ms && full.total_ms >= full.ttft_ms);
    if (full.text_len != 12)
        goto out;
    /* The same seed repeats the output; a stop string cuts it where the
     * string first appears. */
    memcpy(stop, full.text + 5, 2);
    first = (size_t)(strstr(full.text, stop) - full.text);
    p.stop_strings[0] = stop;
    p.n_stop_strings = 1;
    T_OK(eng_generate(s, prompt, 2, &p, &res));
    T_EQ_STR(res.finish, "stop");
    T_EQ_INT(res.text_len, first);
    T_CHECK(strncmp(res.text, full.text, first) == 0);
    T_EQ_INT(res.n_ids, first + 2);
    eng_gen_result_clear(&res);
    /* A stop id ends the generation after that token. */
    p.n_stop_strings = 0;
    p.stop_ids[0] = full.ids[4];
    p.n_stop_ids = 1;
    for (i = 0; full.ids[i] != full.ids[4]; i++)
        ;
    T_OK(eng_generate(s, prompt, 2, &p, &res));
    T_EQ_STR(res.finish, "stop");
    T_EQ_INT(res.n_ids, i + 1);
    T_EQ_INT(res.completion_tokens, i + 1);
    eng_gen_result_clear(&res);
    /* Stop strings without a decoder are refused. */
    p.detok = NULL;
    p.n_stop_strings = 1;
    T_ERR(eng_generate(s, prompt, 2, &p, &res), AS_EINVAL);
out:
    eng_gen_result_clear(&full);
    eng_state_free(s);
    eng_model_free(m);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/assay-engine-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    T_RUN(st__parses_a_valid_header);
    T_RUN(st__rejects_bad_headers);
    T_RUN(model__opens_and_runs);
    T_RUN(model__reports_missing_extra_and_bad_tensors);
    T_RUN(model__refuses_unsupported_configs);
    T_RUN(model__refuses_truncated_files);
    T_RUN(model__refuses_bad_shard_index);
    T_RUN(model__prompt_longer_than_context);
    T_RUN(generate__stops_on_ids_and_strings);
    {
        char path[128];

        snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
        unlink(path);
        snprintf(path, sizeof path, "%s/config.json", tmpdir);
        unlink(path);
        rmdir(tmpdir);
    }
    return t_done();
}
