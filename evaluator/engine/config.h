/* config.json of a Hugging Face causal LM (LlamaForCausalLM,
 * Qwen2ForCausalLM, MistralForCausalLM) and the stop ids of its
 * generation_config.json, read into one validated struct. */
#ifndef AS_ENG_CONFIG_H
#define AS_ENG_CONFIG_H

#include <stddef.h>

#define ENG_MAX_EOS 8
#define ENG_CONFIG_MAX ((size_t)1 << 20)

typedef enum eng_arch { ENG_ARCH_LLAMA, ENG_ARCH_QWEN2, ENG_ARCH_MISTRAL } eng_arch;
typedef enum eng_rope_kind { ENG_ROPE_DEFAULT, ENG_ROPE_LINEAR, ENG_ROPE_LLAMA3 } eng_rope_kind;

typedef struct eng_config {
    eng_arch arch;
    char arch_name[32];          /* "LlamaForCausalLM" */
    int hidden;                  /* hidden_size */
    int intermediate;            /* intermediate_size */
    int n_layers, n_heads, n_kv_heads, head_dim;
    int vocab;
    int max_pos;                 /* max_position_embeddings: the context limit */
    float eps;                   /* rms_norm_eps */
    double rope_theta;
    eng_rope_kind rope_kind;
    double rope_factor, rope_low, rope_high; /* llama3: low/high_freq_factor */
    int rope_orig_max;           /* llama3: original_max_position_embeddings */
    int tied;                    /* tie_word_embeddings: LM head = embedding */
    int qkv_bias;                /* q/k/v projections carry a bias (Qwen2, attention_bias) */
    int o_bias;                  /* o_proj carries a bias (Llama attention_bias) */
    int mlp_bias;                /* gate/up/down carry a bias (Llama mlp_bias) */
    int sliding_window;          /* attend to at most this many positions; 0 = all */
    int sliding_from_layer;      /* first layer the window applies to (Qwen2
                                    max_window_layers; 0 for Mistral) */
    int bos_id;                  /* -1 when none */
    int eos_ids[ENG_MAX_EOS];    /* config.json and generation_config.json merged */
    int n_eos;
    char torch_dtype[16];        /* as written, "" when absent */
} eng_config;

/* Parse config.json text. Unsupported architectures, activations and rope
 * scalings are AS_EUNSUPPORTED naming them; missing or inconsistent sizes
 * AS_EINVAL naming the field. 'what' names the file in messages. */
int eng_config_parse(eng_config *out, const char *text, size_t len, const char *what);
/* Merge the eos_token_id of generation_config.json text into 'cfg'. */
int eng_config_merge_generation(eng_config *cfg, const char *text, size_t len, const char *what);
/* Read 'dir'/config.json and, if present, 'dir'/generation_config.json. */
int eng_config_load(eng_config *out, const char *dir);

#endif
