/* config.json parsing: the three architectures, defaults, llama3 rope
 * scaling, eos merging, and clear refusals of what is not supported. */
#include "../test.h"

#include "evaluator/engine/config.h"
#include "evaluator/engine/ops.h"

static int parse(eng_config *c, const char *json)
{
    return eng_config_parse(c, json, strlen(json), "config.json");
}

#define SIZES "\"hidden_size\":64,\"intermediate_size\":96,\"num_hidden_layers\":2,"      \
              "\"num_attention_heads\":4,\"vocab_size\":256"

static void config__llama_defaults(void)
{
    eng_config c;

    T_OK(parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"eos_token_id\":2}"));
    T_EQ_INT(c.arch, ENG_ARCH_LLAMA);
    T_EQ_INT(c.n_kv_heads, 4);                /* absent: = heads */
    T_EQ_INT(c.head_dim, 16);                 /* absent: hidden / heads */
    T_EQ_INT(c.tied, 0);
    T_EQ_INT(c.qkv_bias, 0);
    T_EQ_INT(c.sliding_window, 0);
    T_EQ_INT(c.n_eos, 1);
    T_EQ_INT(c.bos_id, -1);
    T_NEAR(c.rope_theta, 10000.0, 0);
    T_OK(eng_config_merge_generation(&c, "{\"eos_token_id\":[2,5]}", 22, "generation_config.json"));
    T_EQ_INT(c.n_eos, 2);
    T_EQ_INT(c.eos_ids[1], 5);
}

static void config__qwen2_and_mistral(void)
{
    eng_config c;

    T_OK(parse(&c, "{\"architectures\":[\"Qwen2ForCausalLM\"]," SIZES ",\"num_key_value_heads\":2,"
                   "\"tie_word_embeddings\":true,\"sliding_window\":32,\"use_sliding_window\":false,"
                   "\"eos_token_id\":[1,2],\"torch_dtype\":\"bfloat16\"}"));
    T_EQ_INT(c.qkv_bias, 1);
    T_EQ_INT(c.o_bias, 0);
    T_EQ_INT(c.tied, 1);
    T_EQ_INT(c.sliding_window, 0);
    T_EQ_INT(c.n_eos, 2);
    T_EQ_STR(c.torch_dtype, "bfloat16");
    T_OK(parse(&c, "{\"architectures\":[\"Qwen2ForCausalLM\"]," SIZES ",\"sliding_window\":32,"
                   "\"use_sliding_window\":true,\"max_window_layers\":1}"));
    T_EQ_INT(c.sliding_window, 32);
    T_EQ_INT(c.sliding_from_layer, 1);
    T_OK(parse(&c, "{\"architectures\":[\"Qwen2ForCausalLM\"]," SIZES ",\"sliding_window\":32,"
                   "\"use_sliding_window\":true,\"max_window_layers\":0}"));
    T_EQ_INT(c.sliding_from_layer, 0);
    T_OK(parse(&c, "{\"architectures\":[\"Qwen2ForCausalLM\"]," SIZES ",\"sliding_window\":32,"
                   "\"use_sliding_window\":true}"));
    T_EQ_INT(c.sliding_from_layer, 28);
    T_OK(parse(&c, "{\"architectures\":[\"MistralForCausalLM\"]," SIZES ",\"sliding_window\":4096}"));
    T_EQ_INT(c.sliding_window, 4096);
    T_EQ_INT(c.qkv_bias, 0);
    T_OK(parse(&c, "{\"architectures\":[\"MistralForCausalLM\"]," SIZES ",\"sliding_window\":null}"));
    T_EQ_INT(c.sliding_window, 0);
}

static void config__llama3_rope_scaling(void)
{
    eng_config c;
    float inv[8];
    double base1 = pow(10000.0, -2.0 / 16), s = (32.0 / (2 * M_PI / base1) - 1.0) / 3.0;

    T_OK(parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"rope_scaling\":"
                   "{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,"
                   "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":32}}"));
    T_EQ_INT(c.rope_kind, ENG_ROPE_LLAMA3);
    eng_rope_inv_freq(inv, &c);
    T_NEAR(inv[0], 1.0, 1e-7);                                     /* short: kept */
    T_NEAR(inv[1], (1 - s) * base1 / 8 + s * base1, 1e-7);          /* blended */
    T_NEAR(inv[2], pow(10000.0, -4.0 / 16) / 8, 1e-7);             /* long: / factor */
    T_NEAR(inv[7], pow(10000.0, -14.0 / 16) / 8, 1e-9);
}

/* transformers 5's form: theta and scaling in one rope_parameters object,
 * read the same as the legacy rope_theta + rope_scaling. */
static void config__rope_parameters(void)
{
    eng_config a, b;
    float ia[8], ib[8];

    T_OK(parse(&a, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"rope_parameters\":"
                   "{\"rope_type\":\"llama3\",\"rope_theta\":500000.0,\"factor\":8.0,"
                   "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                   "\"original_max_position_embeddings\":32}}"));
    T_OK(parse(&b, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"rope_theta\":500000.0,"
                   "\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,"
                   "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                   "\"original_max_position_embeddings\":32}}"));
    T_EQ_INT(a.rope_kind, ENG_ROPE_LLAMA3);
    T_NEAR(a.rope_theta, 500000.0, 0);
    eng_rope_inv_freq(ia, &a);
    eng_rope_inv_freq(ib, &b);
    T_CHECK(memcmp(ia, ib, sizeof ia) == 0);
    T_OK(parse(&a, "{\"architectures\":[\"Qwen2ForCausalLM\"]," SIZES ",\"rope_parameters\":"
                   "{\"rope_type\":\"default\",\"rope_theta\":1000000.0}}"));
    T_EQ_INT(a.rope_kind, ENG_ROPE_DEFAULT);
    T_NEAR(a.rope_theta, 1000000.0, 0);
    T_ERR(parse(&a, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"rope_parameters\":3}"),
          AS_EINVAL);
    T_ERR(parse(&a, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"rope_parameters\":"
                    "{\"rope_type\":\"yarn\",\"rope_theta\":10000.0,\"factor\":4}}"),
          AS_EUNSUPPORTED);
}

static void config__refusals(void)
{
    eng_config c;

    T_ERR(parse(&c, "{\"architectures\":[\"PhiForCausalLM\"]," SIZES "}"), AS_EUNSUPPORTED);
    T_ERR(parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"hidden_act\":\"gelu\"}"),
          AS_EUNSUPPORTED);
    T_ERR(parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES
                    ",\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4}}"), AS_EUNSUPPORTED);
    T_CHECK(strstr(as_error_msg(), "yarn") != NULL);
    T_ERR(parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"num_key_value_heads\":3}"),
          AS_EINVAL);
    T_ERR(parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64}"), AS_EINVAL);
    T_ERR(parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"head_dim\":7}"), AS_EINVAL);
    T_ERR(parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"eos_token_id\":999}"),
          AS_EINVAL);
    T_ERR(parse(&c, "{\"architectures\":[\"LlamaForCausalLM\"]," SIZES ",\"rms_norm_eps\":\"x\"}"),
          AS_EINVAL);
    T_ERR(parse(&c, "[]"), AS_EINVAL);
    T_ERR(parse(&c, "{}"), AS_EINVAL);
}

int main(void)
{
    T_RUN(config__llama_defaults);
    T_RUN(config__qwen2_and_mistral);
    T_RUN(config__llama3_rope_scaling);
    T_RUN(config__rope_parameters);
    T_RUN(config__refusals);
    return t_done();
}
